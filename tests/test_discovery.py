"""Discovery paths other than the sitemap, and the --since / --limit / profile options."""

from __future__ import annotations

import sqlite_utils

from conftest import FAST, run_cli
from mutable_site import MutableSite
from test_incremental import _stories


def test_feed_autodiscovery_and_paginated_listing_without_sitemap(tmp_path):
    site = MutableSite(_stories(), sitemap=False)
    try:
        db = tmp_path / "a.db"
        result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST)
        assert result.returncode == 0, result.stderr[-2000:]
        paths = [p for m, p, h in site.requests]
        assert "/sitemap.xml" in paths  # the conventional location was tried
        assert "/feed.rss" in paths and "/news/?page=2" in paths
        assert not any(p.startswith("/private/") for p in paths)  # robots.txt Disallow obeyed
        d = sqlite_utils.Database(db)
        urls = {r["url"] for r in d.query("select url from articles")}
        assert urls == {f"{site.url}/n/{slug}/" for slug in site.stories}  # utm_* from the feed dropped
        # a robots.txt "no" is the site's wish, not an error of the crawl
        rows = {r["url"].removeprefix(site.url): r["error"] for r in d.query("select url, error from pages")}
        assert not any(u.startswith("/private/") for u in rows)
        # the candidates that were no article, with the page's own verdict
        assert {u: e for u, e in rows.items() if e} == {"/news/": "not an article: listing"}
        assert d["crawls"].get(1)["status"] == "ok"
    finally:
        site.close()


def _article_paths(db):
    return ["/" + r["url"].split("/", 3)[3] for r in sqlite_utils.Database(db).query("select url from pages")]


def test_limit_caps_article_fetches_per_site(site_server, tmp_path):
    db = tmp_path / "a.db"
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), "--limit", "5", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(_article_paths(db)) == 5


def _sitemap_lastmods(sample_site) -> dict[str, str]:
    """path -> lastmod from every sitemap chunk the sample site serves."""
    import gzip
    import re

    index = sample_site.render("/sitemap.xml", "http://h").body.decode()
    out = {}
    for loc in re.findall(r"<loc>http://h(/[^<]+)</loc>", index):
        body = sample_site.render(loc, "http://h").body
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        for path, lastmod in re.findall(r"<loc>http://h(/[^<]+)</loc>\s*<lastmod>([^<]+)</lastmod>", body.decode()):
            out[path] = lastmod
    return out


def test_since_skips_older_sitemap_and_feed_entries(site_server, sample_site, tmp_path):
    db = tmp_path / "a.db"
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), "--since", "2026-01-01", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    fetched = set(_article_paths(db))
    lastmods = _sitemap_lastmods(sample_site)
    truth = {t["path"]: t for t in sample_site.truth()}
    recent = {p for p, m in lastmods.items() if m[:10] >= "2026-01-01" and truth.get(p, {}).get("kind") != "nonarticle"}
    homepage = sample_site.render("/", "http://h").body.decode()
    assert recent and recent <= fetched
    for path in fetched - recent:  # anything else came from the homepage's newest links
        assert f'href="{path}"' in homepage or f'href="http://h{path}"' in homepage or path.rstrip("/") in homepage
    assert len(fetched) < len([t for t in truth.values() if t["kind"] != "nonarticle"])


