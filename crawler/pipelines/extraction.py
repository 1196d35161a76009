"""Turn every fetched page into an article record, or into a clear error.

The work on one page is :func:`crawler.page.process_page`; this pipeline runs it in the
crawl process or in a pool of worker processes and hands the result to the item. The
archive's own per-page work (compression, stems, near-duplicate signature:
crawler/archive_prep.py) runs in the same task, so it leaves the crawl process too.
"""

from __future__ import annotations

import logging

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, DeferredSemaphore
from twisted.python.failure import Failure

from crawler.archive_prep import Prepared, extract_and_prepare
from crawler.discovery import LearnedPatterns
from crawler.items import FetchedPage
from crawler.known_urls import KnownUrlMiddleware
from crawler.page import CLASSIFIER, PageResult, check_fetch, is_not_article
from crawler.profiles import crawl_profiles
from crawler.workers import WorkerCrashed, WorkerPool, WorkerTimeout, default_size

logger = logging.getLogger(__name__)


def _fire(d: Deferred, future) -> None:
    """Hand a finished pool Future to the reactor thread's Deferred."""
    exc = future.exception()
    if exc is None:
        d.callback(future.result())
    else:
        d.errback(Failure(exc))


class ExtractionPipeline:
    """Extract every fetched page, in a pool of worker processes (EXTRACTION_WORKERS > 0)
    or in the crawl process (EXTRACTION_WORKERS = 0)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        s = crawler.settings
        workers = s.get("EXTRACTION_WORKERS")
        self.workers = default_size() if workers in (None, "") else max(0, int(workers))
        self.timeout = s.getfloat("EXTRACTION_TIMEOUT")
        # One page running and one waiting per worker keeps every worker busy; more would
        # only hold page bodies in memory (Scrapy's scraper slot also stops downloads when
        # responses waiting here pass SCRAPER_SLOT_MAX_ACTIVE_SIZE).
        self.max_pending = s.getint("EXTRACTION_MAX_PENDING") or 2 * max(1, self.workers)
        self.max_tasks = max(0, s.getint("EXTRACTION_MAX_TASKS"))
        self.log_level = s.get("LOG_LEVEL", "INFO")
        self.profiles = crawl_profiles(s)
        self.store_bodies = s.getbool("ARCHIVE_STORE_BODIES")
        self.sign = s.getbool("NEARDUP_ENABLED", True)
        self.pool: WorkerPool | None = None
        # URL shapes of the articles that discovery by content confirmed in this crawl
        self.learned = LearnedPatterns()
        self._slots: DeferredSemaphore | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        if not self.workers:
            logger.info("extraction in the crawl process")
            return
        level = logging.getLevelName(str(self.log_level).upper())
        self.pool = WorkerPool(self.workers, timeout=self.timeout, preload=["crawler.worker_preload"],
                               log_level=level if isinstance(level, int) else logging.INFO,
                               name="extraction", max_tasks=self.max_tasks).start()
        self._slots = DeferredSemaphore(self.max_pending)
        logger.info("extraction in %d worker processes (at most %d pages in flight)",
                    self.workers, self.max_pending)

    def close_spider(self):
        if self.pool is not None:
            self.stats.set_value("extraction/workers_started", self.pool.started)
            self.stats.set_value("extraction/workers_replaced", self.pool.replaced)
            self.stats.set_value("extraction/workers_recycled", self.pool.recycled)
            self.pool.close()
            self.pool = None

    async def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        problem = check_fetch(item)
        if problem:
            item.error = problem
        elif item.not_modified:
            self.stats.inc_value("pages/not_modified")
        else:
            profile = self.profiles.get(item.site)
            # found by discovery by content: the page itself says whether it is an article
            classify = CLASSIFIER if item.classify else None
            result, prepared = await self._process(item, profile, classify)
            if classify and result.kind == "article":
                self.learned.confirm(item.final_url or item.url)
            elif classify and result.kind == "other" and self._shaped_like_articles(item.final_url or item.url):
                # Not a listing, and two articles of this crawl share its URL's shape: the
                # classifier's doubt (a short note, say) loses to the site's own pattern.
                rescued, rescued_prepared = await self._process(item, profile, None)
                if rescued.article is not None:
                    self.stats.inc_value("discovery/articles_by_learned_pattern")
                    result, prepared = rescued, rescued_prepared
            item.article, item.error = result.article, result.error
            item.prepared = prepared
            item.encoding = result.encoding or item.encoding
        if item.error and is_not_article(item.error):
            # a candidate that is no article: recorded as visited, no failure
            self.stats.inc_value("pages/not_articles")
            logger.debug("%s: %s", item.url, item.error)
        elif item.error:
            self.stats.inc_value("pages/errors")
            logger.warning("no article from %s: %s", item.url, item.error)
        return item

    def _shaped_like_articles(self, url: str) -> bool:
        """Two articles of the URL's origin, confirmed in this crawl or stored before, share
        its URL's shape."""
        if self.learned.matches(url):
            return True
        known = self.crawler.get_spider_middleware(KnownUrlMiddleware)
        return known is not None and known.shaped_like_articles(url)

    async def _process(self, item: FetchedPage, profile, classify) -> tuple[PageResult, Prepared | None]:
        """The page's result, and what the archive needs of it (None when the worker died)."""
        if self.pool is None:
            return extract_and_prepare(item, profile, classify, self.store_bodies, self.sign)
        return await self._in_pool(item, profile, classify)

    async def _in_pool(self, item: FetchedPage, profile, classify=None):
        # Imported here: importing the reactor module installs a reactor, and Scrapy chooses
        # which one when the crawler starts, after the pipelines are imported.
        from twisted.internet import reactor

        await maybe_deferred_to_future(self._slots.acquire())
        try:
            d: Deferred = Deferred()
            future = self.pool.submit(extract_and_prepare, item, profile, classify, self.store_bodies,
                                      self.sign)
            future.add_done_callback(lambda f: reactor.callFromThread(_fire, d, f))
            try:
                return await maybe_deferred_to_future(d)
            except WorkerTimeout as exc:
                self.stats.inc_value("extraction/timeouts")
                return PageResult(error=f"extraction timed out: {exc}"), None
            except WorkerCrashed as exc:
                self.stats.inc_value("extraction/crashes")
                logger.error("extraction worker died on %s: %s", item.url, exc)
                return PageResult(error=f"extraction crashed: {exc}"), None
        finally:
            self._slots.release()
