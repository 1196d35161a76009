"""Export with worker processes: each reads and encodes every other batch of rows.

One Python process reads and encodes about 16,000 articles/s (1,000,000 in about 62 s,
one core busy, the second nearly idle). Here the exporting process only lists the
selected ids in export order (from the published_at index, ~1 us a row), sends them in
batches to ``workers`` processes in turn, and writes what they send back *in the same
order*: encoded bytes for jsonl, csv and txt; Arrow record batches (IPC) for Parquet,
regrouped into the same row groups as the sequential export. The output is byte for
byte the sequential export's, manifest included (tests/test_export_parallel.py).

One snapshot: every connection must read the same state of the archive while a crawl
may be committing. The exporting process holds a write lock (``BEGIN IMMEDIATE`` on a
helper connection, so no commit can land) while it and its workers open their read
transactions, then releases it: milliseconds for a crawl to wait, within its busy
timeout. When that lock cannot be had (a read-only file, a long write), or the workers
fail to start, :class:`NotParallel` is raised before anything is written and the caller
exports sequentially.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from .export_rows import (
    Figures,
    JsonlEncoder,
    ParquetBatcher,
    csv_encoder,
    parquet_schema,
    stream_columns,
    txt_encoder,
)

logger = logging.getLogger(__name__)

__all__ = ["NotParallel", "ParallelStream", "UNIT_ROWS", "WORKERS", "WarmUp", "database_file"]

WORKERS = 2
# Ids per message: one encoded batch of about 2.5 MB of jsonl comes back for each.
UNIT_ROWS = 512
# Batches in flight per worker: one being encoded, one waiting in its pipe.
DEPTH = 2
# Connections per worker reading one batch together (disk reads in flight per worker).
READERS = 6
# How long the exporting process waits for the write lock and for its workers to start.
LOCK_TIMEOUT = 2.0
START_TIMEOUT = 60.0


class NotParallel(Exception):
    """The parallel export could not start; nothing was written."""


# -- worker ---------------------------------------------------------------------------


def database_file(conn: sqlite3.Connection) -> str | None:
    """The main database's file, or None for an in-memory or temporary database."""
    for _, name, path in conn.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


def _encoder(fmt: str, columns: dict[str, type], json_fields: Sequence[str]):
    """``rows -> (payload bytes, per-row sizes or None)`` for ``fmt``."""
    if fmt == "jsonl":
        encode = JsonlEncoder(list(columns), list(columns.values()), json_fields)
        return lambda rows: (encode(rows), None)
    if fmt == "csv":
        _, encode_csv = csv_encoder(list(columns), json_fields)
        return lambda rows: (encode_csv(rows).encode("utf-8"), None)
    if fmt == "txt":
        return lambda rows: (txt_encoder(rows).encode("utf-8"), None)
    if fmt == "parquet":
        build = ParquetBatcher(parquet_schema(columns), list(columns))
        names = list(columns)
        sized = [names.index(name) for name in ("title", "text") if name in columns]

        def encode_parquet(rows):
            # The row-group rule counts the characters of titles and texts: sent along so
            # the exporting process can close groups where the sequential export does.
            sizes = array("q", [sum(len(row[i] or "") for i in sized) for row in rows])
            return build(rows).serialize(), sizes.tobytes()

        return encode_parquet
    raise ValueError(f"unknown format {fmt!r}")


