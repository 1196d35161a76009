"""Distributed mode on a real Redis (crawler/distributed.py): workers and a writer, killed with
kill -9 and restarted, give the archive of a one-machine crawl; Redis restarted mid-crawl."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlite_utils

from conftest import FAST, run_cli
from mutable_site import MutableSite
from test_frontier import stories

PER_DOMAIN = 2
SETTINGS = [*FAST, "--set", f"CONCURRENT_REQUESTS_PER_DOMAIN={PER_DOMAIN}", "--set", "FRONTIER_LEASE_SECONDS=10"]


def crawler(*args: str, log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "crawler", *args], stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill9(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def articles(db: Path) -> set[tuple]:
    return {(r["url"], r["title"], r["text"]) for r in sqlite_utils.Database(db).query("select * from articles")}


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def article_count(db: Path) -> int:
    try:
        return sqlite_utils.Database(db).execute("select count(*) from articles").fetchone()[0]
    except Exception:  # not created yet
        return 0


def redis_state(url: str) -> str:
    """The shared frontier's and the result stream's counters, for a failure message."""
    import redis

    from crawler.distributed import RESULTS, TASKS

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        parts = []
        for stream in (TASKS, RESULTS):
            for g in client.xinfo_groups(stream):
                parts.append(f"{stream} len={client.xlen(stream)} group={g['name'].decode()} "
                             f"pending={g['pending']} last-delivered={g['last-delivered-id'].decode()} "
                             f"consumers={[(c['name'].decode(), c['pending'], c['idle']) for c in client.xinfo_consumers(stream, g['name'])]}")
        parts.append(f"run={client.hgetall('crawler:run')}")
        return "; ".join(parts)
    except redis.RedisError as exc:
        return f"(Redis state unreadable: {exc})"


def wait_exit(proc: subprocess.Popen, timeout: float, log: Path, redis_url: str) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        state = redis_state(redis_url)
        raise AssertionError(f"still running after {timeout} s; Redis: {state}\n{log.read_text()[-3000:]}") from None


def check_archive(db: Path, reference: Path) -> None:
    d = sqlite_utils.Database(db)
    assert d.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert d.execute("select count(*) - count(distinct url) from articles").fetchone()[0] == 0
    assert d.execute("select count(*) from (select url from pages where error is null "
                     "group by crawl_id, url having count(*) > 1)").fetchone()[0] == 0
    assert articles(db) == articles(reference)


def test_workers_and_writer_killed_and_restarted_give_the_one_machine_archive(redis_server, tmp_path):
    sites = [MutableSite(stories(40), chunk=20, article_delay=0.05, host=f"127.0.0.{i + 1}") for i in range(3)]
    urls = [s.url + "/" for s in sites]
    try:
        reference = tmp_path / "one.db"
        result = run_cli("crawl", *urls, "--db", str(reference), *SETTINGS)
        assert result.returncode == 0, result.stderr[-2000:]
        assert article_count(reference) == 120
        for s in sites:
            s.max_active = 0
        db = tmp_path / "dist.db"
        log = tmp_path / "dist.log"
        writer_args = ["crawl", *urls, "--db", str(db), "--redis", redis_server.url, "--local-workers", "0", *SETTINGS]
        writer = crawler(*writer_args, log=log)
        workers = [crawler("worker", "--redis", redis_server.url, "--exit-when-idle", log=log) for _ in range(3)]
        wait_until(lambda: article_count(db) >= 15, 120, "the crawl never stored 15 articles")
        kill9(workers[0])
        wait_until(lambda: article_count(db) >= 50, 120, "the crawl stopped after a worker was killed")
        kill9(writer)
        assert article_count(db) < 120
        time.sleep(1)
        writer = crawler(*writer_args, log=log)
        assert writer.wait(240) == 0, log.read_text()[-3000:]
        for w in workers[1:]:
            assert w.wait(60) == 0
        text = log.read_text()
        assert "resumed" in text
        check_archive(db, reference)
        # Politeness across all workers together: no site saw more than its per-domain limit.
        assert all(1 <= s.max_active <= PER_DOMAIN for s in sites), [s.max_active for s in sites]
        # The killed worker's leases came back; nothing was fetched by nobody.
        statuses = [r[0] for r in sqlite_utils.Database(db).execute("select status from crawls order by id")]
        assert statuses[-1] == "ok", statuses
    finally:
        for s in sites:
            s.close()


def test_redis_stopped_and_restarted_mid_crawl(redis_server, tmp_path):
    sites = [MutableSite(stories(30), chunk=15, article_delay=0.05, host=f"127.0.0.{i + 1}") for i in range(2)]
    urls = [s.url + "/" for s in sites]
    try:
        reference = tmp_path / "one.db"
        result = run_cli("crawl", *urls, "--db", str(reference), *SETTINGS)
        assert result.returncode == 0, result.stderr[-2000:]
        db = tmp_path / "dist.db"
        log = tmp_path / "dist.log"
        writer = crawler("crawl", *urls, "--db", str(db), "--redis", redis_server.url, *SETTINGS, log=log)
        other = crawler("worker", "--redis", redis_server.url, "--exit-when-idle", log=log)
        wait_until(lambda: article_count(db) >= 10, 120, "the crawl never stored 10 articles")
        redis_server.stop()
        time.sleep(3)
        redis_server.start()
        assert wait_exit(writer, 240, log, redis_server.url) == 0, log.read_text()[-3000:]
        assert other.wait(60) == 0
        text = log.read_text()
        assert "Redis unavailable" in text and "Redis is back" in text
        assert "Traceback" not in text, text[text.index("Traceback") - 500:][:3000]
        check_archive(db, reference)
    finally:
        for s in sites:
            s.close()


def test_worker_stops_on_sigterm_and_hands_back_its_leases(redis_server, tmp_path):
    site = MutableSite(stories(40), chunk=20, article_delay=0.3)
    try:
        db = tmp_path / "dist.db"
        log = tmp_path / "dist.log"
        writer = crawler("crawl", site.url + "/", "--db", str(db), "--redis", redis_server.url,
                         "--local-workers", "0", *SETTINGS, "--set", "FRONTIER_LEASE_SECONDS=600", log=log)
        first = crawler("worker", "--redis", redis_server.url, log=log)
        wait_until(lambda: article_count(db) >= 5, 120, "the crawl never stored 5 articles")
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0
        assert article_count(db) < 40
        # With a 600 s lease, only the handed-back leases let a new worker finish in time.
        second = crawler("worker", "--redis", redis_server.url, "--exit-when-idle", log=log)
        assert writer.wait(180) == 0, log.read_text()[-3000:]
        assert second.wait(60) == 0
        text = log.read_text()
        assert "(shutdown)" in text and "Traceback" not in text
        assert article_count(db) == 40
    finally:
        site.close()


def listed_dates(db: Path) -> set[tuple]:
    return {tuple(r) for r in sqlite_utils.Database(db).execute(
        "select url_key, lastmod, feed_date, listing_date from listed_dates")}


def test_distributed_recrawl_obeys_the_incremental_rules(redis_server, tmp_path):
    site = MutableSite(stories(20), chunk=10)
    try:
        reference = tmp_path / "one.db"
        assert run_cli("crawl", site.url + "/", "--db", str(reference), *SETTINGS).returncode == 0
        db = tmp_path / "dist.db"
        args = ["crawl", site.url + "/", "--db", str(db), "--redis", redis_server.url, *SETTINGS]
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr[-3000:]
        assert article_count(db) == 20
        # The writer recorded the sitemap dates as the one-machine crawl does.
        assert listed_dates(db) == listed_dates(reference) and len(listed_dates(db)) == 20
        site.requests.clear()
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr[-3000:]
        articles_fetched = [p for _, p, _ in site.requests if p.startswith("/n/")]
        assert articles_fetched == [], articles_fetched
        assert any(p.startswith("/sitemap") for _, p, _ in site.requests)
        # One story edited (its sitemap lastmod moves): only it is fetched, conditionally.
        edited = site.stories["story-00003"]
        edited.modified = edited.modified.replace(year=2026)
        site.requests.clear()
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr[-3000:]
        fetched = [(p, h) for _, p, h in site.requests if p.startswith("/n/")]
        assert [p for p, _ in fetched] == ["/n/story-00003/"], fetched
        assert fetched[0][1].get("If-None-Match") == edited.etag(site.url)
        assert article_count(db) == 20
    finally:
        site.close()


def start_gaps(site: MutableSite) -> list[float]:
    times = sorted(t for t, p in site.started if p.startswith("/n/"))
    return [b - a for a, b in zip(times, times[1:])]


def test_delays_hold_across_all_workers(redis_server, tmp_path):
    """robots.txt Crawl-delay (site a) and DOWNLOAD_DELAY (site b) are kept by three workers
    together, as the sites' own arrival times show."""
    a = MutableSite(stories(8), crawl_delay=0.6, host="127.0.0.1")
    b = MutableSite(stories(8), host="127.0.0.2")
    try:
        db = tmp_path / "dist.db"
        log = tmp_path / "dist.log"
        writer = crawler("crawl", a.url + "/", b.url + "/", "--db", str(db), "--redis", redis_server.url,
                         "--local-workers", "0", *SETTINGS, "--set", "DOWNLOAD_DELAY=0.4",
                         # two leases per worker at most: the articles are shared out
                         "--set", "DISTRIBUTED_LEASES=2", log=log)
        workers = [crawler("worker", "--redis", redis_server.url, "--exit-when-idle", log=log) for _ in range(3)]
        assert wait_exit(writer, 240, log, redis_server.url) == 0, log.read_text()[-3000:]
        for w in workers:
            assert w.wait(60) == 0
        assert article_count(db) == 16
        text = log.read_text()
        # Several workers fetched articles: the delays are not one worker's own.
        sent = [int(n) for n in re.findall(r"worker: (\d+) results sent", text)]
        assert len(sent) == 3 and sum(n > 0 for n in sent) >= 2, sent
        # Arrival times at the server, a little less than the delay for the jitter of loopback.
        assert min(start_gaps(a)) >= 0.5, start_gaps(a)
        assert min(start_gaps(b)) >= 0.3, start_gaps(b)
        assert "Crawl-delay 0.6 s, for all workers" in text, text[-3000:]
    finally:
        a.close()
        b.close()


