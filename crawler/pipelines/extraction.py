"""Turn a fetched page into an article record, or into a clear error."""

from __future__ import annotations

import logging
from datetime import datetime

from crawler.dedup import content_hash
from crawler.encoding import decode_html
from crawler.extract import ExtractionError, extract_article
from crawler.items import FetchedPage
from crawler.urls import article_url

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


class ExtractionPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        problem = check_fetch(item)
        if problem:
            item.error = problem
        elif item.not_modified:
            self.stats.inc_value("pages/not_modified")
        else:
            try:
                item.article = build_article(item, self.crawler.spider.profiles.get(item.site))
            except ExtractionError as exc:
                item.error = f"extraction: {exc}"
            except Exception as exc:  # a bad page must never stop the crawl
                logger.exception("extraction crashed on %s", item.url)
                item.error = f"extraction crashed: {type(exc).__name__}: {exc}"
        if item.error:
            self.stats.inc_value("pages/errors")
            logger.warning("no article from %s: %s", item.url, item.error)
        return item
