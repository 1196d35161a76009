"""Export articles from the archive: JSON lines, CSV, or the users' plain-text corpus format.

All exports stream: rows come from one SQLite cursor and are written one by one, so an
archive of any size exports in constant memory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import IO, Any

import sqlite_utils

from .core import ARTICLE_JSON_FIELDS, Archive, decode_article

logger = logging.getLogger(__name__)

__all__ = ["FORMATS", "UNKNOWN_DATE", "export", "format_txt", "iter_articles"]

FORMATS = ("jsonl", "csv", "txt")
# Stands in for the date in a txt header when published_at is unknown.
UNKNOWN_DATE = "unknown"

_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _database(archive: Archive | sqlite_utils.Database) -> sqlite_utils.Database:
    if isinstance(archive, sqlite_utils.Database):
        return archive
    db = getattr(archive, "db", None)
    if isinstance(db, sqlite_utils.Database):
        return db
    raise TypeError(f"expected an Archive or sqlite_utils.Database, got {type(archive).__name__}")


def _parse_day(value: str | date | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY_RE.fullmatch(value):
        raise ValueError(f"{name} must be a day YYYY-MM-DD, not {value!r}")
    return date.fromisoformat(value)


def iter_articles(
    archive: Archive | sqlite_utils.Database,
    *,
    site: str | None = None,
    language: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    include_duplicates: bool = True,
) -> Iterator[dict]:
    """Yield article rows (JSON columns decoded) ordered by published_at, then id.

    ``date_from``/``date_to`` are days ``YYYY-MM-DD``, both inclusive, compared with
    the day written in published_at (the publisher's local day); articles without a
    published_at are left out when either is given. Undated articles otherwise come
    last. ``include_duplicates=False`` leaves out rows with a ``duplicate_of``.
    """
    db = _database(archive)
    first = _parse_day(date_from, "date_from")
    last = _parse_day(date_to, "date_to")
    clauses: list[str] = []
    params: list[Any] = []
    if site is not None:
        clauses.append("site = ?")
        params.append(site)
    if language is not None:
        clauses.append("language = ?")
        params.append(language)
    # Plain string bounds keep the published_at index usable: a value of either form
    # ("2025-09-12" or "2025-09-12T14:05:00+05:00") sorts between "2025-09-12" and
    # "2025-09-13".
    if first is not None:
        clauses.append("published_at >= ?")
        params.append(first.isoformat())
    if last is not None:
        clauses.append("published_at < ?")
        params.append((last + timedelta(days=1)).isoformat())
    if not include_duplicates:
        clauses.append("duplicate_of IS NULL")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    # Executed now, not on first next(): bad filters fail at the call.
    cursor = db.execute(
        f"SELECT * FROM articles {where} ORDER BY published_at IS NULL, published_at, id",
        params,
    )
    return _decoded_rows(cursor)


def _decoded_rows(cursor) -> Iterator[dict]:
    columns = [d[0] for d in cursor.description]
    for values in cursor:
        yield decode_article(dict(zip(columns, values)))


def _day(published_at: str | None) -> str | None:
    if published_at and _DAY_RE.match(published_at):
        return published_at[:10]
    return None


def format_txt(article: dict) -> str:
    """Render one article in the corpus format.

    Line 1 is ``" date YYYY-MM-DD <title>"`` (leading space; ``unknown`` in place of
    the day when published_at is missing), then a blank line, then every non-blank
    line of ``text`` as a paragraph followed by one blank line. Each article therefore
    ends with an empty line, and articles concatenated in one file are separated by it.
    """
    day = _day(article.get("published_at")) or UNKNOWN_DATE
    # The header must stay one line; line breaks in a title become spaces.
    title = re.sub(r"\s*[\r\n\u2028\u2029]+\s*", " ", article.get("title") or "").strip()
    header = f" date {day} {title}" if title else f" date {day}"
    paragraphs = [line for line in (article.get("text") or "").splitlines() if line.strip()]
    return header + "\n\n" + "".join(paragraph + "\n\n" for paragraph in paragraphs)


def _jsonl_writer(fh: IO[str], columns: list[str]):
    def write(article: dict) -> None:
        fh.write(json.dumps(article, ensure_ascii=False) + "\n")

    return write


def _csv_writer(fh: IO[str], columns: list[str]):
    writer = csv.writer(fh)
    writer.writerow(columns)

    def write(article: dict) -> None:
        row = []
        for column in columns:
            value = article.get(column)
            if column in ARTICLE_JSON_FIELDS and value is not None:
                value = json.dumps(value, ensure_ascii=False)
            row.append("" if value is None else value)
        writer.writerow(row)

    return write


def _txt_writer(fh: IO[str], columns: list[str]):
    def write(article: dict) -> None:
        fh.write(format_txt(article))

    return write


_WRITERS = {"jsonl": _jsonl_writer, "csv": _csv_writer, "txt": _txt_writer}


@contextlib.contextmanager
def _text_output(out: str | os.PathLike | IO) -> Iterator[IO[str]]:
    if isinstance(out, (str, os.PathLike)):
        path = os.fspath(out)
        partial = path + ".part"
        # Written aside and renamed at the end: a failed export leaves no half file
        # that looks complete.
        try:
            with open(partial, "w", encoding="utf-8", newline="") as fh:
                yield fh
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    elif isinstance(out, (io.RawIOBase, io.BufferedIOBase)) or "b" in getattr(out, "mode", ""):
        wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()  # the caller owns (and closes) the binary stream
    else:
        yield out


def export(archive: Archive | sqlite_utils.Database, fmt: str, out: str | os.PathLike | IO, **filters) -> int:
    """Write the articles selected by ``filters`` (see :func:`iter_articles`) to ``out``.

    ``fmt`` is ``jsonl``, ``csv`` or ``txt``; ``out`` is a path (written as UTF-8) or an
    open text or binary file. Returns the number of articles written.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    db = _database(archive)
    columns = list(db["articles"].columns_dict)
    count = 0
    with _text_output(out) as fh:
        write = _WRITERS[fmt](fh, columns)
        for article in iter_articles(archive, **filters):
            write(article)
            count += 1
    logger.info("exported %d articles as %s", count, fmt)
    return count
