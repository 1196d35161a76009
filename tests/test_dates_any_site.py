"""Dates on sites without a profile: the page's own language and zone, and Latin-script Kazakh.

Pages are written here; extract_article is called as the crawl calls it for a bare URL
(no profile, or the generic profile the spider builds), a profile where one is meant.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crawler.dates import find_published_date, parse_date_text, site_zone
from crawler.extract import extract_article, parse_html
from crawler.kk_latin import dates_to_cyrillic, is_kazakh_latin, skeleton
from crawler.language import script_language
from crawler.profiles import SiteProfile, generic_profile

EN_PARAS = [
    "The city council approved a new budget for the public library network on Tuesday evening.",
    "Officials said the money would pay for longer opening hours and a mobile library service.",
    "Residents who spoke at the meeting asked for more space for children and study groups.",
]
KK_2021 = [
    "Qazaqstan Respublikasynyñ Prezidentı bügın Astanada ötken jiynda eldıñ ekonomikalyq damuyna "
    "qatysty birqatar mañyzdy mäselelerdı köterdı.",
    "Memleket basşysy öñırlerdegı jol qūrylysy men auyl şaruaşylyğyn qoldau bağdarlamalaryn "
    "jalğastyru qajet ekenın atap öttı.",
    "Jiynğa ükımet müşelerı, oblys äkımderı jäne sarapşylar qatysty.",
]
KK_2018 = ("Qazaqstan Respy'blikasynyn' Prezidenti bu'gin Astanada o'tken jiynda eldin' ekonomikalyq "
           "damyy'yna qatysty birqatar man'yzdy ma'selelerdi ko'terdi. Memleket basshysy o'n'irlerdegi "
           "jol qu'rylysy men ay'yl sharyashylyg'yn qoldau' bag'darlamalaryn jalg'astyry' qajet ekenin "
           "atap o'tti.")


def page(date_html: str, *, lang: str | None = "en", head: str = "", paras=EN_PARAS,
         title: str = "Library network gets a new budget") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<!DOCTYPE html><html{lang_attr}><head><meta charset='utf-8'><title>{title}</title>{head}"
            f"</head><body><article><h1>{title}</h1>{date_html}{body}</article></body></html>")


def bare(html: str, url: str):
    """extract_article as the crawl calls it for a bare homepage URL."""
    return extract_article(html, url, profile=generic_profile(url))


# ------------------------------------------------------------------ zones without a profile

def test_utc_stamp_keeps_its_own_offset_and_day():
    html = page("", head='<meta property="article:published_time" content="2024-05-02T02:54:29Z">')
    art = bare(html, "https://news.example.com/2024/05/library-budget")
    assert art.published_at == "2024-05-02T02:54:29+00:00"  # not an Almaty day
    assert art.tz_source == "offset"


def test_publisher_offset_kept():
    html = page("", head='<meta property="article:published_time" content="2024-05-01T22:54:29-04:00">')
    art = bare(html, "https://news.example.com/library-budget")
    assert art.published_at == "2024-05-01T22:54:29-04:00" and art.tz_source == "offset"


def test_time_without_zone_gets_the_zone_of_the_pages_own_stamps():
    ld = '<script type="application/ld+json">{"@type":"NewsArticle","dateModified":"2024-05-03T09:00:00+03:00"}</script>'
    html = page('<div class="date">May 2, 2024 14:05</div>', head=ld)
    art = bare(html, "https://news.example.com/library-budget")
    assert art.published_at == "2024-05-02T14:05:00+03:00"
    assert art.tz_source == "page"
    assert art.modified_at == "2024-05-03T09:00:00+03:00"


@pytest.mark.parametrize("url, expected", [
    ("https://gazeta.example.kz/news/library-budget", "2020-05-08T12:28:00+06:00"),  # Almaty before 2024-03
    ("https://gazeta.example.ru/news/library-budget", "2020-05-08T12:28:00+03:00"),
    ("https://zeitung.example.de/news/library-budget", "2020-05-08T12:28:00+02:00"),  # summer time
])
def test_time_without_zone_gets_the_cctld_zone(url, expected):
    art = bare(page('<div class="date">8 May 2020 12:28</div>'), url)
    assert art.published_at == expected and art.tz_source == "cctld"


def test_kz_zone_history_after_2024():
    art = bare(page('<div class="date">5 November 2024 09:26</div>'), "https://a.example.kz/n/budget-news")
    assert art.published_at == "2024-11-05T09:26:00+05:00"


def test_no_zone_known_keeps_the_day_and_invents_no_offset():
    art = bare(page('<div class="date">8 May 2020 23:28</div>'), "https://news.example.com/library-budget")
    assert art.published_at == "2020-05-08" and art.tz_source == "none"
    art = extract_article(page('<div class="date">8 May 2020 23:28</div>'), "http://127.0.0.1:8000/n/budget")
    assert art.published_at == "2020-05-08" and art.tz_source == "none"


def test_profile_zone_is_used_and_recorded():
    profile = SiteProfile(name="t", start_urls=("https://news.example.com/",),
                          allowed_domains=("news.example.com",), languages=("en",), timezone="Asia/Almaty")
    art = extract_article(page('<div class="date">8 May 2020 12:28</div>'),
                          "https://news.example.com/library-budget", profile=profile)
    assert art.published_at == "2020-05-08T12:28:00+06:00" and art.tz_source == "profile"


def test_page_language_read_for_dates():
    # a Spanish dateline is read because the page says it is Spanish, not as ru/kk/en
    art = bare(page('<div class="fecha">17 de febrero de 2020</div>', lang="es"),
               "https://diario.example.com/noticia/biblioteca")
    assert art.published_at == "2020-02-17"
    # Content-Language in a meta tag when <html lang> is missing
    head = '<meta http-equiv="Content-Language" content="de">'
    art = bare(page('<div class="datum">12. März 2020</div>', lang=None, head=head),
               "https://zeitung.example.com/artikel/bibliothek")
    assert art.published_at == "2020-03-12"


def test_site_zone_ignores_utc_stamps():
    tree = parse_html(page("", head='<meta property="article:published_time" content="2024-05-02T02:54:29Z">'))
    assert site_zone(tree, "https://news.example.com/x") == ("", "none")
    assert site_zone(tree, "https://news.example.kz/x") == ("Asia/Almaty", "cctld")


def test_utc_stamp_shown_in_the_zone_of_the_templates_own_rfc2822_stamps():
    # a server-side template's state (not JSON-LD) writes the site's local stamps
    state = ('<script>window.__STATE__={"schedule":[{"title":"Evening news",'
             '"date":"Wed, 01 May 2024 23:00:00 -0400"}]};</script>')
    html = page("", head='<meta property="article:published_time" content="2024-05-02T02:54:29Z">' + state)
    art = bare(html, "https://news.example.com/library-budget")
    assert art.published_at == "2024-05-01T22:54:29-04:00" and art.tz_source == "page"
    # an external library's script says nothing about the newsroom
    html = page("", head='<meta property="article:published_time" content="2024-05-02T02:54:29Z">'
                '<script src="/lib.js">Wed, 01 May 2024 23:00:00 -0400</script>')
    assert bare(html, "https://news.example.com/library-budget").published_at == "2024-05-02T02:54:29+00:00"


def test_utc_stamp_on_a_ca_domain_is_an_eastern_day():
    html = page("", head='<meta property="article:published_time" content="2024-08-25T00:23:33Z">')
    art = bare(html, "https://nouvelles.example.ca/transport-scolaire")
    assert art.published_at == "2024-08-24T20:23:33-04:00" and art.tz_source == "cctld"


# ------------------------------------------------------------------ Kazakh in Latin script

LATIN_MONTHS = ["qañtar", "aqpan", "nauryz", "säuır", "mamyr", "mausym", "şılde", "tamyz",
                "qyrküiek", "qazan", "qaraşa", "jeltoqsan"]
LATIN_2018 = ["qan'tar", "aqpan", "nay'ryz", "sa'y'ir", "mamyr", "may'sym", "s'i'lde", "tamyz",
              "qyrky'iek", "qazan", "qarasha", "jeltoqsan"]


@pytest.mark.parametrize("month", range(1, 13))
def test_latin_kazakh_month_names(month):
    for spelling in (LATIN_MONTHS[month - 1], LATIN_2018[month - 1], LATIN_MONTHS[month - 1].capitalize()):
        value = parse_date_text(f"12 {spelling} 2025, 14:05", languages=("kk",), timezone="Asia/Almaty")
        assert value == datetime(2025, month, 12, 14, 5, tzinfo=value.tzinfo), spelling
        assert value.utcoffset().total_seconds() == 5 * 3600


def test_latin_kazakh_relative_dates():
    fetched = datetime(2025, 9, 12, 10, 0, tzinfo=timezone.utc)  # 15:00 in Almaty
    kw = {"languages": ("kk",), "timezone": "Asia/Almaty", "fetched_at": fetched}
    assert parse_date_text("bügın, 10:15", **kw).isoformat() == "2025-09-12T10:15:00+05:00"
    assert parse_date_text("keşe, 09:00", **kw).isoformat() == "2025-09-11T09:00:00+05:00"
    assert parse_date_text("3 sağat buryn", **kw).isoformat() == "2025-09-12T12:00:00+05:00"


def test_cyrillic_kazakh_year_first():
    assert parse_date_text("2025 жылғы 12 қыркүйек", languages=("kk",)).isoformat() == "2025-09-12"
    assert parse_date_text("2025 жылғы 12 қыркүйек, 14:05", languages=("kk",)).isoformat() \
        == "2025-09-12T14:05:00+05:00"


def test_latin_kazakh_page_detected_and_dated():
    html = page('<div class="date">12 qyrküiek 2025, 14:05</div>', lang="kk", paras=KK_2021,
                title="Prezident jiyn ötkizdı")
    art = bare(html, "https://egemen.example.kz/kz/news/prezident-jiyn-otkizdi")
    assert art.language == "kk"
    assert art.published_at == "2025-09-12T14:05:00+05:00" and art.published_raw == "12 qyrküiek 2025, 14:05"
    # undeclared, and under a template's lang="en": the text says Kazakh
    for lang in (None, "en"):
        art = bare(html.replace(' lang="kk"', f' lang="{lang}"' if lang else ""),
                   "https://egemen.example.kz/kz/news/prezident-jiyn-otkizdi")
        assert art.language == "kk", lang
        assert art.published_at == "2025-09-12T14:05:00+05:00", lang


def test_latin_kazakh_detection():
    assert is_kazakh_latin(" ".join(KK_2021)) and script_language(" ".join(KK_2021)) == "kk"
    assert is_kazakh_latin(KK_2018) and script_language(KK_2018) == "kk"
    assert script_language(" ".join(EN_PARAS)) == "en"
    turkish = ("Cumhurbaşkanı bugün Ankara'da düzenlenen toplantıda ülkenin ekonomik gelişimiyle ilgili "
               "bir dizi önemli konuyu gündeme getirdi ve bölgelerdeki yol yapımının sürmesi gerektiğini söyledi.")
    german = "Der Bürgermeister öffnete heute die neue Bücherei für alle Schüler und Lehrer der Stadt Köln."
    assert not is_kazakh_latin(turkish) and not is_kazakh_latin(german)


def test_skeleton_folds_both_alphabets():
    assert skeleton("Qyrküiek") == skeleton("qyrky'iek".replace("y'", "ú")) == "qyrkuiek"
    assert skeleton("şılde") == skeleton("shilde") == "silde"
    assert dates_to_cyrillic("12 qyrküiek 2025") == "12 қыркүйек 2025"
    assert dates_to_cyrillic("Library budget") == "Library budget"


def test_find_published_date_defaults_unchanged_for_kazakhstani_sites():
    # the library call with its defaults (ru/kk/en, Asia/Almaty) stays as exact as before
    html = page('<div class="date">8 мая 2020 г. 12:28</div>', lang="ru")
    assert find_published_date(html, "https://kazpravda.kz/n/x/").value == "2020-05-08T12:28:00+06:00"
