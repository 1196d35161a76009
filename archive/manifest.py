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
           "manifest_path", "row_software", "sha256_file", "software_versions", "write_manifest"]

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
    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def manifest_path(out: str | os.PathLike) -> str:
    """Where the manifest of an export written to ``out`` goes (a directory's sits beside it)."""
    return os.fspath(out).rstrip("/" + os.sep) + MANIFEST_SUFFIX


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: str | os.PathLike, base: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """A manifest ``files`` entry: the path relative to the manifest's folder, size, sha256.

    ``sha256``: the digest when the caller hashed the bytes as it wrote them (the file
    is then not read again); otherwise the file is hashed here.
    """
    path = os.fspath(path)
    return {
        "path": os.path.relpath(path, os.fspath(base)).replace(os.sep, "/"),
        "bytes": os.path.getsize(path),
        "sha256": sha256 or sha256_file(path),
    }


def archive_state(db: sqlite_utils.Database) -> dict[str, Any]:
    """What the archive looked like when exported: schema, size, last crawl."""
    schema = db.execute("PRAGMA user_version").fetchone()[0]
    total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    last = None
    if db["crawls"].exists():
        row = db.execute(
            "SELECT id, started_at, finished_at, status FROM crawls ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row:
            last = dict(zip(("id", "started_at", "finished_at", "status"), row))
        finished = db.execute("SELECT max(finished_at) FROM crawls").fetchone()[0]
    else:
        finished = None
    return {
        "schema_version": schema,
        "articles": total,
        "last_crawl": last,
        # The last completed crawl; differs from last_crawl while one is running.
        "last_crawl_finished_at": finished,
    }


def _crawl_versions(db: sqlite_utils.Database, crawl_ids: Iterable[int]) -> dict[int, dict | None]:
    found: dict[int, dict | None] = {}
    for crawl_id in crawl_ids:
        row = db.execute("SELECT settings FROM crawls WHERE id = ?", [crawl_id]).fetchone()
        versions = None
        if row and row[0]:
            try:
                versions = json.loads(row[0]).get("versions")
            except (ValueError, AttributeError):
                logger.warning("crawl %s has unreadable settings", crawl_id)
        found[crawl_id] = versions if isinstance(versions, dict) else None
    return found


def row_software(db: sqlite_utils.Database, rows_per_crawl: dict[int | None, int]) -> list[dict[str, Any]]:
    """Group exported rows by the software versions that extracted them.

    ``rows_per_crawl`` maps the crawl whose fetch the row's current text comes from
    (None when unknown) to a row count. Crawls that recorded no versions (older
    crawls, or rows stored through the Python API) are grouped under ``versions: null``.
    """
    known = _crawl_versions(db, sorted(k for k in rows_per_crawl if k is not None))
    groups: dict[str, dict[str, Any]] = {}
    for crawl_id, count in rows_per_crawl.items():
        versions = known.get(crawl_id) if crawl_id is not None else None
        key = json.dumps(versions, sort_keys=True)
        group = groups.setdefault(key, {"versions": versions, "crawls": [], "rows": 0})
        if crawl_id is not None:
            group["crawls"].append(crawl_id)
        group["rows"] += count
    result = list(groups.values())
    for group in result:
        group["crawls"].sort()
    # Most rows first, then a stable tie-break: the manifest must not depend on dict order.
    result.sort(key=lambda g: (-g["rows"], json.dumps(g["versions"], sort_keys=True)))
    return result


def write_manifest(manifest: dict[str, Any], target: str | os.PathLike | IO[str]) -> None:
    """Write ``manifest`` as sorted, indented UTF-8 JSON (atomically when a path)."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if not isinstance(target, (str, os.PathLike)):
        target.write(text)
        return
    path = os.fspath(target)
    partial = path + ".part"
    try:
        with open(partial, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


class RowTally:
    """What the manifest says about the exported rows, counted as batches stream by.

    Rows end with :data:`archive.select.META_COLUMNS` (site, language, published_at,
    crawl); a batch holds dated or undated rows only, in export order.
    """

    _group = staticmethod(itemgetter(-4, -3, -1))

    def __init__(self) -> None:
        self.rows = self.undated = 0
        self.first: str | None = None
        self.last: str | None = None
        self.groups: Counter[tuple] = Counter()

    def add(self, rows: list[tuple]) -> None:
        self.rows += len(rows)
        self.groups.update(map(self._group, rows))
        if rows[0][-2] is None:
            self.undated += len(rows)
        else:
            if self.first is None:
                self.first = rows[0][-2]
            self.last = rows[-1][-2]

    def count_by(self, at: int) -> dict[str, int]:
        """Rows per value of one group part, keyed in SQL order, NULL as "null", others as str()."""
        counts: Counter[Any] = Counter()
        for group, n in self.groups.items():
            counts[group[at]] += n
        order = lambda key: (0, 0) if key is None else (1, key) if isinstance(key, (int, float)) else (
            2 if isinstance(key, str) else 3, key)
        return {"null" if key is None else str(key): counts[key] for key in sorted(counts, key=order)}


def export_manifest(archive, db: sqlite_utils.Database, fmt: str, per_article: bool, selection, tally: RowTally,
                    files: list[str], base: str, hashed: dict[str, str], parquet: dict[str, Any]) -> dict[str, Any]:
    """The manifest of one export; ``hashed`` maps absolute paths to the sha256 computed while writing."""
    path = getattr(archive, "path", None)
    if path is None:
        path = db.execute("PRAGMA database_list").fetchone()[2]
    per_crawl: Counter[Any] = Counter()
    for (_, _, crawl), n in tally.groups.items():
        per_crawl[crawl] += n
    document: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "format": fmt,
        "layout": "one file per article" if per_article else "one file",
        "filters": selection.filters,
        "order": "published_at as text (the publisher's local time), then id; undated articles last",
        "rows": tally.rows,
        "rows_by_site": tally.count_by(0),
        "rows_by_language": tally.count_by(1),
        "published": {"first": tally.first, "last": tally.last, "undated": tally.undated},
        "files": [file_entry(f, base, sha256=hashed.get(os.path.abspath(f))) for f in files],
        "archive": {"path": path, **archive_state(db), "near_duplicate_links": selection.near_available},
        "software": {"export": {**software_versions(), **runtime_versions()},
                     "rows": row_software(db, dict(per_crawl))},
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
