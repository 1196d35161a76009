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
        assert d["pages"].count == 3
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
