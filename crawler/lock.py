"""One crawl per archive at a time.

An advisory ``flock`` on ``<archive>.lock``: the kernel drops it when the holding process
dies, however it dies (kill -9 included), so a stale lock never blocks the next cron run.
"""

from __future__ import annotations

import fcntl
import os


class ArchiveLocked(RuntimeError):
    """Another crawl holds the archive."""


class CrawlLock:
    def __init__(self, db_path: str | os.PathLike):
        self.path = os.fspath(db_path) + ".lock"
        self._fd: int | None = None

    def acquire(self) -> "CrawlLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 64).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
            raise ArchiveLocked(
                f"another crawl is running on this archive (pid {holder or '?'}, lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "CrawlLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
