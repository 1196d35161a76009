"""Run a crawl in this process: settings assembly, the Scrapy process, the summary."""

from __future__ import annotations

import json
import logging
import os
import signal

import threading
from importlib import import_module

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.exitcodes import EXIT_INTERRUPTED
from crawler.lock import CrawlLock
from crawler.logfilters import install as install_log_filters
from crawler.logfilters import only_shown_records as only_shown_log_records
from crawler.pipelines.storage import CRAWL_ID_STAT, FINISH_FAILED, INTERRUPTED, STORAGE_FAILED

logger = logging.getLogger(__name__)


def _import_on_a_short_stack(name: str) -> None:
    """Import ``name`` in a fresh thread, whose stack is a few frames deep.

    Scrapy's TLS context factory module makes deprecated-class shims that call
    inspect.stack(); its cost grows with the depth of the stack times the number of modules
    loaded (CPython issue 92041). Imported by the downloader deep inside the crawler's start
    that is about a second of CPU; from a fresh thread, a tenth of that.
    """
    thread = threading.Thread(target=import_module, args=(name,), name="import")
    thread.start()
    thread.join()


_import_on_a_short_stack("scrapy.core.downloader.contextfactory")


_BOOLS = {"true", "false", "1", "0"}


def check_overrides(overrides: dict) -> None:
    """ValueError for a ``--set`` value of the wrong type for a setting with a numeric or
    true/false default (``DOWNLOAD_DELAY=slow`` would otherwise fail every request)."""
    defaults = Settings()
    defaults.setmodule("crawler.settings", priority="project")
    for key, value in overrides.items():
        default = defaults.get(key)
        if not isinstance(value, str) or default is None:
            continue
        if isinstance(default, bool):
            if value.strip().lower() not in _BOOLS:
                raise ValueError(f"{key}={value}: expected true or false")
        elif isinstance(default, (int, float)):
            try:
                float(value)
            except ValueError:
                raise ValueError(f"{key}={value}: expected a number") from None


def build_settings(targets: list[str], db_path: str, *, since: str | None = None, limit: int = 0,
                   base_url: str | None = None, refresh: bool = False, recheck_days: int = 0,
                   settings: dict | None = None, log_level: str = "INFO",
                   log_file: str | None = None) -> Settings:
    """Scrapy settings for one run: the project's defaults, the run's options, overrides."""
    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    s.set("ARCHIVE_PATH", db_path, priority="cmdline")
    s.set("CRAWL_TARGETS", list(targets), priority="cmdline")
    s.set("CRAWL_SINCE", since, priority="cmdline")
    s.set("CRAWL_LIMIT", limit, priority="cmdline")
    s.set("CRAWL_BASE_URL", base_url, priority="cmdline")
    s.set("CRAWL_REFRESH", refresh, priority="cmdline")
    s.set("CRAWL_RECHECK_DAYS", recheck_days, priority="cmdline")
    s.set("LOG_LEVEL", log_level.upper(), priority="cmdline")
    if log_file:
        s.set("LOG_FILE", log_file, priority="cmdline")
    for key, value in (settings or {}).items():
        s.set(key, value, priority="cmdline")
    return s


class CrawlFailed(RuntimeError):
    """The crawl could not run or had to stop (the message is one line for the user)."""


class CrawlInterrupted(CrawlFailed):
    """A signal arrived before the crawl had started: nothing was fetched."""


def prepare_archive(db_path: str) -> None:
    """Create or migrate the archive before any fetching, so a bad --db is one line.

    Refuses a file that is not an archive (archive.guard.NotAnArchive propagates) and a
    directory that does not exist."""
    import sqlite3

    from archive import Archive

    parent = os.path.dirname(os.path.abspath(db_path))
    if not os.path.isdir(parent):
        raise CrawlFailed(f"directory of the archive does not exist: {parent}")
    try:
        Archive(db_path).close()
    except (sqlite3.Error, OSError) as exc:
        from archive.guard import read_only_reason

        why = read_only_reason(db_path)
        raise CrawlFailed(f"cannot open archive {db_path}: {exc}" + (f" ({why})" if why else "")) from exc


