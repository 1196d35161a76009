"""Export articles from the archive: JSON lines, CSV, Parquet, or the users' plain-text format.

Rows come in export order from :mod:`archive.select` in batches of a few hundred and are
encoded a batch at a time (by worker processes for a big archive), so an archive of any
size exports in constant memory. The
same filters on the same archive give byte-identical files (a stable order, no
timestamps inside), and a manifest (:mod:`archive.manifest`) beside them says what they
hold. The entry point is :func:`export_corpus`.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import sqlite3
import tempfile
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from operator import itemgetter
from typing import IO, Any

import orjson
import sqlite_utils

from .core import ARTICLE_JSON_FIELDS, Archive
from .manifest import RowTally, export_manifest, manifest_path, write_manifest
from .select import _DAY_RE, DEDUP_POLICIES, META_COLUMNS, count_selected, database, iter_batches, iter_selected, select

logger = logging.getLogger(__name__)

__all__ = ["DEDUP_POLICIES", "FORMATS", "PARQUET_BATCH_ROWS", "UNKNOWN_DATE", "ExportResult", "article_filename",
           "count_articles", "export_corpus", "format_txt", "iter_articles", "parquet_schema"]

FORMATS = ("jsonl", "csv", "parquet", "txt")
# A Parquet row group closes after this many rows, or once its titles and texts pass
# PARQUET_BATCH_BYTES characters, so a few huge articles cannot blow up memory. Not
# fewer rows: the writer keeps every group's metadata until it writes the footer.
PARQUET_BATCH_ROWS = 5000
PARQUET_BATCH_BYTES = 4 << 20
CHECKSUMS_NAME = "SHA256SUMS"
# Worker processes that read and encode the rows, and from how many articles in the
# archive (its largest id) they are started when the caller does not say.
WORKERS = 2
PARALLEL_MIN_ROWS = 50_000
# Stands in for the day in a txt header (and a per-article file name) when published_at is unknown.
UNKNOWN_DATE = "unknown"

iter_articles = iter_selected
count_articles = count_selected

_TITLE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


# -- encoders: rows (the articles columns, then the selection's meta columns) -> bytes --


@functools.lru_cache(maxsize=4096)
def _json_value(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


@functools.lru_cache(maxsize=4096)
def _jsonl_json_column(raw: str | None) -> bytes:
    # The decoded value dumped by the standard library: a JSON line is what
    # json.dumps(decode_article(row), ensure_ascii=False) writes.
    return json.dumps(_json_value(raw), ensure_ascii=False).encode("utf-8")


def _jsonl_scalar(value: Any) -> bytes:
    # orjson spells floats its own way (1e16, not 1e+16).
    return json.dumps(value).encode("ascii") if type(value) is float else orjson.dumps(value)


def _jsonl_encoder(columns: dict[str, type]) -> Callable[[list[tuple]], bytes]:
    # orjson writes str and int as json.dumps(..., ensure_ascii=False) does (a test checks
    # every code point); the separators ", " and ": " come from the template.
    keys = [json.dumps(name, ensure_ascii=False).replace("%", "%%") for name in columns]
    template = ("{" + ", ".join(key + ": %s" for key in keys) + "}\n").encode("utf-8")
    coders = [_jsonl_json_column if name in ARTICLE_JSON_FIELDS else orjson.dumps if kind is str else _jsonl_scalar
              for name, kind in columns.items()]
    return lambda rows: b"".join([template % tuple([code(v) for code, v in zip(coders, row)]) for row in rows])


def _csv_cell(value: Any) -> str:
    """One cell as ``csv.writer`` (excel dialect, QUOTE_MINIMAL) writes it: quoted when it
    holds the delimiter, a quote or a line break, quotes doubled; None empty, others
    str(). With str methods: the writer's C loop over every character of a text is
    the slowest step of a CSV export (bench/README-export.md)."""
    if value is None:
        return ""
    if type(value) is not str:
        value = str(value)
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return '"' + value + '"' if "," in value or "\n" in value or "\r" in value else value


@functools.lru_cache(maxsize=4096)
def _csv_json_column(raw: str | None) -> str:
    value = _json_value(raw)
    return "" if value is None else _csv_cell(json.dumps(value, ensure_ascii=False))


def _csv_encoder(columns: dict[str, type]) -> tuple[bytes, Callable[[list[tuple]], bytes]]:
    """The header line (written by ``csv.writer``) and an encoder of row batches."""
    header = io.StringIO(newline="")
    csv.writer(header).writerow(list(columns))
    cells = [_csv_json_column if name in ARTICLE_JSON_FIELDS else _csv_cell for name in columns]
    return header.getvalue().encode("utf-8"), lambda rows: "".join(
        [",".join([cell(v) for cell, v in zip(cells, row)]) + "\r\n" for row in rows]).encode("utf-8")


def day_of(published_at: str | None) -> str | None:
    """The ``YYYY-MM-DD`` that starts ``published_at``, or None."""
    return published_at[:10] if published_at and _DAY_RE.match(published_at) else None


def txt_entry(published_at: str | None, title: str | None, text: str | None) -> str:
    """One article in the corpus format (see :func:`format_txt`)."""
    day = day_of(published_at) or UNKNOWN_DATE
    title = _TITLE_BREAKS.sub(" ", title or "").strip()  # the header stays one line
    header = f" date {day} {title}" if title else f" date {day}"
    paragraphs = [line for line in (text or "").splitlines() if line and not line.isspace()]
    return header + "\n\n" + "".join(p + "\n\n" for p in paragraphs)


def format_txt(article: dict) -> str:
    """Render one article in the corpus format.

    Line 1 is ``" date YYYY-MM-DD <title>"`` (leading space; ``unknown`` in place of
    the day when published_at is missing), then a blank line, then every non-blank
    line of ``text`` as a paragraph followed by one blank line. Each article therefore
    ends with an empty line, and articles concatenated in one file are separated by it.
    """
    return txt_entry(article.get("published_at"), article.get("title"), article.get("text"))


def _txt_encoder(rows: list[tuple]) -> bytes:
    return "".join([txt_entry(row[0], row[1], row[2]) for row in rows]).encode("utf-8")


# -- Parquet -------------------------------------------------------------------------

_INT_COLUMNS = ("id", "duplicate_of", "near_duplicate_of", "page_id", "crawl_id")
_UTC_COLUMNS = ("first_seen_at", "last_seen_at", "updated_at")
_LIST_COLUMNS = ("categories", "tags")


def parquet_schema(columns: dict[str, type]):
    """The Arrow schema of a Parquet export of ``articles`` with ``columns`` (name -> type).

    ``published_at`` becomes three columns, because one Arrow timestamp column has one
    zone while publishers write different offsets and sometimes only a day:
    ``published_at`` timestamp[us, UTC], NULL when only the day (or a time without an
    offset) is known; ``published_at_local`` the archive's text as it is; and
    ``published_day`` date32, the publisher's local day. Crawl times are
    timestamp[us, UTC]; categories and tags list<string>; hreflang
    list<struct<lang, url>> (a map is not read the same way by every library).
    """
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    simple = {int: pa.int64(), float: pa.float64(), bytes: pa.binary()}
    fields = []
    for name, kind in columns.items():
        if name == "published_at":
            fields += [pa.field("published_at", utc), pa.field("published_at_local", pa.string()),
                       pa.field("published_day", pa.date32())]
        elif name in _INT_COLUMNS:
            fields.append(pa.field(name, pa.int64(), nullable=name != "id"))
        elif name in _UTC_COLUMNS:
            fields.append(pa.field(name, utc))
        elif name in _LIST_COLUMNS:
            fields.append(pa.field(name, pa.list_(pa.string())))
        elif name == "hreflang":
            fields.append(pa.field(name, pa.list_(pa.struct([("lang", pa.string()), ("url", pa.string())]))))
        else:
            fields.append(pa.field(name, simple.get(kind, pa.string())))
    return pa.schema(fields)


def _instant(value: str | None) -> datetime | None:
    """UTC for a timestamp with an offset; None for a day, a naive time, an unparseable
    value or an instant outside the years 1-9999."""
    if not value or len(value) <= 10:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.astimezone(timezone.utc) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        return None


def _local_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(day_of(value) or "")
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _str_list(raw: str | None) -> list[str] | None:
    value = _json_value(raw)
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@functools.lru_cache(maxsize=4096)
def _hreflang_entries(raw: str | None) -> list[dict] | None:
    value = _json_value(raw)
    if value is None:
        return None
    if isinstance(value, dict):
        return [{"lang": str(k), "url": None if v is None else str(v)} for k, v in value.items()]
    logger.warning("hreflang is not an object: %r", value)
    return None


def _arrow_builder(schema, columns: list[str]) -> Callable[[list[tuple]], Any]:
    """rows -> an Arrow record batch of ``schema``, built a column at a time."""
    import pyarrow as pa

    source = {"published_at_local": "published_at", "published_day": "published_at"}
    convert = {"published_at": _instant, "published_day": _local_day, "hreflang": _hreflang_entries,
               **dict.fromkeys(_UTC_COLUMNS, _instant), **dict.fromkeys(_LIST_COLUMNS, _str_list)}
    plan = [(columns.index(source.get(f.name, f.name)), convert.get(f.name), f.type) for f in schema]

    def build(rows: list[tuple]):
        by_column = list(zip(*rows)) or [()] * len(columns)
        arrays = [pa.array(by_column[at] if fn is None else list(map(fn, by_column[at])), type=kind)
                  for at, fn, kind in plan]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    return build


def _sizer(columns: list[str]) -> Callable[[tuple], int]:
    sized = [i for i, name in enumerate(columns) if name in ("title", "text")]
    return lambda row: sum(len(row[i] or "") for i in sized)


def _row_groups(batches: Iterable[list[tuple]], size_of: Callable[[tuple], int]) -> Iterator[list[tuple]]:
    """The Parquet row-group policy: regroup ``batches`` into groups of at most
    PARQUET_BATCH_ROWS rows that close once their ``size_of`` passes PARQUET_BATCH_BYTES
    characters. Always at least one group, so an empty export has the schema."""
    group: list[tuple] = []
    size, closed = 0, False
    for rows in batches:
        for row in rows:
            group.append(row)
            size += size_of(row)
            if len(group) >= PARQUET_BATCH_ROWS or size >= PARQUET_BATCH_BYTES:
                yield group
                group, size, closed = [], 0, True
    if group or not closed:
        yield group


def _merged(group: list[tuple]):
    """One row group from rows ``(record batch, row index, size)``, slices of consecutive batches."""
    import pyarrow as pa

    pieces, start = [], 0
    for k, (batch, _, _) in enumerate(group):
        if k + 1 == len(group) or group[k + 1][0] is not batch:
            pieces.append(batch.slice(group[start][1], k + 1 - start))
            start = k + 1
    return pieces[0] if len(pieces) == 1 else pa.concat_batches(pieces)


def _encoder(fmt: str, columns: dict[str, type]) -> Callable[[list[tuple]], Any]:
    """rows -> the bytes of ``fmt`` (for Parquet: an Arrow record batch, one row group)."""
    if fmt == "jsonl":
        return _jsonl_encoder(columns)
    if fmt == "csv":
        return _csv_encoder(columns)[1]
    if fmt == "txt":
        return _txt_encoder
    return _arrow_builder(parquet_schema(columns), list(columns))


# -- worker processes ------------------------------------------------------------------
# Each reads the rows of a batch of ids (listed here in export order) on its own
# connection and encodes them. One snapshot: while this process holds the write lock
# (BEGIN IMMEDIATE on a helper connection, so no crawl can commit) it and the workers
# open their read transactions; then it lets go, milliseconds for a crawl to wait.

LOCK_TIMEOUT = 2.0
READERS = 6
START_TIMEOUT = 60.0
_worker: tuple | None = None


def _start_worker(path: str, sql: str, fmt: str, columns: dict[str, type], started) -> None:
    global _worker
    # READERS connections read parts of each batch in threads (SQLite releases the GIL):
    # several page reads in flight when the archive is not in the page cache.
    conns = [sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False) for _ in range(READERS)]
    for conn in conns:
        conn.execute("BEGIN")
        conn.execute("SELECT 1 FROM articles LIMIT 1").fetchall()  # the snapshot is taken here
    started.wait(START_TIMEOUT)  # busy until every worker has one: each submit starts a process
    encode = _encoder(fmt, columns)
    if fmt == "parquet":  # this process cuts the row groups: it needs the sizes of the rows
        size_of, build = _sizer(list(columns)), encode
        encode = lambda rows: (build(rows), list(map(size_of, rows)))  # noqa: E731
    _worker = (conns, ThreadPoolExecutor(READERS, "export-read"), sql, encode)


def _read_and_encode(ids: list[int]) -> tuple[Any, RowTally]:
    conns, readers, sql, encode = _worker
    step = -(-len(ids) // len(conns)) or 1
    parts = [ids[i:i + step] for i in range(0, len(ids), step)]
    found = {}
    for part in readers.map(lambda conn, part: conn.execute(sql + "(" + ",".join("?" * len(part)) + ")", part)
                            .fetchall(), conns, parts):
        found.update((row[0], row[1:]) for row in part)
    rows = [found[i] for i in ids]
    tally = RowTally()
    tally.add(rows)
    return encode(rows), tally


def _workers(db: sqlite_utils.Database, workers: int | None) -> int:
    if workers is not None:
        return max(0, workers)
    if (os.cpu_count() or 1) < 2:
        return 0
    # Starting the pool costs about half a second: worth it for big archives only.
    largest = db.execute("SELECT max(id) FROM articles").fetchone()[0] or 0
    return WORKERS if largest >= PARALLEL_MIN_ROWS else 0


@contextlib.contextmanager
def _reading(db: sqlite_utils.Database, count: int, fmt: str, columns: dict[str, type],
             select_columns: list[str]) -> Iterator[ProcessPoolExecutor | None]:
    """The export's read transaction, shared with ``count`` worker processes when they
    can start (yields their pool), else None: this process reads alone."""
    path = next((file for _, name, file in db.execute("PRAGMA database_list") if name == "main"), None)
    lock = None
    if count and path and not db.conn.in_transaction:
        lock = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # a long write, a read-only file
            logger.info("exporting in one process: %s", exc)
            lock.close()
            lock = None
    with _snapshot(db):
        if lock is None:
            yield None
            return
        try:
            db.execute("SELECT 1 FROM articles LIMIT 1").fetchall()
            context = multiprocessing.get_context("forkserver")  # no inherited threads or connections
            sql = f"SELECT a.id, {', '.join([*select_columns, *META_COLUMNS])} FROM articles a WHERE a.id IN "
            pool = ProcessPoolExecutor(count, context, initializer=_start_worker,
                                       initargs=(path, sql, fmt, columns, context.Barrier(count)))
            with contextlib.ExitStack() as started:
                started.callback(pool.shutdown, wait=True, cancel_futures=True)
                for future in [pool.submit(int) for _ in range(count)]:
                    future.result(timeout=START_TIMEOUT)
                started.pop_all()
        finally:
            lock.rollback()
            lock.close()
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# -- outputs ---------------------------------------------------------------------------


class _Overlapped:
    """Hands items to ``consume`` in a thread, one at a time, so writing, hashing and
    Parquet compression (which release the GIL) overlap with encoding the next batch."""

    def __init__(self, consume: Callable[[Any], Any]) -> None:
        self._consume = consume
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="export-writer")
        self._pending: Future | None = None

    def put(self, item: Any) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._consume, item)

    def __enter__(self) -> _Overlapped:
        return self

    def __exit__(self, exc_type, *_) -> None:
        self._pool.shutdown(wait=True)
        if exc_type is None and self._pending is not None:
            self._pending.result()


def _is_binary(out: IO) -> bool:
    return isinstance(out, (io.RawIOBase, io.BufferedIOBase)) or "b" in getattr(out, "mode", "")


@contextlib.contextmanager
def _binary_output(out: str | os.PathLike | IO) -> Iterator[IO[bytes]]:
    if isinstance(out, (str, os.PathLike)):
        path = os.fspath(out)
        partial = path + ".part"  # renamed at the end: a failed export leaves no complete-looking file
        try:
            with open(partial, "wb", buffering=1 << 20) as fh:
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
def _byte_sink(out: str | os.PathLike | IO, digest) -> Iterator[Callable[[bytes], None]]:
    """write(bytes) into ``out`` (hashed into ``digest``); a text stream such as
    io.StringIO or sys.stdout gets the characters instead."""
    if not isinstance(out, (str, os.PathLike)) and not _is_binary(out):
        yield lambda data: out.write(str(data, "utf-8"))
        return

    def write(data: bytes) -> None:
        digest.update(data)
        raw.write(data)

    with _binary_output(out) as raw, _Overlapped(write) as writer:
        yield writer.put


# -- txt, one file per article ------------------------------------------------------------

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
    day = day_of(article.get("published_at")) or UNKNOWN_DATE
    slug = "-".join(re.findall(r"\w+", unicodedata.normalize("NFKC", article.get("title") or "").lower()))
    if len(slug) > _SLUG_CHARS:
        slug = slug[:_SLUG_CHARS + 1]
        cut = slug.rfind("-")  # end on a whole word when that keeps a useful part of the title
        slug = slug[:cut] if cut >= _SLUG_CHARS // 2 else slug[:_SLUG_CHARS]
    while len(slug.encode("utf-8")) > _SLUG_BYTES:
        slug = slug[:-1]
    slug = slug.strip("-_") or "untitled"
    return f"{day}-{int(article['id']):08d}-{slug}.txt"


def _replaceable_dir(path: str) -> bool:
    """True when ``path`` holds nothing but an earlier per-article export."""
    with os.scandir(path) as entries:
        return all(not entry.is_symlink() and entry.is_file()
                   and (entry.name == CHECKSUMS_NAME or _ARTICLE_FILE_RE.fullmatch(entry.name))
                   for entry in entries)


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
    umask = os.umask(0)  # mkdtemp makes it private (0700); the corpus gets the usual permissions
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


def _write_per_article(batches: Iterator[list[tuple]], directory: str) -> None:
    """One txt file per row ``(id, published_at, title, text, ...)``, and ``SHA256SUMS``."""
    root = os.path.realpath(directory)
    with open(os.path.join(directory, CHECKSUMS_NAME), "w", encoding="utf-8", newline="\n") as sums:
        for rows in batches:
            for row in rows:
                name = article_filename({"id": row[0], "published_at": row[1], "title": row[2]})
                path = os.path.join(directory, name)
                # The name is built to be safe; this check keeps it so if that code changes.
                if os.path.dirname(os.path.realpath(path)) != root:
                    raise RuntimeError(f"unsafe file name {name!r} for article {row[0]}")
                data = txt_entry(row[1], row[2], row[3]).encode("utf-8")
                with open(path, "xb") as fh:  # "x": two articles can never share a file
                    fh.write(data)
                sums.write(f"{hashlib.sha256(data).hexdigest()}  {name}\n")


# -- export ---------------------------------------------------------------------------


@dataclass
class ExportResult:
    """What :func:`export_corpus` wrote."""

    rows: int
    files: list[str] = field(default_factory=list)
    manifest: str | None = None


@contextlib.contextmanager
def _snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """One read transaction, so the rows and the manifest's counts agree while a crawl
    commits in WAL mode."""
    if db.conn.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        if db.conn.in_transaction:
            db.execute("COMMIT")


def _progress(total: int, enabled: bool | Callable[[int], None]):
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
        with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True)) as progress:
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
    """Write the articles selected by ``filters`` (see :func:`archive.select.select`) to ``out``.

    ``fmt`` is ``jsonl``, ``csv``, ``parquet`` or ``txt``. ``out`` is a path, or an open
    file (text or binary; Parquet needs binary or ``sys.stdout``). ``per_article``
    (txt only): ``out`` is a directory that receives one file per article
    (:func:`article_filename`) and a ``SHA256SUMS``. ``manifest``: True writes
    ``<out>.manifest.json`` beside a path (nothing for an open file), a path writes it
    there, False writes none. ``progress`` shows a bar on stderr. ``workers``: processes
    that encode the rows this one reads (the same bytes); None starts :data:`WORKERS`
    for an archive of :data:`PARALLEL_MIN_ROWS` articles or more, 0 none.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    is_path = isinstance(out, (str, os.PathLike))
    if per_article and (fmt != "txt" or not is_path):
        raise ValueError("one file per article needs the txt format and a directory path")
    db = database(archive)
    selection = select(db, **filters)
    columns = dict(db["articles"].columns_dict)
    all_columns = ["a.[" + name.replace("]", "]]") + "]" for name in columns]
    tally = RowTally()
    result = ExportResult(rows=0)
    digest = hashlib.sha256()
    size_of = _sizer(list(columns))
    select_columns = ["a.published_at", "a.title", "a.text"] if fmt == "txt" else all_columns
    count = 0 if per_article else _workers(db, workers)
    with _reading(db, count, fmt, columns, select_columns) as pool:
        total = count_selected(db, **filters) if progress else 0  # the bar needs it first
        with _progress(total, progress) as tick:

            def batches(select: list[str]) -> Iterator[list[tuple]]:
                for rows in iter_batches(db, selection, select):
                    tally.add(rows)
                    tick(len(rows))
                    yield rows

            def encoded() -> Iterator[Any]:
                """The payloads of the export in order, encoded here or by the pool."""
                if pool is None:
                    source = batches(select_columns)
                    yield from map(_encoder(fmt, columns), _row_groups(source, size_of) if fmt == "parquet" else source)
                    return
                if fmt != "parquet":
                    yield from pooled()
                    return
                # Parquet: the workers' batches (with the sizes of their rows) regrouped here.
                rows = ([(batch, i, size) for i, size in enumerate(sizes)] for batch, sizes in pooled())
                empty = _encoder(fmt, columns)
                for group in _row_groups(rows, itemgetter(2)):
                    yield _merged(group) if group else empty([])

            def pooled() -> Iterator[Any]:
                """The workers read the rows; here only their ids are listed."""
                pending: deque[Future] = deque()
                for rows in iter_batches(db, selection, ["a.id"], meta=False):
                    pending.append(pool.submit(_read_and_encode, [row[0] for row in rows]))
                    while pending and (len(pending) > 3 * count or pending[0].done()):
                        yield finish(pending.popleft())
                while pending:
                    yield finish(pending.popleft())

            def finish(future: Future) -> Any:
                payload, part = future.result()
                tally.merge(part)
                tick(part.rows)
                return payload

            if per_article:
                target = os.fspath(out).rstrip("/" + os.sep)
                with _staged_dir(target) as staging:
                    _write_per_article(batches(["a.id", "a.published_at", "a.title", "a.text"]), staging)
                result.files = [os.path.join(target, CHECKSUMS_NAME)]
            elif fmt == "parquet":
                import pyarrow.parquet as pq

                schema = parquet_schema(columns)
                # zstd: text compresses about 3x better than with snappy; every reader supports it.
                with (_binary_output(out) as raw, pq.ParquetWriter(raw, schema, compression="zstd") as parquet,
                      _Overlapped(parquet.write_batch) as writer):
                    for batch in encoded():
                        writer.put(batch)
            else:
                with _byte_sink(out, digest) as write:
                    if fmt == "csv":
                        write(_csv_encoder(columns)[0])
                    for data in encoded():
                        write(data)
        result.rows = tally.rows
        if is_path and not per_article:
            result.files = [os.fspath(out)]
        target_manifest = (None if manifest is False or manifest is None
                           else (manifest_path(out) if is_path else None) if manifest is True
                           else os.fspath(manifest))
        if target_manifest is not None:
            hashed = {} if per_article or fmt == "parquet" or not is_path else {os.path.abspath(out): digest.hexdigest()}
            document = export_manifest(archive, db, fmt, per_article, selection, tally, result.files,
                                       os.path.dirname(os.path.abspath(target_manifest)), hashed,
                                       {"row_group_rows": PARQUET_BATCH_ROWS})
            write_manifest(document, target_manifest)
            result.manifest = target_manifest
    logger.info("exported %d articles as %s%s", result.rows, fmt, " (one file each)" if per_article else "")
    return result
