"""The spider and its parts, one callback at a time, with synthetic responses (no network),
the way Scrapy tests its own SitemapSpider; the pacer and the known-URL/limit middlewares
by their counts."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.incremental import KnownIndex, KnownPage
from crawler.items import FetchedPage
from crawler.known_urls import KnownUrlMiddleware, SiteLimitMiddleware
from crawler.sitemap_pacer import SitemapPacer
from spiders.news import NewsSpider

ROOT = "http://news.example.kz"
SITE = "news.example.kz"
ARTICLE = f"{ROOT}/news/akim-otkryl-novuyu-shkolu-v-aktau/"
OTHER = f"{ROOT}/news/v-almaty-proshel-forum-molodezhi/"


def make_spider(**settings) -> NewsSpider:
    crawler = get_crawler(NewsSpider, {"CRAWL_TARGETS": [ROOT + "/"], **settings})
    return NewsSpider.from_crawler(crawler)


def response(cls, url, body: bytes, **meta):
    return cls(url, body=body, request=Request(url, meta={"site": SITE, **meta}))


def urlset(*entries: tuple[str, str | None]) -> bytes:
    urls = "".join(f"<url><loc>{loc}</loc>" + (f"<lastmod>{m}</lastmod>" if m else "") + "</url>"
                   for loc, m in entries)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()


def sitemapindex(*locs: str) -> bytes:
    items = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return (f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>').encode()


# -- sitemaps ----------------------------------------------------------------------------------

def test_robots_txt_sitemaps_are_held_and_released_one_at_a_time():
    spider = make_spider()
    robots = b"User-agent: *\nDisallow: /private/\nSitemap: /s1.xml\nSitemap: http://news.example.kz/s2.xml\n"
    out = list(spider.parse_sitemap(response(TextResponse, f"{ROOT}/robots.txt", robots)))
    assert [r.url for r in out] == [f"{ROOT}/s1.xml"]
    assert out[0].meta == {"site": SITE, "discovery": "sitemap", "held": True} and out[0].priority == 1
    assert out[0].callback == spider.parse_sitemap and out[0].errback == spider.discovery_error
    assert spider.pacer.held(SITE) == 1
    assert spider.crawler.stats.get_value("discovery/sitemaps") == 2


def test_robots_txt_without_sitemap_line_tries_the_conventional_location():
    spider = make_spider()
    [guess] = spider.parse_sitemap(response(TextResponse, f"{ROOT}/robots.txt", b"User-agent: *\n"))
    assert guess.url == f"{ROOT}/sitemap.xml" and guess.meta["guessed"]


def test_urlset_gives_article_requests_with_their_lastmod():
    spider = make_spider()
    body = urlset((ARTICLE, "2025-09-12T10:00:00+05:00"), (f"{ROOT}/about/", None), (OTHER, None))
    out = list(spider.parse_sitemap(response(XmlResponse, f"{ROOT}/sitemap.xml", body)))
    assert [r.url for r in out] == [ARTICLE, OTHER]  # /about/ is not an article URL
    first = out[0]
    assert first.callback == spider.parse_article and first.dont_filter
    assert first.meta["article"] and first.meta["via"] == "sitemap" and first.meta["site"] == SITE
    assert first.meta["lastmod"] == "2025-09-12T10:00:00+05:00" and out[1].meta["lastmod"] is None
    assert 304 in first.meta["handle_httpstatus_list"]
    assert spider.crawler.stats.get_value("discovery/discovered") == 2


def test_an_url_is_requested_once_per_run_whatever_its_spelling():
    spider = make_spider()
    body = urlset((ARTICLE, None), (ARTICLE.rstrip("/") + "?utm_source=x", None))
    out = list(spider.parse_sitemap(response(XmlResponse, f"{ROOT}/sitemap.xml", body)))
    assert len(out) == 1


def test_gzipped_sitemap_is_read():
    spider = make_spider()
    body = gzip.compress(urlset((ARTICLE, None)))
    out = list(spider.parse_sitemap(response(TextResponse, f"{ROOT}/sitemap.xml.gz", body)))
    assert [r.url for r in out] == [ARTICLE]


def test_since_drops_older_entries_and_counts_them():
    spider = make_spider(CRAWL_SINCE="2025-09-01")
    body = urlset((ARTICLE, "2025-08-31"), (OTHER, "2025-09-01T08:00:00Z"))
    out = list(spider.parse_sitemap(response(XmlResponse, f"{ROOT}/sitemap.xml", body)))
    assert [r.url for r in out] == [OTHER]
    assert spider.crawler.stats.get_value("discovery/older_than_since") == 1


def test_sitemap_index_entries_are_held_not_fetched_at_once():
    spider = make_spider(SITEMAP_NEXT_BELOW=2)
    body = sitemapindex(*(f"{ROOT}/sitemap-{i}.xml" for i in range(1, 4)), f"{ROOT}/sitemap-1.xml")
    out = list(spider.parse_sitemap(response(XmlResponse, f"{ROOT}/sitemap.xml", body)))
    assert [r.url for r in out] == [f"{ROOT}/sitemap-1.xml"]
    assert spider.pacer.held(SITE) == 2  # the repeated entry is held once


def test_not_a_sitemap_is_ignored():
    spider = make_spider()
    out = list(spider.parse_sitemap(response(XmlResponse, f"{ROOT}/sitemap.xml", b"<html><p>hi</p></html>")))
    assert out == []


# -- feeds and listings ------------------------------------------------------------------------

def test_feed_items_become_article_requests_with_their_dates():
    spider = make_spider()
    rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><item><link>{ARTICLE}?utm_medium=rss</link>'
           f"<pubDate>Fri, 12 Sep 2025 10:00:00 +0500</pubDate></item>"
           f"<item><link>/news/v-almaty-proshel-forum-molodezhi/</link></item></channel></rss>").encode()
    out = list(spider.parse_feed(response(XmlResponse, f"{ROOT}/rss.xml", rss, discovery="feed")))
    assert [r.meta["via"] for r in out] == ["feed", "feed"]
    assert out[1].url == OTHER and out[0].meta["lastmod"] == "Fri, 12 Sep 2025 10:00:00 +0500"


def test_listing_gives_articles_pagination_sections_and_feeds():
    spider = make_spider(DISCOVERY_DEPTH=0)  # by URL shape only, as a profile's pattern does
    html = (f'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>'
            f'<a href="{ARTICLE}">a</a><a href="/news/?page=2">next</a><a href="/politics/">section</a>'
            f'<a href="https://elsewhere.example.com/news/some-long-story-here/">away</a></body></html>').encode()
    out = list(spider.parse_listing(response(HtmlResponse, ROOT + "/", html, discovery="listing", listing_depth=0)))
    by_url = {r.url: r for r in out}
    assert by_url[f"{ROOT}/rss.xml"].callback == spider.parse_feed
    assert by_url[ARTICLE].callback == spider.parse_article
    assert by_url[f"{ROOT}/news/?page=2"].meta["listing_depth"] == 1
    assert f"{ROOT}/politics/" in by_url
    assert not any("elsewhere" in u for u in by_url)


def test_listing_without_url_pattern_gives_candidates_decided_by_content():
    spider = make_spider()
    html = ('<html><body><ul><li><a href="/news/view.php?id=1099">one</a>'
            '<time datetime="2025-09-12T14:05:00+05:00">12 сентября</time></li>'
            f'<li><a href="{ARTICLE}">two</a></li></ul>'
            '<a href="/news/?x=1">Келесі »</a><a href="/archive/2025/09/12/">day</a>'
            '<a href="/world/asia/">section</a><a href="/about/">about</a><a href="/files/a.pdf">pdf</a>'
            '<a href="/tags/almaty/">tag</a><a href="https://elsewhere.example.com/x/">away</a></body></html>').encode()
    out = list(spider.parse_listing(response(HtmlResponse, ROOT + "/", html, discovery="listing", listing_depth=0)))
    by_url = {r.url: r for r in out}
    candidates = {u for u, r in by_url.items() if r.meta.get("classify")}
    assert candidates == {f"{ROOT}/news/view.php?id=1099", ARTICLE, f"{ROOT}/world/asia/"}
    for url in candidates:
        assert by_url[url].callback == spider.parse_candidate and by_url[url].meta["hops"] == 1
    assert by_url[f"{ROOT}/news/view.php?id=1099"].meta["lastmod"] == "2025-09-12T14:05:00+05:00"
    assert by_url[ARTICLE].meta["lastmod"] is None  # a teaser without a date
    listings = {u for u, r in by_url.items() if r.callback == spider.parse_listing}
    assert listings == {f"{ROOT}/news/?x=1", f"{ROOT}/archive/2025/09/12/"}
    assert spider.crawler.stats.get_value("discovery/candidates") == 3


def test_a_candidate_that_a_sitemap_lists_too_is_not_classified():
    spider = make_spider()
    html = f'<html><body><a href="{ARTICLE}">x</a></body></html>'.encode()
    [candidate] = spider.parse_listing(response(HtmlResponse, ROOT + "/", html, discovery="listing", listing_depth=0))
    [offer] = spider._sitemap_entries(response(XmlResponse, f"{ROOT}/sitemap.xml",
                                               urlset((candidate.url, "2025-09-12"))), SITE)
    assert offer.meta["offer_only"] and offer.meta["listed"] == {"lastmod": "2025-09-12"}
    page_response = HtmlResponse(candidate.url, body=b"<html></html>", request=candidate,
                                 headers={"Content-Type": "text/html"})
    [page] = [p for p in spider.parse_candidate(page_response) if isinstance(p, FetchedPage)]
    assert page.classify is False


def test_sitemap_and_feed_entries_not_shaped_like_articles_are_candidates():
    spider = make_spider()
    [sitemapped] = spider._sitemap_entries(response(XmlResponse, f"{ROOT}/sitemap.xml",
                                                    urlset((f"{ROOT}/news/view.php?id=7", None))), SITE)
    assert sitemapped.meta["classify"] and sitemapped.meta["via"] == "sitemap"
    assert sitemapped.meta["hops"] == spider.discovery_depth  # its links are not followed
    old = make_spider(DISCOVERY_DEPTH=0)
    assert list(old._sitemap_entries(response(XmlResponse, f"{ROOT}/sitemap.xml",
                                              urlset((f"{ROOT}/news/view.php?id=7", None))), SITE)) == []


def test_candidates_per_site_are_capped():
    spider = make_spider(DISCOVERY_MAX_PAGES=3)
    html = "".join(f'<a href="/world/n{i}.html">{i}x</a>' for i in range(5)).encode()
    out = list(spider.parse_listing(response(HtmlResponse, ROOT + "/", b"<html><body>" + html + b"</body></html>",
                                             discovery="listing", listing_depth=0)))
    assert len([r for r in out if r.meta.get("classify")]) == 3
    assert spider.crawler.stats.get_value("discovery/candidates_over_limit") == 2


def test_candidate_links_are_followed_within_the_depth():
    spider = make_spider(DISCOVERY_DEPTH=2)
    html = b'<html><body><a href="/world/asia/central/">deeper</a></body></html>'
    for hops, followed in ((1, True), (2, False)):
        url = f"{ROOT}/world/{hops}/"
        request = Request(url, meta={"site": SITE, "article": True, "classify": True, "hops": hops})
        out = list(spider.parse_candidate(HtmlResponse(url, body=html, request=request,
                                                       headers={"Content-Type": "text/html"})))
        assert isinstance(out[0], FetchedPage) and out[0].classify
        assert any(isinstance(r, Request) and r.url.endswith("/world/asia/central/") for r in out) == followed


# -- articles ----------------------------------------------------------------------------------

def test_article_response_becomes_a_fetched_page_with_kept_headers():
    spider = make_spider()
    request = Request(ARTICLE, meta={"site": SITE, "article": True})
    page_response = HtmlResponse(ARTICLE, body=b"<html><p>text</p></html>", request=request, headers={
        "Content-Type": "text/html; charset=utf-8", "ETag": '"v1"', "Set-Cookie": "a=b", "Content-Length": "24"})
    [page] = spider.parse_article(page_response)
    assert isinstance(page, FetchedPage)
    assert (page.url, page.final_url, page.site, page.status, page.error) == (ARTICLE, ARTICLE, SITE, 200, None)
    assert page.headers == {"content-type": "text/html; charset=utf-8", "etag": '"v1"', "content-length": "24"}
    assert page.body == b"<html><p>text</p></html>"


def test_error_status_is_recorded_as_the_page_error():
    spider = make_spider()
    request = Request(ARTICLE, meta={"site": SITE, "article": True})
    [page] = spider.parse_article(HtmlResponse(ARTICLE, status=404, body=b"gone", request=request))
    assert page.error == "HTTP 404"


# -- the pacer, by counts ----------------------------------------------------------------------

class _Req:
    def __init__(self, url):
        self.url = url


def test_pacer_hands_out_one_sitemap_at_a_time_as_the_queue_drains():
    pacer = SitemapPacer(below=2)
    for i in range(3):
        assert pacer.hold("a", _Req(f"s{i}"))
    assert not pacer.hold("a", _Req("s0"))  # listed twice
    assert [r.url for r in pacer.release("a")] == ["s0"]
    assert pacer.release("a") == []  # s0 is still being fetched
    pacer.fetched("a")
    for _ in range(3):
        pacer.scheduled("a")
    assert pacer.waiting("a") == 3 and pacer.release("a") == []
    pacer.answered("a")
    assert pacer.release("a") == []  # 2 waiting: not below 2
    pacer.answered("a")
    assert [r.url for r in pacer.release("a")] == ["s1"]
    assert pacer.release("b") == []  # another site has nothing held


def test_pacer_with_below_zero_hands_out_everything():
    pacer = SitemapPacer(below=0)
    for i in range(3):
        pacer.hold("a", _Req(f"s{i}"))
    assert [r.url for r in pacer.release("a")] == ["s0", "s1", "s2"]


def test_pacer_drops_held_sitemaps_of_a_site_at_its_limit():
    pacer = SitemapPacer(below=5, limit=2)
    pacer.hold("a", _Req("s0"))
    pacer.hold("a", _Req("s1"))
    pacer.scheduled("a")
    pacer.scheduled("a")
    assert pacer.release("a") == [] and pacer.held("a") == 0 and pacer.skipped_over_limit == 2


def test_pacer_on_idle_releases_the_next_of_every_site_whatever_the_counts():
    pacer = SitemapPacer(below=1)
    for site in ("a", "b"):
        pacer.hold(site, _Req(f"{site}0"))
        pacer.hold(site, _Req(f"{site}1"))
        pacer.scheduled(site)  # one waiting: nothing would be released
    assert pacer.release("a") == []
    assert sorted(r.url for r in pacer.release_idle()) == ["a0", "b0"]
    assert sorted(r.url for r in pacer.release_idle()) == ["a1", "b1"]  # busy is no reason on idle
    assert pacer.release_idle() == []


# -- known URLs and the per-site limit ---------------------------------------------------------

SEEN = datetime(2025, 9, 12, 12, 0, tzinfo=timezone.utc)


def _known(**options):
    page = KnownPage(url=ARTICLE, article_url=ARTICLE, last_seen_at=SEEN, published_at="2025-09-12T10:00:00+05:00",
                     etag='"v1"', last_modified="Fri, 12 Sep 2025 07:00:00 GMT")
    crawler = get_crawler(NewsSpider, {"CRAWL_TARGETS": [ROOT + "/"]})
    return KnownUrlMiddleware(crawler, KnownIndex([page]), **options), crawler.stats


def _article(url, **meta):
    return Request(url, meta={"site": SITE, "article": True, **meta})


def test_known_unchanged_url_is_dropped_and_counted():
    mw, stats = _known()
    out = list(mw.process_spider_output(None, [_article(ARTICLE, lastmod="2025-09-12T11:00:00Z"),
                                               _article(OTHER), Request(f"{ROOT}/sitemap-2.xml")]))
    assert [r.url for r in out] == [OTHER, f"{ROOT}/sitemap-2.xml"]
    assert stats.get_value("discovery/skipped_known") == 1
    assert stats.get_value(f"discovery/site/{SITE}/skipped_known") == 1


@pytest.mark.parametrize("how", ["lastmod", "force", "refresh"])
def test_known_url_goes_out_conditionally_when_changed_forced_or_refreshed(how):
    mw, stats = _known(refresh=how == "refresh")
    meta = {"lastmod": "2025-09-13T08:00:00Z"} if how == "lastmod" else {"force": True} if how == "force" else {}
    [request] = mw.process_spider_output(None, [_article(ARTICLE, **meta)])
    assert request.headers.get("If-None-Match") == b'"v1"'
    assert request.headers.get("If-Modified-Since") == b"Fri, 12 Sep 2025 07:00:00 GMT"
    assert request.meta["known_article_url"] == ARTICLE
    assert stats.get_value("discovery/refetch") == 1


def test_limit_counts_article_requests_per_site():
    crawler = get_crawler(NewsSpider, {"CRAWL_TARGETS": [ROOT + "/"]})
    mw = SiteLimitMiddleware(crawler, limit=2)
    items = [_article(f"{ROOT}/news/story-number-{i}-here/") for i in range(3)]
    items.append(Request(f"{ROOT}/news/other-site-story-here/", meta={"site": "other", "article": True}))
    items.append(Request(f"{ROOT}/sitemap-9.xml"))
    out = list(mw.process_spider_output(None, items))
    assert [r.meta.get("site") for r in out] == [SITE, SITE, "other", None]
    assert crawler.stats.get_value("discovery/over_limit") == 1
