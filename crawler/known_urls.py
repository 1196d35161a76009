"""Spider middlewares between discovery and the scheduler: known URLs, per-site limits.

:class:`KnownUrlMiddleware` is the deltafetch pattern: an article request
(``meta["article"]``) for a URL the archive already holds is dropped unless its sitemap or
feed date says it changed since we last saw it (``meta["lastmod"]``: sitemap, feed or listing date), ``--refresh`` is on,
or the request is forced (``meta["force"]``, e.g. ``--recheck-days``); one that goes out
carries the stored validators, so an unchanged page costs a 304. A candidate of discovery
by content (``meta["classify"]``) that an earlier run found to be no article and no listing
is dropped too.

:class:`SiteLimitMiddleware` then lets at most ``CRAWL_LIMIT`` article requests per site
(``meta["site"]``) through; known pages skipped before do not count.

Both see the spider's output and its start requests; everything else passes untouched.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request

from crawler.discovery import LearnedPatterns
from crawler.incremental import KnownIndex, KnownPage, changed_since, listed_changed
from crawler.urls import url_key

logger = logging.getLogger(__name__)

__all__ = ["KnownUrlMiddleware", "SiteLimitMiddleware"]


def _is_article(item: Any) -> bool:
    return isinstance(item, Request) and bool(item.meta.get("article"))


class _RequestFilter:
    """A spider middleware that passes or drops (or replaces) article requests one by one."""

    def filter(self, request: Request) -> Request | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _each(self, item):
        return self.filter(item) if _is_article(item) else item

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in start:
            if (item := self._each(item)) is not None:
                yield item

    def process_spider_output(self, response, result: Iterable[Any]) -> Iterable[Any]:
        for item in result:
            if (item := self._each(item)) is not None:
                yield item

    async def process_spider_output_async(self, response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in result:
            if (item := self._each(item)) is not None:
                yield item


class KnownUrlMiddleware(_RequestFilter):
    def __init__(self, crawler, known: KnownIndex, refresh: bool = False):
        self.crawler = crawler
        self.stats = crawler.stats
        self.known = known
        self.refresh = refresh
        self._learned: LearnedPatterns | None = None
        self.offers: dict[str, dict[str, str]] = {}  # url_key -> source -> date, this run
        self._sent: set[str] = set()  # url_keys requested in this run

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        path = s.get("ARCHIVE_PATH")
        return cls(crawler, KnownIndex.load(path) if path else KnownIndex(), s.getbool("CRAWL_REFRESH"))

    def shaped_like_articles(self, url: str) -> bool:
        """Shares its URL template with two stored articles of its origin (then the
        classifier may have been wrong last time: fetch it again)."""
        if self._learned is None:
            self._learned = LearnedPatterns(p.article_url for p in self.known.pages)
        return self._learned.matches(url)

    def recently_published(self, days: int) -> list[KnownPage]:
        """Known articles published in the last ``days`` days (``--recheck-days``)."""
        return self.known.published_within(days) if days else []

    def filter(self, request: Request) -> Request | None:
        key = url_key(request.url)
        known = self.known.get_key(key)
        site = request.meta.get("site")
        listed = {k: v for k, v in (request.meta.get("listed") or {}).items() if v}
        if listed:
            self.offers.setdefault(key, {}).update(listed)
        if request.meta.get("offer_only"):
            # another source listing a URL already offered in this run: only its date counts
            if known is None or key in self._sent or listed_changed(self.known.listed.get(key), listed) is not True:
                return None
            request.meta.pop("offer_only")
            return self._refetch(request, known, key)
        if known is None:
            if (request.meta.get("classify") and not self.refresh and self.known.was_visited(key)
                    and not self.shaped_like_articles(request.url)):
                self.stats.inc_value("discovery/skipped_visited")
                self.stats.inc_value(f"discovery/site/{site}/skipped_visited")
                return None
            self._sent.add(key)
            return request
        if not (request.meta.get("force") or self.refresh or self._changed(known, key, request)):
            self.stats.inc_value("discovery/skipped_known")
            self.stats.inc_value(f"discovery/site/{site}/skipped_known")
            return None
        return self._refetch(request, known, key)

    def _changed(self, known: KnownPage, key: str, request: Request) -> bool:
        """A source lists the URL with another date than it did at the last visit; with no
        date of that source recorded, the page's own recorded date (or our clock) decides."""
        verdict = listed_changed(self.known.listed.get(key), request.meta.get("listed") or {})
        if verdict is not None:
            return verdict
        return changed_since(known, request.meta.get("lastmod"))

    def listed_rows(self) -> list[dict]:
        """This run's listed dates of every article URL offered, for the archive."""
        return [{"url_key": key, **dates} for key, dates in self.offers.items()]

    def _refetch(self, request: Request, known: KnownPage, key: str) -> Request:
        self._sent.add(key)
        self.stats.inc_value("discovery/refetch")
        request.headers.update(known.conditional_headers())
        request.meta["known_article_url"] = known.article_url
        return request


class SiteLimitMiddleware(_RequestFilter):
    def __init__(self, crawler, limit: int = 0):
        self.stats = crawler.stats
        self.limit = max(0, limit)
        self._passed: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.getint("CRAWL_LIMIT"))

    def filter(self, request: Request) -> Request | None:
        site = request.meta.get("site")
        if self.limit and self._passed[site] >= self.limit:
            self.stats.inc_value("discovery/over_limit")
            return None
        self._passed[site] += 1
        return request
