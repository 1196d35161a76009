"""A Scrapy scheduler over the persistent frontier in the archive file (archive/frontier.py).

Switched on by ``FRONTIER_ENABLED`` through :class:`FrontierAddon`, which sets ``SCHEDULER``
and the two middlewares below. Every request the spider makes is written to the frontier;
only ``FRONTIER_BUFFER`` of them are held in memory, leased from the file as the downloader
asks for more, article pages first, so fetching starts as soon as a sitemap's first URLs are
parsed, and at most ``FRONTIER_DISCOVERY_INFLIGHT`` sitemaps/feeds/listings are out at once.

A request is done when its callback's output has been consumed (the requests it found are in
the frontier by then) or, for an article page, when its item has left the pipelines (it is in
the archive). A crawl killed with ``kill -9`` therefore resumes from the frontier: what was
leased is queued again, and sitemaps it had finished are not read again.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections import deque
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.core.scheduler import BaseScheduler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.utils.request import request_from_dict

from archive.frontier import DONE, LOST, FrontierStore
from crawler.items import FetchedPage
from crawler.pipelines.storage import STORAGE_FAILED, is_storage_failure, page_not_stored
from crawler.urls import url_key

logger = logging.getLogger(__name__)

KEY = "frontier_key"  # request.meta: the frontier row a request (or its retry/redirect) stands for
ARTICLE, DISCOVERY = "article", "discovery"
YIELD_EVERY = 100
# room for one large sitemap (50,000 URLs, ~5 MB) plus the usual 5 MB of article responses
SITEMAP_ROOM = 16 * 2**20

# Sent by the middlewares below, received by the scheduler: public signals, no shared state.
frontier_done = object()
frontier_item = object()


class FrontierAddon:
    """``FRONTIER_ENABLED = True``: the frontier scheduler and its middlewares."""

    def update_settings(self, settings) -> None:
        if not settings.getbool("FRONTIER_ENABLED"):
            return
        settings.set("SCHEDULER", "crawler.frontier.FrontierScheduler", priority="addon")
        # Scrapy stops fetching while responses of more than this size wait for their callbacks
        # (5 MB by default): one 50,000-URL sitemap alone would stop it until it is parsed.
        if settings.getint("SCRAPER_SLOT_MAX_ACTIVE_SIZE") < SITEMAP_ROOM:
            settings.set("SCRAPER_SLOT_MAX_ACTIVE_SIZE", SITEMAP_ROOM, priority="addon")
        settings["SPIDER_MIDDLEWARES"]["crawler.frontier.FrontierSpiderMiddleware"] = 1
        settings["DOWNLOADER_MIDDLEWARES"]["crawler.frontier.FrontierDownloaderMiddleware"] = 50


class FrontierSpiderMiddleware:
    """Tells the scheduler when a response's output has been consumed (closest to the engine)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.signals = crawler.signals

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _item(self, output, key):
        if isinstance(output, FetchedPage):
            self.signals.send_catch_log(frontier_item, item=output, key=key)
            return True
        return False

    async def process_spider_output(self, response, result):
        # Async only: every YIELD_EVERY outputs the event loop runs, so while a 50,000-URL
        # sitemap is parsed the downloader already fetches the articles found so far.
        key = response.meta.get(KEY)
        pages = 0
        n = 0
        try:
            async for output in result:
                pages += key is not None and self._item(output, key)
                yield output
                n += 1
                if n % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                    if not self.crawler.engine.running:
                        # Stopping (SIGTERM, Ctrl-C): leave the rest of a long sitemap unread;
                        # not marked done, it is read again when the crawl resumes.
                        logger.info("frontier: stopping in the middle of %s", response.url)
                        return
        except Exception as exc:
            if key is not None:
                self.signals.send_catch_log(frontier_done, key=key, error=f"callback failed: {exc!r}")
            raise
        if key is not None and not pages:
            self.signals.send_catch_log(frontier_done, key=key, error=None)


class FrontierDownloaderMiddleware:
    """A request that ends without a response (after retries, robots.txt, DNS...) is done.

    Below the retry middleware (550): a retried request is not done, it is queued again.
    """

    def __init__(self, crawler):
        self.signals = crawler.signals

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_exception(self, request, exception):
        key = request.meta.get(KEY)
        if key is not None:
            error = None if isinstance(exception, IgnoreRequest) else f"{type(exception).__name__}: {exception}"
            self.signals.send_catch_log(frontier_done, key=key, error=error)
        return None


class _Callbacks:
    """Bound methods as attributes, and nothing else for ``inspect.getmembers`` to list."""

    def __dir__(self):
        return list(self.__dict__)


