"""End to end: the sample site and every site shape of samplesite/shapes.py in ONE crawl.

A listing-only site with query-string article URLs (twice, on two ports of one host), two
editions under path prefixes of one origin (one in Latin-script Kazakh) with a sitemap whose
dates run hours behind our clock, and a deep section tree with a date archive: every article
found, no other page stored, edits picked up by a plain re-crawl, and a re-crawl of an
unchanged site fetches no article page.
"""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from conftest import FAST, run_cli
from samplesite.shapes import ListingSite, PrefixSite, TreeSite


@pytest.fixture(scope="module")
def shapes():
    sites = [ListingSite(), ListingSite(seed="second", first_id=5203), PrefixSite(), TreeSite()]
    yield sites
    for site in sites:
        site.close()


@pytest.fixture(scope="module")
def run(shapes, site_server, tmp_path_factory):
    db = tmp_path_factory.mktemp("shapes") / "archive.db"
    targets = [site_server.url + "/", *(u for s in shapes for u in s.start_urls())]

    def crawl():
        result = run_cli("crawl", *targets, "--db", str(db), *FAST)
        assert result.returncode in (0, 3), result.stderr[-3000:]  # 3: the sample site's bad pages
        return result

    first = crawl()
    return {"db": db, "crawl": crawl, "first": first, "url": site_server.url}


def _shape_truth(shapes) -> dict[str, dict]:
    return {t["url"]: t for s in shapes for t in s.truth()}


def _sample_expected(sample_site, url) -> set[str]:
    return {url + t["path"] for t in sample_site.truth() if t["expected"] == "stored"}


def test_one_crawl_finds_every_article_and_stores_nothing_else(run, shapes, sample_site):
    db = sqlite_utils.Database(run["db"])
    stored = {r["url"]: r for r in db.query("select * from articles")}
    expected = set(_shape_truth(shapes)) | _sample_expected(sample_site, run["url"])
    assert set(stored) == expected, (sorted(expected - set(stored))[:5], sorted(set(stored) - expected)[:5])
    # the shapes' candidates the pages themselves called no article were recorded as such
    verdicts = {r["url"]: r["error"] for r in db.query("select url, error from pages where error like 'not an article: %'")}
    for site in shapes:
        assert site.url + "/news/?page=2" not in verdicts  # pagination is read, not recorded
    assert verdicts[shapes[3].url + "/world/asia/central/"] == "not an article: listing"
    assert verdicts[shapes[0].url + "/help.php?topic=ads"] == "not an article: other"
    # the listing site's short notes, which the classifier doubts, are taken by their URL's
    # shape (/news/view.php?id=<n>, shared with the confirmed articles of the site)
    stats = json.loads(db["crawls"].get(1)["stats"])
    assert stats["discovery"].get("articles_by_learned_pattern", 0) >= 1, stats["discovery"]


def test_shape_articles_have_their_language_date_and_text(run, shapes):
    db = sqlite_utils.Database(run["db"])
    stored = {r["url"]: r for r in db.query("select * from articles")}
    for url, t in _shape_truth(shapes).items():
        row = stored[url]
        assert (row["title"], row["language"], row["published_at"]) == (t["title"], t["language"], t["published_at"]), url
        assert row["text"].split("\n\n") == t["paragraphs"], url
    kk = [u for u, t in _shape_truth(shapes).items() if t["language"] == "kk"]
    assert kk and all("/kz/" in u for u in kk)


def test_two_prefixes_and_two_ports_are_separate_starts_and_sites(run, shapes):
    db = sqlite_utils.Database(run["db"])
    sites = {r["site"] for r in db.query("select distinct site from articles")}
    assert len(sites) == 5  # the sample site, two listing sites, the two-edition site, the tree
    prefix = shapes[2]
    both = {r["url"].split("/")[3] for r in db.query("select url from articles where url like ?", [prefix.url + "%"])}
    assert both == {"ru", "kz"}


def test_plain_recrawl_picks_up_edits_and_unchanged_recrawl_fetches_no_article(run, shapes, sample_site):
    listing, _, prefix, tree = shapes
    edited = [list(listing.pieces)[2], list(prefix.pieces)[1], list(prefix.pieces)[-1], list(tree.pieces)[3]]
    owners = [listing, prefix, prefix, tree]
    for site, path in zip(owners, edited):
        site.edit(path)
    marks = [len(s.requests) for s in shapes]
    second = run["crawl"]()
    assert " 0 new, 4 updated," in second.stdout, second.stdout
    db = sqlite_utils.Database(run["db"])
    for site, path in zip(owners, edited):
        text = db.execute("select text from articles where url = ?", [site.url + path]).fetchone()[0]
        assert text.split("\n\n") == site.pieces[path].paragraphs
    fetched = sorted(p for s, m in zip(shapes, marks) for p, _ in s.requests[m:] if p in s.pieces)
    assert fetched == sorted(edited)  # only the edited articles, none of the others

    marks = [len(s.requests) for s in shapes]
    third = run["crawl"]()
    assert " 0 new, 0 updated," in third.stdout, third.stdout
    assert [p for s, m in zip(shapes, marks) for p, _ in s.requests[m:] if p in s.pieces] == []
    # the whole crawl, the sample site included, fetched no article: listings, and the
    # sample site's broken pages, which are tried again
    crawl_id = db.execute("select max(id) from crawls").fetchone()[0]
    rows = list(db.query("select url, error, article_id from pages where crawl_id = ?", [crawl_id]))
    assert rows and all(r["article_id"] is None and r["error"] for r in rows)
    listings = [r for r in rows if r["error"] == "not an article: listing"]
    broken = {(run["url"] + t["path"]).rstrip("/") for t in sample_site.truth() if t["expected"] == "error"}
    assert listings and [r for r in rows if r not in listings and r["url"].rstrip("/") not in broken] == []
    stats = json.loads(db["crawls"].get(crawl_id)["stats"])
    assert stats["not_articles"] == len(listings)
