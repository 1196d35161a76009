"""The :class:`Archive`: one SQLite file holding crawls, fetched pages and articles.

The crawler's pipeline writes through this class; researchers can open the same file with
it, with sqlite-utils or with datasette. Nothing here knows about Scrapy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from .bodies import BodyCodec
from .guard import check_creatable, open_readonly
from .schema import configure, migrate
from .search import pending_changes, rebuild_stem_index, stem_index_current, sync_stem_index
from .times import to_utc_iso, utc_now
from .views import ensure_views

logger = logging.getLogger(__name__)

__all__ = [
    "ARTICLE_FIELDS",
    "Archive",
    "CRAWL_STATUSES",
    "KEPT_HEADERS",
    "PAGE_FIELDS",
    "StoreResult",
]

# Keys store_article() reads from the article dict, in column order.
ARTICLE_FIELDS = (
    "url",
    "site",
    "title",
    "text",
    "author",
    "published_at",
    "published_raw",
    "date_source",
    "tz_source",
    "modified_at",
    "language",
    "description",
    "categories",
    "tags",
    "image",
    "hreflang",
    "content_hash",
)
# Columns refreshed on a re-fetch whose title and text did not change.
_METADATA_FIELDS = (
    "site", "author", "published_at", "published_raw", "date_source", "tz_source", "modified_at",
    "language",
    "description", "categories", "tags", "image", "hreflang",
)
# Stored as JSON text, returned decoded by get_article() and the exports.
ARTICLE_JSON_FIELDS = ("categories", "tags", "hreflang")

PAGE_FIELDS = (
    "crawl_id",
    "site",
    "url",
    "final_url",
    "status",
    "content_type",
    "headers",
    "encoding",
    "fetched_at",
    "body",
    "error",
    "warc_file",
    "warc_offset",
    "warc_length",
    "lastmod",
)
# Only these response headers are worth keeping: they explain the body (type, language,
# length, where a redirect pointed), enable conditional re-fetching (etag, last-modified)
# and record politeness signals.  The crawl keeps exactly these (select_headers).
KEPT_HEADERS = (
    "content-type",
    "last-modified",
    "etag",
    "content-language",
    "cache-control",
    "retry-after",
    "content-length",
    "location",
)

CRAWL_STATUSES = ("running", "ok", "partial", "failed", "interrupted")
CRAWL_STAT_COLUMNS = (
    "discovered",
    "skipped_known",
    "not_modified",
    "pages",
    "articles_new",
    "articles_updated",
    "articles_unchanged",
    "duplicates",
    "errors",
)

NEW, DUPLICATE, UPDATED, UNCHANGED = "new", "duplicate", "updated", "unchanged"
# store_article() outcome -> crawls column counting it
_OUTCOME_COLUMNS = {
    NEW: "articles_new",
    DUPLICATE: "duplicates",
    UPDATED: "articles_updated",
    UNCHANGED: "articles_unchanged",
}

_PAGE_BATCH = 64


@dataclass
class StoreResult:
    """Outcome of :meth:`Archive.store_article`.

    ``status`` is one of ``"new"``, ``"duplicate"``, ``"updated"``, ``"unchanged"``;
    ``duplicate_of`` is the id of the original article when this row is a duplicate.
    """

    id: int
    status: str
    duplicate_of: int | None


def _json_default(value: Any) -> Any:
    # Crawler stats carry datetimes and the odd custom object: keep them readable.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _dump_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _load_json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def select_headers(headers: Mapping[Any, Any] | None) -> dict[str, str]:
    """Keep the :data:`KEPT_HEADERS` of a response, keys lower-cased.

    Accepts plain dicts and Scrapy-style mappings (bytes keys, lists of bytes values);
    several values of one header are joined with ``", "`` as HTTP allows.
    """
    if not headers:
        return {}
    kept: dict[str, str] = {}
    for key, value in headers.items():
        name = _text(key).strip().lower()
        if name not in KEPT_HEADERS or value is None:
            continue
        if isinstance(value, (list, tuple)):
            text = ", ".join(_text(v) for v in value)
        else:
            text = _text(value)
        kept[name] = text
    return kept


def _plain(value: Any) -> Any:
    """Make date/datetime values storable as their ISO form (published_at may be one)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


