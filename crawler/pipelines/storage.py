"""Write fetched pages and their articles into the SQLite archive.

Pages are written in batches: up to ``ARCHIVE_BATCH_SIZE`` pages, or what arrived within
``ARCHIVE_BATCH_SECONDS``, in one transaction (each page in its own savepoint inside it). An
item leaves this pipeline only once its batch is committed, so what comes after it (the
frontier marking the URL done, the crawl's counters) never runs ahead of the archive. A
crawl killed with ``kill -9`` loses at most the batch not yet committed, never half of a
page: the next run fetches those pages again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from datetime import datetime, timezone
from typing import NamedTuple

from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from archive import Archive
from archive.manifest import software_versions

from crawler.items import FetchedPage
from crawler.known_urls import KnownUrlMiddleware
from crawler.page import NOT_AN_ARTICLE, is_not_article
from crawler.neardup import DEFAULT_THRESHOLD, NearDupIndexer
from crawler.profiles import crawl_profile_records, crawl_profiles

logger = logging.getLogger(__name__)

# Stats keys through which run_crawl learns the crawl's row and outcome.
CRAWL_ID_STAT = "archive/crawl_id"
CRAWL_STATUS_STAT = "archive/crawl_status"

# crawls-table column <- Scrapy stats key
_STAT_KEYS = {
    "discovered": "discovery/discovered",
    "skipped_known": "discovery/skipped_known",
    "not_modified": "pages/not_modified",
    "pages": "pages/fetched",
    "errors": "pages/errors",
    "articles_new": "archive/new",
    "articles_updated": "archive/updated",
    "articles_unchanged": "archive/unchanged",
    "duplicates": "archive/duplicate",
}


def site_outcomes(stats: dict) -> dict[str, dict[str, int]]:
    """Per-site counts from the flat Scrapy stats: discovered, skipped_known, new, errors..."""
    sites: dict[str, Counter] = {}
    for key, value in stats.items():
        parts = key.split("/")
        if len(parts) == 4 and parts[1] == "site" and parts[0] in ("archive", "discovery"):
            sites.setdefault(parts[2], Counter())[parts[3]] += int(value)
    return {site: dict(counts) for site, counts in sorted(sites.items())}


def failed_sites(targets: list[str], by_site: dict[str, dict[str, int]]) -> list[str]:
    """Sites that gave nothing usable: no article stored, confirmed or skipped as known."""
    failed = []
    for site in targets:
        c = by_site.get(site, {})
        if not any(c.get(k) for k in ("new", "updated", "unchanged", "duplicate", "skipped_known")):
            failed.append(site)
    return failed


# Sent for each page that was fetched but could not be stored (its batch failed), with
# ``item``: whoever marks URLs done (the persistent frontier) queues it again instead.
page_not_stored = object()

# Stats keys the run reads back (crawler/run.py): why storing stopped the crawl, and a
# failure to record the crawl's own end.
STORAGE_FAILED = "archive/storage_failed"
FINISH_FAILED = "archive/finish_failed"
INTERRUPTED = "crawl/interrupted"


class _AlreadyFailed(Exception):
    """Storing failed for an earlier batch: this one is not tried."""


class _Stored(NamedTuple):
    result: object  # archive.core.StoreResult or None
    near_duplicate: bool = False
    withdrawn: bool = False
    store_failed: bool = False


def is_storage_failure(exc: BaseException) -> bool:
    """Disk full, I/O error, read-only file, lock timeout: nothing more can be stored.
    A constraint violation is one bad row, not a broken archive."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)):
        return False
    return isinstance(exc, (sqlite3.DatabaseError, OSError))


