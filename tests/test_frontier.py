"""The persistent frontier (crawler/frontier.py, archive/frontier.py): requests wait in the
archive file, a crawl killed with kill -9 resumes from it without reading again the sitemaps
it had finished; sitemaps are parsed as a stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from scrapy.utils.sitemap import Sitemap

from conftest import FAST, run_cli
from crawler.sitemap_stream import SitemapStream
from mutable_site import MutableSite, Story

FRONTIER = ["--set", "FRONTIER_ENABLED=true"]


def stories(n: int) -> list[Story]:
    return [Story(f"story-{i:05d}", f"Новость номер {i}",
                  [f"Это первый абзац тестовой новости номер {i}, написанный для проверки обхода. " * 3,
                   f"Второй абзац новости {i} рассказывает о событиях в городе подробно и спокойно. " * 3],
                  "8 мая 2020 г. 12:28") for i in range(n)]


def sitemap_fetches(site: MutableSite) -> list[str]:
    return [p for m, p, h in site.requests if p.startswith("/sitemap")]


def test_stream_gives_the_entries_of_scrapys_sitemap():
    body = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            b'xmlns:xhtml="http://www.w3.org/1999/xhtml"><!-- c -->'
            + b"".join(f"<url><loc> https://a.example/n/{i}/ </loc><lastmod>2025-01-0{i % 9 + 1}</lastmod>"
                       f'<xhtml:link rel="alternate" hreflang="kk" href="https://a.example/kk/{i}/"/></url>'.encode()
                       for i in range(50))
            + b"<url><lastmod>2025-01-01</lastmod></url></urlset>")
    stream = SitemapStream(body)
    assert stream.type == Sitemap(body).type == "urlset"
    assert list(stream) == list(Sitemap(body))
    index = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>'
    assert [e["loc"] for e in SitemapStream(index)] == ["https://a.example/s1.xml"]
    assert SitemapStream(index).type == "sitemapindex"


def test_frontier_crawl_fetches_everything_once_and_closes_its_session(tmp_path):
    site = MutableSite(stories(90), chunk=30)
    try:
        db = tmp_path / "a.db"
        result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST, *FRONTIER)
        assert result.returncode == 0, result.stderr[-3000:]
        d = sqlite_utils.Database(db)
        assert d["articles"].count == 90
        fetched = [p for p, _ in site.article_fetches()]
        assert len(fetched) == len(set(fetched)) == 90
        states = dict(d.execute("select kind || ' ' || state, count(*) from frontier group by 1").fetchall())
        # robots.txt (as a sitemap source), the index, 3 sitemaps and the homepage; /about/
        # is navigation to discovery by content (crawler/discovery.py) and is not fetched
        assert states == {"article done": 90, "discovery done": 6}
        assert {r[0].split("/", 3)[3]: r[1].split("/", 3)[3] for r in d.execute(
            "select url, discovered_from from frontier where url like '%/sitemap-%'")} == {
            f"sitemap-{k}.xml": "sitemap.xml" for k in (1, 2, 3)}
        assert d.execute("select count(*) from frontier where kind = 'article' and lastmod is not null "
                         "and discovered_from like '%/sitemap-%'").fetchone()[0] == 90
        assert d.execute("select open from frontier_sessions").fetchall() == [(0,)]
        # The next crawl is a new session: what the archive knows is skipped, nothing re-fetched.
        result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST, *FRONTIER)
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(site.article_fetches()) == 90
        assert " 90 known," in result.stdout
        assert d.execute("select session from frontier_sessions").fetchall() == [(2,)]
    finally:
        site.close()


def _kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_kill_9_resumes_from_the_frontier_without_rereading_finished_sitemaps(tmp_path):
    n = 900
    site = MutableSite(stories(n), chunk=300, article_delay=0.01)
    db = tmp_path / "killed.db"
    args = [sys.executable, "-m", "crawler", "crawl", site.url + "/", "--db", str(db), *FAST, *FRONTIER]
    try:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            # Killed in the second sitemap: the index and the first sitemap are finished.
            while len(site.article_fetches()) < 400:
                assert proc.poll() is None, "the crawl ended before it could be killed"
                assert time.monotonic() < deadline, "the crawl never reached 400 articles"
                time.sleep(0.05)
        finally:
            _kill_group(proc)
        d = sqlite_utils.Database(db)
        assert d.execute("pragma integrity_check").fetchone()[0] == "ok"
        done_sitemaps = {r[0].split("/", 3)[3] for r in d.execute(
            "select url from frontier where kind = 'discovery' and state = 'done'")}
        assert "sitemap.xml" in done_sitemaps and "sitemap-1.xml" in done_sitemaps
        stored = d["articles"].count
        first_run_sitemaps = len(sitemap_fetches(site))
        first_run_articles = len(site.article_fetches())
        assert stored < n

        result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST, *FRONTIER)
        assert result.returncode == 0, result.stderr[-3000:]
        second_run_sitemaps = sitemap_fetches(site)[first_run_sitemaps:]
        assert not {"/" + s for s in done_sitemaps} & set(second_run_sitemaps), second_run_sitemaps
        assert d["articles"].count == n
        assert d.execute("select count(*) - count(distinct url) from articles").fetchone()[0] == 0
        # Only what was not stored yet is fetched again (plus what was in flight at the kill).
        refetched = len(site.article_fetches()) - first_run_articles
        assert n - stored <= refetched <= n - stored + 64 + 16, (stored, refetched)
        assert "frontier: resuming" in result.stderr
    finally:
        site.close()