class Archive:
    """An open archive file: create/migrate on open, write crawls, pages and articles.

    ``Archive(path)`` creates the file if needed, switches it to WAL mode and applies
    pending schema migrations. ``create=False`` refuses to create a missing file. A file
    that is not an archive (another program's database, a text file) raises
    :class:`archive.guard.NotAnArchive` and is left as it was. ``readonly=True`` opens an
    existing archive with SQLite's ``mode=ro`` (``immutable=1`` on a read-only mount) and
    never writes; ``immutable`` says which. Use as a context manager or call :meth:`close`.
    """

    db: sqlite_utils.Database
    path: str

    def __init__(self, path: str | os.PathLike, *, create: bool = True,
                 readonly: bool = False) -> None:
        self.path = os.fspath(path)
        self.readonly = readonly
        self.immutable = False
        self._codec = BodyCodec()
        self._outcomes: dict[int, Counter[str]] = {}
        self._warned_keys: set[str] = set()
        # (text, language) -> stems, computed elsewhere for the current write (offer_stems)
        self._stems: dict[tuple[str | None, str | None], str] = {}
        self._flat = False  # inside transaction(savepoints=False)
        self._closed = False
        if readonly:
            # Never creates, migrates or switches journal mode (archive/guard.py).
            self.db, self.immutable = open_readonly(self.path)
            return
        if not create and not os.path.exists(self.path):
            raise FileNotFoundError(f"no archive at {self.path}")
        # Refuse to turn someone else's database (or a text file) into an archive.
        check_creatable(self.path)
        self.db = sqlite_utils.Database(self.path)
        try:
            configure(self.db)
            migrate(self.db)
            ensure_views(self.db)
        except BaseException:
            self.db.close()
            raise
        self._catch_up_stem_index()

    # -- lifecycle -------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taking the write lock up front.

        A deferred BEGIN that reads first and writes later cannot wait for another
        process's writer (SQLite returns "database is locked" at once to avoid a
        deadlock); BEGIN IMMEDIATE waits up to busy_timeout instead, so a re-extraction
        and a crawl can write the same file.
        """
        if self.db.conn.in_transaction and self._flat:
            yield  # part of the caller's all-or-nothing batch; synced once at its commit
            return
        if self.db.conn.in_transaction:
            with self.db.atomic():  # nested: a savepoint
                yield
                # The caller's transaction may commit without us: sync here too.
                sync_stem_index(self.db, self._stems)
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            # The stemmed index follows in the same transaction (archive/search.py).
            sync_stem_index(self.db, self._stems)
            self.db.execute("COMMIT")
        except BaseException:
            # A COMMIT that failed (disk full) must not leave the transaction open for
            # the next write to nest into.
            if self.db.conn.in_transaction:
                self.db.rollback()
            raise
        finally:
            self._stems.clear()

    def offer_stems(self, stems: Mapping[tuple[str | None, str | None], str]) -> None:
        """Stems of texts about to be stored, ``(text, language) -> stem_text(text, language)``,
        computed in another process: the search index of the next write uses them instead
        of stemming again. They are forgotten when that write ends."""
        self._stems.update(stems)

    def transaction(self, *, savepoints: bool = True) -> contextlib.AbstractContextManager[None]:
        """One write transaction around many stores (an import's batch): the archive's own
        writes inside it nest as savepoints, and it commits or rolls back as one.

        ``savepoints=False``: for a caller that rolls the whole batch back on any failure
        (``crawler import``), the writes inside are not savepoints of their own and the
        stemmed index is brought up to date once, at the commit. Each savepoint makes the
        full-text indexes write out what they hold in memory, so a batch of many small
        segments costs more to write and to merge than one.
        """
        if not savepoints and not self.db.conn.in_transaction:
            return self._flat_write()
        return self._write()

    @contextlib.contextmanager
    def _flat_write(self) -> Iterator[None]:
        self._flat = True
        try:
            with self._write():
                yield
        finally:
            self._flat = False

    def _catch_up_stem_index(self) -> None:
        """Apply changes other tools logged, or rebuild after a stemmer upgrade."""
        if stem_index_current(self.db) and not pending_changes(self.db):
            return  # the usual case: no write lock taken
        try:
            with self._write():
                if not stem_index_current(self.db):
                    logger.warning("stemmers changed: rebuilding the stemmed search index")
                    rebuild_stem_index(self.db)
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc) and "read-only" not in str(exc):
                self.db.close()
                raise
            # A read-only file still opens for reading; the next writer catches up.
            logger.warning("%s is read-only: the stemmed search index is not brought up to date",
                           self.path)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self.readonly:
            self.db.close()
            return
        try:
            # Keeps the query planner's statistics fresh for researchers' queries.
            self.db.execute("PRAGMA optimize")
        except Exception:  # noqa: BLE001 - best effort on the way out
            logger.debug("PRAGMA optimize failed", exc_info=True)
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Archive({self.path!r})"

    # -- crawls ----------------------------------------------------------------------

    def start_crawl(self, targets: list[str], settings: dict | None = None,
                    profiles: dict | None = None) -> int:
        """Record the start of a crawl (status ``running``) and return its id.

        ``profiles``: the site profiles it runs with, by site name (JSON-serialisable),
        read back by :meth:`crawl_profiles`.
        """
        if isinstance(targets, str):
            targets = [targets]
        with self._write():
            # A crawl still "running" was killed: the caller holds the one-crawl lock.
            self.db.execute(
                "UPDATE crawls SET status = 'interrupted' WHERE status = 'running'"
            )
            table = self.db["crawls"]
            table.insert(
                {
                    "started_at": utc_now(),
                    "targets": _dump_json(list(targets)),
                    "settings": _dump_json(settings),
                    "profiles": _dump_json(profiles) if profiles is not None else None,
                    "status": "running",
                }
            )
            crawl_id = table.last_pk
        logger.info("crawl %s started: %s", crawl_id, ", ".join(targets))
        return crawl_id

    def crawl_profiles(self, crawl_id: int | None) -> dict:
        """The ``profiles`` recorded by :meth:`start_crawl` ({} when none were)."""
        if crawl_id is None:
            return {}
        row = self.db.execute("SELECT profiles FROM crawls WHERE id = ?", [crawl_id]).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def finish_crawl(self, crawl_id: int, stats: dict, status: str) -> None:
        """Close a crawl with its final ``status`` (``ok``, ``partial`` or ``failed``).

        Keys of ``stats`` named like the crawls columns (pages, articles_new,
        articles_updated, articles_unchanged, duplicates, errors) fill those columns;
        the rest goes into the ``stats`` JSON column. A column missing from ``stats``
        is filled with what the archive observed: pages and errors from the pages
        table, article outcomes from this instance's store_article() calls.
        """
        if status not in CRAWL_STATUSES or status == "running":
            raise ValueError(
                f"finish status must be ok, partial, failed or interrupted, not {status!r}"
            )
        stats = dict(stats or {})
        with self._write():
            if not self._exists("crawls", crawl_id):
                raise KeyError(f"no crawl with id {crawl_id}")
            observed = self._observed_crawl_counts(crawl_id)
            row: dict[str, Any] = {"finished_at": utc_now(), "status": status}
            for column in CRAWL_STAT_COLUMNS:
                value = stats.pop(column, None)
                row[column] = int(value) if value is not None else observed[column]
            row["stats"] = _dump_json(stats)
            self.db["crawls"].update(crawl_id, row)
        logger.info("crawl %s finished: %s %s", crawl_id, status, row)

    def _observed_crawl_counts(self, crawl_id: int) -> dict[str, int]:
        pages, errors = self.db.execute(
            "SELECT count(*), count(error) FROM pages WHERE crawl_id = ?", [crawl_id]
        ).fetchone()
        outcomes = self._outcomes.get(crawl_id, Counter())
        counts = {"pages": pages, "errors": errors, "discovered": None,
                  "skipped_known": None, "not_modified": None}
        for outcome, column in _OUTCOME_COLUMNS.items():
            counts[column] = outcomes[outcome]
        return counts

    # -- pages -----------------------------------------------------------------------

    def record_page(self, page: dict) -> int:
        """Store one fetch (successful or not) and return the page id.

        Keys: crawl_id, url, final_url, status, content_type, headers (dict), encoding,
        fetched_at (ISO string; now when missing), body (raw bytes or None), error
        (str or None), and optionally site (the site profile that fetched it, so that
        re-extraction can pick the same profile). The body is stored zstd-compressed;
        only :data:`KEPT_HEADERS` are kept.
        """
        self._warn_unknown(page, PAGE_FIELDS, "page")
        if not page.get("url"):
            raise ValueError("page needs a url")
        body, body_size = self._codec.compress(page.get("body"))
        fetched_at = page.get("fetched_at")
        row = {
            "crawl_id": page.get("crawl_id"),
            "site": page.get("site"),
            "url": page["url"],
            "final_url": page.get("final_url"),
            "status": page.get("status"),
            "content_type": page.get("content_type"),
            "headers": _dump_json(select_headers(page.get("headers"))),
            "encoding": page.get("encoding"),
            "fetched_at": to_utc_iso(fetched_at) if fetched_at else utc_now(),
            "body": body,
            "body_size": body_size,
            "error": page.get("error"),
            "lastmod": page.get("lastmod"),
        }
        if page.get("warc_file"):
            # where the page's response record is (crawl --warc, crawler import)
            row.update(warc_file=page["warc_file"], warc_offset=page.get("warc_offset"),
                       warc_length=page.get("warc_length"))
        with self._write():
            table = self.db["pages"]
            table.insert(row)
            return table.last_pk

    def page_body(self, page_id: int) -> bytes | None:
        """Return the decompressed body of a page (None when it has none).

        Raises KeyError for an unknown page id.
        """
        found = self.db.execute(
            "SELECT body, body_size FROM pages WHERE id = ?", [page_id]
        ).fetchone()
        if found is None:
            raise KeyError(f"no page with id {page_id}")
        return self._body(*found)

    def _body(self, blob: bytes | None, size: int | None) -> bytes | None:
        if blob is None:
            # An empty response is stored as NULL with size 0 (see BodyCodec).
            return b"" if size == 0 else None
        return self._codec.decompress(blob)

    def iter_pages(self, *, with_errors: bool = False, site: str | None = None) -> Iterator[dict]:
        """Yield stored pages in id order, body decompressed and headers decoded.

        For re-extraction: pages with an ``error`` are skipped unless ``with_errors``;
        ``site`` keeps only pages recorded with that site. Rows are read in batches
        of 64 (compressed bodies; each is decompressed as it is yielded) and no cursor
        stays open between batches, so the caller may write to the archive, e.g.
        store_article(), while iterating: there is no need to materialise the list.
        """
        clauses = ["id > ?"]
        if not with_errors:
            clauses.append("error IS NULL")
        if site is not None:
            clauses.append("site = ?")
        sql = f"SELECT * FROM pages WHERE {' AND '.join(clauses)} ORDER BY id LIMIT {_PAGE_BATCH}"
        last_id = 0
        while True:
            params: list[Any] = [last_id] if site is None else [last_id, site]
            batch = list(self.db.query(sql, params))
            if not batch:
                return
            last_id = batch[-1]["id"]
            for row in batch:
                row["headers"] = _load_json(row["headers"]) or {}
                row["body"] = self._body(row["body"], row["body_size"])
                yield row

    # -- articles --------------------------------------------------------------------

    def store_article(
        self,
        article: dict,
        *,
        page_id: int | None,
        crawl_id: int | None,
        seen_at: str,
    ) -> StoreResult:
        """Insert or update one article by its canonical ``url``, in one transaction.

        - unknown url, and no other original article with the same ``content_hash``:
          inserted, status ``new``;
        - unknown url, but an original (non-duplicate) article with another url has the
          same ``content_hash``: inserted with ``duplicate_of`` = that article's id,
          status ``duplicate``;
        - known url, same title and content_hash (or text when a hash is missing):
          only last_seen_at and page_id change, status ``unchanged``;
        - known url, different title or text: the row is overwritten, ``updated_at``
          set, status ``updated``.

        ``crawl_id`` is kept from the first store (the crawl that found the article);
        ``page_id`` always points to the latest page. The page's ``article_id`` is set.
        """
        self._warn_unknown(article, ARTICLE_FIELDS, "article")
        url = article.get("url")
        if not url:
            raise ValueError("article needs a canonical url")
        seen = to_utc_iso(seen_at)
        new = {field: _plain(article.get(field)) for field in ARTICLE_FIELDS}
        for field in ARTICLE_JSON_FIELDS:
            new[field] = _dump_json(new[field])

        with self._write():
            old = self._first("SELECT * FROM articles WHERE url = ?", [url])
            if old is None:
                result = self._insert_article(new, page_id, crawl_id, seen)
            elif _same_content(old, new):
                # Same story; metadata may still have improved (a date rule fixed and
                # re-extracted, tags added): keep the latest, without a new version.
                # A value that went missing (a date that no longer parses) never
                # overwrites one we have.
                metadata = {f: new[f] for f in _METADATA_FIELDS
                            if new[f] is not None and new[f] != old[f]}
                self.db.execute(
                    "UPDATE articles SET last_seen_at = max(last_seen_at, ?), "
                    "page_id = coalesce(?, page_id) WHERE id = ?",
                    [seen, page_id, old["id"]],
                )
                if metadata:
                    self.db["articles"].update(old["id"], metadata)
                result = StoreResult(old["id"], UNCHANGED, old["duplicate_of"])
            else:
                result = self._update_article(old, new, page_id, seen)
            if page_id is not None:
                self.db.execute(
                    "UPDATE pages SET article_id = ? WHERE id = ?", [result.id, page_id]
                )
        if crawl_id is not None:
            self._outcomes.setdefault(crawl_id, Counter())[result.status] += 1
        logger.debug("article %s %s (id %s)", url, result.status, result.id)
        return result

    def _insert_article(
        self, new: dict, page_id: int | None, crawl_id: int | None, seen: str
    ) -> StoreResult:
        original = self._original_with_hash(new["content_hash"], exclude_id=None)
        row = dict(new)
        row.update(
            duplicate_of=original,
            first_seen_at=seen,
            last_seen_at=seen,
            page_id=page_id,
            crawl_id=crawl_id,
        )
        table = self.db["articles"]
        table.insert(row)
        status = DUPLICATE if original is not None else NEW
        return StoreResult(table.last_pk, status, original)

    def _update_article(self, old: dict, new: dict, page_id: int | None, seen: str) -> StoreResult:
        article_id = old["id"]
        # The state being replaced becomes a version: every earlier state is kept.
        number = self.db.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM article_versions WHERE article_id = ?",
            [article_id],
        ).fetchone()[0]
        self.db["article_versions"].insert(
            {
                "article_id": article_id,
                "version": number,
                "title": old["title"],
                "text": old["text"],
                "content_hash": old["content_hash"],
                "fetched_at": old["updated_at"] or old["first_seen_at"],
                "last_seen_at": old["last_seen_at"],
                "page_id": old["page_id"],
            }
        )
        if self._has_duplicates(article_id):
            # Others point here; making this row a duplicate too would chain them.
            duplicate_of = None
        else:
            duplicate_of = self._original_with_hash(new["content_hash"], exclude_id=article_id)
        row = {field: new[field] for field in ARTICLE_FIELDS if field != "url"}
        row.update(
            duplicate_of=duplicate_of,
            updated_at=seen,
            first_seen_at=min(old["first_seen_at"], seen),
            last_seen_at=max(old["last_seen_at"], seen),
            page_id=page_id if page_id is not None else old["page_id"],
        )
        self.db["articles"].update(article_id, row)
        return StoreResult(article_id, UPDATED, duplicate_of)

    def _original_with_hash(self, content_hash: str | None, exclude_id: int | None) -> int | None:
        if not content_hash:
            return None
        found = self.db.execute(
            "SELECT id FROM articles WHERE content_hash = ? AND duplicate_of IS NULL "
            "AND id IS NOT ? ORDER BY id LIMIT 1",
            [content_hash, exclude_id],
        ).fetchone()
        return found[0] if found else None

    def _has_duplicates(self, article_id: int) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM articles WHERE duplicate_of = ? LIMIT 1", [article_id]
            ).fetchone()
            is not None
        )

    def get_article(self, url: str) -> dict | None:
        """Return the article stored under this canonical url (JSON columns decoded)."""
        row = self._first("SELECT * FROM articles WHERE url = ?", [url])
        return decode_article(row) if row else None

    def store_fetch(
        self, page: dict, article: dict | None, *, crawl_id: int | None, seen_at: str
    ) -> tuple[int, StoreResult | None]:
        """Record a page and store its article (if any) in ONE transaction.

        A crawl killed at any moment leaves either both rows or neither, so the next
        run knows exactly which fetches were finished.
        """
        with self._write():
            page_id = self.record_page(dict(page, crawl_id=crawl_id))
            result = None
            if article is not None:
                result = self.store_article(
                    article, page_id=page_id, crawl_id=crawl_id, seen_at=seen_at
                )
        return page_id, result

    def touch_article(
        self, url: str, page: dict, *, crawl_id: int | None, seen_at: str
    ) -> tuple[int, StoreResult | None]:
        """Record a ``304 Not Modified`` re-fetch of the article stored under ``url``."""
        with self._write():
            page_id = self.record_page(dict(page, crawl_id=crawl_id))
            found = self.db.execute(
                "SELECT id, duplicate_of FROM articles WHERE url = ?", [url]
            ).fetchone()
            if found is None:
                return page_id, None
            self.db.execute(
                "UPDATE articles SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
                [to_utc_iso(seen_at), found[0]],
            )
            self.db.execute("UPDATE pages SET article_id = ? WHERE id = ?", [found[0], page_id])
        if crawl_id is not None:
            self._outcomes.setdefault(crawl_id, Counter())[UNCHANGED] += 1
        return page_id, StoreResult(found[0], UNCHANGED, found[1])

    def mark_withdrawn(self, url: str, seen_at: str) -> bool:
        """Mark the article stored under ``url`` as withdrawn (its page answered 410 Gone)
        at ``seen_at``; the row and its versions are kept. False when no such article.
        The first time it was seen gone is kept."""
        with self._write():
            cur = self.db.execute(
                "UPDATE articles SET withdrawn_at = coalesce(withdrawn_at, ?) WHERE url = ?",
                [to_utc_iso(seen_at), url])
        return cur.rowcount > 0

    def versions(self, url: str) -> list[dict]:
        """Every stored state of an article, oldest first; the last is the current row.

        Each dict has version, title, text, content_hash, fetched_at (when that state was
        first fetched) and last_seen_at.
        """
        current = self._first("SELECT * FROM articles WHERE url = ?", [url])
        if current is None:
            raise KeyError(f"no article with url {url}")
        rows = list(
            self.db.query(
                "SELECT version, title, text, content_hash, fetched_at, last_seen_at "
                "FROM article_versions WHERE article_id = ? ORDER BY version",
                [current["id"]],
            )
        )
        rows.append(
            {
                "version": len(rows) + 1,
                "title": current["title"],
                "text": current["text"],
                "content_hash": current["content_hash"],
                "fetched_at": current["updated_at"] or current["first_seen_at"],
                "last_seen_at": current["last_seen_at"],
            }
        )
        return rows

    def known_pages(self) -> Iterator[dict]:
        """For incremental crawls: every URL fetched before that produced an article.

        One dict per requested URL (its latest fetch): url, final_url, article_url,
        last_seen_at, published_at, etag, last_modified (validators for conditional
        requests), lastmod (the sitemap/feed date that listed it then, or None).
        """
        sql = (
            "SELECT p.url, p.final_url, p.headers, p.lastmod, a.url AS article_url, a.last_seen_at, "
            "a.published_at FROM pages p JOIN articles a ON a.id = p.article_id "
            "WHERE p.id IN (SELECT max(id) FROM pages WHERE article_id IS NOT NULL GROUP BY url)"
        )
        for row in self.db.query(sql):
            headers = _load_json(row.pop("headers")) or {}
            row["etag"] = headers.get("etag")
            row["last_modified"] = headers.get("last-modified")
            yield row

    LISTED_SOURCES = ("lastmod", "feed_date", "listing_date")

    def listed_dates(self) -> Iterator[dict]:
        """The dates each source listed a URL with at its last visit: dicts of url_key
        (the crawler's key of the URL), lastmod, feed_date, listing_date, seen_at."""
        yield from self.db.query("SELECT * FROM listed_dates")

    def record_listed_dates(self, rows: Iterable[Mapping], seen_at: str) -> int:
        """Keep the dates the sources listed URLs with in this visit (a source that did not
        list a URL this time keeps its earlier date). Returns the number of rows given."""
        n = 0
        sql = ("INSERT INTO listed_dates (url_key, lastmod, feed_date, listing_date, seen_at) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT(url_key) DO UPDATE SET "
               "lastmod = coalesce(excluded.lastmod, lastmod), "
               "feed_date = coalesce(excluded.feed_date, feed_date), "
               "listing_date = coalesce(excluded.listing_date, listing_date), seen_at = excluded.seen_at")
        seen = to_utc_iso(seen_at)
        with self._write():
            for row in rows:
                self.db.execute(sql, [row["url_key"], *(row.get(k) for k in self.LISTED_SOURCES), seen])
                n += 1
        return n

    def known_urls(self) -> set[str]:
        """Return the canonical URLs of all stored articles (duplicates included)."""
        return {url for (url,) in self.db.execute("SELECT url FROM articles")}

    # -- overview --------------------------------------------------------------------

    def summary(self) -> dict:
        """Return counts describing the archive.

        Keys: articles, duplicates, by_site, by_language (None for unknown), pages,
        page_errors, crawls, with_published_at, published_min, published_max (days
        ``YYYY-MM-DD`` of the earliest and latest published_at), schema_version.
        """
        q = self.db.execute
        articles, duplicates, dated, first_day, last_day = q(
            "SELECT count(*), count(duplicate_of), count(published_at), "
            "min(substr(published_at, 1, 10)), max(substr(published_at, 1, 10)) "
            "FROM articles"
        ).fetchone()
        pages, page_errors = q("SELECT count(*), count(error) FROM pages").fetchone()
        crawls = q("SELECT count(*) FROM crawls").fetchone()[0]
        by_site = dict(
            q("SELECT site, count(*) FROM articles GROUP BY site ORDER BY count(*) DESC, site")
        )
        by_language = dict(
            q(
                "SELECT language, count(*) FROM articles GROUP BY language "
                "ORDER BY count(*) DESC, language"
            )
        )
        return {
            "articles": articles,
            "duplicates": duplicates,
            "by_site": by_site,
            "by_language": by_language,
            "pages": pages,
            "page_errors": page_errors,
            "crawls": crawls,
            "with_published_at": dated,
            "published_min": first_day,
            "published_max": last_day,
            "schema_version": q("PRAGMA user_version").fetchone()[0],
        }

    # -- helpers ---------------------------------------------------------------------

    def _first(self, sql: str, params: list) -> dict | None:
        # a plain read: not wrapped in a savepoint as sqlite-utils' query() is
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else dict(zip((d[0] for d in cursor.description), row))

    def _exists(self, table: str, row_id: int) -> bool:
        return (
            self.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [row_id]).fetchone()
            is not None
        )

    def _warn_unknown(self, given: Mapping, known: tuple[str, ...], what: str) -> None:
        # Warn once per key: a typo in the pipeline should show, not flood the log.
        for key in given.keys() - set(known) - self._warned_keys:
            self._warned_keys.add(key)
            logger.warning("ignoring unknown %s key %r", what, key)


def _same_content(old: Mapping, new: Mapping) -> bool:
    if old["title"] != new["title"]:
        return False
    if old["content_hash"] and new["content_hash"]:
        return old["content_hash"] == new["content_hash"]
    return old["text"] == new["text"]


def decode_article(row: Mapping) -> dict:
    """Return an articles row with categories, tags and hreflang decoded from JSON."""
    article = dict(row)
    for field in ARTICLE_JSON_FIELDS:
        if field in article:
            article[field] = _load_json(article[field])
    return article
