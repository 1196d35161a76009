"""Export articles from the archive: JSON lines, CSV, Parquet, or the users' plain-text format.

All exports stream: rows come from SQLite cursors in batches of a few hundred, encoded a
batch at a time by :mod:`archive.export_rows` (Parquet in row groups of at most
:data:`PARQUET_BATCH_ROWS` rows), so an archive of any size exports in constant memory.
Every export is reproducible: the same filters on the same archive give byte-identical
files (a stable order, no timestamps inside), and a manifest (:mod:`archive.manifest`)
beside them says what they hold.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import IO, Any

import sqlite_utils

from .core import ARTICLE_JSON_FIELDS, Archive, decode_article
from .export_rows import (
    UNKNOWN_DATE,
    Background,
    Figures,
    JsonlEncoder,
    ParquetBatcher,
    csv_encoder,
    day_of,
    parquet_schema,
    quote_column,
    stream,
    txt_encoder,
    txt_entry,
)
from .export_parallel import NotParallel, ParallelStream, database_file
from .manifest import (
    archive_state,
    file_entry,
    manifest_path,
    row_software,
    runtime_versions,
    software_versions,
    write_manifest,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEDUP_POLICIES",
    "FORMATS",
    "PARQUET_BATCH_ROWS",
    "UNKNOWN_DATE",
    "article_filename",
    "count_articles",
    "export",
    "format_txt",
    "iter_articles",
    "parquet_schema",
]

FORMATS = ("jsonl", "csv", "parquet", "txt")
DEDUP_POLICIES = ("all", "exact", "near")
# Rows per Parquet row group; a group is also closed early once its titles and texts
# pass PARQUET_BATCH_BYTES characters (about 1,500 articles of 4.7 KiB), so a few huge
# articles cannot blow up memory. Not fewer: a Parquet writer keeps every group's
# metadata until it writes the footer, 26 KB of memory per group here, so 500-row groups
# made a 1,000,000-article export 53 MB bigger than an empty one (peak RSS 200 MB at
# 200,000 articles, 280 MB at 1,000,000); ~1,500-row groups cut that to a third, and
# zstd compresses bigger pages with less CPU (bench/README-export.md).
PARQUET_BATCH_ROWS = 5000
PARQUET_BATCH_BYTES = 4 << 20
# Worker processes of a big export (archive.export_parallel), and from how many articles
# in the archive (its largest id) they are started when the caller does not say.
WORKERS = 2
PARALLEL_MIN_ROWS = 50_000
CHECKSUMS_NAME = "SHA256SUMS"

_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MANIFEST_VERSION = 1


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


# -- selection ------------------------------------------------------------------------


@dataclass
class _Selection:
    """The WHERE clause (on ``articles a``) that picks the exported rows."""

    where: str
    params: list[Any]
    filters: dict[str, Any]
    near_available: bool


def _has_near(db: sqlite_utils.Database) -> bool:
    return "near_duplicate_of" in db["articles"].columns_dict


def _select(
    db: sqlite_utils.Database,
    *,
    site: str | None = None,
    language: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    query: str | None = None,
    dedup: str = "all",
    include_duplicates: bool = True,
    withdrawn: str = "include",
) -> _Selection:
    first = _parse_day(date_from, "date_from")
    last = _parse_day(date_to, "date_to")
    if dedup not in DEDUP_POLICIES:
        raise ValueError(f"dedup must be one of {', '.join(DEDUP_POLICIES)}, not {dedup!r}")
    if not include_duplicates and dedup == "all":
        dedup = "exact"
    if query is not None and not query.strip():
        query = None
    clauses: list[str] = []
    params: list[Any] = []
    if site is not None:
        clauses.append("a.site = ?")
        params.append(site)
    if language is not None:
        clauses.append("a.language = ?")
        params.append(language)
    # Plain string bounds keep the published_at index usable: a value of either form
    # ("2025-09-12" or "2025-09-12T14:05:00+05:00") sorts between "2025-09-12" and
    # "2025-09-13".
    if first is not None:
        clauses.append("a.published_at >= ?")
        params.append(first.isoformat())
    if last is not None:
        clauses.append("a.published_at < ?")
        params.append((last + timedelta(days=1)).isoformat())
    if withdrawn not in ("include", "exclude", "only"):
        raise ValueError(f"withdrawn must be include, exclude or only, not {withdrawn!r}")
    if withdrawn != "include":
        if "withdrawn_at" not in db["articles"].columns_dict:
            if withdrawn == "only":
                clauses.append("0")
        else:
            clauses.append("a.withdrawn_at IS " + ("NULL" if withdrawn == "exclude" else "NOT NULL"))
    if query is not None:
        _check_fts_query(db, query)
        # "+a.id": not an index term, so the planner keeps reading in published_at order
        # (a streamed index scan) instead of sorting the matching rows, texts and all.
        clauses.append("+a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        params.append(query)
    base = " AND ".join(clauses) or "1"
    near = _has_near(db)
    where, all_params = base, list(params)
    if dedup != "all":
        # One row per group *among the selected rows*: the group's representative when
        # it is selected, else the selected member with the lowest id. So a site's or a
        # month's export keeps a story whose original lies outside the selection.
        if dedup == "near" and near:
            group = "coalesce(a.near_duplicate_of, o.near_duplicate_of, o.id)"
            join = "JOIN articles o ON o.id = coalesce(a.duplicate_of, a.id)"
        else:
            if dedup == "near":
                logger.warning("the archive has no near-duplicate links yet: --dedup near drops exact duplicates only")
            group = "coalesce(a.duplicate_of, a.id)"
            join = ""
        keep = (
            "SELECT id FROM (SELECT a.id AS id, row_number() OVER ("
            f"PARTITION BY {group} ORDER BY a.id = {group} DESC, a.id) AS rank "
            f"FROM articles a {join} WHERE {base}) WHERE rank = 1"
        )
        where = f"{base} AND +a.id IN ({keep})"
        all_params = params + params
    filters = {
        "site": site,
        "language": language,
        "date_from": first.isoformat() if first else None,
        "date_to": last.isoformat() if last else None,
        "query": query,
        "dedup": dedup,
    }
    return _Selection(where, all_params, filters, near)


def _check_fts_query(db: sqlite_utils.Database, query: str) -> None:
    # FTS5 reports syntax errors in several wordings ("fts5: syntax error near ...",
    # "unterminated string"); asking it alone tells them from any other failure.
    try:
        db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT 1", [query]).fetchall()
    except sqlite3.OperationalError as exc:
        raise ValueError(f"bad full-text query {query!r}: {exc}") from exc


def _ordered_rows(db: sqlite_utils.Database, selection: _Selection) -> Iterator[dict]:
    # Two queries instead of ORDER BY published_at IS NULL, ...: "published_at, id" is the
    # published_at index's own order, so dated rows stream from it without a sort.
    dated = db.execute(
        f"SELECT a.* FROM articles a WHERE {selection.where} AND a.published_at IS NOT NULL "
        "ORDER BY a.published_at, a.id",
        selection.params,
    )

    def rows() -> Iterator[dict]:
        yield from _decoded_rows(dated)
        undated = db.execute(
            f"SELECT a.* FROM articles a WHERE {selection.where} AND a.published_at IS NULL ORDER BY a.id",
            selection.params,
        )
        yield from _decoded_rows(undated)

    return rows()


def iter_articles(
    archive: Archive | sqlite_utils.Database,
    *,
    site: str | None = None,
    language: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    query: str | None = None,
    dedup: str = "all",
    include_duplicates: bool = True,
) -> Iterator[dict]:
    """Yield article rows (JSON columns decoded) ordered by published_at, then id.

    ``date_from``/``date_to`` are days ``YYYY-MM-DD``, both inclusive, compared with
    the day written in published_at (the publisher's local day); articles without a
    published_at are left out when either is given. Undated articles otherwise come
    last. ``query`` is an FTS5 MATCH expression on title and text (``'форум*'``).
    ``dedup``: ``all`` keeps every row; ``exact`` keeps one row per group of identical
    texts; ``near`` one per near-duplicate cluster (exact copies included). Groups are
    counted among the rows the other filters select. ``include_duplicates=False`` is
    the older spelling of ``dedup="exact"``.
    """
    db = _database(archive)
    selection = _select(db, site=site, language=language, date_from=date_from, date_to=date_to,
                        query=query, dedup=dedup, include_duplicates=include_duplicates)
    # The first query runs now, not on first next(): bad filters fail at the call.
    return _ordered_rows(db, selection)


def count_articles(archive: Archive | sqlite_utils.Database, **filters) -> int:
    """How many rows :func:`iter_articles` would yield for ``filters``."""
    db = _database(archive)
    selection = _select(db, **filters)
    return db.execute(f"SELECT count(*) FROM articles a WHERE {selection.where}",
                      selection.params).fetchone()[0]


def _decoded_rows(cursor) -> Iterator[dict]:
    columns = [d[0] for d in cursor.description]
    for values in cursor:
        yield decode_article(dict(zip(columns, values)))


# -- txt ------------------------------------------------------------------------------


def _day(published_at: str | None) -> str | None:
    return day_of(published_at)


def format_txt(article: dict) -> str:
    """Render one article in the corpus format.

    Line 1 is ``" date YYYY-MM-DD <title>"`` (leading space; ``unknown`` in place of
    the day when published_at is missing), then a blank line, then every non-blank
    line of ``text`` as a paragraph followed by one blank line. Each article therefore
    ends with an empty line, and articles concatenated in one file are separated by it.
    """
    return txt_entry(article.get("published_at"), article.get("title"), article.get("text"))


_SLUG_CHARS = 60
_SLUG_BYTES = 120
# What a per-article file name looks like; only such files are ever replaced or removed.
_ARTICLE_FILE_RE = re.compile(r"(?:\d{4}-\d{2}-\d{2}|unknown)-\d{8,}-[^/\\\x00]*\.txt")


def article_filename(article: dict) -> str:
    """A safe, unique file name for one article: ``<day>-<id, 8 digits>-<slug>.txt``.

    Unique because the id is; safe whatever the title, because the slug keeps only
    word characters (letters of any script, digits, ``_``) joined by hyphens: no path
    separators, dots, NUL or control characters, never empty, at most 60 characters
    and 120 UTF-8 bytes. The name starts with a day or ``unknown``, so it can never
    be a Windows device name (CON, NUL, COM1) or a hidden file, and sorting the
    names sorts the files by day, then id.
    """
    day = _day(article.get("published_at")) or UNKNOWN_DATE
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", article.get("title") or "").lower())
    slug = "-".join(words)
    if len(slug) > _SLUG_CHARS:
        slug = slug[:_SLUG_CHARS + 1]
        # End on a whole word when that keeps a useful part of the title.
        cut = slug.rfind("-")
        slug = slug[:cut] if cut >= _SLUG_CHARS // 2 else slug[:_SLUG_CHARS]
    while len(slug.encode("utf-8")) > _SLUG_BYTES:
        slug = slug[:-1]
    slug = slug.strip("-_") or "untitled"
    return f"{day}-{int(article['id']):08d}-{slug}.txt"


def _replaceable_dir(path: str) -> bool:
    """True when ``path`` holds nothing but an earlier per-article export."""
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_symlink() or not entry.is_file():
                return False
            if entry.name != CHECKSUMS_NAME and not _ARTICLE_FILE_RE.fullmatch(entry.name):
                return False
    return True


@contextlib.contextmanager
def _staged_dir(target: str) -> Iterator[str]:
    """Yield an empty sibling directory that replaces ``target`` when the block succeeds.

    An existing ``target`` is replaced only when it is empty or holds nothing but an
    earlier per-article export (so a mistaken ``--out ~/`` cannot delete anything).
    """
    target = os.path.abspath(target)
    if os.path.lexists(target):
        if os.path.islink(target) or not os.path.isdir(target):
            raise FileExistsError(f"{target} exists and is not a directory")
        if not _replaceable_dir(target):
            raise FileExistsError(
                f"{target} is not empty and holds files that are not an earlier per-article export")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=os.path.basename(target) + ".", suffix=".part", dir=parent)
    # mkdtemp makes it private (0700); the corpus directory gets the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        yield staging
        if os.path.exists(target):
            old = tempfile.mkdtemp(prefix=os.path.basename(target) + ".", suffix=".old", dir=parent)
            os.replace(target, os.path.join(old, "previous"))
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)


def _write_per_article(batches: Iterator[list[tuple]], directory: str, tick: Callable[[int], None]) -> int:
    """One txt file per article in ``directory``, plus ``SHA256SUMS`` (``sha256sum -c``).

    Rows are ``(id, published_at, title, text, ...)``.
    """
    count = 0
    root = os.path.realpath(directory)
    with open(os.path.join(directory, CHECKSUMS_NAME), "w", encoding="utf-8", newline="\n") as sums:
        for rows in batches:
            for row in rows:
                article = {"id": row[0], "published_at": row[1], "title": row[2]}
                name = article_filename(article)
                path = os.path.join(directory, name)
                # The name is built to be safe; this check keeps it so if that code changes.
                if os.path.dirname(os.path.realpath(path)) != root:
                    raise RuntimeError(f"unsafe file name {name!r} for article {row[0]}")
                data = txt_entry(row[1], row[2], row[3]).encode("utf-8")
                with open(path, "xb") as fh:  # "x": two articles can never share a file
                    fh.write(data)
                sums.write(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
            count += len(rows)
            tick(len(rows))
    return count


# -- outputs --------------------------------------------------------------------------

# Output buffer: each batch is one write() of a few MB, so this only gathers the odd
# small write (a CSV header).
_BUFFER_BYTES = 1 << 20


def _is_binary(out: IO) -> bool:
    return isinstance(out, (io.RawIOBase, io.BufferedIOBase)) or "b" in getattr(out, "mode", "")


class _Sink:
    """Where the encoded batches go: bytes to a file or binary stream, text otherwise.

    Bytes are written (and a file hashed, so the manifest need not read it again) by a
    :class:`~archive.export_rows.Background` thread while the next batch is encoded.
    """

    def __init__(self, binary: IO[bytes] | None, text: IO[str] | None, hashed: bool) -> None:
        self._binary, self._text = binary, text
        self._digest = hashlib.sha256() if hashed else None
        self._writer = Background(self._write_bytes) if binary is not None else None

    def _write_bytes(self, item: tuple[bytes | memoryview, Callable | None]) -> None:
        data, done = item
        if self._digest is not None:
            self._digest.update(data)
        self._binary.write(data)
        if done is not None:
            done(data)

    def write(self, data: bytes | memoryview, done: Callable | None = None) -> None:
        """Write ``data``; then call ``done(data)`` (the buffer may be reused after that)."""
        if self._writer is not None:
            self._writer.put((data, done))
        else:
            # A text stream chosen by the caller (io.StringIO, sys.stdout): it encodes.
            self._text.write(str(data, "utf-8"))
            if done is not None:
                done(data)

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._writer is not None:
            self._writer.__exit__(*exc_info)

    def sha256(self) -> str | None:
        return self._digest.hexdigest() if self._digest is not None else None


@contextlib.contextmanager
def _binary_output(out: str | os.PathLike | IO) -> Iterator[IO[bytes]]:
    if isinstance(out, (str, os.PathLike)):
        path = os.fspath(out)
        partial = path + ".part"
        # Written aside and renamed at the end: a failed export leaves no half file
        # that looks complete.
        try:
            with open(partial, "wb", buffering=_BUFFER_BYTES) as fh:
                yield fh
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    elif _is_binary(out):
        yield out
    elif hasattr(out, "buffer"):  # sys.stdout
        out.flush()
        yield out.buffer
    else:
        raise TypeError("this format writes bytes: give a path or a binary file")


@contextlib.contextmanager
def _byte_sink(out: str | os.PathLike | IO) -> Iterator[_Sink]:
    """A :class:`_Sink` for ``out``: a path or binary stream gets the bytes as they are;
    a text stream (sys.stdout, io.StringIO) gets them decoded, as before."""
    if isinstance(out, (str, os.PathLike)) or _is_binary(out):
        with _binary_output(out) as raw, _Sink(raw, None, hashed=isinstance(out, (str, os.PathLike))) as sink:
            yield sink
    else:
        yield _Sink(None, out, hashed=False)


# -- writers --------------------------------------------------------------------------


def _text_columns(columns: dict[str, type]) -> list[str]:
    return [quote_column(name) for name in columns]


def _write_jsonl(open_stream, sink: _Sink, columns: dict[str, type], tick) -> int:
    encode = JsonlEncoder(list(columns), list(columns.values()), ARTICLE_JSON_FIELDS)
    count = 0
    for rows in open_stream(_text_columns(columns)):
        sink.write(encode(rows))
        count += len(rows)
        tick(len(rows))
    return count


def _write_csv(open_stream, sink: _Sink, columns: dict[str, type], tick) -> int:
    header, encode = csv_encoder(list(columns), ARTICLE_JSON_FIELDS)
    sink.write(header.encode("utf-8"))
    count = 0
    for rows in open_stream(_text_columns(columns)):
        sink.write(encode(rows).encode("utf-8"))
        count += len(rows)
        tick(len(rows))
    return count


def _write_txt(open_stream, sink: _Sink, columns: dict[str, type], tick) -> int:
    count = 0
    for rows in open_stream(["a.published_at", "a.title", "a.text"]):
        sink.write(txt_encoder(rows).encode("utf-8"))
        count += len(rows)
        tick(len(rows))
    return count


_WRITERS = {"jsonl": _write_jsonl, "csv": _write_csv, "txt": _write_txt}


def _write_parquet(open_stream, sink: IO[bytes], columns: dict[str, type], tick) -> int:
    import pyarrow.parquet as pq

    schema = parquet_schema(columns)
    build = ParquetBatcher(schema, list(columns))
    sized = [i for i, name in enumerate(columns) if name in ("title", "text")]
    limit_rows, limit_chars = PARQUET_BATCH_ROWS, PARQUET_BATCH_BYTES
    count = 0
    # zstd: text compresses ~3x better than with the default snappy, and every reader
    # (pandas, polars, datasets, duckdb) supports it. Compressing and writing a row
    # group (GIL released) overlaps with building the next one; one group waits at
    # most (peak RSS 174-200 MB at 50,000 and 200,000 articles; two waiting: no faster).
    with (pq.ParquetWriter(sink, schema, compression="zstd") as parquet,
          Background(parquet.write_batch, depth=1) as writer):
        batch: list[tuple] = []
        size = 0
        for rows in open_stream(_text_columns(columns)):
            for row in rows:
                # A row group closes after PARQUET_BATCH_ROWS rows or once its titles
                # and texts pass PARQUET_BATCH_BYTES characters.
                batch.append(row)
                for i in sized:
                    size += len(row[i] or "")
                if len(batch) >= limit_rows or size >= limit_chars:
                    writer.put(build(batch))
                    batch, size = [], 0
            count += len(rows)
            tick(len(rows))
        if batch or count == 0:
            # An empty export still writes one (empty) row group: readers then see the schema.
            writer.put(build(batch))
    return count


def _write_encoded(batches, sink: _Sink, header: bytes | None, tick) -> int:
    """Write batches a :class:`~archive.export_parallel.ParallelStream` encoded."""
    if header is not None:
        sink.write(header)
    count = 0
    for rows, payload, _ in batches:
        sink.write(payload, batches.recycle)
        count += rows
        tick(rows)
    return count


def _write_parquet_batches(batches, sink: IO[bytes], columns: dict[str, type], tick) -> int:
    """Parquet from Arrow batches a :class:`~archive.export_parallel.ParallelStream` built,
    regrouped into the row groups of :func:`_write_parquet` (same rule, same bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(columns)
    limit_rows, limit_chars = PARQUET_BATCH_ROWS, PARQUET_BATCH_BYTES
    count = 0

    def group(pieces: list) -> Any:
        if len(pieces) == 1:
            return pieces[0]
        if not pieces:
            return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)
        return pa.concat_batches(pieces)

    with (pq.ParquetWriter(sink, schema, compression="zstd") as parquet,
          Background(parquet.write_batch, depth=1) as writer):
        pieces: list = []
        held, size = 0, 0
        for rows, payload, sizes in batches:
            batch = pa.ipc.read_record_batch(pa.py_buffer(payload), schema)
            start = 0
            for i, chars in enumerate(memoryview(sizes).cast("q")):
                held += 1
                size += chars
                if held >= limit_rows or size >= limit_chars:
                    pieces.append(batch.slice(start, i + 1 - start))
                    writer.put(group(pieces))
                    pieces, held, size = [], 0, 0
                    start = i + 1
            if start < rows:
                pieces.append(batch.slice(start) if start else batch)
            count += rows
            tick(rows)
        if pieces or count == 0:
            writer.put(group(pieces))
    return count


def _parallel_workers(db: sqlite_utils.Database, workers: int | None) -> int:
    """How many worker processes an export of ``db`` uses: 0 for none."""
    if workers is None and os.environ.get("CRAWLER_EXPORT_WORKERS", "").strip().isdigit():
        workers = int(os.environ["CRAWLER_EXPORT_WORKERS"])
    if workers is not None:
        return max(0, workers)
    if (os.cpu_count() or 1) < 2:
        return 0
    # Starting the workers costs about half a second (imports): worth it for big archives only.
    largest = db.execute("SELECT max(id) FROM articles").fetchone()[0] or 0
    return WORKERS if largest >= PARALLEL_MIN_ROWS else 0


def _whole_archive(selection: _Selection) -> bool:
    """Whether the export reads (nearly) every article: no filter but deduplication."""
    return all(selection.filters.get(name) is None for name in ("site", "language", "date_from", "date_to", "query"))


def _start_parallel(db, selection, fmt, columns, figures, workers) -> ParallelStream | None:
    path = database_file(db.conn)
    if path is None or workers < 1:
        return None
    select = ["a.published_at", "a.title", "a.text"] if fmt == "txt" else _text_columns(columns)
    parallel = ParallelStream(db.conn, path, selection.where, selection.params, fmt, columns,
                              ARTICLE_JSON_FIELDS, select, figures, workers=workers,
                              warm_up=_whole_archive(selection))
    try:
        parallel.start()
    except NotParallel as exc:
        logger.info("exporting in one process: %s", exc)
        return None
    return parallel


# -- export ---------------------------------------------------------------------------


@dataclass
class ExportResult:
    """What :func:`export_corpus` wrote."""

    rows: int
    files: list[str] = field(default_factory=list)
    manifest: str | None = None


@contextlib.contextmanager
def _snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """Read the data and the manifest's figures from one snapshot of the archive.

    In WAL mode a crawl may commit while an export runs; inside one read transaction
    the export sees none of it, so its counts and its rows agree.
    """
    if db.conn.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        if db.conn.in_transaction:
            db.execute("COMMIT")


def _progress(total: int, enabled: bool):
    """A rich progress bar on stderr advanced by ``tick(rows)``, or a no-op; a callable
    ``progress`` is the tick itself (the CLI's status lines when not on a terminal)."""
    if callable(enabled):
        return contextlib.nullcontext(enabled)
    if not enabled:
        return contextlib.nullcontext(lambda rows: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    @contextlib.contextmanager
    def bar():
        progress = Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True))
        with progress:
            task = progress.add_task("export", total=total)
            yield lambda rows: progress.advance(task, rows)

    return bar()