class _Reader:
    """The rows of a batch of ids, in the batch's order, read on ``count`` connections at once.

    Each connection reads its share of the ids in a thread (SQLite releases the GIL), so
    ``count`` disk reads are in flight when the pages are not cached: one reader waits for
    one random read at a time (12,000/s here, 2-3 per article), eight complete 43,000/s.
    All connections open their read transactions in :meth:`begin`, under the exporting
    process's write lock: one snapshot.
    """

    def __init__(self, path: str, sql: str, id_at: int, count: int) -> None:
        self._conns = [sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                       for _ in range(max(1, count))]
        self._pool = ThreadPoolExecutor(len(self._conns), "export-read") if len(self._conns) > 1 else None
        self._sql, self._id_at = sql, id_at
        self._statements: dict[int, str] = {}

    def begin(self) -> None:
        for conn in self._conns:
            conn.execute("BEGIN")
            conn.execute("SELECT 1 FROM articles LIMIT 1").fetchall()  # the snapshot is taken here

    def _fetch(self, conn: sqlite3.Connection, ids: Sequence[int]) -> list[tuple]:
        statement = self._statements.get(len(ids))
        if statement is None:
            statement = self._statements[len(ids)] = self._sql + "(" + ",".join("?" * len(ids)) + ")"
        return conn.execute(statement, ids).fetchall()

    def __call__(self, ids: array) -> list[tuple]:
        count = len(self._conns)
        if self._pool is None or len(ids) < 2 * count:
            found = self._fetch(self._conns[0], ids)
        else:
            step = -(-len(ids) // count)
            parts = self._pool.map(self._fetch, self._conns, [ids[i:i + step] for i in range(0, len(ids), step)])
            found = [row for part in parts for row in part]
        at = self._id_at
        by_id = {row[at]: row for row in found}
        return [by_id[i] for i in ids]


class _Outbox:
    """Sends a worker's results from a thread, so it encodes its next batch meanwhile.

    The exporting process reads the workers' results in export order: while it reads one
    worker's batch, the other's send waits. Sent from the worker's main thread, that
    wait stopped its encoding too.
    """

    def __init__(self, results: Connection) -> None:
        self._results = results
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="export-send", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (messages := self._queue.get()) is not None:
                for message in messages:
                    self._results.send_bytes(message)
        except (OSError, ValueError):
            pass  # the exporting process went away; put() notices

    def put(self, *messages: bytes) -> None:
        self._put(messages)

    def _put(self, item: tuple[bytes, ...] | None) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise BrokenPipeError("the exporting process stopped reading") from None

    def close(self) -> None:
        """Send what is queued, then stop."""
        if self._thread.is_alive():
            try:
                self._put(None)
            except BrokenPipeError:
                pass
            self._thread.join()


def _work(tasks: Connection, results: Connection) -> None:
    """A worker: take its arguments, wait for "go", open a read transaction, then encode
    each batch of ids it is sent."""
    outbox = None
    try:
        path, fmt, columns, json_fields, select, readers = pickle.loads(tasks.recv_bytes())
        full, positions = stream_columns(select)
        figures = Figures()
        figures.bind(*positions)
        read = _Reader(path, f"SELECT {', '.join(full)}, a.id FROM articles a WHERE a.id IN ", len(full), readers)
        encode = _encoder(fmt, columns, json_fields)
        if tasks.recv_bytes() != b"go":
            return
        read.begin()
        results.send_bytes(b"ready")
        outbox = _Outbox(results)
        while message := tasks.recv_bytes():
            ids = array("q")
            ids.frombytes(message)
            rows = read(ids)
            payload, sizes = encode(rows)
            outbox.put(pickle.dumps((len(rows), *figures.batch_summary(rows), sizes)), payload)
        outbox.close()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the exporting process went away or stopped us
    except BaseException as exc:  # noqa: BLE001 - reported to the exporting process
        try:
            error = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
            if outbox is not None:  # after the batches already queued, never inside one
                outbox.put(error)
                outbox.close()
            else:
                results.send_bytes(error)
            # Stay until the exporting process reads the error and stops us: exiting now
            # would break the pipe it may be sending the next batch's ids into, and it
            # would report a dead worker instead of this error.
            while tasks.recv_bytes():
                pass
        except (OSError, ValueError, EOFError):
            pass


# -- exporting process ----------------------------------------------------------------


def _memory_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class WarmUp:
    """Read the articles table in storage order, in a thread, while a whole-archive export runs.

    The export reads rows in published_at order: when the file is not in the page cache
    that is two or three random 4 KiB disk reads per article, which cost the kernel far
    more than the same pages read in file order (measured on the 8 GB benchmark archive,
    cold: 18 s and 13 CPU s for the whole table in rowid order, with read-ahead, against
    ~40 CPU s more for the export's random reads). Only started when the file fits in
    half the available memory and a sample of rows reads slowly (a cold cache).
    """

    SAMPLE = 24
    COLD_US_PER_ROW = 60

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._thread = threading.Thread(target=self._run, name="export-warm-up", daemon=True)
        self.started = False

    @classmethod
    def wanted(cls, path: str) -> bool:
        available = _memory_available()
        try:
            size = os.path.getsize(path)
        except OSError:
            return False
        if available is None or size * 2 > available:
            return False
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            low, high = conn.execute("SELECT min(id), max(id) FROM articles").fetchone()
            if low is None or high - low < cls.SAMPLE * 100:
                return False
            ids = [low + (high - low) * k // cls.SAMPLE for k in range(cls.SAMPLE)]
            started = time.perf_counter()
            conn.execute(f"SELECT max(crawl_id) FROM articles WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
            return (time.perf_counter() - started) * 1e6 > cls.COLD_US_PER_ROW * len(ids)
        except sqlite3.Error:
            return False
        finally:
            conn.close()

    def start(self) -> None:
        self.started = True
        self._thread.start()

    def _run(self) -> None:
        try:
            # crawl_id comes after the text: SQLite reads every row whole, overflow pages too.
            self._conn.execute("SELECT max(a.crawl_id), max((SELECT p.crawl_id FROM pages p WHERE p.id = a.page_id)) "
                               "FROM articles a").fetchall()
        except sqlite3.Error as exc:  # interrupted by close(), or the file went away
            logger.debug("warm-up stopped: %s", exc)

    def close(self) -> None:
        if self.started:
            self._conn.interrupt()
            self._thread.join()
        self._conn.close()



class ParallelStream:
    """Encoded batches of the selection, in export order, from worker processes.

    Iterate after :meth:`start`: yields ``(rows, payload, sizes)``; ``figures`` is
    counted as the batches arrive. Use as a context manager: leaving it stops the
    workers.
    """

    def __init__(self, conn: sqlite3.Connection, path: str, where: str, params: Sequence[Any], fmt: str,
                 columns: dict[str, type], json_fields: Sequence[str], select: Sequence[str],
                 figures: Figures, workers: int = WORKERS, unit: int | None = None,
                 warm_up: bool = False) -> None:
        self._conn, self._path = conn, path
        self._where, self._params = where, list(params)
        self._args = (path, fmt, dict(columns), list(json_fields), list(select))
        self._figures = figures
        self._count = max(1, workers)
        self._unit = unit or UNIT_ROWS
        self._procs: list = []
        self._tasks: list = []
        self._results: list = []
        self._warm_up: WarmUp | None = None
        self._want_warm_up = warm_up
        # Encoded batches (jsonl, csv, txt) arrive in buffers that come back through
        # recycle() once written. A fresh 2.5 MB bytes object per batch costs a page fault
        # per 4 KiB: 870,000 faults and 15-20 s of kernel time per 1M articles on this
        # project's VM, where fresh pages are expensive. Parquet's Arrow batches keep
        # pointing into their buffer, so those are received as bytes.
        self._reuse = fmt != "parquet"
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()

    def start(self) -> None:
        """Start the workers and give them the exporting connection's snapshot.

        Must be called before the exporting connection's first read in its transaction.
        Raises :class:`NotParallel` (workers stopped) when that cannot be done.
        """
        try:
            for _ in range(self._count):
                self._spawn()
            self._share_snapshot()
            if self._want_warm_up and WarmUp.wanted(self._path):
                self._warm_up = WarmUp(self._path)
                self._warm_up.start()
                logger.info("the archive is not in the page cache: reading it in storage order meanwhile")
        except NotParallel:
            self.close()
            raise
        except (OSError, sqlite3.Error, EOFError) as exc:
            self.close()
            raise NotParallel(str(exc)) from exc

    def _spawn(self) -> None:
        # A plain child process, not multiprocessing's spawn: that re-imports the caller's
        # __main__, which a script without an ``if __name__ == "__main__"`` guard cannot take.
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            # The same package as this process's, wherever that was imported from.
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
            proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from archive.export_parallel import main; main(sys.argv[1:])",
                 str(task_read), str(result_write)],
                pass_fds=(task_read, result_write), stdin=subprocess.DEVNULL, env=env)
        except BaseException:
            for fd in (task_read, task_write, result_read, result_write):
                os.close(fd)
            raise
        os.close(task_read)
        os.close(result_write)
        self._procs.append(proc)
        self._tasks.append(Connection(task_write, readable=False))
        self._results.append(Connection(result_read, writable=False))
        self._tasks[-1].send_bytes(pickle.dumps((*self._args, READERS)))

    def _share_snapshot(self) -> None:
        try:
            lock = sqlite3.connect(self._path, timeout=LOCK_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise NotParallel(f"cannot open the archive for the lock: {exc}") from exc
        try:
            try:
                lock.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise NotParallel(f"no write lock: {exc}") from exc
            # No commit can land now: every read transaction opened below sees one state.
            self._conn.execute("SELECT 1 FROM articles LIMIT 1").fetchall()
            for tasks in self._tasks:
                tasks.send_bytes(b"go")
            for results in self._results:
                if not results.poll(START_TIMEOUT):
                    raise NotParallel("a worker did not start")
                answer = results.recv_bytes()
                if answer != b"ready":
                    raise NotParallel(f"a worker failed: {pickle.loads(answer)[1]}")
        finally:
            lock.execute("ROLLBACK") if lock.in_transaction else None
            lock.close()

    def _ids(self) -> Iterator[tuple[bytes, bool]]:
        queries = (
            (f"SELECT a.id FROM articles a WHERE {self._where} AND a.published_at IS NOT NULL "
             "ORDER BY a.published_at, a.id", True),
            (f"SELECT a.id FROM articles a WHERE {self._where} AND a.published_at IS NULL ORDER BY a.id", False),
        )
        for sql, dated in queries:
            cursor = self._conn.execute(sql, self._params)
            try:
                while rows := cursor.fetchmany(self._unit):
                    yield array("q", [row[0] for row in rows]).tobytes(), dated
            finally:
                cursor.close()

    def _receive(self, worker: int) -> tuple[int, Any, Any, Any, Any]:
        try:
            head = pickle.loads(self._results[worker].recv_bytes())
        except (EOFError, OSError):
            raise RuntimeError("an export worker died") from None
        if head[0] == "error":
            raise RuntimeError(f"an export worker failed: {head[1]}")
        if not self._reuse:
            return (*head, self._results[worker].recv_bytes())
        try:
            return (*head, self._read_payload(self._results[worker].fileno()))
        except (EOFError, OSError):
            raise RuntimeError("an export worker died") from None

    def _read_payload(self, fd: int) -> memoryview:
        """One message of multiprocessing's wire format (a signed 4-byte length, or -1 and
        an 8-byte one), read straight into a recycled buffer."""
        (size,) = struct.unpack("!i", _read_exactly(fd, 4))
        if size == -1:
            (size,) = struct.unpack("!Q", _read_exactly(fd, 8))
        try:
            buffer = self._free.get_nowait()
        except queue.Empty:
            buffer = bytearray(size)
        if len(buffer) < size:
            buffer = bytearray(size)
        view = memoryview(buffer)[:size]
        got = 0
        while got < size:
            n = os.readv(fd, [view[got:]])
            if n == 0:
                raise EOFError
            got += n
        return view

    def recycle(self, payload: memoryview | bytes) -> None:
        """Hand back a payload this stream yielded, once it is written: its buffer is reused."""
        if isinstance(payload, memoryview) and isinstance(payload.obj, bytearray):
            self._free.put(payload.obj)

    def __iter__(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        pending: list[tuple[int, bool]] = []  # (worker, dated) of the batches sent, oldest first
        sent = 0
        ids = self._ids()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self._count * DEPTH:
                    unit = next(ids, None)
                    if unit is None:
                        exhausted = True
                        break
                    worker = sent % self._count
                    try:
                        self._tasks[worker].send_bytes(unit[0])
                    except OSError:
                        raise RuntimeError("an export worker died") from None
                    pending.append((worker, unit[1]))
                    sent += 1
                if not pending:
                    return
                worker, dated = pending.pop(0)
                rows, groups, first, last, sizes, payload = self._receive(worker)
                self._figures.merge(rows, groups, first, last, dated)
                yield rows, payload, sizes
        finally:
            ids.close()

    def close(self) -> None:
        if self._warm_up is not None:
            self._warm_up.close()
            self._warm_up = None
        # Results first: a worker blocked sending a batch nobody will read then fails
        # (BrokenPipeError) and ends, instead of waiting for its "stop" forever.
        for results in self._results:
            results.close()
        for tasks in self._tasks:
            try:
                tasks.send_bytes(b"")
            except OSError:
                pass
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for tasks in self._tasks:
            tasks.close()
        self._procs, self._tasks, self._results = [], [], []

    def __enter__(self) -> ParallelStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def main(argv: Sequence[str]) -> None:
    """A worker process's entry point: the file descriptors of its two pipes."""
    _work(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False))
