"""A small pool of worker processes for CPU-bound work (page extraction) during a crawl.

Extraction costs tens of milliseconds of pure Python per page; run in Scrapy's process it
blocks the reactor and uses one core.  This pool runs it in ``size`` separate processes.

Why not ``concurrent.futures.ProcessPoolExecutor``: when one of its workers dies (a crash in
a C parser, the OOM killer, a kill by hand), every pending future fails with
``BrokenProcessPool`` and nobody can tell which page did it.  Here each worker holds exactly
one task at a time, driven by its own thread in the parent, so a death or a hang is charged
to that one task (``WorkerCrashed`` / ``WorkerTimeout``), the worker is replaced, and the
other tasks go on.

Workers start from a fork server that has already imported ``preload`` (so a replacement
starts in milliseconds, not the seconds trafilatura and dateparser take to import) and send
their log records back to the parent, where they go through the crawl's own logging.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import queue
import signal
import threading
from concurrent.futures import Future
from typing import Any, Callable, Iterable

logger = logging.getLogger(__name__)

_STOP = object()


class WorkerCrashed(RuntimeError):
    """The worker process died while it ran the task."""


class WorkerTimeout(RuntimeError):
    """The task ran longer than the pool's timeout; its worker was killed."""


class RemoteError(RuntimeError):
    """An exception raised in a worker that could not be sent back as it was."""


def default_size() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def describe_exit(code: int | None) -> str:
    """``exit code 3`` or ``killed by SIGKILL`` for a dead process's exitcode."""
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# -- the worker process ------------------------------------------------------------------


