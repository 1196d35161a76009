"""Tests for crawler.dates: formats of the target sites, time zones, HTML sources."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import lxml.html
import pytest

from crawler.dates import DateResult, find_published_date, parse_date_text, to_local

# 10:00 UTC = 15:00 in Almaty (+05:00 since 2024-03-01)
FETCHED = datetime(2025, 9, 12, 10, 0, tzinfo=timezone.utc)


def iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


# ------------------------------------------------------------------ plain text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # kazpravda
        ("8 мая 2020 г. 12:28", "2020-05-08T12:28:00+06:00"),
        ("5 ноября 2024 г. 9:26", "2024-11-05T09:26:00+05:00"),
        ("13 декабря 2025 г. 1:40", "2025-12-13T01:40:00+05:00"),
        # tengrinews
        ("10 декабря 2024, 13:02", "2024-12-10T13:02:00+05:00"),
        ("01 апреля 2024, 13:53", "2024-04-01T13:53:00+05:00"),
        # inform.kz, text and meta
        ("1 Декабря 2020 14:02", "2020-12-01T14:02:00+06:00"),
        ("2020-12-01T14:02:00+06:00", "2020-12-01T14:02:00+06:00"),
        # nur.kz JSON-LD
        ("2024-04-18T10:35:00+05:00", "2024-04-18T10:35:00+05:00"),
        # informburo
        ("1 апреля 2024, 12:16", "2024-04-01T12:16:00+05:00"),
        # kapital: %d.%m.%Y · %H:%M
        ("20.03.2025 · 12:03", "2025-03-20T12:03:00+05:00"),
        # 24.kz: %H:%M, %d.%m.%Y
        ("12:03, 20.03.2025", "2025-03-20T12:03:00+05:00"),
        ("09:15, 05.02.2021", "2021-02-05T09:15:00+06:00"),
        # Kazakh, day first and year first
        ("12 қыркүйек 2025, 14:30", "2025-09-12T14:30:00+05:00"),
        ("2025 жылғы 12 қыркүйек", "2025-09-12"),
        ("2025 жылғы 12 қыркүйек, 14:30", "2025-09-12T14:30:00+05:00"),
        ("2023 жылғы 3 наурыз 08:05", "2023-03-03T08:05:00+06:00"),
        ("2025 жылғы 12 қыркүйегі", "2025-09-12"),
        # English
        ("September 12, 2025 14:30", "2025-09-12T14:30:00+05:00"),
        ("12 Sep 2025", "2025-09-12"),
        # Russian month names: genitive/nominative, any case, «г.» / «года»
        ("8 мая 2020 года", "2020-05-08"),
        ("8 Мая 2020 г.", "2020-05-08"),
        ("8 МАЯ 2020", "2020-05-08"),
        ("1 декабрь 2020", "2020-12-01"),
        ("Май 8, 2020", "2020-05-08"),
        ("3 февраля 2022 года, 17:45", "2022-02-03T17:45:00+06:00"),
        ("8 мая 2020 в 12:28", "2020-05-08T12:28:00+06:00"),
        # numeric dates are day first
        ("12.09.2025", "2025-09-12"),
        ("Опубликовано 12.09.2025 в 14:30", "2025-09-12T14:30:00+05:00"),
        ("12/09/2025", "2025-09-12"),
        ("8 мар. 2020", "2020-03-08"),
    ],
)
def test_formats_of_the_target_sites(text: str, expected: str) -> None:
    assert iso(parse_date_text(text, fetched_at=FETCHED)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Сегодня, 13:02", "2025-09-12T13:02:00+05:00"),
        ("Вчера, 10:15", "2025-09-11T10:15:00+05:00"),
        ("вчера в 23:50", "2025-09-11T23:50:00+05:00"),
        ("2 часа назад", "2025-09-12T13:00:00+05:00"),
        ("15 минут назад", "2025-09-12T14:45:00+05:00"),
        ("бүгін, 10:00", "2025-09-12T10:00:00+05:00"),
        ("кеше", "2025-09-11"),
        ("кеше, 18:40", "2025-09-11T18:40:00+05:00"),
        ("3 сағат бұрын", "2025-09-12T12:00:00+05:00"),
        ("today", "2025-09-12"),
        ("yesterday", "2025-09-11"),
        ("2 hours ago", "2025-09-12T13:00:00+05:00"),
    ],
)
def test_relative_dates_use_fetched_at_in_site_zone(text: str, expected: str) -> None:
    assert iso(parse_date_text(text, fetched_at=FETCHED)) == expected


def test_relative_dates_follow_fetched_at() -> None:
    # shortly after local midnight (19:30 UTC = 00:30 next day in Almaty)
    late = datetime(2025, 9, 12, 19, 30, tzinfo=timezone.utc)
    assert iso(parse_date_text("Сегодня, 00:10", fetched_at=late)) == "2025-09-13T00:10:00+05:00"
    assert iso(parse_date_text("Вчера, 23:55", fetched_at=late)) == "2025-09-12T23:55:00+05:00"
    # naive fetched_at is UTC
    naive = datetime(2025, 9, 12, 19, 30)
    assert iso(parse_date_text("Сегодня, 00:10", fetched_at=naive)) == "2025-09-13T00:10:00+05:00"


def test_year_less_dates_take_the_fetch_year() -> None:
    assert iso(parse_date_text("12 сентября, 14:30", fetched_at=FETCHED)) == "2025-09-12T14:30:00+05:00"
    # a day later in the calendar than the fetch is last year's
    assert iso(parse_date_text("30 декабря, 09:00", fetched_at=FETCHED)) == "2024-12-30T09:00:00+05:00"


def test_almaty_offset_changes_on_2024_03_01() -> None:
    # tzdata: Asia/Almaty left UTC+6 at 2024-03-01 00:00 local time, going to UTC+5
    assert iso(parse_date_text("29 февраля 2024 г. 22:59")) == "2024-02-29T22:59:00+06:00"
    assert iso(parse_date_text("1 марта 2024 г. 0:30")) == "2024-03-01T00:30:00+05:00"
    assert iso(parse_date_text("29.02.2024 12:00")) == "2024-02-29T12:00:00+06:00"
    assert iso(parse_date_text("01.03.2024 12:00")) == "2024-03-01T12:00:00+05:00"
    assert iso(parse_date_text("2024-02-20T08:00:00")) == "2024-02-20T08:00:00+06:00"
    assert iso(parse_date_text("2024-03-02T08:00:00")) == "2024-03-02T08:00:00+05:00"


def test_to_local_attaches_the_offset_valid_at_that_date() -> None:
    assert to_local(datetime(2020, 5, 8, 12, 28), "Asia/Almaty").isoformat() == "2020-05-08T12:28:00+06:00"
    assert to_local(datetime(2024, 11, 5, 9, 26), "Asia/Almaty").isoformat() == "2024-11-05T09:26:00+05:00"
    # Almaty still had summer time in 2004
    assert to_local(datetime(2004, 7, 1, 12, 0), "Asia/Almaty").isoformat() == "2004-07-01T12:00:00+07:00"
    assert to_local(datetime(2024, 6, 1, 12, 0), "Europe/Moscow").isoformat() == "2024-06-01T12:00:00+03:00"
    # western Kazakhstan was already on UTC+5
    assert to_local(datetime(2020, 5, 8, 12, 28), "Asia/Aqtau").isoformat() == "2020-05-08T12:28:00+05:00"
    # an aware datetime is converted, not relabelled
    aware = datetime(2024, 6, 1, 7, 0, tzinfo=timezone.utc)
    assert to_local(aware, "Asia/Almaty").isoformat() == "2024-06-01T12:00:00+05:00"


def test_explicit_offsets_are_kept() -> None:
    assert iso(parse_date_text("2024-04-18T10:35:00+05:00")) == "2024-04-18T10:35:00+05:00"
    assert iso(parse_date_text("2020-06-29T00:16:15+03:00")) == "2020-06-29T00:16:15+03:00"
    assert iso(parse_date_text("2020-06-29T00:16:15+0300")) == "2020-06-29T00:16:15+03:00"
    assert iso(parse_date_text("2024-04-18 10:35:00-04:00")) == "2024-04-18T10:35:00-04:00"


def test_utc_stamps_are_shown_in_the_site_zone() -> None:
    # same instant, but the day researchers filter on is the site's local day
    assert iso(parse_date_text("2024-04-17T20:30:00Z")) == "2024-04-18T01:30:00+05:00"
    assert iso(parse_date_text("2024-04-17T20:30:00.000+00:00")) == "2024-04-18T01:30:00+05:00"
    assert iso(parse_date_text("2024-04-17T20:30:00Z", timezone="UTC")) == "2024-04-17T20:30:00+00:00"


def test_timezone_argument_is_used() -> None:
    assert iso(parse_date_text("8 мая 2020 г. 12:28", timezone="Europe/Moscow")) == "2020-05-08T12:28:00+03:00"
    # an unknown zone name must not raise
    assert iso(parse_date_text("8 мая 2020 г. 12:28", timezone="Mars/Base")) == "2020-05-08T12:28:00+00:00"


@pytest.mark.parametrize("text", ["", "   ", "not a date", "Москва", "32.13.2025", "11:12",
                                  "мая 2020", "2020", "статья 12", "x" * 5000])
def test_unparseable_text_gives_none(text: str) -> None:
    assert parse_date_text(text, fetched_at=FETCHED) is None


def test_parse_never_raises_on_bad_types() -> None:
    assert parse_date_text(None) is None  # type: ignore[arg-type]
    assert parse_date_text(12345) is None  # type: ignore[arg-type]


def test_languages_restrict_dateparser() -> None:
    assert parse_date_text("12. März 2020") is None
    assert iso(parse_date_text("12. März 2020", languages=("de",))) == "2020-03-12"
    assert iso(parse_date_text("7 juin 2020", languages=None)) == "2020-06-07"


def test_day_only_returns_date_time_returns_aware_datetime() -> None:
    day = parse_date_text("12 Sep 2025")
    assert type(day) is date
    moment = parse_date_text("12 Sep 2025 14:30")
    assert isinstance(moment, datetime) and moment.tzinfo is not None


# ------------------------------------------------------------------ HTML sources

BODY = "<p>" + "Текст новости о форуме в Актау, участники обсудили правовую грамотность. " * 6 + "</p>"


def page(head: str = "", body: str = "", lang: str = "ru") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>Форум прошёл в Мангистау | Пример</title>{head}</head>"
            f"<body>{body}</body></html>")


def find(html, url=None, **kw) -> DateResult:
    kw.setdefault("fetched_at", FETCHED)
    return find_published_date(html, url, **kw)


def test_json_ld_in_graph_and_list() -> None:
    data = [
        {"@context": "https://schema.org", "@type": "Organization", "name": "Пример"},
        {"@context": "https://schema.org", "@graph": [
            {"@type": "WebSite", "name": "Пример"},
            {"@type": "NewsArticle", "headline": "Форум прошёл в Мангистау",
             "dateModified": "2024-04-19T08:00:00+05:00",
             "datePublished": "2024-04-18T10:35:00+05:00"},
        ]},
    ]
    html = page(f'<script type="application/ld+json">{json.dumps(data)}</script>',
                "<h1>Форум прошёл в Мангистау</h1>" + BODY)
    assert find(html) == DateResult("2024-04-18T10:35:00+05:00", "2024-04-18T10:35:00+05:00", "json-ld")


def test_json_ld_prefers_the_article_over_nested_items() -> None:
    data = {"@context": "https://schema.org", "@type": "NewsArticle",
            "datePublished": "2024-04-18T10:35:00+05:00",
            "video": {"@type": "VideoObject", "datePublished": "2023-01-05T10:00:00+06:00"}}
    listing = {"@type": "ItemList", "itemListElement": [
        {"@type": "NewsArticle", "datePublished": "2024-04-20T10:00:00+05:00"}]}
    html = page(f'<script type="application/ld+json">{json.dumps(listing)}</script>'
                f'<script type="application/ld+json">{json.dumps(data)}</script>')
    assert find(html).value == "2024-04-18T10:35:00+05:00"


def test_broken_json_ld_still_read() -> None:
    html = page('<script type="application/ld+json">{"@type": "NewsArticle",\n'
                '"headline": "Бишкек\n2", "datePublished": "2024-04-18T10:35:00+05:00",}</script>')
    assert find(html).value == "2024-04-18T10:35:00+05:00"


def test_meta_published_time_inform_kz() -> None:
    html = page('<meta property="article:modified_time" content="2020-12-02T09:00:00+06:00">'
                '<meta property="article:published_time" content="2020-12-01T14:02:00+06:00">',
                "<h1>Форум прошёл в Мангистау</h1><div class='date'>2 Декабря 2020 09:00</div>")
    assert find(html) == DateResult("2020-12-01T14:02:00+06:00", "2020-12-01T14:02:00+06:00", "meta")


@pytest.mark.parametrize("tag", [
    '<meta itemprop="datePublished" content="2021-06-03">',
    '<meta name="pubdate" content="2021-06-03">',
    '<meta name="DC.date.issued" content="2021-06-03">',
    '<meta property="og:published_time" content="2021-06-03">',
])
def test_other_metas(tag: str) -> None:
    assert find(page(tag)).value == "2021-06-03"


def test_microdata_on_body_element() -> None:
    html = page(body="<h1>Форум прошёл в Мангистау</h1>"
                     '<span itemprop="datePublished" content="2022-07-04T11:00:00+06:00">4 июля</span>')
    assert find(html) == DateResult("2022-07-04T11:00:00+06:00", "2022-07-04T11:00:00+06:00", "meta")


def test_time_publication_element_nur_kz() -> None:
    html = page(body="<article><h1>Форум прошёл в Мангистау</h1>"
                     '<time class="datetime datetime--modified" datetime="2024-04-19T09:00:00+05:00">'
                     "19 апреля</time>"
                     '<time class="datetime datetime--publication" datetime="2024-04-18T10:35:00+05:00">'
                     f"18 апреля</time>{BODY}</article>")
    assert find(html) == DateResult("2024-04-18T10:35:00+05:00", "2024-04-18T10:35:00+05:00", "time")


def test_time_in_related_list_is_ignored() -> None:
    html = page(body="<h1>Форум прошёл в Мангистау</h1>" + BODY +
                     "<div class='related-news'><a href='/x'>Другая новость</a>"
                     "<time datetime='2024-04-20T10:00:00+05:00'>20 апреля</time></div>")
    result = find(html, order=("json-ld", "meta", "time"))
    assert result.value is None


def test_profile_selector() -> None:
    html = page(body="<h1>Форум прошёл в Мангистау</h1>"
                     f"<div class='news-info'><span class='x-date'>20.03.2025 · 12:03</span></div>{BODY}")
    assert find(html, selector=".news-info .x-date") == DateResult(
        "2025-03-20T12:03:00+05:00", "20.03.2025 · 12:03", "selector")
    # a broken selector is ignored, the text rule still finds the date
    assert find(html, selector="..!!").source == "text"


def test_visible_text_kazpravda_style() -> None:
    html = page(body="<div class='container'><div class='article'>"
                     "<div class='article__head'><h1>Форум прошёл в Мангистау</h1>"
                     "<div class='article__info'><span>8 мая 2020 г. 12:28</span>"
                     "<span>Просмотров: 1205</span></div></div>"
                     f"{BODY}</div></div>")
    assert find(html) == DateResult("2020-05-08T12:28:00+06:00", "8 мая 2020 г. 12:28", "text")


def test_visible_text_tengrinews_relative() -> None:
    html = page(body="<main><h1>Форум прошёл в Мангистау</h1>"
                     "<div class='head-single'><time>Сегодня, 13:02</time></div>"
                     f"{BODY}</main>")
    assert find(html).value == "2025-09-12T13:02:00+05:00"


def test_visible_text_kazakh_year_first() -> None:
    html = page(lang="kk", body="<article><h1>Маңғыстауда азаматтық форум өтті</h1>"
                               "<div class='meta'>2025 жылғы 12 қыркүйек, 14:30</div>"
                               f"{BODY}</article>")
    assert find(html, languages=("kk", "ru")).value == "2025-09-12T14:30:00+05:00"


def test_visible_text_24kz_time_first() -> None:
    html = page(body="<article><h1>Форум прошёл в Мангистау</h1>"
                     f"<p class='news-time'>12:03, 20.03.2025</p>{BODY}</article>")
    assert find(html).value == "2025-03-20T12:03:00+05:00"


def test_related_list_date_not_taken() -> None:
    # the related block sits right under the headline; the article's own date is further
    html = page(body="<div class='content'><h1>Форум прошёл в Мангистау</h1>"
                     "<div class='related-news'><a href='/a'>Другая новость</a>"
                     "<span class='date'>9 мая 2020 г. 10:00</span></div>"
                     f"{BODY}<div class='article-info'><span class='date'>8 мая 2020 г. 12:28</span>"
                     "</div></div>"
                     "<div class='comments'><div class='comment'><span class='date'>10 мая 2020 г. 08:00"
                     "</span> Согласен</div></div>")
    assert find(html).value == "2020-05-08T12:28:00+06:00"


def test_only_related_comment_footer_dates_give_nothing_from_text() -> None:
    html = page(body="<div class='content'><h1>Форум прошёл в Мангистау</h1>" + BODY +
                     "<div class='similar'><span class='date'>9 мая 2020 г. 10:00</span></div>"
                     "<div id='comments'><span class='date'>10 мая 2020 г. 08:00</span></div></div>"
                     "<footer><span class='date'>© 2020, 1 января 2020</span></footer>")
    assert find(html, order=("text",)).value is None


def test_modified_date_not_taken() -> None:
    html = page('<meta property="article:modified_time" content="2020-05-10T09:00:00+06:00">',
                "<article><h1>Форум прошёл в Мангистау</h1>"
                "<div class='meta'>Обновлено: 10 мая 2020 г. 09:00</div>"
                "<div class='meta'><span class='updated'>10 мая 2020 г. 09:00</span> · "
                "<span class='published'>8 мая 2020 г. 12:28</span></div>"
                f"{BODY}</article>")
    assert find(html).value == "2020-05-08T12:28:00+06:00"


def test_modified_label_before_time_element() -> None:
    html = page(body="<article><h1>Форум прошёл в Мангистау</h1><div class='info'>"
                     "<span>Жаңартылды:</span><time datetime='2020-05-10T09:00:00+06:00'>10.05.2020</time>"
                     "</div>" + BODY + "</article>")
    result = find(html, order=("time",))
    assert result.value is None


def test_date_in_headline_not_taken() -> None:
    html = page(body="<article><h1>Что изменится с 1 января 2026 года</h1>"
                     f"<div class='date'>28 декабря 2025 г. 10:00</div>{BODY}</article>")
    assert find(html, fetched_at=datetime(2026, 1, 2, tzinfo=timezone.utc)).value == \
        "2025-12-28T10:00:00+05:00"


def test_logo_h1_is_not_the_headline() -> None:
    # the site logo is an <h1> on every page; the article title is an <h2> matching <title>
    html = page(body="<div class='top'><h1 class='logo'><a href='/'>Пример</a></h1>"
                     "<div class='site-date'>24 ноября 2025 г.</div></div>"
                     "<div class='news'><h2>Форум прошёл в Мангистау</h2>"
                     f"<span class='info'>12 сентября 2025 г. 11:40</span>{BODY}</div>")
    assert find(html).value == "2025-09-12T11:40:00+05:00"


def test_selector_hit_with_surrounding_text() -> None:
    html = page(body="<h1>Форум прошёл в Мангистау</h1>"
                     "<div class='stats'>Просмотров: 1205 · 8 мая 2020 г. 12:28</div>")
    assert find(html, selector=".stats", order=("selector",)) == DateResult(
        "2020-05-08T12:28:00+06:00", "8 мая 2020 г. 12:28", "selector")


def test_selector_prefers_the_hit_near_the_headline() -> None:
    # kazpravda: time.article__date without datetime; a teaser strip above the article
    # uses the same class
    teasers = "".join(f"<div class='card'><a href='/n/{i}/'>Новость {i}</a>"
                      f"<time class='article__date'>{i} мая 2020 г. 09:00</time></div>"
                      for i in (9, 10))
    html = page(body=f"<div class='strip'>{teasers}</div><div class='article'>"
                     "<h1>Форум прошёл в Мангистау</h1>"
                     "<time class='article__date'>8 мая 2020 г. 12:28</time>"
                     f"{BODY}</div>")
    assert find(html, selector="time.article__date") == DateResult(
        "2020-05-08T12:28:00+06:00", "8 мая 2020 г. 12:28", "selector")
    # without the profile's selector the text rule reads the same element
    assert find(html).value == "2020-05-08T12:28:00+06:00"


def test_zakon_time_date_and_kursiv_url() -> None:
    html = page(body="<article><h1>Форум прошёл в Мангистау</h1>"
                     f"<time class='date'>5 ноября 2024 г. 9:26</time>{BODY}</article>")
    assert find(html).value == "2024-11-05T09:26:00+05:00"
    bare = page(body="<h1>Форум прошёл в Мангистау</h1>" + BODY)
    result = find(bare, "https://kursiv.media/2025-09-12/forum-v-aktau/",
                  order=("json-ld", "meta", "time", "selector", "text", "url"))
    assert result == DateResult("2025-09-12", "2025-09-12", "url")


def test_unknown_rule_names_are_skipped() -> None:
    html = page('<meta name="pubdate" content="2021-06-03">')
    assert find(html, order=("nonsense", "meta")).value == "2021-06-03"


def test_epoch_stamp_on_a_dateline() -> None:
    html = page(body="<div class='news-header'><div class='news-header__date'>"
                     "<span><x-date time='1593378975'></x-date></span></div>"
                     f"<h1>Форум прошёл в Мангистау</h1></div>{BODY}")
    assert find(html, timezone="Europe/Moscow").value == "2020-06-29T00:16:15+03:00"


def test_url_source() -> None:
    html = page(body="<h1>Форум прошёл в Мангистау</h1>" + BODY)
    assert find(html, "https://example.kz/news/2024/04/18/forum/", order=("url",)) == \
        DateResult("2024-04-18", "2024/04/18", "url")
    assert find(html, "https://example.kz/2025-09-12/forum", order=("url",)).value == "2025-09-12"
    assert find(html, "https://example.kz/news/123456", order=("url",)).value is None
    assert find(html, "https://example.kz/news/2024_4_8_forum", order=("url",)).value == "2024-04-08"
    # the canonical link counts when the caller has no URL
    canonical = page('<link rel="canonical" href="https://example.kz/2023/12/01/x">')
    assert find(canonical, order=("url",)).value == "2023-12-01"


def test_sanity_bounds() -> None:
    # a future date (beyond fetched_at + 1 day) and a pre-1995 one are skipped
    html = page('<meta property="article:published_time" content="2026-01-01T10:00:00+05:00">'
                '<meta name="pubdate" content="1990-01-01">'
                '<meta name="date" content="2025-09-10">')
    assert find(html).value == "2025-09-10"


def test_unparseable_keeps_raw() -> None:
    html = page('<meta property="article:published_time" content="скоро">')
    assert find(html, order=("json-ld", "meta", "time", "text", "url")) == \
        DateResult(None, "скоро", "meta")


def test_utc_stamp_checked_against_visible_local_day() -> None:
    # site zone unknown (UTC): the dateline shows the local evening of the day before
    html = page('<meta property="article:published_time" content="2020-02-18T02:18:11Z">',
                "<article><h1>Форум прошёл в Мангистау</h1>"
                f"<div class='date'>17 февраля 2020, 21:18</div>{BODY}</article>")
    assert find(html, timezone="UTC").value == "2020-02-17T21:18:11-05:00"
    # with the right site zone there is nothing to correct
    html = page('<meta property="article:published_time" content="2024-04-17T20:30:00Z">',
                "<article><h1>Форум прошёл в Мангистау</h1>"
                f"<div class='date'>18 апреля 2024, 01:30</div>{BODY}</article>")
    assert find(html).value == "2024-04-18T01:30:00+05:00"


def test_utc_stamp_and_same_instant_with_local_offset() -> None:
    data = {"@type": "NewsArticle", "datePublished": "2020-09-28T23:12:35+00:00"}
    html = page(f'<script type="application/ld+json">{json.dumps(data)}</script>'
                '<meta property="article:published_time" content="2020-09-28T19:12:35-0400">')
    assert find(html, timezone="UTC").value == "2020-09-28T19:12:35-04:00"


def test_tree_input_is_not_mutated() -> None:
    html = page(body="<div class='content'><h1>Форум прошёл в Мангистау</h1>" + BODY +
                     "<div class='similar'><span class='date'>9 мая 2020 г. 10:00</span></div>"
                     "<script>var x = 1;</script><style>p{}</style></div>")
    tree = lxml.html.fromstring(html)
    before = lxml.html.tostring(tree)
    find(tree)  # falls through every rule, htmldate included
    assert lxml.html.tostring(tree) == before


def test_bytes_in_declared_charset() -> None:
    html = page(body="<article><h1>Форум прошёл в Мангистау</h1>"
                     f"<div class='date'>8 мая 2020 г. 12:28</div>{BODY}</article>")
    raw = html.replace('charset="utf-8"', 'charset="windows-1251"').encode("cp1251")
    assert find(raw).value == "2020-05-08T12:28:00+06:00"


def test_languages_none_reads_html_lang() -> None:
    html = page(lang="de", body="<article><h1>Ein Forum in Mangistau fand statt</h1>"
                               f"<div class='datum'>12. März 2020</div>{BODY}</article>")
    assert find(html, languages=None).value == "2020-03-12"


@pytest.mark.parametrize("doc", [None, "", b"", 123, "<html>", b"\xff\xfe\x00garbage", "<<<>>>"])
def test_never_raises(doc) -> None:
    result = find_published_date(doc)
    assert isinstance(result, DateResult)
    assert result.value is None


# The real-page gate (extract_article as the crawl calls it) is in tests/test_quality_gate.py.


def test_date_slot_in_words_gives_none_not_a_guess_from_related_links():
    html = """<html lang="ru"><body><article><h1>Заголовок новости о форуме</h1>
    <time class="article__date">дата уточняется</time>
    <p>Текст новости о форуме молодежи, который прошел в Актау в этом году.</p></article>
    <aside class="related"><h3>Читайте также</h3><ul>
    <li><a href="/n/a/">Другая новость</a> <span class="date">9 июля 2021 г. 10:00</span></li>
    </ul></aside></body></html>"""
    result = find_published_date(html, "https://example.kz/n/zagolovok/",
                                 fetched_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert result == DateResult(None, "дата уточняется", "text")
    # a bare time is only part of a date: the search goes on (here to the URL)
    html2 = html.replace("дата уточняется", "16:45")
    result2 = find_published_date(html2, "https://example.kz/2024/04/18/zagolovok/",
                                  fetched_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert result2.value == "2024-04-18" and result2.source == "url"
