"""Protect stored data: what a file is before anything touches it, read-only opening,
and the outputs that must never be written.

Read-only commands (summary, export, history) open the archive with SQLite's ``mode=ro``
and, where no ``-shm`` file can be made (a read-only mount or directory), with
``immutable=1``; they never create, migrate or switch a file to WAL. Only the crawl and
re-extraction create or migrate, and only a missing file, an empty file, an empty SQLite
database or an archive of this project.
"""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import quote

import sqlite_utils

from .schema import SCHEMA_VERSION

__all__ = [
    "NotAnArchive",
    "OutputRefused",
    "check_creatable",
    "classify",
    "is_sqlite_file",
    "open_readonly",
    "read_only_reason",
    "refuse_output",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables every version of the schema has; a database without them is someone else's.
ARCHIVE_TABLES = frozenset({"crawls", "pages", "articles"})
# Files SQLite and the crawl keep beside an archive.
COMPANION_SUFFIXES = ("", "-wal", "-shm", "-journal", ".lock")


class NotAnArchive(Exception):
    """The file is not an archive of this project (and was left as it was)."""

    def __init__(self, path: str, why: str = "") -> None:
        self.path = path
        super().__init__(f"not a news archive: {path}" + (f" ({why})" if why else ""))


class OutputRefused(ValueError):
    """An output path that would overwrite the archive or another SQLite database."""


def is_sqlite_file(path: str | os.PathLike) -> bool:
    """Reads the header with open(): call it only while this process has no connection to
    the file (see classify)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _uri(path: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(os.path.abspath(path))}?{query}"


def _connect_readonly(path: str) -> tuple[sqlite3.Connection, bool]:
    """A read-only connection and whether it had to fall back to ``immutable``.

    ``mode=ro`` on a WAL file needs a ``-shm`` it can open or create; on a read-only mount
    or directory it cannot, and the first read fails with "unable to open database file"
    (or "attempt to write a readonly database"). ``immutable=1`` then reads the main file
    as it is, which is right for a file nobody can write to anyway.
    """
    conn = sqlite3.connect(_uri(path, mode="ro"), uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn, False
    except sqlite3.OperationalError:
        conn.close()
    conn = sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn, True


def classify(path: str | os.PathLike) -> str:
    """``missing``, ``empty`` (0 bytes or an SQLite file without tables), ``archive`` or
    ``foreign`` (anything else: a text file, another program's database). Reads only."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return "missing"
    if os.path.isdir(path):
        return "foreign"
    if os.path.getsize(path) == 0:
        return "empty"
    # Only SQLite itself may open the file here: closing any other descriptor of a database
    # file drops this process's POSIX locks on it, which lets another process delete the
    # WAL under a connection that is still open (an archive opened twice in one process).
    try:
        conn, _ = _connect_readonly(path)
    except sqlite3.DatabaseError:
        return "foreign"
    try:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        return "foreign"
    finally:
        conn.close()
    if not tables and version == 0:
        return "empty"
    if ARCHIVE_TABLES <= tables and version >= 1:
        return "archive"
    return "foreign"


def check_creatable(path: str | os.PathLike) -> None:
    """For the commands that create or migrate: refuse a file that is someone else's."""
    kind = classify(path)
    if kind == "foreign":
        raise NotAnArchive(os.fspath(path), "a non-empty file of something else; not turned into one")


def open_readonly(path: str | os.PathLike) -> tuple[sqlite_utils.Database, bool]:
    """Open an existing archive read-only: ``(database, immutable)``.

    Raises FileNotFoundError for a missing file and :class:`NotAnArchive` for anything
    that is not an archive (an empty file included); nothing is written either way.
    """
    path = os.fspath(path)
    kind = classify(path)
    if kind == "missing":
        raise FileNotFoundError(f"archive not found: {path}")
    if kind != "archive":
        raise NotAnArchive(path)
    conn, immutable = _connect_readonly(path)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        conn.close()
        raise NotAnArchive(path, f"schema version {version} is newer than this code knows "
                                 f"({SCHEMA_VERSION}); upgrade the crawler")
    return sqlite_utils.Database(conn), immutable


def read_only_reason(path: str | os.PathLike) -> str | None:
    """Why the archive at ``path`` cannot be written, when the filesystem says so."""
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    try:
        if os.statvfs(parent).f_flag & os.ST_RDONLY:
            return f"{parent} is on a read-only filesystem"
    except OSError:
        return None
    for where in (path, parent):
        if os.path.exists(where) and not os.access(where, os.W_OK):
            return f"{where} is read-only"
    return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_output(out: str | os.PathLike | None, db_path: str | os.PathLike) -> None:
    """Raise :class:`OutputRefused` when writing ``out`` would destroy stored data: the
    archive itself, its ``-wal``/``-shm``/``-journal``/``.lock``, or any SQLite database
    (or such a database's companion file). ``-`` (stdout) and None pass."""
    if out is None or out == "-":
        return
    out = os.fspath(out)
    real = os.path.realpath(out)
    db_real = os.path.realpath(os.fspath(db_path))
    for suffix in COMPANION_SUFFIXES:
        if real == db_real + suffix or _same_file(out, db_real + suffix):
            what = "the archive" if not suffix else f"the archive's {suffix} file"
            raise OutputRefused(f"refusing to write {out}: it is {what} ({db_path})")
    if os.path.isfile(real) and is_sqlite_file(real):
        raise OutputRefused(f"refusing to overwrite {out}: it is an SQLite database")
    for suffix in COMPANION_SUFFIXES[1:]:
        if real.endswith(suffix) and is_sqlite_file(real[: -len(suffix)]):
            raise OutputRefused(f"refusing to write {out}: it belongs to the SQLite database "
                                f"{real[: -len(suffix)]}")
