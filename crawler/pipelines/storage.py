"""Write fetched pages and their articles into the SQLite archive."""

from __future__ import annotations

import logging
from collections import Counter

from archive import Archive
from archive.manifest import software_versions

from crawler.items import FetchedPage
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


class ArchivePipeline:
    def __init__(self, crawler, path: str, targets: list[str], store_bodies: bool,
                 neardup_threshold: float | None = DEFAULT_THRESHOLD):
        self.crawler = crawler
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
                   s.getfloat("NEARDUP_THRESHOLD", DEFAULT_THRESHOLD) if s.getbool("NEARDUP_ENABLED", True) else None)

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

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        self.stats.inc_value("pages/fetched")
        page = {
            "site": item.site,
            "url": item.url,
            "final_url": item.final_url,
            "status": item.status,
            "content_type": item.content_type,
            "headers": item.headers,
            "encoding": item.encoding,
            "fetched_at": item.fetched_at,
            "body": item.body if self.store_bodies else None,
            "error": item.error,
            "lastmod": item.lastmod,
        }
        if item.warc is not None:
            page["warc_file"], page["warc_offset"], page["warc_length"] = item.warc
        if item.not_modified and item.known_article_url and not item.error:
            _, result = self.archive.touch_article(item.known_article_url, page, crawl_id=self.crawl_id,
                                                   seen_at=item.fetched_at)
        else:
            article = item.article if not item.error else None
            try:
                _, result = self.archive.store_fetch(page, article, crawl_id=self.crawl_id,
                                                     seen_at=item.fetched_at)
            except Exception as exc:  # keep the crawl going and the failure visible
                logger.exception("could not store %s", item.url)
                page["error"] = f"store failed: {type(exc).__name__}: {exc}"
                self.archive.store_fetch(page, None, crawl_id=self.crawl_id, seen_at=item.fetched_at)
                self.stats.inc_value("pages/errors")
                result = None
        if result is not None and result.status in ("new", "updated", "duplicate") and self.neardup:
            try:
                match = self.neardup.index(result.id)
                if match.near_duplicate_of is not None:
                    self.stats.inc_value("archive/near_duplicates")
            except Exception:  # a failed link must not lose the article; catch_up() retries
                logger.exception("near-duplicate indexing failed for %s", item.url)
        outcome = result.status if result else "errors"
        self.stats.inc_value(f"archive/{outcome}")
        self.stats.inc_value(f"archive/site/{item.site}/{outcome}")
        # The body is in the archive now; do not keep it alive in the engine.
        item.body = None
        item.article = None
        return item

    def close_spider(self):
        if self.archive is None:
            return
        stats = self.stats.get_stats()
        row = {column: int(stats.get(key, 0)) for column, key in _STAT_KEYS.items()}
        row["by_site"] = site_outcomes(stats)
        row["discovery_errors"] = int(stats.get("discovery/errors", 0))
        # how URLs were found, skipped (known, --since, --limit) and queued, for the record
        row["discovery"] = {k.removeprefix("discovery/"): v for k, v in sorted(stats.items())
                            if k.startswith("discovery/")}
        row["failed_sites"] = failed_sites(list(self.profiles), row["by_site"])
        # crawl --warc: files, records, bytes, and records that could not be written
        row["warc"] = {k.removeprefix("warc/"): v for k, v in sorted(stats.items()) if k.startswith("warc/")}
        if row["failed_sites"] and len(row["failed_sites"]) == len(self.profiles):
            status = "failed"
        elif row["errors"] or row["discovery_errors"] or row["failed_sites"] or row["warc"].get("errors"):
            status = "partial"
        else:
            status = "ok"
        self.archive.finish_crawl(self.crawl_id, row, status)
        self.stats.set_value(CRAWL_STATUS_STAT, status)
        self.archive.close()
        self.archive = None
