"""What earlier runs stored, so a scheduled crawl fetches only what is new or changed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from crawler.page import NOT_AN_ARTICLE
from crawler.urls import url_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownPage:
    url: str
    article_url: str
    last_seen_at: datetime
    published_at: str | None
    etag: str | None
    last_modified: str | None
    lastmod: str | None = None  # the sitemap/feed date that listed it when last fetched

    def conditional_headers(self) -> dict[str, str]:
        """Validators for a conditional re-fetch (answered 304 when nothing changed)."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def parse_lastmod(value: str | None) -> datetime | None:
    """A sitemap lastmod / feed date as an aware datetime (a bare day counts as its end)."""
    if not value:
        return None
    value = value.strip()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if len(value) == 10:  # YYYY-MM-DD: changed at some time that day
        when = when + timedelta(days=1) - timedelta(seconds=1)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


_LISTING = NOT_AN_ARTICLE + "listing"
# the latest fetch of each URL, when it was a candidate the classifier called no article
_VISITED_SQL = ("SELECT url FROM pages WHERE id IN (SELECT max(id) FROM pages GROUP BY url) "
                "AND article_id IS NULL AND error LIKE ? AND error != ?")


class KnownIndex:
    """Known article URLs (as requested, after redirects, and canonical), by url_key."""

    def __init__(self, pages: list[KnownPage] = (), visited: Iterable[str] = (),
                 listed: dict[str, dict] | None = None):
        self._by_key: dict[str, KnownPage] = {}
        # url_key -> the dates each source listed it with at the last visit
        self.listed: dict[str, dict] = dict(listed or {})
        self.pages = list(pages)
        # url_keys of pages fetched before that were no article (and no listing, which is
        # re-read every time): discovery by content does not fetch them again
        self.visited: set[str] = {url_key(u) for u in visited}
        for page in self.pages:
            self._by_key[url_key(page.url)] = page
            if page.article_url != page.url:
                self._by_key[url_key(page.article_url)] = page

    @classmethod
    def load(cls, db_path: str | os.PathLike) -> "KnownIndex":
        """Read the archive (if it exists) without keeping it open."""
        if not os.path.exists(db_path):
            return cls()
        from archive import Archive

        pages = []
        visited = []
        listed = {}
        with Archive(db_path, create=False) as archive:
            for row in archive.known_pages():
                pages.append(KnownPage(
                    url=row["url"], article_url=row["article_url"],
                    last_seen_at=datetime.fromisoformat(row["last_seen_at"]),
                    published_at=row["published_at"], etag=row["etag"],
                    last_modified=row["last_modified"], lastmod=row.get("lastmod"),
                ))
            visited = [url for (url,) in archive.db.execute(_VISITED_SQL, [NOT_AN_ARTICLE + "%", _LISTING])]
            listed = {row.pop("url_key"): row for row in archive.listed_dates()}
        logger.info("%d known article URLs and %d visited non-article pages in %s",
                    len(pages), len(visited), db_path)
        return cls(pages, visited, listed)

    def __len__(self) -> int:
        return len(self.pages)

    def get(self, url: str) -> KnownPage | None:
        return self._by_key.get(url_key(url))

    def was_visited(self, key: str) -> bool:
        """A page (by url_key) fetched before and found to be no article and no listing."""
        return key in self.visited

    def get_key(self, key: str) -> KnownPage | None:
        """Like get(), for a key already computed with url_key()."""
        return self._by_key.get(key)

    def published_within(self, days: int, now: datetime | None = None) -> list[KnownPage]:
        """Known articles published in the last ``days`` days (for --recheck-days)."""
        now = now or datetime.now(timezone.utc)
        first_day = (now - timedelta(days=days)).date()
        out = []
        for page in self.pages:
            try:
                day = date.fromisoformat((page.published_at or "")[:10])
            except ValueError:
                continue
            if day >= first_day:
                out.append(page)
        return out


def _differs(then: str, now: str) -> bool:
    a, b = parse_lastmod(then), parse_lastmod(now)
    if a is not None and b is not None:
        return a != b
    return then.strip() != now.strip()


def listed_changed(recorded: dict | None, listed: dict[str, str | None]) -> bool | None:
    """Does a source's date differ from the one the same source listed at the last visit?

    ``recorded`` and ``listed`` map a source (lastmod, feed_date, listing_date) to its date.
    True or False when some source offering a date now had one recorded; None when none
    had (the caller falls back on :func:`changed_since`).
    """
    compared = False
    for source, now in listed.items():
        then = (recorded or {}).get(source)
        if now and then:
            if _differs(then, now):
                return True
            compared = True
    return False if compared else None


def changed_since(known: KnownPage, lastmod: str | None) -> bool:
    """Does a sitemap/feed date say the page changed since we last fetched it?

    When the date that listed it then was recorded, any other date now means an edit,
    whatever the site's clock says against ours; otherwise only a date after our last
    visit does.
    """
    if lastmod is None:
        return False
    if known.lastmod is not None:
        then, now = parse_lastmod(known.lastmod), parse_lastmod(lastmod)
        if then is not None and now is not None:
            return now != then
        return lastmod.strip() != known.lastmod.strip()
    when = parse_lastmod(lastmod)
    return when is not None and when > known.last_seen_at
