"""The item that flows from the spider through the pipelines into the archive."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FetchedPage:
    """One fetch of an article candidate, successful or not.

    The spider fills the fetch fields; the extraction pipeline adds ``article`` (a dict of
    :class:`crawler.extract.Article` fields plus ``site`` and ``content_hash``) or ``error``.
    """

    url: str
    site: str
    fetched_at: str
    final_url: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    body: bytes | None = None
    encoding: str | None = None
    error: str | None = None
    article: dict | None = None
    # Set when the URL was already in the archive: a 304 re-fetch touches this article.
    known_article_url: str | None = None
    # (file, offset, length) of the response's WARC record, when the crawl captures (--warc).
    warc: tuple[str, int, int] | None = None
    # The sitemap lastmod or feed date that listed the URL (None from a listing).
    lastmod: str | None = None
    # Found by discovery by content: not known to be an article until the page says so.
    classify: bool = False
    # What the archive needs of the page, computed by the extraction worker
    # (crawler.archive_prep.Prepared): the compressed body, stems, near-duplicate signature.
    prepared: object | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304
