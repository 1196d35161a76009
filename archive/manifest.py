"""Export manifests: what a corpus file holds and how it was made.

A manifest is a JSON file written beside an export (``corpus.jsonl`` ->
``corpus.jsonl.manifest.json``). It records the filters, the row counts, the sha256 of
every file written, the archive's last crawl, and the software versions, both of this
export and of the crawls that extracted the exported rows. It holds no export time: the
same export of the same archive gives a byte-identical manifest too, so two researchers
can compare theirs with ``cmp`` or ``sha256sum``.

Versions are read with :mod:`importlib.metadata` (``archive`` imports nothing from the
crawler). The crawler records the same mapping per crawl in ``crawls.settings``
(key ``versions``), which is how a manifest tells which extractor produced the rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sqlite3
from collections import Counter
from collections.abc import Iterable
from importlib import metadata
from operator import itemgetter
from typing import IO, Any

import sqlite_utils

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST_SUFFIX", "SOFTWARE", "RowTally", "archive_state", "export_manifest", "file_entry",
           "manifest_path", "row_software", "runtime_versions", "software_versions", "write_manifest"]

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_VERSION = 1
# Distributions whose versions decide what an export contains: the project (exports,
# schema), the extractor and the date parser (the rows' text and dates).
SOFTWARE = ("news-archive-crawler", "trafilatura", "dateparser", "htmldate", "sqlite-utils", "pyarrow")


def software_versions(names: Iterable[str] = SOFTWARE) -> dict[str, str | None]:
    """Installed versions of ``names`` (None when a distribution is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def runtime_versions() -> dict[str, str]:
    """The Python and SQLite an export ran on, as every manifest records them."""
    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def manifest_path(out: str | os.PathLike) -> str:
    """Where the manifest of an export written to ``out`` goes (a directory's sits beside it)."""
    return os.fspath(out).rstrip("/" + os.sep) + MANIFEST_SUFFIX


def file_entry(path: str | os.PathLike, base: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """A ``files`` entry: the path relative to the manifest's folder, size, and sha256
    (hashed here unless the caller hashed the bytes as it wrote them)."""
    path = os.fspath(path)
    if sha256 is None:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        sha256 = digest.hexdigest()
    return {"path": os.path.relpath(path, os.fspath(base)).replace(os.sep, "/"), "bytes": os.path.getsize(path),
            "sha256": sha256}


def archive_state(db: sqlite_utils.Database) -> dict[str, Any]:
    """What the archive looked like when exported: schema, size, last crawl."""
    last = finished = None
    if db["crawls"].exists():
        row = db.execute("SELECT id, started_at, finished_at, status FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
        last = row and dict(zip(("id", "started_at", "finished_at", "status"), row))
        finished = db.execute("SELECT max(finished_at) FROM crawls").fetchone()[0]
    return {
        "schema_version": db.execute("PRAGMA user_version").fetchone()[0],
        "articles": db.execute("SELECT count(*) FROM articles").fetchone()[0],
        "last_crawl": last,
        "last_crawl_finished_at": finished,  # the last completed crawl; differs from last_crawl while one runs
    }


def _crawl_versions(db: sqlite_utils.Database, crawl_id: int) -> dict | None:
    row = db.execute("SELECT settings FROM crawls WHERE id = ?", [crawl_id]).fetchone()
    versions = None
    if row and row[0]:
        try:
            versions = json.loads(row[0]).get("versions")
        except (ValueError, AttributeError):
            logger.warning("crawl %s has unreadable settings", crawl_id)
    return versions if isinstance(versions, dict) else None


def row_software(db: sqlite_utils.Database, rows_per_crawl: dict[int | None, int]) -> list[dict[str, Any]]:
    """Group exported rows by the software versions that extracted them.

    ``rows_per_crawl`` maps the crawl whose fetch the row's current text comes from
    (None when unknown) to a row count. Crawls that recorded no versions (rows stored
    through the Python API, say) are grouped under ``versions: null``.
    """
    groups: dict[str, dict[str, Any]] = {}
    for crawl_id, count in rows_per_crawl.items():
        versions = None if crawl_id is None else _crawl_versions(db, crawl_id)
        group = groups.setdefault(json.dumps(versions, sort_keys=True), {"versions": versions, "crawls": [], "rows": 0})
        if crawl_id is not None:
            group["crawls"].append(crawl_id)
        group["rows"] += count
    for group in groups.values():
        group["crawls"].sort()
    # Most rows first, then a stable tie-break: the manifest must not depend on dict order.
    return [groups[key] for key in sorted(groups, key=lambda key: (-groups[key]["rows"], key))]


def write_manifest(manifest: dict[str, Any], target: str | os.PathLike | IO[str]) -> None:
    """Write ``manifest`` as sorted, indented UTF-8 JSON (atomically when a path)."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if not isinstance(target, (str, os.PathLike)):
        target.write(text)
        return
    partial = os.fspath(target) + ".part"
    try:
        with open(partial, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _sql_order(key: Any) -> tuple:
    # SQLite's ORDER BY: NULL, numbers, text, blobs.
    if key is None:
        return (0, 0)
    return (1, key) if isinstance(key, (int, float)) else (2 if isinstance(key, str) else 3, key)


class RowTally:
    """What the manifest says about the exported rows, counted as batches stream by.

    Rows end with :data:`archive.select.META_COLUMNS` (site, language, published_at,
    crawl) and come in export order.
    """

    _group = staticmethod(itemgetter(-4, -3, -1))

    def __init__(self) -> None:
        self.rows = self.undated = 0
        self.first: str | None = None
        self.last: str | None = None
        self.groups: Counter[tuple] = Counter()

    def add(self, rows: list[tuple]) -> None:
        if not rows:
            return
        published = [row[-2] for row in rows]
        undated = published.count(None)
        self.rows += len(rows)
        self.undated += undated
        self.groups.update(map(self._group, rows))
        if undated < len(rows):  # dated rows come first in export order
            if self.first is None:
                self.first = published[0]
            self.last = published[len(rows) - undated - 1]

    def merge(self, other: RowTally) -> None:
        """Count what ``other`` counted of the rows that follow."""
        self.rows += other.rows
        self.undated += other.undated
        self.groups.update(other.groups)
        if other.first is not None:
            if self.first is None:
                self.first = other.first
            self.last = other.last

    def count_by(self, part: int) -> dict[Any, int]:
        """Rows per value of one part of the group key, in SQL order of the values."""
        counts: Counter[Any] = Counter()
        for group, n in self.groups.items():
            counts[group[part]] += n
        return {key: counts[key] for key in sorted(counts, key=_sql_order)}


def _keyed(counts: dict[Any, int]) -> dict[str, int]:
    return {"null" if key is None else str(key): n for key, n in counts.items()}


def export_manifest(archive, db: sqlite_utils.Database, fmt: str, per_article: bool, selection, tally: RowTally,
                    files: list[str], base: str, hashed: dict[str, str], parquet: dict[str, Any]) -> dict[str, Any]:
    """The manifest of one export; ``hashed`` maps absolute paths to the sha256 computed while writing."""
    path = getattr(archive, "path", None) or db.execute("PRAGMA database_list").fetchone()[2]
    document: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "format": fmt,
        "layout": "one file per article" if per_article else "one file",
        "filters": selection.filters,
        "order": "published_at as text (the publisher's local time), then id; undated articles last",
        "rows": tally.rows,
        "rows_by_site": _keyed(tally.count_by(0)),
        "rows_by_language": _keyed(tally.count_by(1)),
        "published": {"first": tally.first, "last": tally.last, "undated": tally.undated},
        "files": [file_entry(f, base, sha256=hashed.get(os.path.abspath(f))) for f in files],
        "archive": {"path": path, **archive_state(db), "near_duplicate_links": selection.near_available},
        "software": {"export": {**software_versions(), **runtime_versions()},
                     "rows": row_software(db, tally.count_by(2))},
    }
    if per_article:
        document["article_files"] = tally.rows
    if fmt == "parquet":
        document["parquet"] = {
            "published_at": "timestamp[us, UTC]; NULL when the archive has only a day or no offset",
            "published_at_local": "the archive's published_at text, with the publisher's offset",
            "published_day": "date: the publisher's local day",
            **parquet,
        }
    return document
