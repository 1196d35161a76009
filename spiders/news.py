"""The news spider: discovers article URLs of one or more sites and fetches them.

Discovery, for every target site, in this order of trust:
  1. sitemaps: robots.txt ``Sitemap:`` lines (or the profile's list, or ``/sitemap.xml``),
     sitemap indexes, gzip'd and Google News sitemaps (read with Scrapy's sitemap utilities);
  2. RSS/Atom feeds: the profile's, and those autodiscovered from ``<link rel="alternate">``;
  3. the homepage, its sections and their paginated listings, with the profile's article-URL
     pattern telling articles from navigation; on a site without one, discovery by content
     (crawler/discovery.py): every same-site link that is not clearly navigation or a static
     file is fetched as a candidate, within DISCOVERY_DEPTH hops and DISCOVERY_MAX_PAGES
     per site, the page itself says whether it is an article (``classify_page`` in the
     extraction pipeline) and its links are followed in turn.

Every article candidate is fetched once per run (URLs are compared after canonicalisation)
and handed on as a :class:`crawler.items.FetchedPage`, errors included, so the archive
records what failed and why.

The spider only discovers and parses.  Its parts: the sitemaps of an index are paced by
:class:`crawler.sitemap_pacer.SitemapPacer`; known URLs and the per-site limit are spider
middlewares (:mod:`crawler.known_urls`); per-site politeness is DOWNLOAD_SLOTS
(:mod:`crawler.site_settings`).  Sitemaps are read with Scrapy's public sitemap utilities.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response, XmlResponse
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import sitemap_urls_from_robots
from w3lib.url import safe_url_string

from archive.core import select_headers
from crawler.discovery import link_kind, listing_date
from crawler.incremental import parse_lastmod
from crawler.items import FetchedPage
from crawler.known_urls import KnownUrlMiddleware
from crawler.middlewares import RETRY_NOTE, describe_failure, report_xml_problems, xml_problems
from crawler.profiles import SiteProfile, crawl_profiles
from crawler.sitemap_pacer import SitemapPacer
from crawler.sitemap_stream import SitemapStream
from crawler.urls import normalize_url, url_key

logger = logging.getLogger(__name__)

# Let article responses with error statuses reach the spider so they are recorded; 3xx are
# left out so the redirect middleware still follows redirects.
ERROR_STATUSES = list(range(400, 600))
# ... and 304, the answer to a conditional re-fetch of an unchanged page.
HANDLED_STATUSES = [304, *ERROR_STATUSES]
_FEED_TYPES = re.compile(r"(rss|atom)\+xml|application/(rss|atom|xml)", re.I)
_PAGINATION = re.compile(r"(?:[?&](?:page|p|PAGEN_\d+)=\d+|/page/\d+/?$)", re.I)


# which recorded date a discovery source gives (archive table listed_dates)
_LISTED_BY = {"sitemap": "lastmod", "feed": "feed_date", "listing": "listing_date", "content": "listing_date"}


def _parse_when(value: str | None) -> date | None:
    """The day of a sitemap lastmod (W3C datetime) or a feed date (RFC 822)."""
    when = parse_lastmod(value)
    return when.date() if when else None


def utcnow_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class NewsSpider(Spider):
    name = "news"

    def __init__(self, *args, profiles: dict[str, SiteProfile] | None = None, since=None, limit=0,
                 recheck_days=0, next_sitemap_below=32, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiles: dict[str, SiteProfile] = dict(profiles or {})
        self.since = date.fromisoformat(since) if isinstance(since, str) and since else since
        self.recheck_days = int(recheck_days or 0)
        self.allowed_domains = sorted({d for p in self.profiles.values() for d in p.allowed_domains})
        self.pacer = SitemapPacer(next_sitemap_below, int(limit or 0))
        self._seen: set[str] = set()
        self.discovery_depth = 5
        self.discovery_max_pages = 1000
        self._candidates: dict[str, int] = {}
        self._confirmed: set[str] = set()  # candidates that a sitemap or feed lists too

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        s = crawler.settings
        kwargs.setdefault("profiles", crawl_profiles(s))
        kwargs.setdefault("since", s.get("CRAWL_SINCE"))
        kwargs.setdefault("limit", s.getint("CRAWL_LIMIT"))
        kwargs.setdefault("recheck_days", s.getint("CRAWL_RECHECK_DAYS"))
        # The persistent frontier holds every sitemap: none wait in memory.
        kwargs.setdefault("next_sitemap_below", 0 if s.getbool("FRONTIER_ENABLED")
                          else s.getint("SITEMAP_NEXT_BELOW", 32))
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_size = s.getint("DOWNLOAD_MAXSIZE")
        spider.discovery_depth = s.getint("DISCOVERY_DEPTH", 5)
        spider.discovery_max_pages = s.getint("DISCOVERY_MAX_PAGES", 1000)
        crawler.signals.connect(spider._release_on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._article_scheduled, signal=signals.request_scheduled)
        return spider

    # -- start -------------------------------------------------------------------------

    async def start(self):
        if not self.profiles:
            logger.error("nothing to crawl: no targets given")
            return
        known = self.crawler.get_spider_middleware(KnownUrlMiddleware)
        if self.recheck_days and known is not None:
            # News gets edited: revisit what was published lately, conditionally.
            for page in known.recently_published(self.recheck_days):
                site = self._site_of(page.article_url)
                if site in self.profiles:
                    for request in self._article_request(page.article_url, site, "recheck", force=True):
                        yield request
        for name, profile in self.profiles.items():
            meta = {"site": name}
            sitemaps = list(profile.sitemaps) or [urljoin(profile.root, "/robots.txt")]
            for url in sitemaps:
                self.pacer.known(url)
                yield Request(url, callback=self.parse_sitemap, errback=self.discovery_error,
                              meta=dict(meta, discovery="sitemap"))
            for url in profile.feeds:
                yield Request(url, callback=self.parse_feed, errback=self.discovery_error,
                              meta=dict(meta, discovery="feed"))
            for url in profile.start_urls:
                self._seen.add(url_key(url))  # read as a listing every run, never a candidate
                yield Request(url, callback=self.parse_listing, errback=self.discovery_error,
                              meta=dict(meta, discovery="listing", listing_depth=0))

    # -- sitemaps ----------------------------------------------------------------------

    def parse_sitemap(self, response: Response):
        """robots.txt Sitemap: lines, a sitemap index or a urlset (gzip'd or not)."""
        site = response.meta.get("site") or self._site_of(response.url)
        if response.meta.get("held"):
            self.pacer.fetched(site)
        if response.url.endswith("/robots.txt"):
            urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
            if not urls:
                # No Sitemap: line; most sites still serve the conventional location.
                yield self._guessed_sitemap(site)
                return
            for url in urls:
                self._hold_sitemap(site, url)
        else:
            try:
                yield from self._sitemap_entries(response, site)
            except etree.LxmlError as exc:
                logger.warning("invalid sitemap %s: %s", response.url, exc)
                self.crawler.stats.inc_value("discovery/invalid_sitemaps")
        yield from self._release_sitemap(site)

    def _sitemap_body(self, response: Response) -> bytes | None:
        if isinstance(response, XmlResponse):
            return response.body
        if gzip_magic_number(response):
            try:
                return gunzip(response.body, max_size=response.meta.get("download_maxsize", self.max_size))
            except ValueError:  # over the size cap (DiscoveryCheckMiddleware refuses most before)
                return None
        if response.url.endswith((".xml", ".xml.gz")):  # inflated on the fly by the server
            return response.body
        return None

    def _sitemap_entries(self, response: Response, site: str):
        body = self._sitemap_body(response)
        # Streamed: the first article requests leave before the rest of the file is read.
        sitemap = SitemapStream(body) if body else None
        if sitemap is None or sitemap.type not in ("sitemapindex", "urlset"):
            logger.warning("Ignoring invalid sitemap: %s", response)
            return
        profile = self.profiles.get(site)
        for entry in sitemap:
            loc = entry.get("loc", "")
            if not loc:
                continue
            if self.since and (when := _parse_when(entry.get("lastmod"))) and when < self.since:
                self.crawler.stats.inc_value("discovery/older_than_since")
                continue
            if sitemap.type == "sitemapindex":
                self._hold_sitemap(site, loc)
            elif profile is None or profile.is_article_url(loc):
                # as Request would write it: percent-encoded
                yield from self._article_request(safe_url_string(loc), site, "sitemap",
                                                 lastmod=entry.get("lastmod"))
            else:
                yield from self._listed_candidate(safe_url_string(loc), site, "sitemap", entry.get("lastmod"))
        # after the one streamed parse (DiscoveryCheckMiddleware leaves sitemaps to it)
        problems = xml_problems(body, parse=False) + sitemap.problems()
        if problems:
            report_xml_problems(self.crawler, "sitemap", response.url, problems)

    def _hold_sitemap(self, site: str, url: str) -> None:
        # priority 1: once released, fetched before the article requests already queued
        request = Request(url, callback=self.parse_sitemap, errback=self.discovery_error, priority=1,
                          meta={"site": site, "discovery": "sitemap", "held": True})
        if self.pacer.hold(site, request):
            self.crawler.stats.inc_value("discovery/sitemaps")

    def _release_sitemap(self, site: str, force: bool = False):
        """The site's next held sitemap, if none is being fetched and its queue runs low."""
        dropped = self.pacer.skipped_over_limit
        yield from self.pacer.release(site, force)
        if self.pacer.skipped_over_limit > dropped:
            self.crawler.stats.inc_value("discovery/sitemaps_skipped_over_limit",
                                         self.pacer.skipped_over_limit - dropped)

    def _release_on_idle(self):
        """Nothing left to fetch but sitemaps still held (a request lost without a callback,
        or a count gone wrong): fetch the next one of every site rather than stop early."""
        released = self.pacer.release_idle()
        for request in released:
            self.crawler.stats.inc_value("discovery/sitemaps_released_on_idle")
            self.crawler.engine.crawl(request)
        if released:
            raise DontCloseSpider

    def _article_scheduled(self, request, spider=None):
        """An article request passed the known-URL and limit middlewares into the scheduler."""
        meta = request.meta
        # retries and redirects are the same candidate scheduled again
        if not meta.get("article") or "retry_times" in meta or "redirect_times" in meta:
            return
        site = meta["site"]
        self.pacer.scheduled(site)
        stats = self.crawler.stats
        stats.max_value(f"discovery/site/{site}/waiting_max", self.pacer.waiting(site))
        stats.inc_value(f"discovery/articles/{meta.get('via')}")

    # -- feeds -------------------------------------------------------------------------

    def parse_feed(self, response: Response):
        site = response.meta["site"]
        try:
            # resolve_entities=False / no_network: a feed cannot make us read files or
            # expand entity bombs.
            parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True,
                                     huge_tree=False, remove_comments=True)
            root = etree.fromstring(response.body, parser=parser)
        except etree.LxmlError as exc:
            root = None
            logger.warning("invalid feed %s: %s", response.url, exc)
        if root is None:
            self.crawler.stats.inc_value("discovery/invalid_feeds")
            return
        self.crawler.stats.inc_value("discovery/feeds")
        for item in root.iter("{*}item", "{*}entry"):
            link = item.findtext("{*}link") or ""
            if not link.strip():
                for el in item.iter("{*}link"):
                    if el.get("rel", "alternate") == "alternate" and el.get("href"):
                        link = el.get("href")
                        break
            stamp = (item.findtext("{*}updated") or item.findtext("{*}pubDate")
                     or item.findtext("{*}published"))
            when = _parse_when(stamp)
            if self.since and when and when < self.since:
                self.crawler.stats.inc_value("discovery/older_than_since")
                continue
            if link.strip():
                url = urljoin(response.url, link.strip())
                if self.profiles[site].is_article_url(url):
                    yield from self._article_request(url, site, "feed", lastmod=stamp)
                else:
                    yield from self._listed_candidate(url, site, "feed", stamp)

    # -- listings ----------------------------------------------------------------------

    def parse_listing(self, response: Response, depth: int | None = None):
        site = response.meta["site"]
        profile = self.profiles[site]
        depth = response.meta.get("listing_depth", 0) if depth is None else depth
        if not hasattr(response, "css"):  # not HTML
            return
        for feed in response.css('link[rel~="alternate"]'):
            if _FEED_TYPES.search(feed.attrib.get("type", "")) and feed.attrib.get("href"):
                url = response.urljoin(feed.attrib["href"])
                if profile.owns(url):
                    yield Request(url, callback=self.parse_feed, errback=self.discovery_error,
                                  meta={"site": site, "discovery": "feed"})
        by_content = self._by_content(profile)
        hops = response.meta.get("hops", 0)
        for a in response.css("a[href]"):
            url = response.urljoin(a.attrib["href"])
            if not url.startswith(("http://", "https://")) or not profile.owns(url):
                continue
            rel = a.attrib.get("rel", "")
            kind = link_kind(url, " ".join(a.css("::text").getall()), rel) if by_content else None
            if by_content and kind in ("static", "navigation"):
                continue
            # With --since, listings (which carry no dates) are read at the start pages only:
            # their newest links, while sitemaps and feeds filter by date.
            max_depth = 0 if self.since else profile.max_listing_pages
            if by_content and kind in ("pagination", "archive"):
                if depth < max_depth and hops < self.discovery_depth:
                    yield Request(url, callback=self.parse_listing, errback=self.discovery_error,
                                  meta={"site": site, "discovery": "listing", "hops": hops,
                                        "listing_depth": depth + 1})
                continue
            if by_content:
                if hops < (1 if self.since else self.discovery_depth):
                    yield from self._candidate_request(url, site, listing_date(a), hops + 1)
                continue
            if profile.is_article_url(url):
                yield from self._article_request(url, site, "listing")
                continue
            is_next = "next" in rel.split() or _PAGINATION.search(url)
            path = urlsplit(url).path
            is_section = depth == 0 and path.count("/") <= 2 and path not in ("", "/")
            if (is_next and depth < max_depth) or (is_section and not self.since):
                yield Request(url, callback=self.parse_listing, errback=self.discovery_error,
                              meta={"site": site, "discovery": "listing",
                                    "listing_depth": depth + 1})

    def _by_content(self, profile: SiteProfile) -> bool:
        """Discovery by content on sites whose profile gives no article URL pattern."""
        return self.discovery_depth > 0 and not profile.article_url_pattern

    def _listed_candidate(self, url: str, site: str, via: str, lastmod: str | None):
        """A sitemap or feed entry whose URL does not look like an article (a query-string
        id, say): on a site without a URL pattern, its page decides; its links are not
        followed (the sitemap or feed lists the site's articles)."""
        profile = self.profiles[site]
        if self._by_content(profile) and profile.owns(url) and link_kind(url) == "candidate":
            yield from self._candidate_request(url, site, lastmod, self.discovery_depth, via=via)

    def _candidate_request(self, url: str, site: str, listed: str | None, hops: int,
                           via: str = "content"):
        """A page that may be an article, a section or anything else: fetched, classified by
        the extraction pipeline, its links followed (parse_candidate)."""
        if self._candidates.get(site, 0) >= self.discovery_max_pages:
            if url_key(url) not in self._seen:
                self.crawler.stats.inc_value("discovery/candidates_over_limit")
            return
        before = len(self._seen)
        for request in self._article_request(url, site, via, lastmod=listed, classify=True):
            request.meta["hops"] = hops
            yield request
        if len(self._seen) > before:
            self._candidates[site] = self._candidates.get(site, 0) + 1

    def parse_candidate(self, response: Response):
        """A candidate: recorded as fetched (the pipeline decides if it is an article) and,
        when it is HTML, read as a listing for more candidates."""
        yield from self.parse_article(response)
        if (response.status == 200 and hasattr(response, "css")
                and response.meta.get("hops", 0) < self.discovery_depth):
            yield from self.parse_listing(response, depth=0)

    # -- articles ----------------------------------------------------------------------

    def _article_request(self, url: str, site: str, via: str, lastmod: str | None = None,
                         force: bool = False, classify: bool = False):
        """A request for an article candidate, unless it was seen this run. The known-URL
        and limit middlewares (crawler/known_urls.py) decide whether it goes out.
        ``classify``: the page is not known to be an article; the pipeline decides."""
        profile = self.profiles[site]
        if not (classify or profile.is_article_url(url)):
            return
        key = url_key(url)
        source = _LISTED_BY.get(via)
        listed = {source: lastmod} if source and lastmod else {}
        if key in self._seen:
            if not classify and via in ("sitemap", "feed"):
                self._confirmed.add(key)  # a candidate still in flight needs no classifier
            if listed:
                # Fetched at most once, but every source's date is compared with the one it
                # gave last time (crawler/known_urls.py) and recorded.
                yield Request(normalize_url(url), callback=self.parse_article, errback=self.article_error,
                              dont_filter=True, meta={
                                  "site": site, "article": True, "via": via, "lastmod": lastmod,
                                  "listed": listed, "offer_only": True,
                                  "handle_httpstatus_list": HANDLED_STATUSES})
            return
        self._seen.add(key)
        stats = self.crawler.stats
        stats.inc_value("discovery/discovered")
        stats.inc_value(f"discovery/site/{site}/discovered")
        if classify:
            stats.inc_value("discovery/candidates")
        meta = {"site": site, "article": True, "via": via, "lastmod": lastmod, "force": force,
                "handle_httpstatus_list": HANDLED_STATUSES, "classify": classify, "listed": listed}
        # dont_filter: _seen already dedups candidates, and a redirect back to a URL seen
        # before (a redirect loop) must end in the errback, not vanish in the dupefilter.
        yield Request(normalize_url(url), callback=self.parse_candidate if classify else self.parse_article,
                      errback=self.article_error, meta=meta, dont_filter=True)

    def parse_article(self, response: Response):
        site = response.meta["site"]
        self.pacer.answered(site)
        yield from self._release_sitemap(site)
        requested = response.meta.get("redirect_urls", [response.url])[0]
        headers = select_headers(response.headers)
        page = FetchedPage(
            url=requested,
            final_url=response.url,
            site=site,
            fetched_at=utcnow_iso(),
            status=response.status,
            headers=headers,
            content_type=headers.get("content-type"),
            body=response.body,
            known_article_url=response.meta.get("known_article_url"),
            lastmod=response.meta.get("lastmod"),
            classify=bool(response.meta.get("classify")) and url_key(requested) not in self._confirmed,
        )
        if response.status == 304:
            page.body = None
        elif response.status >= 400:
            page.error = f"HTTP {response.status}"
            if response.meta.get(RETRY_NOTE):  # e.g. retries exhausted, Retry-After too long
                page.error += f" ({response.meta[RETRY_NOTE]})"
            logger.warning("%s for %s", page.error, response.url)
        yield page

    def article_error(self, failure):
        request = failure.request
        site = request.meta.get("site", self._site_of(request.url))
        self.pacer.answered(site)
        yield from self._release_sitemap(site)
        if failure.check(IgnoreRequest) and "robots" in (failure.getErrorMessage() or "").lower():
            # robots.txt says no: the site's wish, not a failure of this crawl
            self.crawler.stats.inc_value("discovery/robots_disallowed")
            logger.info("robots.txt forbids %s", request.url)
            return
        message = describe_failure(failure)
        # A redirect that was not followed is recorded under the URL that was asked for.
        requested = request.meta.get("redirect_urls", [request.url])[0]
        logger.warning("fetch failed for %s: %s", requested, message)
        yield FetchedPage(url=requested, final_url=request.url if request.url != requested else None,
                          site=site, fetched_at=utcnow_iso(), error=f"fetch failed: {message}",
                          classify=bool(request.meta.get("classify")))

    def _guessed_sitemap(self, site: str) -> Request:
        return Request(urljoin(self.profiles[site].root, "/sitemap.xml"), callback=self.parse_sitemap,
                       errback=self.discovery_error,
                       meta={"site": site, "discovery": "sitemap", "guessed": True})

    def discovery_error(self, failure):
        request = failure.request
        site = request.meta.get("site")
        if request.meta.get("held"):
            self.pacer.fetched(site)
            yield from self._release_sitemap(site)
        if request.meta.get("guessed"):
            # only a guess at the conventional location: its absence is no error
            logger.info("no sitemap at %s: %s", request.url, failure.getErrorMessage())
            return
        self.crawler.stats.inc_value("discovery/errors")
        logger.warning("%s fetch failed for %s: %s", request.meta.get("discovery", "discovery"),
                       request.url, failure.getErrorMessage())
        if request.url.endswith("/robots.txt") and site in self.profiles:
            # No robots.txt: try the conventional sitemap location instead.
            yield self._guessed_sitemap(site)

    def _site_of(self, url: str) -> str:
        for name, profile in self.profiles.items():
            if profile.owns(url):
                return name
        return urlsplit(url).hostname or "unknown"
