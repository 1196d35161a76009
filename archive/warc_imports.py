"""What ``crawler import`` keeps in the archive: how far each WARC file was read, and the
records it skipped with their reasons (tables ``warc_imports`` and ``warc_skips``).

Progress is written in the same transaction as the pages and articles of the records it
covers (:func:`batch`), so a killed import resumes exactly after the last record whose
results were committed: nothing is stored twice and nothing is lost.
"""

from __future__ import annotations

import contextlib
import os

from .times import utc_now


def file_key(path: str | os.PathLike) -> str:
    """The name under which a WARC file's progress is kept: its absolute path."""
    return os.path.abspath(os.fspath(path))


def batch(archive) -> contextlib.AbstractContextManager[None]:
    """One write transaction around many stores, committed or rolled back as a whole (the
    import stores nothing of a batch that failed part way): no savepoint per write."""
    return archive.transaction(savepoints=False)


def progress(archive, path: str) -> dict | None:
    """The ``warc_imports`` row of ``path`` (see :func:`file_key`), or None."""
    row = archive.db.execute(
        "SELECT path, size, next_offset, records, finished_at, crawl_id FROM warc_imports WHERE path = ?",
        [path]).fetchone()
    if row is None:
        return None
    return dict(zip(("path", "size", "next_offset", "records", "finished_at", "crawl_id"), row))


def save_progress(archive, path: str, *, size: int, next_offset: int, records: int, crawl_id: int,
                  finished: bool = False) -> None:
    """Record that every record of ``path`` before ``next_offset`` is done."""
    archive.db.execute(
        "INSERT INTO warc_imports (path, size, next_offset, records, finished_at, crawl_id) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
        "next_offset = excluded.next_offset, records = excluded.records, "
        "finished_at = excluded.finished_at, crawl_id = excluded.crawl_id",
        [path, size, next_offset, records, utc_now() if finished else None, crawl_id])


def restart(archive, path: str) -> None:
    """Forget the progress of ``path`` (the file changed since it was imported)."""
    archive.db.execute("DELETE FROM warc_imports WHERE path = ?", [path])


def record_skip(archive, *, crawl_id: int, path: str, offset: int | None, url: str | None, reason: str) -> None:
    archive.db.execute(
        "INSERT INTO warc_skips (crawl_id, path, offset, url, reason) VALUES (?, ?, ?, ?, ?)",
        [crawl_id, path, offset, url, reason])


def skips(archive, crawl_id: int | None = None) -> list[dict]:
    """Skipped records (of one import, or all), in the order they were met."""
    sql = "SELECT crawl_id, path, offset, url, reason FROM warc_skips"
    params: list = []
    if crawl_id is not None:
        sql += " WHERE crawl_id = ?"
        params.append(crawl_id)
    cols = ("crawl_id", "path", "offset", "url", "reason")
    return [dict(zip(cols, r)) for r in archive.db.execute(sql + " ORDER BY id", params).fetchall()]
