"""Read ahead of an export's cursor so its pages are already in the OS page cache.

An export reads articles in published_at order, which in a real archive (and in the
benchmark's) is unrelated to the order the rows were stored in: each article is a random
read of 2-4 pages of the file (table leaf, overflow, the page row). When those pages are
not in the page cache, one cursor waits for one read at a time. On this VM a random 4 KiB
read takes ~80 us alone and ~20 us each when 8 are in flight, and the page cache of an
8 GB archive does not survive long, so a cold 1,000,000-article export was disk-bound
(3,900 articles/s, half its time waiting).

:class:`Prefetcher` reads the same rows a few thousand rows ahead, on its own
connections in threads: one lists the ids in export order (from the published_at index,
cheap), several read the rows of one chunk each (``max(crawl_id)`` needs the whole
record, overflow pages included, and the page row) in one SQL statement, so the GIL is
held once per chunk. It only warms the cache: the export's own cursor still reads every
row, in its own snapshot, so what it writes cannot depend on the prefetcher (a crawl
committing meanwhile can only make a read ahead useless, never wrong).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["Prefetcher", "database_file"]

# Rows read ahead of the export's cursor: enough to keep READERS reads in flight, few
# enough (about 50 MB of 5 KiB articles) not to push other pages out of the cache.
LOOKAHEAD_ROWS = 8192
CHUNK_ROWS = 128
# Reads in flight. Measured on this VM (virtio disk): 12,000 random 4 KiB reads/s at one
# in flight, 43,000 at 8, 54,000 at 32.
READERS = 6


def database_file(conn: sqlite3.Connection) -> str | None:
    """The main database's file, or None for an in-memory or temporary database."""
    for _, name, path in conn.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


class Prefetcher:
    """Warm the page cache for the rows that ``queries`` yield, ahead of :meth:`advance`.

    ``queries`` are ``(sql, params)`` selecting one id per row, in the export's order.
    The export calls :meth:`advance` with the rows it has read; the prefetcher stays at
    most ``lookahead`` rows ahead. Any failure in the prefetcher (a locked or vanished
    file) only ends the read ahead; :meth:`close` stops and joins every thread.
    """

    def __init__(self, path: str, queries: Sequence[tuple[str, Sequence[Any]]], *,
                 lookahead: int = LOOKAHEAD_ROWS, chunk: int = CHUNK_ROWS, readers: int = READERS) -> None:
        self._path = path
        self._queries = list(queries)
        self._lookahead = lookahead
        self._chunk = chunk
        self._consumed = 0
        self._stop = False
        self._cond = threading.Condition()
        self._chunks: queue.Queue = queue.Queue(maxsize=readers * 2)
        self.rows_listed = 0
        self.rows_read = 0
        self._threads = [threading.Thread(target=self._list_ids, name="export-prefetch-ids", daemon=True)]
        self._threads += [threading.Thread(target=self._read_chunks, name=f"export-prefetch-{i}", daemon=True)
                          for i in range(readers)]
        self._readers = readers
        for thread in self._threads:
            thread.start()

    def _connect(self) -> sqlite3.Connection:
        # Read-only and never waiting on a lock: the read ahead is only worth it if it is free.
        conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=True)
        conn.execute("PRAGMA query_only = 1")
        return conn

    def advance(self, rows: int) -> None:
        """The export has read ``rows`` more rows."""
        with self._cond:
            self._consumed += rows
            self._cond.notify_all()

    def _list_ids(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            logger.debug("no read ahead: %s", exc)
            self._finish_readers()
            return
        try:
            listed = 0
            for sql, params in self._queries:
                cursor = conn.execute(sql, params)
                while ids := cursor.fetchmany(self._chunk):
                    with self._cond:
                        while not self._stop and listed - self._consumed >= self._lookahead:
                            self._cond.wait()
                        if self._stop:
                            return
                    listed += len(ids)
                    self.rows_listed = listed
                    self._chunks.put([row[0] for row in ids])
        except sqlite3.Error as exc:
            logger.debug("read ahead stopped: %s", exc)
        finally:
            conn.close()
            self._finish_readers()

    def _finish_readers(self) -> None:
        for _ in range(self._readers):
            self._chunks.put(None)

    def _read_chunks(self) -> None:
        conn = None
        statements: dict[int, str] = {}
        try:
            while (ids := self._chunks.get()) is not None:
                if self._stop:
                    continue  # drain, so the lister never blocks on a full queue
                if conn is None:
                    conn = self._connect()
                sql = statements.get(len(ids))
                if sql is None:
                    marks = ",".join("?" * len(ids))
                    # max(a.crawl_id): the last columns, so SQLite walks the whole record
                    # (its overflow pages); the subquery reads the page row the export's
                    # manifest figures look up.
                    sql = statements[len(ids)] = (
                        "SELECT max(a.crawl_id), max((SELECT p.crawl_id FROM pages p WHERE p.id = a.page_id)) "
                        f"FROM articles a WHERE a.id IN ({marks})")
                conn.execute(sql, ids).fetchall()
                self.rows_read += len(ids)
        except sqlite3.Error as exc:
            logger.debug("read ahead stopped: %s", exc)
            while self._chunks.get() is not None:
                pass
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class FileWarmer:
    """Ask the kernel to read a whole file into the page cache, in order, in a thread.

    Sequential reads run at disk speed (1.2 GB/s here, against 12,000 random reads/s),
    and ``posix_fadvise(WILLNEED)`` copies nothing to the process.
    """

    STEP = 32 << 20

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = False
        self.bytes_done = 0
        self._thread = threading.Thread(target=self._run, name="export-warm", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import os
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except OSError as exc:
            logger.debug("no warm-up: %s", exc)
            return
        try:
            size = os.fstat(fd).st_size
            offset = 0
            while offset < size and not self._stop:
                os.posix_fadvise(fd, offset, self.STEP, os.POSIX_FADV_WILLNEED)
                offset += self.STEP
                self.bytes_done = min(offset, size)
        except OSError as exc:
            logger.debug("warm-up stopped: %s", exc)
        finally:
            os.close(fd)

    def advance(self, rows: int) -> None:
        pass

    def close(self) -> None:
        self._stop = True
        self._thread.join()
