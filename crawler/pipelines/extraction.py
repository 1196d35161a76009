"""Turn a fetched page into an article record, or into a clear error."""

from __future__ import annotations

import logging
from datetime import datetime

from twisted.internet.defer import Deferred, DeferredSemaphore
from twisted.python.failure import Failure

from crawler.dedup import content_hash
from crawler.encoding import decode_html
from crawler.extract import ExtractionError, extract_article
from crawler.items import FetchedPage
from crawler.urls import article_url
from crawler.workers import WorkerCrashed, WorkerPool, WorkerTimeout, default_size

logger = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


def check_fetch(page: FetchedPage) -> str | None:
    """Why a fetched page cannot hold an article, or None if it may."""
    if page.error:
        return page.error
    if page.not_modified:
        return None
    if page.status is not None and page.status != 200:
        return f"HTTP {page.status}"
    if not page.body or not page.body.strip():
        return "empty body"
    mime = (page.content_type or "").split(";")[0].strip().lower()
    if mime not in _HTML_TYPES:
        return f"not HTML: {mime}"
    return None


def build_article(page: FetchedPage, profile) -> dict:
    """Extract the article of ``page``; raises ExtractionError with a clear message."""
    text, encoding = decode_html(page.body, page.content_type)
    page.encoding = encoding
    fetched_at = datetime.fromisoformat(page.fetched_at) if page.fetched_at else None
    article = extract_article(text, page.final_url or page.url, fetched_at=fetched_at, profile=profile)
    record = article.as_dict()
    # The stored url *is* the canonical one; the AMP link is not kept.
    record["url"] = article_url(page.final_url or page.url, record.pop("canonical_url"))
    record.pop("amphtml", None)
    record["site"] = page.site
    record["content_hash"] = content_hash(article.text)
    return record


def extract_job(page: FetchedPage, profile) -> tuple[dict | None, str | None, str | None]:
    """``(article, encoding, error)`` for one page, failures as text.

    The unit of work of the extraction pool: it runs the same in a worker process as in the
    crawl process, and its result is small and picklable.
    """
    try:
        return build_article(page, profile), page.encoding, None
    except ExtractionError as exc:
        return None, page.encoding, f"extraction: {exc}"
    except Exception as exc:  # a bad page must never stop the crawl
        logger.exception("extraction crashed on %s", page.url)
        return None, page.encoding, f"extraction crashed: {type(exc).__name__}: {exc}"


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
        self.pool: WorkerPool | None = None
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
            profile = self.crawler.spider.profiles.get(item.site)
            if self.pool is None:
                article, encoding, error = extract_job(item, profile)
            else:
                article, encoding, error = await self._in_pool(item, profile)
            item.article, item.encoding, item.error = article, encoding or item.encoding, error
        if item.error:
            self.stats.inc_value("pages/errors")
            logger.warning("no article from %s: %s", item.url, item.error)
        return item

    async def _in_pool(self, item: FetchedPage, profile):
        # Imported here: importing the reactor installs one, and this module is also loaded
        # by worker processes and by `crawler reextract`, which have no reactor.
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor

        await maybe_deferred_to_future(self._slots.acquire())
        try:
            d: Deferred = Deferred()
            future = self.pool.submit(extract_job, item, profile)
            future.add_done_callback(lambda f: reactor.callFromThread(_fire, d, f))
            try:
                return await maybe_deferred_to_future(d)
            except WorkerTimeout as exc:
                self.stats.inc_value("extraction/timeouts")
                return None, None, f"extraction timed out: {exc}"
            except WorkerCrashed as exc:
                self.stats.inc_value("extraction/crashes")
                logger.error("extraction worker died on %s: %s", item.url, exc)
                return None, None, f"extraction crashed: {exc}"
        finally:
            self._slots.release()
