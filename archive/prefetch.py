"""Read rows ahead of an export so their pages are already in the OS page cache.

An export reads articles in published_at order, which in a real archive (and in the
benchmark's) is unrelated to the order the rows were stored in: each article is a random
read of 2-4 pages of the file (table leaf, overflow pages, the page row). When they are
not in the page cache, a reader waits for one disk read at a time. On this VM a random
4 KiB read takes ~80 us alone but 8 in flight complete at 43,000/s, and the page cache
of an 8 GB archive does not survive long (the host reclaims it), so a 1,000,000-article
export was disk-bound: 3,900 articles/s, half of its time waiting.

:class:`Prefetcher` takes the ids the export is about to read and reads those rows on
its own connections, in threads (SQLite releases the GIL), several chunks at once. It
only warms the cache: the export's own connections still read every row in their own
snapshot, so what the export writes never depends on it. When its reads find the pages
already cached, it reads only a sample of the chunks (a warm archive pays little for it).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

__all__ = ["Prefetcher", "database_file"]

CHUNK_ROWS = 64
# Reads in flight. Measured on this VM (virtio disk): 12,000 random 4 KiB reads/s at one
# in flight, 43,000 at 8, 54,000 at 32.
READERS = 4
# A chunk read faster than this per row found its pages cached (a cold row takes 100 us
# or more); then only one chunk in SKIP_WHEN_WARM + 1 is read, to notice when that changes.
WARM_US_PER_ROW = 25
SKIP_WHEN_WARM = 15


def database_file(conn: sqlite3.Connection) -> str | None:
    """The main database's file, or None for an in-memory or temporary database."""
    for _, name, path in conn.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


class Prefetcher:
    """Read the rows of the ids given to :meth:`submit` in ``readers`` threads.

    Best effort: ids that do not fit in the queue are dropped, and a failure (a locked or
    vanished file) only ends the read ahead. :meth:`close` stops and joins the threads.
    """

    def __init__(self, path: str, readers: int = READERS, chunk: int = CHUNK_ROWS) -> None:
        self._path = path
        self._chunk = chunk
        self._queue: queue.Queue = queue.Queue(maxsize=readers * 64)
        self._skip = 0
        self.rows_read = 0
        self.rows_skipped = 0
        self._threads = [threading.Thread(target=self._read, name=f"export-prefetch-{i}", daemon=True)
                         for i in range(readers)]
        for thread in self._threads:
            thread.start()

    def submit(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), self._chunk):
            try:
                self._queue.put_nowait(ids[start:start + self._chunk])
            except queue.Full:
                return

    def _read(self) -> None:
        conn = None
        statements: dict[int, str] = {}
        try:
            while (ids := self._queue.get()) is not None:
                if self._skip > 0:
                    self._skip -= 1
                    self.rows_skipped += len(ids)
                    continue
                if conn is None:
                    conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True)
                sql = statements.get(len(ids))
                if sql is None:
                    # max(a.crawl_id), a late column: SQLite walks the whole record, its
                    # overflow pages included; the subquery reads the page row the export
                    # looks up too.
                    sql = statements[len(ids)] = (
                        "SELECT max(a.crawl_id), max((SELECT p.crawl_id FROM pages p WHERE p.id = a.page_id)) "
                        f"FROM articles a WHERE a.id IN ({','.join('?' * len(ids))})")
                started = time.perf_counter()
                conn.execute(sql, list(ids)).fetchall()
                if (time.perf_counter() - started) * 1e6 < WARM_US_PER_ROW * len(ids):
                    self._skip = SKIP_WHEN_WARM
                self.rows_read += len(ids)
        except sqlite3.Error as exc:
            logger.debug("read ahead stopped: %s", exc)
            while self._queue.get() is not None:
                pass
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        # Pending chunks are dropped: the export no longer needs them.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
