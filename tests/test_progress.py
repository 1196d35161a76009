"""Progress: the crawl's per-site status lines and live table, and the work-loop helper."""

from __future__ import annotations

import re

import pytest

from crawler.progress import Rate, format_eta, work_progress
from conftest import FAST, run_cli


def test_rate_and_eta():
    now = [0.0]
    rate = Rate(window=60, clock=lambda: now[0])
    rate.update(0)
    now[0] = 10.0
    assert rate.update(50) == 5.0
    assert Rate.eta(100, 5.0) == 20.0 and Rate.eta(0, None) == 0.0 and Rate.eta(5, None) is None
    assert format_eta(20) == "0m20s" and format_eta(3725) == "1h02m" and format_eta(None) == "–"


def test_work_progress_lines_when_not_a_terminal():
    lines = []
    with work_progress("re-extracting", 5, live=False, interval=0, write=lines.append) as advance:
        for _ in range(5):
            advance(1)
    assert lines[0].startswith("re-extracting: 1/5 done (") and "ETA" in lines[0]
    assert lines[-1] == "re-extracting: 5/5 done"
    quiet = []
    with work_progress("x", 3, live=False, interval=3600, write=quiet.append) as advance:
        advance(3)
    assert quiet == []  # a short run prints nothing


def test_crawl_logs_per_site_status_lines(site_server, tmp_path):
    log = tmp_path / "crawl.log"
    result = run_cli("crawl", site_server.url + "/", "--db", str(tmp_path / "a.db"), "--log-file", str(log),
                     "--limit", "20", "--set", "PROGRESS_INTERVAL=0.5", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    text = log.read_text(encoding="utf-8")
    lines = re.findall(r"\[crawler\.progress\] INFO: progress(?: \(final\))?: (.*)", text)
    assert len(lines) >= 2
    final = re.search(r"progress \(final\): (\d+) fetched, (\d+) stored, (\d+) errors, (\d+) queued .*"
                      r"\| 127\.0\.0\.1: (\d+) discovered, (\d+) queued, (\d+) fetched, (\d+) stored", text)
    assert final, text[-2000:]
    fetched, stored, errors, left, discovered, queued, site_fetched, site_stored = map(int, final.groups())
    # the rest of the 20 are candidates of discovery by content that were no article
    assert queued == 20 and left == 0 and 10 <= stored + errors <= 20 and site_stored == stored
    assert discovered >= 20
    # The summary line starts with a timestamp, for cron logs.
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 crawl 1 ", result.stdout.strip().splitlines()[-1])


def test_crawl_live_table_on_a_terminal(site_server, tmp_path):
    result = run_cli("crawl", site_server.url + "/", "--db", str(tmp_path / "a.db"), "--quiet",
                     "--limit", "10", "--set", "PROGRESS_LIVE=true", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "crawl progress" in result.stderr
    row = re.findall(r"127\.0\.0\.1\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", result.stderr)
    assert row, result.stderr[-2000:]
    discovered, queued, fetched, stored, errors = map(int, row[-1])
    assert queued == 10 and 5 <= stored + errors <= 10


def test_export_takes_a_progress_callback(tmp_path):
    from archive import Archive, utc_now
    from archive.export import export_corpus

    with Archive(tmp_path / "a.db") as arc:
        for n in range(7):
            arc.store_article({"url": f"https://e.kz/{n}", "site": "e.kz", "title": "t", "text": f"Текст {n}.",
                               "content_hash": f"h{n}"}, page_id=None, crawl_id=None, seen_at=utc_now())
        ticks = []
        result = export_corpus(arc, "jsonl", tmp_path / "out.jsonl", progress=ticks.append)
    assert result.rows == 7 and sum(ticks) == 7


def _small_archive(path, n: int):
    from archive import Archive, utc_now

    with Archive(path) as arc:
        for i in range(n):
            arc.store_article({"url": f"https://e.kz/{i}", "site": "e.kz", "title": f"Заголовок {i}",
                               "text": f"Текст номер {i}.", "content_hash": f"h{i}"},
                              page_id=None, crawl_id=None, seen_at=utc_now())


def test_export_status_lines_have_the_total_and_an_eta(tmp_path):
    # Not on a terminal (stderr is a pipe): timestamped lines with done/total, rate and ETA.
    _small_archive(tmp_path / "a.db", 12)
    result = run_cli("export", "--db", str(tmp_path / "a.db"), "--format", "jsonl",
                     "--out", str(tmp_path / "out.jsonl"), "--workers", "0", "--progress-interval", "0")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "exporting:" in line]
    assert lines, result.stderr
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 "
    assert all(re.match(stamp + r"exporting: \d+/12 done", line) for line in lines), lines
    assert re.search(r"/12 done \(\d+/min, ETA (\d+m\d\ds|\d+h\d\dm)\)", lines[0]), lines[0]
    assert lines[-1].endswith("exporting: 12/12 done")
    quiet = run_cli("export", "--db", str(tmp_path / "a.db"), "--format", "jsonl",
                    "--out", str(tmp_path / "out2.jsonl"), "--workers", "0")
    assert quiet.returncode == 0 and "exporting:" not in quiet.stderr  # shorter than 30 s


def test_export_shows_a_bar_on_a_terminal(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    _small_archive(tmp_path / "a.db", 9)
    leader, follower = pty.openpty()
    try:
        # Read while it runs: a full terminal buffer would block the child's writes.
        child = subprocess.Popen([sys.executable, "-m", "crawler", "export", "--db", str(tmp_path / "a.db"),
                                  "--format", "jsonl", "--out", str(tmp_path / "out.jsonl"), "--workers", "0"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower,
                                 env={**os.environ, "COLUMNS": "100", "TERM": "xterm"})
        os.close(follower)
        follower = None
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child has exited and closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        returncode = child.wait(timeout=120)
    finally:
        os.close(leader)
        if follower is not None:
            os.close(follower)
    assert returncode == 0
    text = screen.decode("utf-8", "replace")
    assert "exporting" in text and "9/9" in text, text  # rich's bar, with the total
    assert not re.search(r"\+00:00 exporting:", text)  # no log lines on a terminal


@pytest.mark.parametrize("fmt", ["warc", "wacz"])
def test_warc_and_wacz_export_status_lines(tmp_path, fmt):
    # The web-archive formats report as the row formats do: done/total lines off a terminal.
    from archive import Archive, utc_now

    with Archive(tmp_path / "a.db") as arc:
        for i in range(6):
            url = f"https://e.kz/news/{i}"
            body = f"<html><body><h1>Заголовок {i}</h1><p>Текст номер {i}.</p></body></html>".encode()
            arc.store_fetch({"url": url, "final_url": url, "site": "e.kz", "status": 200,
                             "content_type": "text/html; charset=utf-8",
                             "headers": {"content-type": "text/html; charset=utf-8"}, "body": body},
                            {"url": url, "site": "e.kz", "title": f"Заголовок {i}", "text": f"Текст номер {i}.",
                             "content_hash": f"h{i}"}, crawl_id=None, seen_at=utc_now())
    out = tmp_path / f"out.{fmt}" if fmt == "wacz" else tmp_path / "out.warc.gz"
    result = run_cli("export", "--db", str(tmp_path / "a.db"), "--format", fmt, "--out", str(out),
                     "--progress-interval", "0")
    assert result.returncode == 0, result.stderr
    assert "exported 6 articles" in result.stdout, result.stdout
    lines = [line for line in result.stderr.splitlines() if "exporting:" in line]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 "
    assert lines and all(re.match(stamp + r"exporting: \d+/6 done", line) for line in lines), result.stderr
    assert re.search(r"/6 done \(\d+/min, ETA ", lines[0]), lines[0]
    assert lines[-1].endswith("exporting: 6/6 done")
