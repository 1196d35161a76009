"""The frontier's row of an article is its URL's matching key: a crawl resumed after kill -9
that finds another spelling of a queued article URL (no trailing slash, a listing's candidate
link) does not fetch the page twice (crawler/frontier.py). The real scheduler on a real
archive file; two schedulers in turn stand for the killed crawl and the resumed one."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.frontier import FrontierScheduler

SITE = "127.0.0.1"
ROOT = "http://127.0.0.1:9/"


class _Spider(Spider):
    name = "keys"
    profiles = {SITE: None}

    def parse_article(self, response):
        return ()

    def parse_candidate(self, response):
        return ()

    def parse_listing(self, response):
        return ()


def _scheduler(db):
    crawler = get_crawler(_Spider, {"FRONTIER_PATH": str(db), "FRONTIER_FLUSH_EVERY": 1})
    spider = _Spider()
    scheduler = FrontierScheduler.from_crawler(crawler)
    scheduler.open(spider)
    return scheduler, spider


def _article(spider, path, callback=None, **meta):
    return Request(ROOT + path, callback=callback or spider.parse_article,
                   meta={"site": SITE, "article": True, **meta}, dont_filter=True)


def _drain(scheduler) -> list[str]:
    urls = []
    while (request := scheduler.next_request()) is not None:
        urls.append(request.url)
    return urls


def test_resumed_crawl_does_not_queue_another_spelling_of_a_queued_article(tmp_path):
    db = tmp_path / "a.db"
    killed, spider = _scheduler(db)
    killed.enqueue_request(_article(spider, "n/story-1/"))
    killed.enqueue_request(_article(spider, "n/story-2/"))
    killed.store.flush()  # what a killed crawl leaves: the rows, nothing closed

    resumed, spider = _scheduler(db)
    resumed.enqueue_request(_article(spider, "n/story-1"))  # a listing's link, no slash
    resumed.enqueue_request(_article(spider, "n/story-2", callback=spider.parse_candidate, classify=True))
    resumed.enqueue_request(_article(spider, "n/story-3/"))
    assert sorted(_drain(resumed)) == [ROOT + "n/story-1/", ROOT + "n/story-2/", ROOT + "n/story-3/"]


def test_other_requests_keep_scrapys_fingerprint(tmp_path):
    """Listings and sitemaps are told apart as Scrapy tells requests apart: a query is its own."""
    scheduler, spider = _scheduler(tmp_path / "a.db")
    for path in ("news/", "news/?page=2"):
        scheduler.enqueue_request(Request(ROOT + path, callback=spider.parse_listing, meta={"site": SITE},
                                          dont_filter=True))
    scheduler.store.flush()
    rows = scheduler.store.conn.execute("SELECT url FROM frontier ORDER BY url").fetchall()
    assert rows == [(ROOT + "news/",), (ROOT + "news/?page=2",)]
