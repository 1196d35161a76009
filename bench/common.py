"""Shared benchmark helpers: the sample site in its own process, and measured child runs.

CPU and memory are counted for the whole process tree a command starts, worker processes
included.  Workers of the crawl are children of multiprocessing's fork server, which is not
waited for by the crawl, so ``os.wait4`` on the crawl alone would miss them.  The bench
process therefore makes itself a *child subreaper* (Linux): processes orphaned when the crawl
exits are re-parented to it and reaped here, and the CPU time of every process of the tree
ends up in exactly one ``wait4`` result.  Memory is sampled from /proc while the command runs.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
_PR_SET_CHILD_SUBREAPER = 36
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def become_subreaper() -> None:
    """Make orphaned descendants our children, so their CPU time can be collected."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _ppids() -> dict[int, int]:
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        fields = stat[stat.rindex(b")") + 2:].split()
        out[int(entry.name)] = int(fields[1])
    return out


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, now."""
    return [child for child, parent in _ppids().items() if parent == pid]


def descendants(root: int, ppids: dict[int, int] | None = None) -> set[int]:
    ppids = _ppids() if ppids is None else ppids
    children: dict[int, list[int]] = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def rss_pss(pid: int) -> tuple[int, int]:
    """Resident and proportional set size of one process, in bytes (0, 0 if gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (itself only)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


@dataclass
class Run:
    """One measured command: wall and CPU seconds of its whole tree, peak memory."""

    label: str
    wall: float = 0.0
    cpu_user: float = 0.0
    cpu_sys: float = 0.0
    peak_rss_sum: int = 0  # bytes: the largest sum of RSS over the tree at one sample
    peak_pss_sum: int = 0  # bytes: same with PSS (shared pages split between processes)
    max_rss_single: int = 0  # bytes: the largest single process (getrusage maxrss)
    max_procs: int = 0
    returncode: int | None = None
    loadavg_before: float = 0.0
    pages: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_sys

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def pages_per_cpu_s(self) -> float:
        return self.pages / self.cpu if self.cpu else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(cpu=self.cpu, pages_per_s=self.pages_per_s, pages_per_cpu_s=self.pages_per_cpu_s)
        return d


def _loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def measure(label: str, cmd: list[str], *, cwd: str | os.PathLike | None = None, env: dict | None = None,
            timeout: float = 7200, sample_every: float = 0.25, ignore: set[int] = frozenset()) -> tuple[Run, str, str]:
    """Run ``cmd`` to completion; return its Run, stdout and stderr.

    ``ignore`` are our own long-lived children (the site server) that are not part of it.
    """
    run = Run(label, loadavg_before=_loadavg())
    me = os.getpid()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=err)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                ppids = _ppids()
                tree = descendants(me, ppids) - ignore
                for pid in ignore:
                    tree -= descendants(pid, ppids)
                sizes = [rss_pss(pid) for pid in tree]
                run.peak_rss_sum = max(run.peak_rss_sum, sum(r for r, _ in sizes))
                run.peak_pss_sum = max(run.peak_pss_sum, sum(p for _, p in sizes))
                run.max_procs = max(run.max_procs, len(tree))
                stop.wait(sample_every)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = time.monotonic() + timeout
        reaped = _reap(proc.pid, deadline)
        run.wall = time.perf_counter() - start
        # whatever the command left behind (fork server, resource tracker) was re-parented
        # to us: reap it too, so its CPU time (and its own children's) is counted
        while True:
            left = [p for p, pp in _ppids().items() if pp == me and p not in ignore]
            if not left:
                break
            for pid in left:
                reaped.update(_reap(pid, deadline))
        stop.set()
        sampler.join()
        proc.returncode = reaped[proc.pid][0]
        top = reaped[proc.pid][1]
        # the command's own process (with whatever it waited for itself, not its workers)
        run.extra["top_cpu"] = round(top.ru_utime + top.ru_stime, 2)
        for status, usage in reaped.values():
            run.cpu_user += usage.ru_utime
            run.cpu_sys += usage.ru_stime
            run.max_rss_single = max(run.max_rss_single, usage.ru_maxrss * 1024)
        run.returncode = proc.returncode
        out.seek(0)
        err.seek(0)
        return run, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")


def _reap(pid: int, deadline: float) -> dict[int, tuple[int, os.struct_rusage]]:
    while True:
        try:
            got, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return {}
        if got:
            code = os.waitstatus_to_exitcode(status)
            return {pid: (code, usage)}
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            deadline = time.monotonic() + 30
        time.sleep(0.02)


class SiteProcess:
    """The sample site served by ``python -m samplesite`` in its own process."""

    def __init__(self, articles: int, page_kb: int, seed: int = 0, gzip: bool = True):
        cmd = [PYTHON, "-m", "samplesite", "--articles", str(articles), "--page-kb", str(page_kb),
               "--seed", str(seed), "--port", "0"]
        if not gzip:
            cmd.append("--no-gzip")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"sample site did not start: {line!r}")
        self.url = line.split()[0].rstrip("/")
        self.pid = self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "SiteProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def median_run(runs: list[Run]) -> Run:
    """The run with the median wall time (for an odd count; the lower middle otherwise)."""
    ordered = sorted(runs, key=lambda r: r.wall)
    return ordered[(len(ordered) - 1) // 2]


def med(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def mb(n: float) -> str:
    return f"{n / 2**20:.0f}"


def save_json(path: str | os.PathLike, data) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str))
