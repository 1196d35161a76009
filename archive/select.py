"""Which articles an export holds, and in which order: the one place that decides both.

Every export format (and anything else that writes a corpus) reads the archive through
:func:`select` and :func:`iter_batches`, or :func:`iter_selected` for decoded rows:

    selection = select(db, site="kazpravda.kz", date_from="2025-09-01", dedup="near")
    for rows in iter_batches(db, selection, ["a.id", "a.url", "a.text"]):
        ...  # tuples (id, url, text, site, language, published_at, crawl) in export order

The order is published_at as text (the publisher's local time), then id; undated
articles come last, by id. The same filters on the same archive give the same rows in
the same order, which is what makes exports reproducible.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from .core import Archive, decode_article

logger = logging.getLogger(__name__)

__all__ = ["DEDUP_POLICIES", "META_COLUMNS", "Selection", "count_selected", "database", "iter_batches",
           "iter_selected", "select"]

DEDUP_POLICIES = ("all", "exact", "near")
# Appended to every row of iter_batches, for the manifest's counts: the crawl is the one
# whose fetch gave the row its current text (the page's, else the crawl that first
# stored the article). A subquery, not a join, so the planner keeps the index order.
META_COLUMNS = ("a.site", "a.language", "a.published_at",
                "coalesce((SELECT p.crawl_id FROM pages p WHERE p.id = a.page_id), a.crawl_id)")
# Rows per fetchmany(): per-batch costs vanish, memory stays at a few MB.
FETCH_ROWS = 512

_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Selection:
    """A validated set of filters: the WHERE clause on ``articles a`` and its parameters."""

    where: str
    params: tuple[Any, ...]
    filters: dict[str, Any]  # as the manifest records them
    near_available: bool  # whether the archive has near-duplicate links


def database(archive: Archive | sqlite_utils.Database) -> sqlite_utils.Database:
    if isinstance(archive, sqlite_utils.Database):
        return archive
    db = getattr(archive, "db", None)
    if isinstance(db, sqlite_utils.Database):
        return db
    raise TypeError(f"expected an Archive or sqlite_utils.Database, got {type(archive).__name__}")


def _day(value: str | date | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY_RE.fullmatch(value):
        raise ValueError(f"{name} must be a day YYYY-MM-DD, not {value!r}")
    return date.fromisoformat(value)


def select(
    archive: Archive | sqlite_utils.Database,
    *,
    site: str | None = None,
    language: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    query: str | None = None,
    dedup: str = "all",
    withdrawn: str = "include",
) -> Selection:
    """The rows the filters pick; a bad filter raises ValueError here.

    ``date_from``/``date_to`` are days ``YYYY-MM-DD``, both inclusive, compared with the
    day written in published_at (the publisher's local day); undated articles are left
    out when either is given. ``query`` is an FTS5 MATCH expression on title and text.
    ``dedup``: ``all`` keeps every row; ``exact`` one row per group of identical texts;
    ``near`` one per near-duplicate cluster (exact copies included), groups counted
    among the rows the other filters select. ``withdrawn``: ``include`` (articles whose
    page later answered 410 Gone are kept), ``exclude`` or ``only``.
    """
    db = database(archive)
    first, last = _day(date_from, "date_from"), _day(date_to, "date_to")
    if dedup not in DEDUP_POLICIES:
        raise ValueError(f"dedup must be one of {', '.join(DEDUP_POLICIES)}, not {dedup!r}")
    if query is not None and not query.strip():
        query = None
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("site", site), ("language", language)):
        if value is not None:
            clauses.append(f"a.{column} = ?")
            params.append(value)
    # Plain string bounds keep the published_at index usable: both "2025-09-12" and
    # "2025-09-12T14:05:00+05:00" sort between "2025-09-12" and "2025-09-13".
    if first is not None:
        clauses.append("a.published_at >= ?")
        params.append(first.isoformat())
    if last is not None:
        clauses.append("a.published_at < ?")
        params.append((last + timedelta(days=1)).isoformat())
    if withdrawn not in ("include", "exclude", "only"):
        raise ValueError(f"withdrawn must be include, exclude or only, not {withdrawn!r}")
    if withdrawn != "include":
        if "withdrawn_at" not in db["articles"].columns_dict:  # an archive from before 410s were kept
            if withdrawn == "only":
                clauses.append("0")
        else:
            clauses.append("a.withdrawn_at IS " + ("NULL" if withdrawn == "exclude" else "NOT NULL"))
    if query is not None:
        try:  # FTS5 words its syntax errors several ways; asking it alone tells them apart
            db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT 1", [query]).fetchall()
        except sqlite3.OperationalError as exc:
            raise ValueError(f"bad full-text query {query!r}: {exc}") from exc
        # "+a.id" is no index term: the planner keeps reading in published_at order
        # instead of sorting the matching rows, texts and all.
        clauses.append("+a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        params.append(query)
    where = " AND ".join(clauses) or "1"
    near = "near_duplicate_of" in db["articles"].columns_dict
    if dedup != "all":
        # One row per group among the selected rows: the group's representative when it
        # is selected, else the selected member with the lowest id.
        if dedup == "near" and near:
            group = "coalesce(a.near_duplicate_of, o.near_duplicate_of, o.id)"
            join = "JOIN articles o ON o.id = coalesce(a.duplicate_of, a.id)"
        else:
            if dedup == "near":
                logger.warning("the archive has no near-duplicate links yet: --dedup near drops exact duplicates only")
            group, join = "coalesce(a.duplicate_of, a.id)", ""
        keep = (f"SELECT id FROM (SELECT a.id AS id, row_number() OVER (PARTITION BY {group} "
                f"ORDER BY a.id = {group} DESC, a.id) AS rank FROM articles a {join} WHERE {where}) WHERE rank = 1")
        where = f"{where} AND +a.id IN ({keep})"
        params = params + params
    filters = {"site": site, "language": language, "date_from": first and first.isoformat(),
               "date_to": last and last.isoformat(), "query": query, "dedup": dedup}
    if withdrawn != "include":  # recorded only when used: older manifests stay byte-identical
        filters["withdrawn"] = withdrawn
    return Selection(where, tuple(params), filters, near)


def iter_batches(archive: Archive | sqlite_utils.Database, selection: Selection, columns: Sequence[str],
                 fetch_rows: int = FETCH_ROWS, meta: bool = True) -> Iterator[list[tuple]]:
    """Batches of tuples ``(*columns, *META_COLUMNS)`` of the selected rows in export order.

    ``columns`` are SQL expressions on ``articles a``; ``meta=False`` leaves out the
    META_COLUMNS. Two queries, not ``ORDER BY
    published_at IS NULL, ...``: "published_at, id" is the published_at index's own
    order, so the dated rows stream from it without a sort.
    """
    db = database(archive)
    sql = f"SELECT {', '.join([*columns, *(META_COLUMNS if meta else ())])} FROM articles a WHERE {selection.where} AND "
    for tail in ("a.published_at IS NOT NULL ORDER BY a.published_at, a.id", "a.published_at IS NULL ORDER BY a.id"):
        cursor = db.conn.execute(sql + tail, selection.params)
        try:
            while rows := cursor.fetchmany(fetch_rows):
                yield rows
        finally:
            cursor.close()


def iter_selected(archive: Archive | sqlite_utils.Database, **filters) -> Iterator[dict]:
    """The selected article rows (JSON columns decoded) in export order; see :func:`select`."""
    db = database(archive)
    selection = select(db, **filters)  # now, not on the first next(): bad filters fail at the call
    names = list(db["articles"].columns_dict)
    columns = ["a." + _quote(name) for name in names]

    def rows() -> Iterator[dict]:
        for batch in iter_batches(db, selection, columns):
            for row in batch:
                yield decode_article(zip(names, row))

    return rows()


def count_selected(archive: Archive | sqlite_utils.Database, **filters) -> int:
    """How many rows :func:`iter_selected` would yield for ``filters``."""
    selection = select(archive, **filters)
    return database(archive).execute(f"SELECT count(*) FROM articles a WHERE {selection.where}",
                                     selection.params).fetchone()[0]


def _quote(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"