class ArchivePipeline:
    def __init__(self, crawler, path: str, targets: list[str], store_bodies: bool,
                 neardup_threshold: float | None = DEFAULT_THRESHOLD, batch_size: int = 32,
                 batch_seconds: float = 1.0):
        self.crawler = crawler
        self.batch_size = max(1, batch_size)
        self.batch_seconds = max(0.0, batch_seconds)
        self._batch: list[tuple[FetchedPage, dict, Deferred]] = []
        self._timer = None
        self.neardup_threshold = neardup_threshold
        self.neardup: NearDupIndexer | None = None
        self.stats = crawler.stats
        self.path = path
        self.targets = targets
        self.store_bodies = store_bodies
        self.archive: Archive | None = None
        self.crawl_id: int | None = None
        self.profiles = crawl_profiles(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(crawler, s.get("ARCHIVE_PATH"), s.getlist("CRAWL_TARGETS"),
                   s.getbool("ARCHIVE_STORE_BODIES"),
                   s.getfloat("NEARDUP_THRESHOLD", DEFAULT_THRESHOLD) if s.getbool("NEARDUP_ENABLED", True) else None,
                   s.getint("ARCHIVE_BATCH_SIZE", 32), s.getfloat("ARCHIVE_BATCH_SECONDS", 1.0))

    def open_spider(self):
        s = self.crawler.settings
        self.archive = Archive(self.path)
        self.crawl_id = self.archive.start_crawl(
            self.targets or list(self.profiles),
            {"since": str(s.get("CRAWL_SINCE") or ""), "limit": s.getint("CRAWL_LIMIT"),
             "refresh": s.getbool("CRAWL_REFRESH"), "recheck_days": s.getint("CRAWL_RECHECK_DAYS"),
             # Export manifests read these to say which extractor produced the rows.
             "versions": software_versions()},
            profiles=crawl_profile_records(s))
        self.stats.set_value(CRAWL_ID_STAT, self.crawl_id)
        logger.info("archive %s, crawl %s", self.path, self.crawl_id)
        if self.neardup_threshold is not None:
            # Near-duplicate links and translations (crawler/neardup.py); catch_up() indexes
            # what earlier or interrupted runs and re-extractions left unindexed.
            try:
                self.neardup = NearDupIndexer(self.archive, self.neardup_threshold)
                self.neardup.catch_up()
            except Exception:  # the crawl itself does not depend on it
                logger.exception("near-duplicate index unavailable for this crawl")

    def _stop_for_storage(self, item, exc: BaseException) -> None:
        """What cannot be stored must not be fetched: close the spider at the first failure."""
        if self.stats.get_value(STORAGE_FAILED):
            return
        self.stats.set_value(STORAGE_FAILED, f"{type(exc).__name__}: {exc}")
        logger.info("could not store %s (%s: %s); stopping the crawl", item.url, type(exc).__name__, exc)
        logger.debug("storage failure", exc_info=exc)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_failed"))

    def _not_stored(self, item) -> None:
        self.stats.inc_value("archive/not_stored")
        self.crawler.signals.send_catch_log(page_not_stored, item=item)
        item.body = None
        item.article = None
        item.prepared = None

    async def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        if self.stats.get_value(STORAGE_FAILED):
            # In flight when storing failed: not stored, not counted as fetched-and-kept.
            self._not_stored(item)
            return item
        page = self._page_row(item)
        # The raw body is compressed in the page row now (or by the worker): not kept twice.
        item.body = None
        done: Deferred = Deferred()
        self._batch.append((item, page, done))
        if len(self._batch) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            from twisted.internet import reactor  # installed by Scrapy by now

            self._timer = reactor.callLater(self.batch_seconds, self._flush)
        await maybe_deferred_to_future(done)
        return item

    def _page_row(self, item) -> dict:
        prepared = item.prepared
        body = None
        if self.store_bodies:
            # compressed by the extraction worker when the page went through one
            body = prepared.body if prepared is not None and prepared.body is not None else item.body
        page = {
            "site": item.site,
            "url": item.url,
            "final_url": item.final_url,
            "status": item.status,
            "content_type": item.content_type,
            "headers": item.headers,
            "encoding": item.encoding,
            "fetched_at": item.fetched_at,
            "body": body,
            "error": item.error,
            "lastmod": item.lastmod,
        }
        if item.warc is not None:
            page["warc_file"], page["warc_offset"], page["warc_length"] = item.warc
        return page

    def _flush(self) -> None:
        """Store the waiting pages in one transaction, then let their items go on."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        batch, self._batch = self._batch, []
        if not batch:
            return
        outcomes: list[_Stored] = []
        failure = None
        try:
            if self.stats.get_value(STORAGE_FAILED):
                raise _AlreadyFailed
            with self.archive.transaction():
                for item, page, _ in batch:
                    outcomes.append(self._store_one(item, page))
        except Exception as exc:  # the whole batch was rolled back: none of it is stored
            for item, _, _ in batch:
                self._not_stored(item)
            if is_storage_failure(exc):
                self._stop_for_storage(batch[0][0], exc)
            elif not isinstance(exc, _AlreadyFailed):
                failure = Failure(exc)  # a bug: each item of the batch fails with it
        else:
            for (item, _, _), outcome in zip(batch, outcomes):
                self._count(item, outcome)
        for _, _, done in batch:
            if failure is None:
                done.callback(None)
            else:
                done.errback(failure)

    def _store_one(self, item, page) -> _Stored:
        """One page in its own savepoint; a page that fails for itself (not the disk) is
        recorded with the reason, the others of the batch go on."""
        prepared = item.prepared
        if prepared is not None and prepared.stems:
            self.archive.offer_stems(prepared.stems)
        try:
            with self.archive.transaction():
                result, withdrawn = self._store(item, page)
                near = self._index_neardup(item, result)
                return _Stored(result, near, withdrawn)
        except Exception as exc:
            if is_storage_failure(exc):
                raise
            logger.exception("could not store %s", item.url)
            page = dict(page, error=f"store failed: {type(exc).__name__}: {exc}")
            self.archive.store_fetch(page, None, crawl_id=self.crawl_id, seen_at=item.fetched_at)
            item.error = page["error"]
            return _Stored(None, store_failed=True)

    def _store(self, item, page):
        if item.not_modified and item.known_article_url and not item.error:
            _, result = self.archive.touch_article(item.known_article_url, page, crawl_id=self.crawl_id,
                                                   seen_at=item.fetched_at)
        else:
            article = item.article if not item.error else None
            _, result = self.archive.store_fetch(page, article, crawl_id=self.crawl_id,
                                                 seen_at=item.fetched_at)
        withdrawn = item.status == 410 and not item.not_modified and self._mark_withdrawn(item)
        return result, withdrawn

    def _mark_withdrawn(self, item) -> bool:
        for url in dict.fromkeys(u for u in (item.known_article_url, item.url, item.final_url) if u):
            if self.archive.mark_withdrawn(url, item.fetched_at):
                logger.info("article %s is gone (410): marked withdrawn", url)
                return True
        return False

    def _index_neardup(self, item, result) -> bool:
        """Index a new or changed article; True when it joined a near-duplicate cluster."""
        if result is None or result.status not in ("new", "updated", "duplicate") or not self.neardup:
            return False
        prepared = item.prepared
        try:
            with self.archive.transaction():
                match = self.neardup.index(result.id, prepared.signed if prepared is not None else None)
        except Exception as exc:  # a failed link must not lose the article; catch_up() retries
            if is_storage_failure(exc):
                raise
            logger.exception("near-duplicate indexing failed for %s", item.url)
            return False
        return match.near_duplicate_of is not None

    def _count(self, item, stored: _Stored) -> None:
        """The crawl's counters for a page whose batch is committed."""
        self.stats.inc_value("pages/fetched")
        if stored.store_failed:
            self.stats.inc_value("pages/errors")
        if stored.near_duplicate:
            self.stats.inc_value("archive/near_duplicates")
        if stored.withdrawn:
            self.stats.inc_value("archive/withdrawn")
        result = stored.result
        outcome = result.status if result else ("not_article" if is_not_article(item.error) else "errors")
        self.stats.inc_value(f"archive/{outcome}")
        self.stats.inc_value(f"archive/site/{item.site}/{outcome}")
        # The page is in the archive now; do not keep it alive in the engine.
        item.article = None
        item.prepared = None

    def _record_listed_dates(self) -> None:
        """The dates sitemaps, feeds and listings gave every offered URL in this run, so the
        next run sees an edit as a date that changed (crawler/known_urls.py)."""
        known = self.crawler.get_spider_middleware(KnownUrlMiddleware)
        if known is None or self.stats.get_value(STORAGE_FAILED):
            return
        try:
            n = self.archive.record_listed_dates(known.listed_rows(),
                                                 datetime.now(timezone.utc).isoformat(timespec="seconds"))
            logger.info("recorded the listed dates of %d URLs", n)
        except Exception as exc:  # the crawl's own record comes first
            if not is_storage_failure(exc):
                raise
            logger.warning("could not record the listed dates: %s", exc)

    def _not_articles(self) -> int:
        return self.archive.db.execute(
            "SELECT count(*) FROM pages WHERE crawl_id = ? AND error LIKE ?",
            [self.crawl_id, NOT_AN_ARTICLE + "%"]).fetchone()[0]

    def _failed_pages(self) -> int:
        return self.archive.db.execute(
            "SELECT count(error) FROM pages WHERE crawl_id = ?", [self.crawl_id]).fetchone()[0]

    def close_spider(self):
        if self.archive is None:
            return
        self._flush()  # what is still waiting for its batch (the items normally leave before)
        stats = self.stats.get_stats()
        self._record_listed_dates()
        row = {column: int(stats.get(key, 0)) for column, key in _STAT_KEYS.items()}
        row["by_site"] = site_outcomes(stats)
        row["discovery_errors"] = int(stats.get("discovery/errors", 0))
        # how URLs were found, skipped (known, --since, --limit) and queued, for the record
        row["discovery"] = {k.removeprefix("discovery/"): v for k, v in sorted(stats.items())
                            if k.startswith("discovery/")}
        row["failed_sites"] = failed_sites(list(self.profiles), row["by_site"])
        # pages and errors are counted from the rows that exist (finish_crawl observes them).
        row.pop("pages")
        row.pop("errors")
        # Counted from the rows that exist, less the candidates that were no article
        # (recorded as visited with the classifier's verdict, no failure).
        try:
            row["not_articles"] = self._not_articles()
            errors = row["errors"] = self._failed_pages() - row["not_articles"]
        except sqlite3.Error:  # finish_crawl observes what it can (or fails, handled there)
            row["not_articles"] = int(stats.get("pages/not_articles", 0))
            errors = int(stats.get("pages/errors", 0))
        # crawl --warc: files, records, bytes, and records that could not be written
        row["warc"] = {k.removeprefix("warc/"): v for k, v in sorted(stats.items()) if k.startswith("warc/")}
        row["not_stored"] = int(stats.get("archive/not_stored", 0))
        storage_failed = stats.get(STORAGE_FAILED)
        interrupted = stats.get(INTERRUPTED)
        if storage_failed:
            status = "failed"
            row["failure"] = f"could not store pages: {storage_failed}"
        elif interrupted:
            status = "interrupted"
            row["failure"] = f"stopped by {interrupted}"
        elif row["failed_sites"] and len(row["failed_sites"]) == len(self.profiles):
            status = "failed"
        elif errors or row["discovery_errors"] or row["failed_sites"] or row["warc"].get("errors"):
            status = "partial"
        else:
            status = "ok"
        try:
            self.archive.finish_crawl(self.crawl_id, row, status)
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            self.stats.set_value(FINISH_FAILED, f"{type(exc).__name__}: {exc}")
            logger.info("could not record the end of crawl %s: %s", self.crawl_id, exc)
        self.stats.set_value(CRAWL_STATUS_STAT, status)
        try:
            self.archive.close()
        except Exception:  # noqa: BLE001 - closing a connection on a broken disk
            logger.debug("closing the archive failed", exc_info=True)
        self.archive = None
