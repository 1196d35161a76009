"""robots.txt Crawl-delay on one machine (crawler/crawl_delay.py), measured where it matters:
the arrival times of the requests at a real local site.

The crawls run with the suite's FAST settings (no delay, 8 requests at a time per domain), so
every gap seen here comes from the site's robots.txt, the cap, or the delay asked on the command
line.
"""

from __future__ import annotations

import sqlite_utils

from conftest import FAST, run_cli
from crawler.crawl_delay import robots_crawl_delay
from mutable_site import MutableSite
from test_frontier import stories

N = 6


def _crawl(tmp_path, site: MutableSite, *extra: str):
    db = tmp_path / "a.db"
    log = tmp_path / "crawl.log"
    result = run_cli("crawl", site.url + "/", "--db", str(db), "--log-file", str(log), *FAST, *extra,
                     timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    count = sqlite_utils.Database(db).execute("select count(*) from articles").fetchone()[0]
    assert count == N
    return log.read_text(encoding="utf-8")


def _gaps(site: MutableSite) -> list[float]:
    times = sorted(t for t, _ in site.started)
    return [b - a for a, b in zip(times, times[1:])]


def test_crawl_delay_spaces_every_request_to_the_site(tmp_path):
    """AutoThrottle on, as by default: it lowers a slot's delay after each fast response, and
    the Crawl-delay still holds."""
    site = MutableSite(stories(N), crawl_delay=0.8)
    try:
        log = _crawl(tmp_path, site, "--set", "AUTOTHROTTLE_ENABLED=true",
                     "--set", "AUTOTHROTTLE_START_DELAY=0")
        gaps = _gaps(site)
    finally:
        site.close()
    assert len(gaps) >= N + 1  # robots.txt, the sitemap, the articles
    # loopback timing: a little less than the delay at most
    assert min(gaps) >= 0.75, gaps
    assert "robots.txt of 127.0.0.1: Crawl-delay 0.8 s" in log


def test_download_delay_wins_when_larger(tmp_path):
    site = MutableSite(stories(N), crawl_delay=0.2)
    try:
        _crawl(tmp_path, site, "--set", "DOWNLOAD_DELAY=0.9", "--set", "DOWNLOAD_DELAY_JITTER=0")
        gaps = _gaps(site)
    finally:
        site.close()
    assert min(gaps) >= 0.85, gaps


def test_hostile_crawl_delay_is_capped(tmp_path):
    site = MutableSite(stories(N), crawl_delay=86400)
    try:
        log = _crawl(tmp_path, site, "--set", "ROBOTSTXT_CRAWL_DELAY_MAX=0.5")
        gaps = _gaps(site)
    finally:
        site.close()
    assert min(gaps) >= 0.45, gaps
    capped = [ln for ln in log.splitlines() if "ROBOTSTXT_CRAWL_DELAY_MAX" in ln]
    assert len(capped) == 1 and "Crawl-delay 86400 s" in capped[0], capped


def test_crawl_delay_of_the_crawlers_group():
    robots = ("User-agent: *\nCrawl-delay: 5\n\nUser-agent: news-archive-crawler\nCrawl-delay: 2\n"
              "Disallow: /private/\n")
    assert robots_crawl_delay(robots, "news-archive-crawler/1.0 (research archive)") == 2.0
    assert robots_crawl_delay(robots.encode(), "OtherBot") == 5.0
    assert robots_crawl_delay("User-agent: *\nDisallow: /x\n", "OtherBot") is None
