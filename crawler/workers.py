"""A small pool of worker processes for CPU-bound work (page extraction) during a crawl.

Extraction costs tens of milliseconds of pure Python per page; run in Scrapy's process it
blocks the reactor and uses one core.  This pool runs it in ``size`` separate processes.

It is pebble's ``ProcessPool``, not ``concurrent.futures.ProcessPoolExecutor``: when one of
the executor's workers dies (a crash in a C parser, the OOM killer, a kill by hand), every
pending future fails with ``BrokenProcessPool`` and nobody can tell which page did it.  With
pebble a death or a hang is charged to that one task (``WorkerCrashed`` / ``WorkerTimeout``
here), the worker is replaced, and the other tasks go on; it also replaces a worker after
``max_tasks`` tasks.

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
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Iterable

from pebble import ProcessExpired, ProcessPool

logger = logging.getLogger(__name__)


class WorkerCrashed(RuntimeError):
    """The worker process died while it ran the task."""


class WorkerTimeout(RuntimeError):
    """The task ran longer than the pool's timeout; its worker was killed."""


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


def _init_worker(started, log_queue, log_level: int) -> None:
    """Run by pebble in every worker as it starts: report it, send its logs to the parent."""
    # Its own process group: a signal sent to the whole group the crawl runs in (`timeout`,
    # Ctrl-C on a terminal) reaches the crawl process alone, which lets the pages in hand
    # finish. The pool still stops its workers by their pids.
    os.setpgrp()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_queue is not None:
        root.addHandler(logging.handlers.QueueHandler(log_queue))
    root.setLevel(log_level)
    started.put(os.getpid())


def _timed(fn: Callable, args: tuple) -> tuple[float, Any]:
    begin = time.monotonic()
    result = fn(*args)
    return time.monotonic() - begin, result


class _Relay(logging.Handler):
    """Parent side of worker logging: hand each record to the logger it was made for."""

    def handle(self, record: logging.LogRecord) -> bool:
        logging.getLogger(record.name).handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does it
        pass


# -- the parent side -----------------------------------------------------------------------


class WorkerPool:
    """``size`` worker processes, one task each at a time; ``submit`` returns a Future.

    ``timeout`` (seconds, 0 = none) bounds one task; ``preload`` names modules the fork
    server imports once for all workers; ``log_level`` is the lowest level workers send back;
    ``max_tasks`` (0 = no limit) replaces a worker after that many tasks, so its memory
    cannot creep over a long crawl.  Worker processes start with the first task.
    Futures complete in the pool's threads: callers in an event loop hand results over
    themselves (e.g. ``reactor.callFromThread``).
    """

    def __init__(self, size: int | None = None, *, timeout: float = 0, preload: Iterable[str] = (),
                 log_level: int = logging.INFO, name: str = "worker", max_tasks: int = 0):
        self.size = size or default_size()
        self.max_tasks = max_tasks
        self.timeout = timeout
        self.preload = list(preload)
        self.log_level = log_level
        self.name = name
        self.replaced = 0  # workers that died or were killed mid-task
        self.ctx = None
        self.log_queue = None
        self._listener = None
        self._pool: ProcessPool | None = None
        self._started_queue = None
        self._pids: list[int] = []
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None
        self._closed = False

    def start(self) -> "WorkerPool":
        methods = multiprocessing.get_all_start_methods()
        # The fork server is one clean single-threaded process with the heavy imports done;
        # forking the crawl process itself (threads, reactor, open sockets) would not be safe.
        self.ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if self.preload and self.ctx.get_start_method() == "forkserver":
            self.ctx.set_forkserver_preload(self.preload)
        self.log_queue = self.ctx.Queue()
        self._started_queue = self.ctx.SimpleQueue()
        self._listener = logging.handlers.QueueListener(self.log_queue, _Relay())
        self._listener.start()
        self._pool = ProcessPool(max_workers=self.size, max_tasks=self.max_tasks, context=self.ctx,
                                 initializer=_init_worker,
                                 initargs=(self._started_queue, self.log_queue, self.log_level))
        # pebble starts its processes (and the fork server its preload) in the thread that
        # schedules the first task: not the caller's, which may be the crawl's event loop.
        self._dispatcher = threading.Thread(target=self._dispatch, name=f"{self.name}-dispatch", daemon=True)
        self._dispatcher.start()
        logger.debug("%d %s processes (%s)", self.size, self.name, self.ctx.get_start_method())
        return self

    def _dispatch(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, future = job
            try:
                inner = self._pool.schedule(_timed, (fn, args), timeout=self.timeout or None)
            except BaseException as exc:  # noqa: BLE001 - e.g. the processes could not start
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)
                continue
            inner.add_done_callback(lambda done, future=future: self._deliver(done, future))

    def submit(self, fn: Callable, *args) -> Future:
        """Run ``fn(*args)`` in a worker; ``fn`` and the arguments must be picklable."""
        if self._closed or self._pool is None:
            raise RuntimeError("pool is closed")
        future: Future = Future()
        self._jobs.put((fn, args, future))
        return future

    def _deliver(self, done, future: Future) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            elapsed, result = done.result()
        except FutureTimeout:
            self.replaced += 1
            future.set_exception(WorkerTimeout(f"no result after {self.timeout:g} s; worker killed"))
        except ProcessExpired as exc:
            self.replaced += 1
            future.set_exception(WorkerCrashed(f"worker process died ({describe_exit(exc.exitcode)})"))
        except BaseException as exc:  # noqa: BLE001 - the task's own exception, for the caller
            future.set_exception(exc)
        else:
            if self.timeout and elapsed > self.timeout:
                # Finished after the limit but before pebble's next check: the limit is the
                # limit, whichever side of that check the task ended on.
                future.set_exception(WorkerTimeout(f"no result after {self.timeout:g} s"))
            else:
                future.set_result(result)

    def _drain_started(self) -> None:
        queue = self._started_queue
        while queue is not None and not queue.empty():
            self._pids.append(queue.get())

    @property
    def started(self) -> int:
        """Worker processes started, replacements included."""
        self._drain_started()
        return len(self._pids)

    @property
    def recycled(self) -> int:
        """Workers replaced after max_tasks."""
        return max(0, self.started - min(self.size, self.started) - self.replaced)

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        self._drain_started()
        mine = set(self._pids)
        return sorted(p.pid for p in multiprocessing.active_children() if p.pid in mine)

    def close(self) -> None:
        """Finish the queued tasks, stop the workers and the log relay (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._dispatcher is not None:
            self._jobs.put(None)
            self._dispatcher.join()
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
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