class FrontierScheduler(BaseScheduler):
    def __init__(self, crawler, path: str, buffer: int, discovery_inflight: int, flush_every: int,
                 article_callbacks: list[str], max_out: int = 64):
        self.crawler = crawler
        self.stats = crawler.stats
        self.path = path
        self.buffer_size = max(1, buffer)
        # Leased and not done (in memory, downloading, in the pipelines): the back-pressure that
        # keeps responses from piling up before extraction, whatever their size.
        self.max_out = max(1, max_out)
        self.discovery_inflight = max(1, discovery_inflight)
        self.flush_every = flush_every
        self.article_callbacks = set(article_callbacks)
        self.store: FrontierStore | None = None
        self.spider = None
        self.sites: list[str] = []
        self._buffer: deque[Request] = deque()
        self._memory: deque[Request] = deque()  # requests of no known site: not persisted
        self._leased: dict[str, str] = {}  # key -> kind, leased and not yet done
        self._items: dict[int, str] = {}  # id(FetchedPage) -> key, until the item is stored
        self._next_site = 0
        # The spider's callbacks seen so far, as the only members of a small object: Scrapy's
        # to_dict finds a callback's name by listing every member of the object it is given,
        # a millisecond per request on the spider itself (a minute per 50,000-URL sitemap).
        self._callbacks = _Callbacks()
        crawler.signals.connect(self._on_done, signal=frontier_done)
        crawler.signals.connect(self._on_item, signal=frontier_item)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._on_item_left, signal=signal)
        crawler.signals.connect(self._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(self._on_not_stored, signal=page_not_stored)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(crawler, s.get("FRONTIER_PATH") or s.get("ARCHIVE_PATH"), s.getint("FRONTIER_BUFFER", 64),
                   s.getint("FRONTIER_DISCOVERY_INFLIGHT", 1), s.getint("FRONTIER_FLUSH_EVERY", 2000),
                   s.getlist("FRONTIER_ARTICLE_CALLBACKS") or ["parse_article"],
                   s.getint("FRONTIER_MAX_OUT", 64))

    # -- lifecycle ---------------------------------------------------------------------

    def open(self, spider):
        self.spider = spider
        self.sites = sorted(getattr(spider, "profiles", {}) or {})
        try:
            self.store = FrontierStore(self.path, flush_every=self.flush_every)
            for site in self.sites:
                session, resumed = self.store.open_session(site)
                if resumed:
                    queued = self.store.counts(site).get("queued", 0)
                    self.stats.inc_value("frontier/resumed_queued", queued)
                    logger.info("frontier: resuming %s (session %d): %d requests queued", site, session, queued)
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            # Disk full or read-only before anything was fetched: nothing is scheduled (no
            # store), the crawl ends at once and is recorded failed with this reason.
            logger.info("frontier: cannot write to %s (%s: %s); nothing will be fetched",
                        self.path, type(exc).__name__, exc)
            if not self.stats.get_value(STORAGE_FAILED):
                self.stats.set_value(STORAGE_FAILED, f"{type(exc).__name__}: {exc}")
            if self.store is not None:
                try:
                    self.store.db.close()
                except Exception:  # noqa: BLE001 - closing a connection on a broken disk
                    logger.debug("closing the frontier failed", exc_info=True)
            self.store = None
        return None

    def close(self, reason):
        if self.store is None:
            return None
        store, self.store = self.store, None
        try:
            store.flush()
            if reason == "finished":
                for site in self.sites:
                    store.close_session(site)
            counts = store.counts()
            for state, n in counts.items():
                self.stats.set_value(f"frontier/rows_{state}", n)
            store.close()
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            # Disk full, read-only: the storage pipeline has said so already. What the
            # frontier could not record stays leased, and leased rows are queued again when
            # the crawl resumes, so nothing is skipped.
            logger.warning("frontier: could not record its last changes (%s: %s); the crawl that "
                           "resumes fetches those requests again", type(exc).__name__, exc)
            try:
                store.db.close()
            except Exception:  # noqa: BLE001 - closing a connection on a broken disk
                logger.debug("closing the frontier failed", exc_info=True)
        return None

    # -- the queue ---------------------------------------------------------------------

    def _site(self, request: Request) -> str | None:
        site = request.meta.get("site")
        if site in self.store.sessions:
            return site
        host = urlsplit(request.url).hostname
        return host if host in self.store.sessions else None

    def _kind(self, request: Request) -> str:
        callback = request.callback
        name = getattr(callback, "__name__", callback) if callback is not None else "parse"
        return ARTICLE if name in self.article_callbacks else DISCOVERY

    def _encode(self, request: Request) -> bytes:
        try:
            data = request.to_dict(spider=self._callbacks)
        except ValueError:  # a callback not seen yet: found on the spider, then remembered
            data = request.to_dict(spider=self.spider)
            for name in (data["callback"], data["errback"]):
                if isinstance(name, str):
                    setattr(self._callbacks, name, getattr(self.spider, name))
        return pickle.dumps(data, protocol=4)

    def enqueue_request(self, request: Request) -> bool:
        if self.store is None:
            return False
        site = self._site(request)
        if site is None:
            self._memory.append(request)
            self.stats.inc_value("frontier/in_memory")
            return True
        key = request.meta.get(KEY)
        if key is not None and key in self._leased:
            # A retry or a redirect of a leased request: the same frontier row.
            self._leased.pop(key, None)
            self.store.requeue(key, self._encode(request), retry=bool(request.meta.get("retry_times")))
            self.stats.inc_value("frontier/requeued")
            return True
        kind = self._kind(request)
        if key is None:
            # An article or article candidate's row is its URL's matching key, as the spider
            # matches them within a run: a resumed crawl that finds ".../slug" (or a listing's
            # candidate link to it) while ".../slug/" waits from the killed crawl adds no second
            # row, and the page is fetched once. The spider's per-run check does not know
            # what the killed crawl had queued or done.
            key = (url_key(request.url) if request.meta.get("article")
                   else self.crawler.request_fingerprinter.fingerprint(request).hex())
        referer = request.headers.get("Referer")
        self.store.put(key, site, request.url, kind, request.priority, self._encode(request),
                       discovered_from=referer.decode("latin-1") if referer else None,
                       lastmod=request.meta.get("lastmod"))
        self.stats.inc_value("frontier/enqueued")
        return True

    def next_request(self) -> Request | None:
        if self._memory:
            return self._memory.popleft()
        if not self._buffer:
            self._refill()
        if not self._buffer:
            return None
        self.stats.inc_value("frontier/dequeued")
        return self._buffer.popleft()

    def has_pending_requests(self) -> bool:
        if self._buffer or self._memory:
            return True
        self._refill()
        return bool(self._buffer)

    def _refill(self) -> None:
        if self.store is None or not self.sites:
            return
        room = min(self.buffer_size, self.max_out - len(self._leased))
        if room <= 0:
            return
        n_sites = len(self.sites)
        per_site = max(1, room // n_sites)
        out = sum(1 for kind in self._leased.values() if kind == DISCOVERY)
        # Round robin, starting with another site each time, so no site starves the others.
        start = self._next_site
        self._next_site = (start + 1) % n_sites
        for i in range(n_sites):
            site = self.sites[(start + i) % n_sites]
            rows = self.store.lease(site, ARTICLE, per_site)
            kind = ARTICLE
            if not rows and out < self.discovery_inflight:
                rows = self.store.lease(site, DISCOVERY, self.discovery_inflight - out)
                kind = DISCOVERY
                out += len(rows)
            for key, blob in rows:
                request = request_from_dict(pickle.loads(blob), spider=self.spider)
                request.meta[KEY] = key
                self._leased[key] = kind
                self._buffer.append(request)

    # -- done --------------------------------------------------------------------------

    def _on_idle(self):
        """Nothing runs, yet requests are leased: they ended without any outcome we could see
        (a response filtered before its callback, a middleware that dropped it). Record them as
        lost rather than wait for them for ever; then go on if anything is queued."""
        if self.store is None:
            return
        buffered = {r.meta.get(KEY) for r in self._buffer}
        lost = [key for key in self._leased if key not in buffered]
        for key in lost:
            del self._leased[key]
            self.store.finish(key, "no outcome (dropped before its callback)", LOST)
        if lost:
            self.stats.inc_value("frontier/lost", len(lost))
            logger.warning("frontier: %d requests ended without an outcome", len(lost))
            if self.has_pending_requests():
                raise DontCloseSpider

    def _on_done(self, key, error=None):
        if self.store is None:
            return
        self._leased.pop(key, None)
        self.store.finish(key, error, DONE)
        self.stats.inc_value("frontier/done")

    def _on_item(self, item, key):
        self._items[id(item)] = key

    def _on_not_stored(self, item):
        """Fetched, not stored (the archive could not write): queued again, so the crawl that
        resumes this one fetches it."""
        key = self._items.pop(id(item), None)
        if key is None or self.store is None:
            return
        self._leased.pop(key, None)
        self.store.release(key, "fetched but not stored")
        self.stats.inc_value("frontier/released")

    def _on_item_left(self, item, **kwargs):
        key = self._items.pop(id(item), None)
        if key is None or self.store is None:
            return
        self._leased.pop(key, None)
        self.store.finish(key, getattr(item, "error", None), DONE)
        self.stats.inc_value("frontier/done")