def _install_signal_handlers(process, crawler) -> None:
    """SIGTERM/SIGINT: finish gracefully and record the crawl `interrupted`; a second
    signal ends the process at once (every write is one transaction, so the archive stays
    consistent, and the next crawl marks a crawl left `running` as `interrupted`)."""
    from twisted.internet import reactor

    def log_graceful(name):
        logger.warning("received %s: finishing the pages in flight, then stopping "
                       "(send it again to stop at once)", name)

    def stop_now(signum, frame):
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        try:
            crawl_id = crawler.stats.get_value(CRAWL_ID_STAT)
        except RuntimeError:  # Scrapy's "not set yet": the crawl had not started
            crawl_id = None
        note = "the next crawl marks it interrupted"
        if crawl_id is not None:
            note = _mark_interrupted(crawler.settings.get("ARCHIVE_PATH"), crawl_id) or note
        os.write(2, f"crawler: stopped at once by a second {signal.Signals(signum).name}; "
                    f"crawl {crawl_id}: {note}\n".encode())
        os._exit(EXIT_INTERRUPTED)

    def graceful(signum, frame):
        name = signal.Signals(signum).name
        crawler.stats.set_value(INTERRUPTED, name)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop_now)
        reactor.callFromThread(log_graceful, name)
        reactor.callFromThread(process.stop)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, graceful)


def _mark_interrupted(db_path: str, crawl_id: int) -> str | None:
    """Best effort from a signal handler: the crawl's row says `interrupted` now."""
    import sqlite3

    try:
        conn = sqlite3.connect(db_path, timeout=1.0)
        try:
            with conn:
                conn.execute("UPDATE crawls SET status = 'interrupted', finished_at = "
                             "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ? AND status = 'running'",
                             [crawl_id])
        finally:
            conn.close()
        return "recorded interrupted"
    except sqlite3.Error:
        return None


def run_crawl(targets: list[str], db_path: str, **options) -> dict:
    """Crawl ``targets`` into the archive at ``db_path``; return the run's summary.

    The summary has the crawls-table row of this run plus ``line``, a one-line text for cron.
    Raises CrawlFailed when storing failed (the crawl stops at the first failed write)
    or the crawl could not start, ArchiveLocked when another crawl holds the archive.
    """
    from archive import Archive

    settings = build_settings(targets, db_path, **options)
    # Until the crawl's own handlers are in place a signal is only noted (raising from a
    # handler could land inside Scrapy's start-up and end in a traceback).
    early: list[str] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: early.append(signal.Signals(signum).name))
    try:
        prepare_archive(db_path)
        with CrawlLock(db_path):  # raises ArchiveLocked at once if another crawl runs
            process = CrawlerProcess(settings)
            install_log_filters(settings.get("LOG_LEVEL", "INFO"), settings.get("LOG_FILE"))
            # By name, through SPIDER_MODULES: crawler/ never imports spiders/.
            crawler = process.create_crawler(settings.get("CRAWL_SPIDER"))
            process.crawl(crawler)
            _install_signal_handlers(process, crawler)
            if early:  # nothing has been fetched or recorded yet
                raise CrawlInterrupted(f"interrupted by {early[0]} before the crawl started; "
                                       "nothing fetched")
            with only_shown_log_records():
                process.start(install_signal_handlers=False)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        crawl_id = crawler.stats.get_value(CRAWL_ID_STAT)
    except RuntimeError:  # Scrapy's "not set yet": the crawl never started
        crawl_id = None
    storage_failed = crawler.stats.get_value(STORAGE_FAILED)
    finish_failed = crawler.stats.get_value(FINISH_FAILED)
    if crawl_id is None:
        raise CrawlFailed("the crawl did not start (see the log above)")
    if storage_failed or finish_failed:
        recorded = (f"recorded as failed in crawl {crawl_id}" if not finish_failed else
                    f"and could not record crawl {crawl_id} as failed either ({finish_failed}); "
                    "the next crawl marks it interrupted")
        raise CrawlFailed(f"could not store pages in {db_path}: {storage_failed or finish_failed}; "
                          f"stopped fetching, {recorded}")
    archive = Archive(db_path, readonly=True)
    try:
        row = archive.db["crawls"].get(crawl_id)
    finally:
        archive.close()
    row = dict(row)
    if row["status"] == "running":
        raise CrawlFailed(f"crawl {crawl_id} ended without recording its result (see the log); "
                          "the next crawl marks it interrupted")
    row.update(json.loads(row.pop("stats") or "{}"))
    # Starts with the finish time (UTC), so a cron log says when each run ended.
    row["line"] = (
        f"{row.get('finished_at') or ''} crawl {crawl_id} {row['status']}: {row.get('discovered', 0)} discovered, "
        f"{row.get('skipped_known', 0)} known, {row.get('pages', 0)} fetched, "
        f"{row.get('articles_new', 0)} new, {row.get('articles_updated', 0)} updated, "
        f"{row.get('articles_unchanged', 0)} unchanged, {row.get('duplicates', 0)} duplicates, "
        f"{row.get('not_modified', 0)} not modified, {row.get('errors', 0)} errors"
        + (f", failed: {', '.join(row['failed_sites'])}" if row.get("failed_sites") else "")
        + f" -> {db_path}"
    )
    return row