def test_deliveries_whose_replies_were_lost_are_done(redis_server, tmp_path):
    """A Redis stop can run an XREADGROUP and lose its reply: the entries are then pending for
    a consumer that never saw them. Made here by reading as the worker and as the writer
    while each is paused (SIGSTOP); with a 600 s lease only their own recovery finishes."""
    import redis

    from crawler.distributed import RESULTS, TASKS

    site = MutableSite(stories(120), chunk=40, article_delay=0.1)
    try:
        db = tmp_path / "dist.db"
        log = tmp_path / "dist.log"
        writer = crawler("crawl", site.url + "/", "--db", str(db), "--redis", redis_server.url,
                         "--local-workers", "0", *SETTINGS, "--set", "FRONTIER_LEASE_SECONDS=600", log=log)
        worker = crawler("worker", "--redis", redis_server.url, "--exit-when-idle", log=log)
        client = redis.Redis.from_url(redis_server.url)
        wait_until(lambda: client.exists(TASKS) and client.xlen(TASKS) >= 100, 120, "the tasks were never queued")
        os.kill(worker.pid, signal.SIGSTOP)
        stolen_tasks = client.xreadgroup("workers", f"{os.uname().nodename}-{worker.pid}", {TASKS: ">"}, count=3)
        os.kill(writer.pid, signal.SIGSTOP)
        # (a read the writer had waiting when it stopped is still served: a few more)
        sent = client.xlen(RESULTS)
        os.kill(worker.pid, signal.SIGCONT)
        wait_until(lambda: client.xlen(RESULTS) >= sent + 6, 120, "no results while the writer waits")
        stolen_results = client.xreadgroup("writer", "writer", {RESULTS: ">"}, count=3)
        os.kill(writer.pid, signal.SIGCONT)
        assert len(stolen_tasks[0][1]) == 3 and len(stolen_results[0][1]) == 3
        assert wait_exit(writer, 180, log, redis_server.url) == 0, log.read_text()[-3000:]
        assert worker.wait(60) == 0
        assert article_count(db) == 120
        d = sqlite_utils.Database(db)
        assert d.execute("select count(*) - count(distinct url) from articles").fetchone()[0] == 0
    finally:
        site.close()
