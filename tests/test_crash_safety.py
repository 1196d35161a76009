"""Killing a crawl never corrupts the archive; the next run finishes the job; readers are
never blocked; one crawl per archive."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlite_utils

from conftest import FAST, run_cli

SLOW = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0.05",
        "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "--set", "RETRY_TIMES=1"]


def start_crawl(url: str, db: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crawler", "crawl", url + "/", "--db", str(db), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_articles(db: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if sqlite_utils.Database(db).execute("select count(*) from articles").fetchone()[0] >= n:
                    return
            except Exception:  # the schema may not exist yet
                pass
        time.sleep(0.05)
    raise AssertionError(f"{db} never reached {n} articles")


def content(db: Path) -> tuple[dict, set]:
    d = sqlite_utils.Database(db)
    rows = {r["url"].split("/", 3)[3]: (r["title"], r["text"], r["published_at"], r["language"], r["content_hash"])
            for r in d.query("select * from articles")}
    clusters = {}
    for r in d.query("select url, content_hash from articles"):
        clusters.setdefault(r["content_hash"], set()).add(r["url"].split("/", 3)[3])
    return rows, {frozenset(c) for c in clusters.values()}


def test_kill_9_at_random_points_then_resume_equals_uninterrupted(site_server, crawled, tmp_path):
    db = tmp_path / "killed.db"
    rng = random.Random(20261124)
    kills = 0
    for _ in range(3):
        already = sqlite_utils.Database(db)["articles"].count if db.exists() else 0
        proc = start_crawl(site_server.url, db, *SLOW)
        try:
            wait_for_articles(db, already + rng.randint(1, 8))
            time.sleep(rng.uniform(0.0, 0.5))
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
        d = sqlite_utils.Database(db)
        assert d.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert d.execute("select count(*) - count(distinct url) from articles").fetchone()[0] == 0
        # no half-written fetch: every page that has a body and no error produced its article
        assert d.execute("select count(*) from pages where error is null and status = 200 "
                         "and article_id is null").fetchone()[0] == 0
    assert kills == 3
    before = sqlite_utils.Database(db)["articles"].count
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    line = result.stdout.strip().splitlines()[-1]
    # Stored articles were not fetched again: none came back unchanged or not modified. (The
    # resume reads the frontier the killed crawls left, not every sitemap again, so its
    # "known" count covers only the URLs it discovered itself.)
    assert " 0 updated, 0 unchanged," in line and " 0 not modified," in line, line
    d = sqlite_utils.Database(db)
    runs = [(r["status"], r["errors"]) for r in d.query("select status, errors from crawls order by id")]
    assert [status for status, _ in runs[:3]] == ["interrupted"] * 3, runs
    # The sample site's bad pages make a run partial; those the killed runs reached are done
    # and not fetched again, so whether the resume meets any depends on where the kills fell.
    status, errors = runs[3]
    assert len(runs) == 4 and status == ("partial" if errors else "ok"), runs
    assert content(db) == content(crawled["db"])


def test_sigterm_finishes_gracefully(site_server, tmp_path):
    db = tmp_path / "term.db"
    proc = start_crawl(site_server.url, db, *SLOW)
    wait_for_articles(db, 3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    d = sqlite_utils.Database(db)
    assert d.execute("pragma integrity_check").fetchone()[0] == "ok"
    row = d["crawls"].get(1)
    assert row["finished_at"] is not None  # close_spider ran: the run is recorded
    assert row["pages"] == d["pages"].count


VERY_SLOW = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0.3",
             "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]


def test_readers_are_never_blocked_and_second_crawl_is_refused(site_server, tmp_path):
    db = tmp_path / "busy.db"
    proc = start_crawl(site_server.url, db, *VERY_SLOW)  # ~25 s of fetching at one page per 0.3 s
    try:
        wait_for_articles(db, 1)
        sqlite_utils_bin = str(Path(sys.executable).parent / "sqlite-utils")
        counts = []
        for _ in range(5):
            t0 = time.monotonic()
            out = subprocess.run([sqlite_utils_bin, "query", str(db), "select count(*) as n from articles"],
                                 capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, out.stderr
            assert time.monotonic() - t0 < 5
            counts.append(int(out.stdout.split(":")[1].strip(" }]\n")))
            time.sleep(0.2)
        assert counts[-1] >= counts[0] >= 1
        assert proc.poll() is None, "the first crawl ended too early for this test"
        second = run_cli("crawl", site_server.url + "/", "--db", str(db), *FAST, timeout=60)
        assert second.returncode == 4
        assert "another crawl is running on this archive" in second.stderr
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # the lock died with its process: the next run goes ahead
    third = run_cli("crawl", site_server.url + "/", "--db", str(db), *FAST)
    assert third.returncode == 0, third.stderr[-2000:]
