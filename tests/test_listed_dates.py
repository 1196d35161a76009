"""Edits seen without trusting clocks: each source's date against the one it gave last time."""

from __future__ import annotations

from scrapy import Request
from scrapy.utils.test import get_crawler

from archive import Archive
from crawler.incremental import KnownIndex, KnownPage, listed_changed
from crawler.known_urls import KnownUrlMiddleware
from datetime import datetime, timezone

URL = "http://news.example.kz/news/view.php?id=1099"


def test_a_source_is_compared_with_its_own_last_date_only():
    recorded = {"lastmod": "2025-09-12T07:05:00+00:00", "listing_date": "2025-09-12T14:05:00+05:00"}
    assert listed_changed(recorded, {"listing_date": "2025-09-12T09:05:00Z"}) is False  # same instant
    assert listed_changed(recorded, {"lastmod": "2025-09-12T07:06:00+00:00"}) is True
    # a feed date never seen before: no verdict, the caller falls back on the page's record
    assert listed_changed(recorded, {"feed_date": "Fri, 12 Sep 2025 10:00:00 +0500"}) is None
    assert listed_changed(None, {"lastmod": "2025-09-12"}) is None


def test_record_keeps_earlier_dates_of_sources_silent_this_time(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        archive.record_listed_dates([{"url_key": "k", "lastmod": "A", "listing_date": "L"}], "2025-09-12T00:00:00Z")
        archive.record_listed_dates([{"url_key": "k", "lastmod": "B"}], "2025-09-13T00:00:00Z")
        [row] = archive.listed_dates()
    assert (row["lastmod"], row["feed_date"], row["listing_date"]) == ("B", None, "L")


def _middleware(listed):
    known = KnownPage(url=URL, article_url=URL, last_seen_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                      published_at=None, etag='"v1"', last_modified=None)
    index = KnownIndex([known], listed={k: v for k, v in listed.items()})
    return KnownUrlMiddleware(get_crawler(), index)


def _offer(source, date, offer_only=False):
    meta = {"site": "s", "article": True, "listed": {source: date}, "lastmod": date}
    if offer_only:
        meta["offer_only"] = True
    return Request(URL, meta=meta)


def test_a_second_source_with_a_changed_date_refetches_a_skipped_url_whatever_the_clock():
    from crawler.urls import url_key

    mw = _middleware({url_key(URL): {"lastmod": "2025-09-12T07:05:00+00:00", "listing_date": "2025-09-12"}})
    assert mw.filter(_offer("listing_date", "2025-09-12")) is None  # unchanged listing: skipped
    # the sitemap says 07:06, still long before our last visit (2030) by our clock: an edit
    request = mw.filter(_offer("lastmod", "2025-09-12T07:06:00+00:00", offer_only=True))
    assert request is not None and "offer_only" not in request.meta
    assert request.headers.get("If-None-Match") == b'"v1"'
    # once requested, a third offer does not fetch it again
    assert mw.filter(_offer("feed_date", "Fri, 12 Sep 2025 10:00:00 +0500", offer_only=True)) is None
    rows = {r["url_key"]: r for r in mw.listed_rows()}
    assert rows[url_key(URL)] == {"url_key": url_key(URL), "listing_date": "2025-09-12",
                                  "lastmod": "2025-09-12T07:06:00+00:00",
                                  "feed_date": "Fri, 12 Sep 2025 10:00:00 +0500"}
