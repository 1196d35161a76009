"""Write fetched pages and their articles into the SQLite archive."""

from __future__ import annotations

import logging

from archive import Archive

from crawler.items import FetchedPage

logger = logging.getLogger(__name__)

# Scrapy stats copied into the crawls table at the end of a run.
_STAT_KEYS = {
    "pages": "pages/fetched",
    "errors": "pages/errors",
    "articles_new": "archive/new",
    "articles_updated": "archive/updated",
    "articles_unchanged": "archive/unchanged",
    "duplicates": "archive/duplicate",
}


class ArchivePipeline:
    def __init__(self, crawler, path: str, targets: list[str], store_bodies: bool):
        self.crawler = crawler
        self.stats = crawler.stats
        self.path = path
        self.targets = targets
        self.store_bodies = store_bodies
        self.archive: Archive | None = None
        self.crawl_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(crawler, s.get("ARCHIVE_PATH"), s.getlist("CRAWL_TARGETS"),
                   s.getbool("ARCHIVE_STORE_BODIES"))

    def open_spider(self):
        spider = self.crawler.spider
        self.archive = Archive(self.path)
        self.crawl_id = self.archive.start_crawl(self.targets or list(spider.profiles),
                                                 {"since": str(spider.since or ""), "limit": spider.limit})
        spider.crawl_id = self.crawl_id
        logger.info("archive %s, crawl %s", self.path, self.crawl_id)

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        self.stats.inc_value("pages/fetched")
        page_id = self.archive.record_page({
            "crawl_id": self.crawl_id,
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
        })
        if item.article and not item.error:
            result = self.archive.store_article(item.article, page_id=page_id,
                                                crawl_id=self.crawl_id, seen_at=item.fetched_at)
            self.stats.inc_value(f"archive/{result.status}")
            self.stats.inc_value(f"archive/site/{item.site}/{result.status}")
        else:
            self.stats.inc_value(f"archive/site/{item.site}/errors")
        # The body is in the archive now; do not keep it alive in the stats or the engine.
        item.body = None
        return item

    def close_spider(self):
        spider = self.crawler.spider
        if self.archive is None:
            return
        stats = self.stats.get_stats()
        row = {column: int(stats.get(key, 0)) for column, key in _STAT_KEYS.items()}
        row["discovered"] = sum(v for k, v in stats.items() if k.startswith("discovery/articles/"))
        row["by_site"] = {k.split("/")[2] + "/" + k.split("/")[3]: v for k, v in stats.items()
                          if k.startswith("archive/site/")}
        row["discovery_errors"] = int(stats.get("discovery/errors", 0))
        stored = row["articles_new"] + row["articles_updated"] + row["articles_unchanged"] + row["duplicates"]
        if row["pages"] == 0 and (row["discovery_errors"] or row["errors"]):
            status = "failed"
        elif row["errors"] or row["discovery_errors"]:
            status = "partial"
        else:
            status = "ok"
        row["stored"] = stored
        self.archive.finish_crawl(self.crawl_id, row, status)
        spider.crawl_status = status
        self.archive.close()
        self.archive = None
