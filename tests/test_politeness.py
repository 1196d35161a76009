"""Politeness, measured on the server side: Retry-After, backoff, robots.txt, User-Agent, and the
per-site settings of a profile.

The crawls run with the test suite's FAST settings (no AutoThrottle, no global delay, 8 requests
at a time per domain): every wait seen here comes from the server's answers or the profile.
"""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import sqlite_utils

from conftest import FAST, run_cli
from crawler import settings as project_settings
from crawler.middlewares import (HostileDocument, backoff_delay, inflate_capped, parse_retry_after,
                                 xml_problems)
from samplesite import hostile as h

PROFILE_DELAY = 0.3  # the polite profile's DOWNLOAD_DELAY; Scrapy's jitter gives 0.5x..1.5x
BACKOFF_BASE = 0.4


def _profile(tmp_path, name, url, sitemap, settings):
    lines = "\n".join(f"{k} = {v}" for k, v in settings.items())
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\nstart_urls = ["{url}/"]\nallowed_domains = ["127.0.0.1"]\n'
                    f'sitemaps = ["{url}{sitemap}"]\n\n[settings]\n{lines}\n', encoding="utf-8")
    return path


def _crawl(tmp_path, profile, db):
    result = run_cli("crawl", str(profile), "--db", str(db), "--log-file", str(tmp_path / "crawl.log"),
                     *FAST, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def polite(tmp_path_factory):
    """A crawl of the Retry-After pages, robots.txt and a good article with a polite profile."""
    tmp = tmp_path_factory.mktemp("polite")
    with h.serve_hostile(retry_after=1) as server:
        server.hostile = False  # the plain homepage: only the politeness sitemap matters
        profile = _profile(tmp, "polite", server.url, "/sitemap-politeness.xml",
                           {"DOWNLOAD_DELAY": PROFILE_DELAY, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
                            "USER_AGENT": '"not-applied-per-site"'})
        result = _crawl(tmp, profile, tmp / "a.db")
        hits = server.hits
    return {"hits": hits, "db": sqlite_utils.Database(tmp / "a.db"), "result": result,
            "log": (tmp / "crawl.log").read_text(encoding="utf-8"), "url": server.url}


@pytest.fixture(scope="module")
def flaky(tmp_path_factory):
    """A crawl of a page that fails three times, with backoff and retries set by the profile."""
    tmp = tmp_path_factory.mktemp("flaky")
    with h.serve_hostile(flaky_failures=3) as server:
        server.hostile = False
        profile = _profile(tmp, "flaky", server.url, "/sitemap-flaky.xml",
                           {"RETRY_TIMES": 3, "RETRY_BACKOFF_BASE": BACKOFF_BASE})
        result = _crawl(tmp, profile, tmp / "a.db")
        hits = server.hits
    return {"hits": hits, "db": sqlite_utils.Database(tmp / "a.db"), "result": result}


def _paths(hits):
    return [hit.path for hit in hits]


# -- Retry-After -------------------------------------------------------------------------------

@pytest.mark.parametrize("page", h.POLITENESS[:2], ids=lambda f: f.kind)
def test_retry_after_honoured(page, polite):
    attempts = [hit for hit in polite["hits"] if hit.path == page.path]
    assert len(attempts) == 2
    gap = attempts[1].at - attempts[0].at
    # Retry-After: 1 (seconds), or an HTTP-date 2 s ahead cut to whole seconds. The retry goes
    # to the back of the site's queue (as Scrapy's own retries do), so the other page's pause
    # (up to 2 s, the whole site waits) and the requests queued before it (one at a time, the
    # profile's delay each) may come first: test_no_wait_longer_than_asked holds each of those.
    assert 1.0 <= gap < 4.5, gap
    row = polite["db"].execute("select text from articles where url like ?", [f"%{page.path}"]).fetchone()
    assert row and row[0] == "\n\n".join(h.paragraphs_of(page.path))


def test_retry_after_pauses_the_whole_site(polite):
    """While the server says "come back later", no other request goes to it."""
    hits = polite["hits"]
    for page in h.POLITENESS[:2]:
        first = next(hit for hit in hits if hit.path == page.path)
        during = [hit.path for hit in hits if first.at < hit.at < first.at + 0.95]
        assert during == [], (page.path, during)


def test_no_wait_longer_than_asked(polite):
    """Every pause of the site is one the server or the profile asked for: after a Retry-After
    answer its wait (the HTTP-date one is up to a second longer, whole seconds), after any
    other request the profile's delay with Scrapy's jitter (at most 1.5x); plus a little for
    the crawl's own work on a loaded machine."""
    slack = 0.4
    asked = {page.path: 1.0 + (page.kind == "429-retry-after-date") for page in h.POLITENESS[:2]}
    hits = sorted(polite["hits"], key=lambda hit: hit.at)
    seen = set()
    for before, after in zip(hits, hits[1:]):
        first_429 = before.path in asked and before.path not in seen
        seen.add(before.path)
        allowed = (asked[before.path] if first_429 else PROFILE_DELAY * 1.5) + slack
        assert after.at - before.at < allowed, (before.path, after.path, after.at - before.at)


def test_retry_after_parsing():
    now = datetime(2025, 9, 12, 9, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(b" 7 ") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert parse_retry_after("Fri, 12 Sep 2025 08:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


# -- backoff -----------------------------------------------------------------------------------

def test_backoff_grows_between_retries(flaky):
    attempts = [hit for hit in flaky["hits"] if hit.path == h.FLAKY.path]
    assert len(attempts) == 4  # three 500s, then the article (RETRY_TIMES = 3 from the profile)
    gaps = [b.at - a.at for a, b in zip(attempts, attempts[1:])]
    for n, gap in enumerate(gaps, start=1):
        expected = BACKOFF_BASE * 2 ** (n - 1)  # 0.4, 0.8, 1.6 s
        assert expected <= gap < expected + 0.8, gaps
    assert gaps[0] < gaps[1] < gaps[2]
    row = flaky["db"].execute("select text from articles").fetchone()
    assert row[0] == "\n\n".join(h.paragraphs_of(h.FLAKY.path))


def test_backoff_formula():
    assert [backoff_delay(n, 1.0, 60) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(10, 1.0, 60) == 60  # capped by RETRY_BACKOFF_MAX
    assert backoff_delay(3, 0, 60) == 0.0


# -- robots.txt and User-Agent ------------------------------------------------------------------

def test_robots_txt_disallow_obeyed(polite):
    paths = _paths(polite["hits"])
    assert paths.index("/robots.txt") < min(i for i, p in enumerate(paths) if p.startswith("/n/"))
    assert h.DISALLOWED not in paths
    # the site's "no" is not a failed fetch: no page row, no error counted
    row = polite["db"].execute("select error from pages where url like ?", [f"%{h.DISALLOWED}"]).fetchone()
    assert row is None


def test_honest_user_agent_sent(polite):
    agents = {hit.headers.get("user-agent") for hit in polite["hits"]}
    assert agents == {project_settings.USER_AGENT}
    assert "contact:" in project_settings.USER_AGENT and "news-archive-crawler" in project_settings.USER_AGENT


# -- per-site settings from the profile -----------------------------------------------------------

def test_profile_delay_and_concurrency_applied(polite):
    """FAST asks for no delay and 8 at a time; the profile's 0.3 s and 1 at a time win."""
    times = sorted(hit.at for hit in polite["hits"])
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) >= 5
    assert min(gaps) >= PROFILE_DELAY * 0.5 - 0.01, gaps


def test_profile_settings_not_applied_per_site_are_reported(polite):
    assert "profile polite: settings USER_AGENT are not applied per site" in polite["log"]
    agents = {hit.headers.get("user-agent") for hit in polite["hits"]}
    assert "not-applied-per-site" not in agents


# -- discovery document checks (no crawl) ---------------------------------------------------------

def test_gzip_bomb_refused_while_inflating():
    bomb = h.gzip_bomb(b"<urlset><!-- ", 64, b" --></urlset>")
    assert len(bomb) < 100_000
    with pytest.raises(HostileDocument, match="inflates beyond DOWNLOAD_MAXSIZE"):
        inflate_capped(bomb, 16 * 1024 * 1024)
    small = gzip.compress(b"<urlset></urlset>")
    assert inflate_capped(small, 1024) == b"<urlset></urlset>"


def test_xml_problems():
    base = "http://127.0.0.1:1"
    assert xml_problems(h._urlset(base, ["/n/a-b-c/"])) == []
    assert xml_problems(h._urlset(base, [], h._xxe_doctype("urlset", base))) == [
        "declares XML entities (not expanded)", "refers to an external DTD (not loaded)"]
    assert any(p.startswith("not well-formed") for p in xml_problems(b"<urlset><url></urlset>"))
