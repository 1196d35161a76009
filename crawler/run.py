"""Run a crawl in this process: settings assembly, the Scrapy process, the summary."""

from __future__ import annotations

import json
import logging

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.lock import CrawlLock

logger = logging.getLogger(__name__)


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


def run_crawl(targets: list[str], db_path: str, **options) -> dict:
    """Crawl ``targets`` into the archive at ``db_path``; return the run's summary.

    The summary has the crawls-table row of this run plus ``line``, a one-line text for cron.
    """
    from archive import Archive

    settings = build_settings(targets, db_path, **options)
    with CrawlLock(db_path):  # raises ArchiveLocked at once if another crawl runs
        process = CrawlerProcess(settings)
        # By name, through SPIDER_MODULES: crawler/ never imports spiders/.
        crawler = process.create_crawler(settings.get("CRAWL_SPIDER"))
        process.crawl(crawler)
        process.start()
    from crawler.pipelines.storage import CRAWL_ID_STAT

    try:
        crawl_id = crawler.stats.get_value(CRAWL_ID_STAT)
    except RuntimeError:  # Scrapy's "not set yet": the crawl never started
        crawl_id = None
    if crawl_id is None:
        raise RuntimeError("the crawl did not start (see the log above)")
    archive = Archive(db_path)
    try:
        row = archive.db["crawls"].get(crawl_id)
    finally:
        archive.close()
    row = dict(row)
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