def export_corpus(
    archive: Archive | sqlite_utils.Database,
    fmt: str,
    out: str | os.PathLike | IO,
    *,
    per_article: bool = False,
    manifest: bool | str | os.PathLike = True,
    progress: bool | Callable[[int], None] = False,
    workers: int | None = None,
    **filters,
) -> ExportResult:
    """Write the articles selected by ``filters`` (see :func:`iter_articles`) to ``out``.

    ``fmt`` is ``jsonl``, ``csv``, ``parquet`` or ``txt``. ``out`` is a path, or an open
    file (text or binary; Parquet needs binary or ``sys.stdout``). ``per_article``
    (txt only): ``out`` is a directory that receives one file per article
    (:func:`article_filename`) and a ``SHA256SUMS``. ``manifest``: True writes
    ``<out>.manifest.json`` beside a path (nothing for an open file), a path writes it
    there, False writes none. ``progress`` shows a bar on stderr. ``workers``: worker
    processes that read and encode (:mod:`archive.export_parallel`; same bytes); None
    starts :data:`WORKERS` for an archive of :data:`PARALLEL_MIN_ROWS` articles or more,
    0 exports in this process.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    is_path = isinstance(out, (str, os.PathLike))
    if per_article and (fmt != "txt" or not is_path):
        raise ValueError("one file per article needs the txt format and a directory path")
    db = _database(archive)
    selection = _select(db, **filters)
    columns = dict(db["articles"].columns_dict)
    result = ExportResult(rows=0)
    figures = Figures()

    def open_stream(select: list[str]) -> Iterator[list[tuple]]:
        return stream(db.conn, selection.where, selection.params, select, figures)

    sha256 = None
    # Workers can share the snapshot only if this connection has not read in it yet.
    shareable = not db.conn.in_transaction and not per_article
    count_workers = _parallel_workers(db, workers) if shareable else 0
    with _snapshot(db), contextlib.ExitStack() as stack:
        parallel = None
        if shareable:
            parallel = _start_parallel(db, selection, fmt, columns, figures, count_workers)
            if parallel is not None:
                stack.enter_context(parallel)
        # The bar needs the total first; the manifest's figures are counted on the way.
        total = count_articles(db, **filters) if progress else None
        with _progress(total or 0, progress) as tick:
            if parallel is not None and fmt == "parquet":
                with _binary_output(out) as raw:
                    result.rows = _write_parquet_batches(parallel, raw, columns, tick)
            elif parallel is not None:
                header = csv_encoder(list(columns), ARTICLE_JSON_FIELDS)[0].encode("utf-8") if fmt == "csv" else None
                with _byte_sink(out) as sink:
                    result.rows = _write_encoded(parallel, sink, header, tick)
                sha256 = sink.sha256()
            elif per_article:
                target = os.fspath(out).rstrip("/" + os.sep)
                with _staged_dir(target) as staging:
                    result.rows = _write_per_article(
                        open_stream(["a.id", "a.published_at", "a.title", "a.text"]), staging, tick)
                result.files = [os.path.join(target, CHECKSUMS_NAME)]
            elif fmt == "parquet":
                with _binary_output(out) as raw:
                    result.rows = _write_parquet(open_stream, raw, columns, tick)
            else:
                with _byte_sink(out) as sink:
                    result.rows = _WRITERS[fmt](open_stream, sink, columns, tick)
                sha256 = sink.sha256()
        if total is not None and total != result.rows:  # pragma: no cover - a bug
            raise RuntimeError(f"exported {result.rows} rows but counted {total}")
        if is_path and not per_article:
            result.files = [os.fspath(out)]
        target_manifest = _manifest_target(out, manifest, is_path)
        if target_manifest is not None:
            known = {os.path.abspath(result.files[0]): sha256} if sha256 and result.files else {}
            document = _manifest(archive, db, fmt, per_article, selection, figures.as_dict(), result.files,
                                 os.path.dirname(os.path.abspath(target_manifest)), known)
            write_manifest(document, target_manifest)
            result.manifest = target_manifest
    logger.info("exported %d articles as %s%s", result.rows, fmt, " (one file each)" if per_article else "")
    return result


def _manifest_target(out, manifest, is_path: bool) -> str | None:
    if manifest is False or manifest is None:
        return None
    if manifest is True:
        return manifest_path(out) if is_path else None
    return os.fspath(manifest)


def _manifest(archive, db, fmt, per_article, selection, figures, files, base, known) -> dict[str, Any]:
    path = getattr(archive, "path", None)
    if path is None:
        path = db.execute("PRAGMA database_list").fetchone()[2]
    document: dict[str, Any] = {
        "manifest_version": _MANIFEST_VERSION,
        "format": fmt,
        "layout": "one file per article" if per_article else "one file",
        "filters": selection.filters,
        "order": "published_at as text (the publisher's local time), then id; undated articles last",
        "rows": figures["rows"],
        "rows_by_site": figures["rows_by_site"],
        "rows_by_language": figures["rows_by_language"],
        "published": figures["published"],
        "files": [file_entry(f, base, sha256=known.get(os.path.abspath(f))) for f in files],
        "archive": {"path": path, **archive_state(db),
                    "near_duplicate_links": selection.near_available},
        "software": {
            "export": {**software_versions(), **runtime_versions()},
            "rows": row_software(db, figures["per_crawl"]),
        },
    }
    if per_article:
        document["article_files"] = figures["rows"]
    if fmt == "parquet":
        document["parquet"] = {
            "published_at": "timestamp[us, UTC]; NULL when the archive has only a day or no offset",
            "published_at_local": "the archive's published_at text, with the publisher's offset",
            "published_day": "date: the publisher's local day",
            "row_group_rows": PARQUET_BATCH_ROWS,
        }
    return document


def export(archive: Archive | sqlite_utils.Database, fmt: str, out: str | os.PathLike | IO, **options) -> int:
    """:func:`export_corpus`, returning the number of articles written."""
    return export_corpus(archive, fmt, out, **options).rows
