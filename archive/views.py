"""SQL views that make the usual research questions one short query.

Created by :class:`archive.Archive` on open (:func:`ensure_views`), so they are in every
archive file for ``sqlite-utils``, ``sqlite3`` and datasette. docs/queries.md shows them
in use.

A view is (re)created only when the stored definition differs from the one here: a new
release of a view, or the ``near_duplicate_of`` column appearing after a schema
migration, replaces it on the next open; an archive that is already current is not
written to at all (read-only files still open).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import sqlite_utils

logger = logging.getLogger(__name__)

__all__ = ["VIEWS", "ensure_views", "view_sql"]


def _per_site_day(near: bool) -> str:
    near_count = "count(near_duplicate_of)" if near else "NULL"
    return f"""
SELECT
  site,
  substr(published_at, 1, 10) AS day,
  count(*) AS articles,
  count(duplicate_of) AS exact_duplicates,
  {near_count} AS near_duplicates
FROM articles
WHERE published_at IS NOT NULL
GROUP BY site, day"""


def _missing_date(near: bool) -> str:
    return """
SELECT
  id,
  site,
  url,
  title,
  CASE WHEN published_raw IS NULL THEN 'not found' ELSE 'not parsed' END AS reason,
  published_raw,
  language,
  first_seen_at,
  page_id
FROM articles
WHERE published_at IS NULL"""


def _duplicate_groups(near: bool) -> str:
    # A group is a near-duplicate cluster (named by its representative) with the exact
    # copies of its members; without the near column, an original with its exact copies.
    a_near = "a.near_duplicate_of" if near else "NULL"
    o_near = "o.near_duplicate_of" if near else "NULL"
    near_members = (
        "\n   OR EXISTS (SELECT 1 FROM articles d WHERE d.near_duplicate_of = a.id)" if near else ""
    )
    return f"""
SELECT
  coalesce({a_near}, {o_near}, o.id) AS group_id,
  a.id AS article_id,
  CASE
    WHEN a.duplicate_of IS NOT NULL THEN 'exact'
    WHEN {a_near} IS NOT NULL THEN 'near'
    ELSE 'representative'
  END AS relation,
  coalesce(a.duplicate_of, {a_near}) AS duplicate_of_id,
  a.site,
  a.url,
  a.title,
  a.published_at
FROM articles a
JOIN articles o ON o.id = coalesce(a.duplicate_of, a.id)
WHERE a.duplicate_of IS NOT NULL
   OR {a_near} IS NOT NULL
   OR EXISTS (SELECT 1 FROM articles d WHERE d.duplicate_of = a.id){near_members}"""


def _crawl_summary(near: bool) -> str:
    return """
SELECT
  id,
  started_at,
  finished_at,
  status,
  CAST(round((julianday(finished_at) - julianday(started_at)) * 86400) AS INTEGER) AS seconds,
  targets,
  discovered,
  skipped_known,
  pages,
  articles_new,
  articles_updated,
  articles_unchanged,
  duplicates,
  not_modified,
  errors,
  json_extract(settings, '$.versions."news-archive-crawler"') AS crawler_version,
  json_extract(settings, '$.versions.trafilatura') AS trafilatura_version,
  json_extract(settings, '$.versions.dateparser') AS dateparser_version
FROM crawls"""


def _article_days(near: bool) -> str:
    # One row per article with its publication day as a column, so a browser (datasette)
    # can facet on the day the publisher printed; date() would give the UTC day.
    return """
SELECT
  id,
  substr(published_at, 1, 10) AS day,
  site,
  language,
  title,
  url,
  date_source,
  duplicate_of
FROM articles"""


# name -> SQL body builder, given whether articles.near_duplicate_of exists.
VIEWS: dict[str, Callable[[bool], str]] = {
    "articles_per_site_day": _per_site_day,
    "articles_missing_date": _missing_date,
    "duplicate_groups": _duplicate_groups,
    "crawl_summary": _crawl_summary,
    "article_days": _article_days,
}


def view_sql(name: str, near: bool) -> str:
    """The full CREATE VIEW statement, as SQLite stores it in sqlite_master."""
    return f"CREATE VIEW {name} AS{VIEWS[name](near)}"


def _wanted(db: sqlite_utils.Database) -> dict[str, str]:
    near = "near_duplicate_of" in db["articles"].columns_dict
    return {name: view_sql(name, near) for name in VIEWS}


def _stale(db: sqlite_utils.Database, wanted: dict[str, str]) -> list[str]:
    stored = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall())
    return [name for name, sql in wanted.items() if stored.get(name) != sql]


def ensure_views(db: sqlite_utils.Database) -> list[str]:
    """Create missing views and replace changed ones; return the names (re)created."""
    if not db["articles"].exists():
        return []
    wanted = _wanted(db)
    if not _stale(db, wanted):
        return []
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        # A read-only archive (a shared copy, a read-only mount) stays usable without views.
        logger.warning("cannot create the archive's views: %s", exc)
        return []
    try:
        # Another process may have done it while we waited for the write lock.
        stale = _stale(db, wanted)
        for name in stale:
            db.execute(f"DROP VIEW IF EXISTS {name}")
            db.execute(wanted[name])
        db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        db.rollback()
        if "readonly" in str(exc) or "read-only" in str(exc):
            logger.warning("cannot create the archive's views: %s", exc)
            return []
        raise
    except BaseException:
        db.rollback()
        raise
    if stale:
        logger.info("archive views created or updated: %s", ", ".join(stale))
    return stale
