"""The dateline under the headline against re-saved metadata, and one reading of both dates.

Pages are written here. Dates are found as the crawl finds them for a bare URL:
``extract_article(html, url, profile=generic_profile(url))``, or the date functions with
what that call passes (``languages=None, timezone=None``).
"""

from __future__ import annotations

import json

from crawler.dates import find_dates, find_modified_date, find_published_date
from crawler.extract import extract_article
from crawler.profiles import generic_profile

PARAS = [
    "The harbour authority opened a second ferry line between the two islands this spring.",
    "Boats now leave every forty minutes, and the crossing takes a little under half an hour.",
    "Island residents had asked for a later evening departure for several years in a row.",
]
FILLER = "".join(f"<p>Background note number {i} about the ferry timetable and its history.</p>"
                 for i in range(25))
TITLE = "A second ferry line links the islands"


def page(dateline: str, *, published: str = "2024-03-18T10:00:00+01:00", modified: str | None = None,
         after_body: str = "", lang: str = "en") -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
            "datePublished": published}
    if modified:
        data["dateModified"] = modified
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    return (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{TITLE}</title>"
            f"<script type='application/ld+json'>{json.dumps(data, ensure_ascii=False)}</script>"
            f"</head><body><article><h1>{TITLE}</h1>{dateline}{body}{after_body}</article>"
            f"</body></html>")


URL = "https://ferries.example.com/news/second-line"


def bare(html: str):
    return extract_article(html, URL, profile=generic_profile(URL))


def crawl_date(html: str):
    return find_published_date(html, URL, languages=None, timezone=None)


# ------------------------------------------------------------------ the earlier dateline


def test_earlier_dateline_overrules_resaved_metadata():
    # migrated story: the CMS stamped its move (2024), the page still shows the first day
    html = page('<div class="byline">By A. Writer · 9 June 2021</div>')
    art = bare(html)
    assert art.published_at == "2021-06-09"
    assert art.date_source == "text"
    assert art.published_raw == "9 June 2021"


def test_earlier_dateline_english_month_first():
    result = crawl_date(page('<p class="meta">Posted on March 2, 2019 by the desk</p>'))
    assert result.value == "2019-03-02"


def test_later_dateline_does_not_overrule():
    # an unlabelled later date under the headline is an update, not the publication
    result = crawl_date(page('<div class="byline">22 November 2024</div>'))
    assert result.value == "2024-03-18T10:00:00+01:00"
    assert result.source == "json-ld"


def test_dateline_one_day_off_does_not_overrule():
    # a day apart is a zone question (the instant may be the same), not another publication
    result = crawl_date(page('<div class="byline">17 March 2024</div>'))
    assert result.source == "json-ld"
    assert result.value.startswith("2024-03-18")


def test_numeric_dateline_does_not_overrule():
    # 03/10/2023 is March or October depending on the reader: too weak against metadata
    result = crawl_date(page('<div class="byline">03/10/2023</div>'))
    assert result.source == "json-ld"


def test_date_in_the_body_far_from_headline_does_not_overrule():
    # a date in the story's text (an old event) is not the dateline
    result = crawl_date(page("", after_body=FILLER + "<p>The first line opened on 4 May 1998.</p>"))
    assert result.source == "json-ld"
    assert result.value == "2024-03-18T10:00:00+01:00"


def test_updated_dateline_does_not_overrule():
    result = crawl_date(page('<div class="byline">Updated 9 June 2021</div>'))
    assert result.source == "json-ld"


def test_relative_dateline_does_not_overrule():
    result = crawl_date(page('<div class="byline">3 days ago</div>'))
    assert result.source == "json-ld"


# ------------------------------------------------------------------ one reading of both dates


def test_find_dates_matches_the_two_functions():
    html = page('<div class="byline">18 March 2024</div>', modified="2024-03-20T08:30:00+01:00")
    published, modified = find_dates(html, URL, languages=None, timezone=None)
    assert published == find_published_date(html, URL, languages=None, timezone=None)
    assert modified == find_modified_date(html, URL, languages=None, timezone=None)
    assert modified == "2024-03-20T08:30:00+01:00"


def test_modified_date_read_before_no_break_spaces_are_marked():
    # the article keeps its no-break spaces through extraction; the JSON-LD date written
    # with them must still be read as it was served
    html = page('<div class="byline">18\u00a0March\u00a02024</div>', modified="2024-03-20\u00a008:30:00+01:00")
    art = bare(html)
    assert art.modified_at == "2024-03-20T08:30:00+01:00"
    assert art.published_at.startswith("2024-03-18")


def test_find_dates_on_unparseable_input():
    assert find_dates(b"", URL) == (find_published_date(b"", URL), None)


# ------------------------------------------------------------------ Content-Language header

FR_PARAS = [
    "Le conseil municipal a adopté mardi soir un nouveau budget pour les bibliothèques publiques.",
    "Les élus ont indiqué que les horaires d'ouverture seraient prolongés dès le mois prochain.",
    "Plusieurs habitants ont demandé davantage de places pour les enfants et les étudiants.",
]


def fr_page(lang_attr: str = "") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in FR_PARAS)
    return (f"<!DOCTYPE html><html{lang_attr}><head><meta charset='utf-8'>"
            f"<title>Un nouveau budget pour les bibliothèques</title></head><body><article>"
            f"<h1>Un nouveau budget pour les bibliothèques</h1><div class='date'>03/10/2023</div>"
            f"{body}</article></body></html>").encode("utf-8")


def processed(body: bytes, content_language: str | None):
    from crawler.page import process_page

    headers = {"Content-Type": "text/html; charset=utf-8"}
    if content_language:
        headers["Content-Language"] = content_language
    url = "https://biblio.example.com/actualites/budget"
    result = process_page(body, headers, url, "2023-10-05T08:00:00+00:00", generic_profile(url))
    assert result.error is None, result.error
    return result.article


def test_content_language_header_reads_an_undeclared_page_in_its_language():
    # 03/10/2023 on a French page is 3 October; without any language it is a guess
    assert processed(fr_page(), "fr")["published_at"] == "2023-10-03"


def test_page_lang_wins_over_content_language_header():
    # the page's own declaration beats a server-wide header
    assert processed(fr_page(" lang='en-US'"), "fr")["published_at"] == "2023-03-10"


def test_process_fetched_passes_the_stored_headers():
    from crawler.items import FetchedPage
    from crawler.page import process_fetched

    url = "https://biblio.example.com/actualites/budget"
    page = FetchedPage(url=url, final_url=url, site="biblio.example.com",
                       fetched_at="2023-10-05T08:00:00+00:00", status=200,
                       headers={"content-type": "text/html; charset=utf-8", "content-language": "fr"},
                       content_type="text/html; charset=utf-8", body=fr_page())
    assert process_fetched(page, generic_profile(url)).article["published_at"] == "2023-10-03"