def test_profile_against_a_local_copy_uses_its_date_selector(site_server, tmp_path):
    db = tmp_path / "a.db"
    result = run_cli("crawl", "kazpravda", "--base-url", site_server.url, "--db", str(db), "--limit", "20", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    d = sqlite_utils.Database(db)
    sites = {r["site"] for r in d.query("select distinct site from articles")}
    assert sites == {"kazpravda"}
    sources = {r["date_source"] for r in d.query("select date_source from articles where published_at is not null")}
    assert "selector" in sources


def _crawl_stats(db) -> dict:
    import json

    return json.loads(sqlite_utils.Database(db)["crawls"].get(1)["stats"])


def _numbered_site(n: int, **options) -> MutableSite:
    """n stories /n/novost-nomer-<i>/, each text distinct, served by a MutableSite."""
    from mutable_site import Story
    from test_incremental import PARAS

    return MutableSite([Story(f"novost-nomer-{i}", f"Новость номер {i}", [f"Выпуск {i}. {p}" for p in PARAS],
                              "8 мая 2020 г. 12:28") for i in range(n)], **options)


def test_sitemaps_of_an_index_are_fetched_as_the_queue_drains(tmp_path):
    """A site's article requests wait in memory: with the index's sitemaps fetched one at a
    time, the queue holds about one sitemap's worth, and nothing is missed (the pacer's
    own rules are tested by their counts in tests/test_spider.py)."""
    chunk, n = 20, 100
    site = _numbered_site(n, chunk=chunk)
    runs = {}
    try:
        for below in (2, 0):  # 0: every sitemap fetched at once, as Scrapy's SitemapSpider does
            db = tmp_path / f"below-{below}.db"
            site.requests.clear()
            # the in-memory queue's pacing: the persistent frontier holds every sitemap instead
            result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST,
                             "--set", f"SITEMAP_NEXT_BELOW={below}", "--set", "FRONTIER_ENABLED=false")
            assert result.returncode == 0, result.stderr[-2000:]
            stats = _crawl_stats(db)["discovery"]
            paths = [p for m, p, h in site.requests]
            runs[below] = (stats["site/127.0.0.1/waiting_max"], stats["sitemaps"],
                           sorted(p for p in paths if p.startswith("/n/")),
                           sorted(p for p in paths if p.startswith("/sitemap-")))
    finally:
        site.close()
    held, held_sitemaps, held_fetches, held_chunks = runs[2]
    at_once, at_once_sitemaps, at_once_fetches, at_once_chunks = runs[0]
    assert held_fetches == at_once_fetches == sorted(f"/n/novost-nomer-{i}/" for i in range(n))
    assert held_sitemaps == at_once_sitemaps == 6  # the index (named in robots.txt) and 5 sitemaps
    assert held_chunks == at_once_chunks == [f"/sitemap-{k}.xml" for k in range(1, 6)]
    # a sitemap goes out only when fewer than 2 of the site's articles wait: at most one
    # more than a chunk ever waits, whatever the timing
    assert held <= chunk + 2, (held, at_once)


def test_a_sitemap_lost_on_the_way_does_not_end_discovery(tmp_path):
    """Two sitemaps of an index redirect to one URL: Scrapy's duplicate filter drops the
    second without calling back. The sitemaps held after it must still be fetched."""
    chunk, n = 10, 50
    site = _numbered_site(n, chunk=chunk, redirects={"/sitemap-3.xml": "/sitemap-2.xml"})
    try:
        db = tmp_path / "a.db"
        result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST, "--set", "SITEMAP_NEXT_BELOW=2",
                         "--set", "FRONTIER_ENABLED=false")  # the in-memory pacer's release on idle
        fetched = {p for m, p, h in site.requests if p.startswith("/n/")}
    finally:
        site.close()
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {f"/n/novost-nomer-{i}/" for i in [*range(0, 20), *range(30, 50)]}
    assert fetched == expected
    assert _crawl_stats(db)["discovery"]["sitemaps_released_on_idle"] >= 1


def test_two_sites_on_one_host_are_two_sites(tmp_path):
    """URLs on one host with different ports are different sites, crawled in one command;
    neither replaces the other (issue 11: identity is the origin)."""
    from urllib.parse import urlsplit

    from mutable_site import Story
    from test_incremental import PARAS

    sites = [MutableSite([Story(f"novost-{tag}-nomer-{i}", f"Новость {tag} номер {i}",
                                [f"Сайт {tag}, выпуск {i}. {p}" for p in PARAS], "8 мая 2020 г. 12:28")
                          for i in range(4)]) for tag in ("pervyi", "vtoroi")]
    try:
        db = tmp_path / "a.db"
        result = run_cli("crawl", sites[0].url + "/", sites[1].url + "/", "--db", str(db), *FAST)
        assert result.returncode == 0, result.stderr[-2000:]
        got = {(r["site"], r["url"]) for r in sqlite_utils.Database(db).query("select site, url from articles")}
        expected = {(urlsplit(s.url).netloc, f"{s.url}/n/{slug}/") for s in sites for slug in s.stories}
        assert got == expected
    finally:
        for s in sites:
            s.close()
