"""The news spider: discovers article URLs of one or more sites and fetches them.

Discovery, for every target site, in this order of trust:
  1. sitemaps: robots.txt ``Sitemap:`` lines (or the profile's list, or ``/sitemap.xml``),
     sitemap indexes, gzip'd and Google News sitemaps (Scrapy's SitemapSpider does the parsing);
  2. RSS/Atom feeds: the profile's, and those autodiscovered from ``<link rel="alternate">``;
  3. the homepage, its sections and their paginated listings, with the profile's article-URL
     pattern (or a generic heuristic) telling articles from navigation.

Every article candidate is fetched once per run (URLs are compared after canonicalisation)
and handed on as a :class:`crawler.items.FetchedPage`, errors included, so the archive
records what failed and why.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict, deque
from datetime import date, datetime, timezone
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spiders import SitemapSpider

from crawler.incremental import KnownIndex, changed_since, parse_lastmod
from crawler.items import FetchedPage
from crawler.middlewares import RETRY_NOTE, describe_failure
from crawler.profiles import SiteProfile, resolve_target
from crawler.sitemap_stream import sitemap_locations
from crawler.urls import normalize_url, url_key

logger = logging.getLogger(__name__)

# Headers worth keeping with each page: they explain how it was served and allow
# conditional re-fetching later.
KEPT_HEADERS = ("content-type", "content-language", "last-modified", "etag", "cache-control",
                "retry-after", "content-length", "location")
# Let article responses with error statuses reach the spider so they are recorded; 3xx are
# left out so the redirect middleware still follows redirects.
ERROR_STATUSES = list(range(400, 600))
# ... and 304, the answer to a conditional re-fetch of an unchanged page.
HANDLED_STATUSES = [304, *ERROR_STATUSES]
_FEED_TYPES = re.compile(r"(rss|atom)\+xml|application/(rss|atom|xml)", re.I)
_PAGINATION = re.compile(r"(?:[?&](?:page|p|PAGEN_\d+)=\d+|/page/\d+/?$)", re.I)


def _parse_when(value: str | None) -> date | None:
    """The day of a sitemap lastmod (W3C datetime) or a feed date (RFC 822)."""
    when = parse_lastmod(value)
    return when.date() if when else None


def utcnow_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class NewsSpider(SitemapSpider):
    name = "news"
    sitemap_rules = [("", "parse_article")]

    def __init__(self, targets=None, base_url=None, since=None, limit=0, known=None,
                 refresh=False, recheck_days=0, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.known: KnownIndex = known if known is not None else KnownIndex()
        self.refresh = bool(refresh)
        self.recheck_days = int(recheck_days or 0)
        self._lastmods: dict[str, str] = {}
        if isinstance(targets, str):  # `scrapy crawl news -a targets=a,b`
            targets = [t for t in targets.split(",") if t]
        self.targets = list(targets or [])
        self.base_url = base_url
        self.since = date.fromisoformat(since) if isinstance(since, str) and since else since
        self.limit = int(limit or 0)
        self.profiles: dict[str, SiteProfile] = {}
        for target in self.targets:
            profile = resolve_target(target, base_url)
            self.profiles[profile.name] = profile
        self.allowed_domains = sorted({d for p in self.profiles.values() for d in p.allowed_domains})
        self._seen: set[str] = set()
        self._scheduled: Counter[str] = Counter()
        self._answered: Counter[str] = Counter()
        self._current_site: str | None = None
        # Sitemaps listed by an index wait here and are fetched one at a time per site, the
        # next when fewer than next_sitemap_below of the site's article requests are still
        # waiting, so the scheduler holds about one sitemap's articles, not the whole site's.
        self.next_sitemap_below = 32
        self._held_sitemaps: defaultdict[str, deque[Request]] = defaultdict(deque)
        self._sitemap_busy: set[str] = set()
        self._sitemap_urls: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        s = crawler.settings
        kwargs.setdefault("targets", s.getlist("CRAWL_TARGETS"))
        kwargs.setdefault("base_url", s.get("CRAWL_BASE_URL"))
        kwargs.setdefault("since", s.get("CRAWL_SINCE"))
        kwargs.setdefault("limit", s.getint("CRAWL_LIMIT"))
        kwargs.setdefault("refresh", s.getbool("CRAWL_REFRESH"))
        kwargs.setdefault("recheck_days", s.getint("CRAWL_RECHECK_DAYS"))
        if "known" not in kwargs and s.get("ARCHIVE_PATH"):
            kwargs["known"] = KnownIndex.load(s.get("ARCHIVE_PATH"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.next_sitemap_below = max(0, s.getint("SITEMAP_NEXT_BELOW", spider.next_sitemap_below))
        if s.getbool("FRONTIER_ENABLED"):  # the frontier holds every sitemap, none wait in memory
            spider.next_sitemap_below = 0
        crawler.signals.connect(spider._release_on_idle, signal=signals.spider_idle)
        return spider

    # -- start -------------------------------------------------------------------------

    async def start(self):
        if not self.profiles:
            logger.error("nothing to crawl: no targets given")
            return
        if self.recheck_days:
            # News gets edited: revisit what was published lately, conditionally.
            for page in self.known.published_within(self.recheck_days):
                site = self._site_of(page.article_url)
                if site in self.profiles:
                    for request in self._article_request(page.article_url, site, "recheck", force=True):
                        yield request
        for name, profile in self.profiles.items():
            meta = {"site": name}
            sitemaps = list(profile.sitemaps) or [urljoin(profile.root, "/robots.txt")]
            for url in sitemaps:
                self._sitemap_urls.add(url)
                yield Request(url, callback=self._parse_sitemap, errback=self.discovery_error,
                              meta=dict(meta, discovery="sitemap"))
            for url in profile.feeds:
                yield Request(url, callback=self.parse_feed, errback=self.discovery_error,
                              meta=dict(meta, discovery="feed"))
            for url in profile.start_urls:
                yield Request(url, callback=self.parse_listing, errback=self.discovery_error,
                              meta=dict(meta, discovery="listing", listing_depth=0))

    # -- sitemaps ----------------------------------------------------------------------

    def _parse_sitemap(self, response: Response):
        site = response.meta.get("site") or self._site_of(response.url)
        if response.meta.get("held"):
            self._sitemap_busy.discard(site)
        found = False
        try:
            # Streamed: the first article requests leave before the rest of the file is read.
            for kind, loc in sitemap_locations(self, response, site):
                found = True
                if kind == "sitemap":
                    self._hold_sitemap(site, Request(loc, callback=self._parse_sitemap))
                else:
                    yield from self._article_request(loc, site, "sitemap", lastmod=self._lastmods.pop(loc, None))
        except etree.LxmlError as exc:
            logger.warning("invalid sitemap %s: %s", response.url, exc)
            self.crawler.stats.inc_value("discovery/invalid_sitemaps")
            yield from self._release_sitemap(site)
            return
        if response.url.endswith("/robots.txt") and not found:
            # No Sitemap: line; most sites still serve the conventional location.
            yield self._guessed_sitemap(site)
            return
        yield from self._release_sitemap(site)

    def _hold_sitemap(self, site: str, request: Request) -> None:
        if request.url in self._sitemap_urls:  # listed twice, or an index listing itself
            return
        self._sitemap_urls.add(request.url)
        self.crawler.stats.inc_value("discovery/sitemaps")
        # priority 1: once released, fetched before the article requests already queued
        self._held_sitemaps[site].append(request.replace(
            errback=self.discovery_error, priority=1,
            meta={"site": site, "discovery": "sitemap", "held": True}))

    def _release_sitemap(self, site: str, force: bool = False):
        """The site's next held sitemap, if none is being fetched and its queue runs low."""
        held = self._held_sitemaps.get(site)
        if not held or site in self._sitemap_busy:
            return
        if self.limit and self._scheduled[site] >= self.limit:
            self.crawler.stats.inc_value("discovery/sitemaps_skipped_over_limit", len(held))
            held.clear()
            return
        if not self.next_sitemap_below:  # 0: no hold, every sitemap at once (Scrapy's own way)
            while held:
                yield held.popleft()
            return
        if force or self._scheduled[site] - self._answered[site] < self.next_sitemap_below:
            self._sitemap_busy.add(site)
            yield held.popleft()

    def _release_on_idle(self):
        """Nothing left to fetch but sitemaps still held (a request lost without a callback,
        or a count gone wrong): fetch the next one of every site rather than stop early."""
        released = False
        for site in self._held_sitemaps:
            self._sitemap_busy.discard(site)
            for request in self._release_sitemap(site, force=True):
                self.crawler.stats.inc_value("discovery/sitemaps_released_on_idle")
                self.crawler.engine.crawl(request)
                released = True
        if released:
            raise DontCloseSpider

    def sitemap_filter(self, entries):
        site = getattr(entries, "site", None) or self._current_site
        profile = self.profiles.get(site) if site else None
        for entry in entries:
            loc = entry.get("loc", "")
            if self.since and (when := _parse_when(entry.get("lastmod"))) and when < self.since:
                self.crawler.stats.inc_value("discovery/older_than_since")
                continue
            if entries.type == "urlset":
                if profile and not profile.is_article_url(loc):
                    continue
                if entry.get("lastmod"):
                    self._lastmods[loc] = entry["lastmod"]
            yield entry

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
                yield from self._article_request(urljoin(response.url, link.strip()), site, "feed",
                                                 lastmod=stamp)

    # -- listings ----------------------------------------------------------------------

    def parse_listing(self, response: Response):
        site = response.meta["site"]
        profile = self.profiles[site]
        depth = response.meta.get("listing_depth", 0)
        if not hasattr(response, "css"):  # not HTML
            return
        for feed in response.css('link[rel~="alternate"]'):
            if _FEED_TYPES.search(feed.attrib.get("type", "")) and feed.attrib.get("href"):
                url = response.urljoin(feed.attrib["href"])
                if profile.owns(url):
                    yield Request(url, callback=self.parse_feed, errback=self.discovery_error,
                                  meta={"site": site, "discovery": "feed"})
        for a in response.css("a[href]"):
            url = response.urljoin(a.attrib["href"])
            if not url.startswith(("http://", "https://")) or not profile.owns(url):
                continue
            if profile.is_article_url(url):
                yield from self._article_request(url, site, "listing")
                continue
            rel = a.attrib.get("rel", "")
            is_next = "next" in rel.split() or _PAGINATION.search(url)
            path = urlsplit(url).path
            is_section = depth == 0 and path.count("/") <= 2 and path not in ("", "/")
            # With --since, listings (which carry no dates) are read at the start pages only:
            # their newest links, while sitemaps and feeds filter by date.
            max_depth = 0 if self.since else profile.max_listing_pages
            if (is_next and depth < max_depth) or (is_section and not self.since):
                yield Request(url, callback=self.parse_listing, errback=self.discovery_error,
                              meta={"site": site, "discovery": "listing",
                                    "listing_depth": depth + 1})

    # -- articles ----------------------------------------------------------------------

    def _article_request(self, url: str, site: str, via: str, lastmod: str | None = None,
                         force: bool = False):
        """A request for an article candidate, unless it was seen this run or is known
        and unchanged since (per its sitemap/feed date)."""
        profile = self.profiles[site]
        if not profile.is_article_url(url):
            return
        key = url_key(url)
        if key in self._seen:
            return
        self._seen.add(key)
        stats = self.crawler.stats
        stats.inc_value("discovery/discovered")
        stats.inc_value(f"discovery/site/{site}/discovered")
        known = self.known.get_key(key)
        if known and not (force or self.refresh or changed_since(known, lastmod)):
            stats.inc_value("discovery/skipped_known")
            stats.inc_value(f"discovery/site/{site}/skipped_known")
            return
        if self.limit and self._scheduled[site] >= self.limit:
            stats.inc_value("discovery/over_limit")
            return
        self._scheduled[site] += 1
        stats.max_value(f"discovery/site/{site}/waiting_max", self._scheduled[site] - self._answered[site])
        stats.inc_value(f"discovery/articles/{via}")
        meta = {"site": site, "handle_httpstatus_list": HANDLED_STATUSES}
        if lastmod:
            meta["lastmod"] = lastmod  # kept by the persistent frontier (crawler/frontier.py)
        headers = {}
        if known:
            meta["known_article_url"] = known.article_url
            headers = known.conditional_headers()
            stats.inc_value("discovery/refetch")
        # dont_filter: _seen already dedups candidates, and a redirect back to a URL seen
        # before (a redirect loop) must end in the errback, not vanish in the dupefilter.
        yield Request(normalize_url(url), callback=self.parse_article, errback=self.article_error,
                      headers=headers, meta=meta, dont_filter=True)

    def parse_article(self, response: Response):
        site = response.meta["site"]
        self._answered[site] += 1
        yield from self._release_sitemap(site)
        requested = response.meta.get("redirect_urls", [response.url])[0]
        headers = {}
        for name in KEPT_HEADERS:
            value = response.headers.get(name)
            if value is not None:
                headers[name] = value.decode("latin-1")
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
        self._answered[site] += 1
        yield from self._release_sitemap(site)
        if failure.check(IgnoreRequest) and "robots" in (failure.getErrorMessage() or "").lower():
            # robots.txt says no: the site's wish, not a failure of this crawl
            self.crawler.stats.inc_value("discovery/robots_disallowed")
            logger.info("robots.txt forbids %s", request.url)
            return
        message = describe_failure(failure)
        logger.warning("fetch failed for %s: %s", request.url, message)
        yield FetchedPage(url=request.url, site=site,
                          fetched_at=utcnow_iso(), error=f"fetch failed: {message}")

    def _guessed_sitemap(self, site: str) -> Request:
        return Request(urljoin(self.profiles[site].root, "/sitemap.xml"), callback=self._parse_sitemap,
                       errback=self.discovery_error,
                       meta={"site": site, "discovery": "sitemap", "guessed": True})

    def discovery_error(self, failure):
        request = failure.request
        site = request.meta.get("site")
        if request.meta.get("held"):
            self._sitemap_busy.discard(site)
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