def _serve(conn, log_queue, log_level: int) -> None:
    """Worker main loop: receive ``(fn, args)``, send back ``(True, result)`` or ``(False, exc)``."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_queue is not None:
        root.addHandler(logging.handlers.QueueHandler(log_queue))
    root.setLevel(log_level)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        fn, args = message
        try:
            reply = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            conn.send((False, RemoteError(f"{type(reply[1]).__name__} could not be sent back: {exc}")))


class _Relay(logging.Handler):
    """Parent side of worker logging: hand each record to the logger it was made for."""

    def handle(self, record: logging.LogRecord) -> bool:
        logging.getLogger(record.name).handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does it
        pass


# -- the parent side -----------------------------------------------------------------------


class _Slot:
    """One worker process and the parent thread that feeds it."""

    def __init__(self, pool: "WorkerPool", index: int):
        self.pool = pool
        self.index = index
        self.proc = None
        self.conn = None
        self.tasks = 0  # tasks run by the current process
        self.thread = threading.Thread(target=self._loop, name=f"{pool.name}-{index}", daemon=True)

    def spawn(self) -> None:
        ctx = self.pool.ctx
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child_end, self.pool.log_queue, self.pool.log_level),
                           name=f"{self.pool.name}-{self.index}", daemon=True)
        proc.start()
        child_end.close()
        self.proc, self.conn = proc, parent_end
        self.tasks = 0
        self.pool.started += 1

    def _reap(self, kill: bool) -> int | None:
        """Make sure the worker is gone; return its exit code."""
        proc, conn = self.proc, self.conn
        self.proc = self.conn = None
        if conn is not None:
            conn.close()
        if proc is None:
            return None
        if kill and proc.is_alive():
            proc.kill()
        proc.join(5)
        return proc.exitcode

    def run(self, fn: Callable, args: tuple) -> Any:
        limit = self.pool.max_tasks
        if limit and self.proc is not None and self.tasks >= limit:
            # Long crawls: whatever a worker's libraries cache or fragment goes with it.
            self.stop()
            self.pool.recycled += 1
        if self.proc is None or not self.proc.is_alive():
            if self.proc is not None:
                self._reap(kill=True)
            self.spawn()
        # A task that cannot be pickled fails here, before anything is written to the pipe.
        try:
            self.conn.send((fn, args))
            timeout = self.pool.timeout
            if timeout and not self.conn.poll(timeout):
                self._reap(kill=True)
                self.pool.replaced += 1
                raise WorkerTimeout(f"no result after {timeout:g} s; worker killed")
            ok, value = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            code = self._reap(kill=True)
            self.pool.replaced += 1
            raise WorkerCrashed(f"worker process died ({describe_exit(code)})") from None
        self.tasks += 1
        if ok:
            return value
        raise value

    def _loop(self) -> None:
        # The process starts with the first task: a crawl that finds nothing new (most
        # scheduled re-runs) never pays for the fork server's imports.
        jobs = self.pool.jobs
        while True:
            job = jobs.get()
            if job is _STOP:
                break
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = self.run(fn, args)
            except BaseException as exc:  # noqa: BLE001 - delivered to the caller
                future.set_exception(exc)
            else:
                future.set_result(result)
        self.stop()

    def stop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.send(None)
            except OSError:
                pass
        if self.proc is not None:
            self.proc.join(self.pool.stop_timeout)
        self._reap(kill=True)


class WorkerPool:
    """``size`` worker processes, one task each at a time; ``submit`` returns a Future.

    ``timeout`` (seconds, 0 = none) bounds one task; ``preload`` names modules the fork
    server imports once for all workers; ``log_level`` is the lowest level workers send back;
    ``max_tasks`` (0 = no limit) replaces a worker after that many tasks, so its memory
    cannot creep over a long crawl.  Worker processes start with their first task.
    Futures complete in the pool's threads: callers in an event loop hand results over
    themselves (e.g. ``reactor.callFromThread``).
    """

    def __init__(self, size: int | None = None, *, timeout: float = 0, preload: Iterable[str] = (),
                 log_level: int = logging.INFO, name: str = "worker", stop_timeout: float = 10,
                 max_tasks: int = 0):
        self.size = size or default_size()
        self.max_tasks = max_tasks
        self.recycled = 0  # workers replaced after max_tasks
        self.timeout = timeout
        self.preload = list(preload)
        self.log_level = log_level
        self.name = name
        self.stop_timeout = stop_timeout
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.started = 0  # worker processes started, replacements included
        self.replaced = 0  # workers that died or were killed mid-task
        self.ctx = None
        self.log_queue = None
        self._listener = None
        self._slots: list[_Slot] = []
        self._closed = False

    def start(self) -> "WorkerPool":
        methods = multiprocessing.get_all_start_methods()
        # The fork server is one clean single-threaded process with the heavy imports done;
        # forking the crawl process itself (threads, reactor, open sockets) would not be safe.
        self.ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if self.preload and self.ctx.get_start_method() == "forkserver":
            self.ctx.set_forkserver_preload(self.preload)
        self.log_queue = self.ctx.Queue()
        self._listener = logging.handlers.QueueListener(self.log_queue, _Relay())
        self._listener.start()
        self._slots = [_Slot(self, i) for i in range(self.size)]
        for slot in self._slots:
            slot.thread.start()
        logger.debug("%d %s processes starting (%s)", self.size, self.name, self.ctx.get_start_method())
        return self

    def submit(self, fn: Callable, *args) -> Future:
        """Run ``fn(*args)`` in a worker; ``fn`` and the arguments must be picklable."""
        if self._closed:
            raise RuntimeError("pool is closed")
        future: Future = Future()
        self.jobs.put((fn, args, future))
        return future

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [s.proc.pid for s in self._slots if s.proc is not None and s.proc.is_alive()]

    def close(self) -> None:
        """Finish the queued tasks, stop the workers and the log relay (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for _ in self._slots:
            self.jobs.put(_STOP)
        for slot in self._slots:
            slot.thread.join()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self.log_queue is not None:
            self.log_queue.close()
            self.log_queue.join_thread()
        logger.debug("%s pool closed: %d started, %d replaced", self.name, self.started, self.replaced)

    def __enter__(self) -> "WorkerPool":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
