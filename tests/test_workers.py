"""The extraction worker pool: real processes, real crashes, real hangs."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sqlite3
import time

import pytest

from conftest import FAST, run_cli
from crawler.workers import WorkerCrashed, WorkerPool, WorkerTimeout


def square_or_die(x: int) -> int:
    """Kill the own process on -1, hang on -2, raise on -3, log on -4."""
    if x == -1:
        os.kill(os.getpid(), signal.SIGKILL)
    if x == -2:
        time.sleep(60)
    if x == -3:
        raise ValueError("bad input -3")
    if x == -4:
        logging.getLogger("crawler.test_workers").warning("hello from pid %s", os.getpid())
    return x * x


def worker_pid(_: int) -> int:
    return os.getpid()


def slow_pid(_: int) -> int:
    time.sleep(0.3)
    return os.getpid()


def started(pool: WorkerPool) -> WorkerPool:
    """Make every worker process start (they start with the first task) and wait for them."""
    assert pool.submit(slow_pid, 0).result(timeout=60) in pool.pids()
    deadline = time.monotonic() + 60
    while len(pool.pids()) < pool.size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pool.pids()) == pool.size
    return pool


@pytest.fixture
def pool():
    p = started(WorkerPool(2, timeout=3, name="test").start())
    yield p
    p.close()


def test_results_come_back_from_other_processes(pool):
    futures = [pool.submit(square_or_die, i) for i in range(20)]
    assert [f.result(timeout=30) for f in futures] == [i * i for i in range(20)]
    pids = {pool.submit(worker_pid, 0).result(timeout=30) for _ in range(10)}
    assert os.getpid() not in pids and pids <= set(pool.pids())


def test_a_crash_is_charged_to_its_task_only(pool):
    before = set(pool.pids())
    futures = [pool.submit(square_or_die, i) for i in (1, 2, -1, 3, 4, 5)]
    with pytest.raises(WorkerCrashed, match="SIGKILL"):
        futures[2].result(timeout=30)
    assert [f.result(timeout=30) for i, f in enumerate(futures) if i != 2] == [1, 4, 9, 16, 25]
    assert pool.replaced == 1
    # the dead worker is replaced with the next task its slot takes: two live workers again,
    # one of them new
    assert pool.submit(square_or_die, 6).result(timeout=30) == 36
    started(pool)
    assert pool.started == 3
    assert len(pool.pids()) == 2 and set(pool.pids()) != before


def test_a_hung_task_times_out_and_its_worker_is_killed(pool):
    hung = pool.submit(square_or_die, -2)
    ok = pool.submit(square_or_die, 7)
    assert ok.result(timeout=30) == 49
    start = time.monotonic()
    with pytest.raises(WorkerTimeout, match="3 s"):
        hung.result(timeout=30)
    assert time.monotonic() - start < 10
    assert pool.submit(square_or_die, 8).result(timeout=30) == 64


def test_exceptions_travel_back_unchanged(pool):
    with pytest.raises(ValueError, match="bad input -3"):
        pool.submit(square_or_die, -3).result(timeout=30)
    assert pool.replaced == 0


def test_worker_logs_reach_the_parents_logging(pool, caplog):
    caplog.set_level(logging.INFO, logger="crawler.test_workers")
    pid = pool.submit(worker_pid, 0).result(timeout=30)
    pool.submit(square_or_die, -4).result(timeout=30)
    deadline = time.monotonic() + 10
    while not any("hello from pid" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    messages = [r.getMessage() for r in caplog.records if r.name == "crawler.test_workers"]
    assert messages and messages[0].startswith("hello from pid ")
    assert int(messages[0].split()[-1]) != os.getpid()
    assert pid in pool.pids()


def test_workers_start_with_the_first_task():
    pool = WorkerPool(2, name="test").start()
    try:
        time.sleep(0.5)
        assert pool.pids() == [] and pool.started == 0
        assert pool.submit(square_or_die, 3).result(timeout=60) == 9
        assert pool.started == 2 and len(pool.pids()) == 2
    finally:
        pool.close()


def test_a_worker_is_replaced_after_max_tasks():
    pool = WorkerPool(1, name="test", max_tasks=3).start()
    try:
        pids = [pool.submit(worker_pid, 0).result(timeout=60) for _ in range(7)]
        assert [len(set(pids[i:i + 3])) for i in (0, 3, 6)] == [1, 1, 1]
        assert len(set(pids)) == 3 and pool.recycled == 2 and pool.replaced == 0
    finally:
        pool.close()


def test_close_stops_every_worker():
    pool = started(WorkerPool(2, name="test").start())
    pids = pool.pids()
    assert len(pids) == 2
    pool.close()
    assert pool.pids() == []
    assert not {p.pid for p in multiprocessing.active_children()} & set(pids)
    with pytest.raises(RuntimeError):
        pool.submit(square_or_die, 1)


def test_crawl_goes_on_when_every_extraction_times_out(site_server, tmp_path):
    """A page that hangs its worker gives a clear pages.error; the crawl still finishes."""
    db = tmp_path / "a.db"
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), "--limit", "6", "-q", *FAST,
                     "--set", "EXTRACTION_WORKERS=2", "--set", "EXTRACTION_TIMEOUT=0.001")
    assert result.returncode == 1, result.stderr[-2000:]  # the target gave no article
    con = sqlite3.connect(db)
    errors = [e for (e,) in con.execute("select error from pages")]
    assert len(errors) == 6
    timed_out = [e for e in errors if e and e.startswith("extraction timed out: no result after 0.001 s")]
    # the sample site's bad pages (404, empty, ...) fail before extraction
    assert timed_out and all(e for e in errors)
    assert con.execute("select count(*) from articles").fetchone()[0] == 0
    assert con.execute("select status, finished_at is not null from crawls").fetchone() == ("failed", 1)


def test_in_process_extraction_gives_the_same_archive(crawled, site_server, tmp_path):
    """EXTRACTION_WORKERS=0 (no pool) stores exactly what the pooled crawl stored."""
    db = tmp_path / "inproc.db"
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), "-q", *FAST,
                     "--set", "EXTRACTION_WORKERS=0")
    assert crawled["result"].returncode == 0 and result.returncode == 0, result.stderr[-2000:]
    # which copy of an exact duplicate is "first" depends on fetch order, so compare contents
    # and the count of originals, not duplicate_of itself
    cols = "url, title, text, author, published_at, language, tags, content_hash"
    pooled = sqlite3.connect(crawled["db"]).execute(f"select {cols} from articles order by url").fetchall()
    inproc = sqlite3.connect(db).execute(f"select {cols} from articles order by url").fetchall()
    assert len(pooled) > 40 and pooled == inproc
    originals = "select count(*) from articles where duplicate_of is null"
    assert sqlite3.connect(crawled["db"]).execute(originals).fetchone() == sqlite3.connect(db).execute(originals).fetchone()
