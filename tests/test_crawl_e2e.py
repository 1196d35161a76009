"""End to end: crawl the sample site on loopback into a fresh archive, then check it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlite_utils

from conftest import EXAMPLE_PATH, EXAMPLE_TXT, run_cli


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="module")
def db(crawled):
    assert crawled["result"].returncode == 0, crawled["result"].stderr[-3000:]
    return sqlite_utils.Database(crawled["db"])


@pytest.fixture(scope="module")
def truth(sample_site):
    return {t["path"]: t for t in sample_site.truth()}


@pytest.fixture(scope="module")
def stored(db):
    return {_path(r["url"]): r for r in db.query("select * from articles")}


def test_summary_line_and_crawls_row(crawled, db):
    line = crawled["result"].stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"\S+ crawl 1 partial: (\d+) discovered, 0 known, (\d+) fetched, (\d+) new, 0 updated, "
                     r"0 unchanged, 1 duplicates, 0 not modified, (\d+) errors -> .*", line)
    assert m, line
    discovered, fetched, new, errors = map(int, m.groups())
    row = db["crawls"].get(1)
    # candidates of discovery by content that the page itself says are no article
    not_articles = json.loads(row["stats"])["not_articles"]
    assert not_articles == db.execute("select count(*) from pages where error like 'not an article: %'").fetchone()[0]
    assert discovered == fetched == new + 1 + errors + not_articles
    assert row["errors"] == errors
    assert row["finished_at"] and row["status"] == "partial"  # the site has bad pages on purpose
    assert row["articles_new"] == db.execute("select count(*) from articles where duplicate_of is null").fetchone()[0]


def test_every_expected_article_stored_once_with_canonical_url(truth, stored):
    expected = {p for p, t in truth.items() if t["expected"] == "stored"}
    assert expected == set(stored), (expected ^ set(stored))
    for path in stored:
        assert "utm_" not in path and not path.startswith("/amp/")


def test_non_articles_and_bad_pages_not_archived(truth, stored, db):
    for path, t in truth.items():
        if t["expected"] != "stored":
            assert path not in stored, t
    errors = {_path(r["url"]).rstrip("/"): r["error"] for r in db.query("select url, error from pages where error is not null")}
    for path, t in truth.items():
        if t["expected"] == "error":
            assert path.rstrip("/") in errors, (path, t["error"])
    assert any(e.startswith("HTTP 404") for e in errors.values())
    assert any(e.startswith("HTTP 500") for e in errors.values())
    assert "empty body" in errors.values()
    assert any(e.startswith("not HTML: application/pdf") for e in errors.values())


def test_dates_exact_with_site_zone_history(truth, stored):
    """A bare loopback URL has no profile and no country domain: a page whose own stamps
    carry the offset gets the exact time, the others keep their day and no invented offset."""
    wrong = []
    for path, row in stored.items():
        expected = truth[path]["published_at"]
        if row["tz_source"] == "none" and expected:
            expected = expected[:10]
        if row["published_at"] != expected:
            wrong.append((path, row["published_at"], expected, row["date_source"], row["tz_source"]))
    assert not wrong, wrong
    offsets = {row["published_at"][-6:] for row in stored.values() if row["published_at"]}
    assert {"+06:00", "+05:00"} <= offsets
    assert {r["tz_source"] for r in stored.values() if r["published_at"]} >= {"offset", "none"}


def test_unparseable_date_kept_raw(truth, stored):
    garbage = [p for p, t in truth.items() if t["expected"] == "stored" and t["published_at"] is None]
    assert garbage
    for path in garbage:
        assert stored[path]["published_at"] is None
        assert stored[path]["published_raw"] == truth[path]["published_raw"]


def test_titles_languages_and_windows_1251(truth, stored):
    for path, row in stored.items():
        assert row["title"] == truth[path]["title"], path
        assert row["language"] == truth[path]["language"], path
    cp1251 = [p for p, t in truth.items() if "1251" in (t.get("error") or "") or "1251" in p]
    for path in cp1251:
        if path in stored:
            assert re.search("[а-яА-Я]{4}", stored[path]["title"])


def test_text_matches_truth_paragraphs(truth, stored):
    """Paragraph-exact body text: no boilerplate, headline not repeated."""
    bad = []
    for path, row in stored.items():
        expected = "\n\n".join(truth[path]["paragraphs"])
        if re.sub(r"\s+", " ", row["text"]) != re.sub(r"\s+", " ", expected):
            bad.append(path)
        assert "Читайте также" not in row["text"].split("\n\n")[0]
        assert not row["text"].startswith(row["title"])
    assert not bad, f"{len(bad)} of {len(stored)} articles differ, e.g. {bad[:3]}"


def test_exact_duplicate_points_at_original(truth, stored):
    """The copy stored second points at the one stored first. Pages are stored as extraction
    workers finish, not in fetch order: the copy's first_seen_at (its fetch time) may be a
    second before the original's, so the order is checked on the ids."""
    dups = [p for p, t in truth.items() if t["kind"] == "duplicate"]
    assert dups
    for path in dups:
        pair = [stored[path], stored[truth[path]["duplicate_of"]]]
        originals = [r for r in pair if r["duplicate_of"] is None]
        copies = [r for r in pair if r["duplicate_of"] is not None]
        assert len(originals) == 1 and len(copies) == 1
        assert copies[0]["duplicate_of"] == originals[0]["id"]
        assert copies[0]["id"] > originals[0]["id"]


def test_pages_keep_raw_bodies_for_reextraction(db, crawled):
    from archive import Archive

    with Archive(crawled["db"]) as archive:
        page = next(archive.iter_pages())
        assert page["body"].lstrip().lower().startswith((b"<!doctype", b"<html"))
        assert json.loads(db["pages"].get(page["id"])["headers"])["content-type"].startswith("text/html")


def test_fts_finds_example_article_with_sqlite_utils(crawled):
    sqlite_utils_bin = Path(sys.executable).parent / "sqlite-utils"
    out = subprocess.run([str(sqlite_utils_bin), "search", str(crawled["db"]), "articles", "Мангистау",
                          "-c", "url"], capture_output=True, text=True, check=True).stdout
    assert EXAMPLE_PATH in out
    # every form of a word through a prefix query
    out = subprocess.run([str(sqlite_utils_bin), "search", str(crawled["db"]), "articles", "форум*",
                          "-c", "text", "--limit", "200"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\bфорума\b", out) and re.search(r"\bфорум\b", out)


def test_txt_export_reproduces_the_example_article(crawled, tmp_path):
    out = tmp_path / "example.txt"
    result = run_cli("export", "--db", str(crawled["db"]), "--format", "txt", "--out", str(out),
                     "--from", "2025-09-12", "--to", "2025-09-12", "--lang", "ru")
    assert result.returncode == 0, result.stderr
    exported = out.read_text(encoding="utf-8")
    articles = [a for a in re.split(r"(?m)^(?= date )", exported) if a]
    example = [a for a in articles if "Мангистау" in a.splitlines()[0]]
    assert len(example) == 1
    expected = EXAMPLE_TXT.read_text(encoding="utf-8")
    assert "\u00a0" in expected  # the page's no-break spaces, kept as published
    assert example[0] == expected


def test_second_crawl_same_archive_adds_no_rows(crawled, db):
    before = db.execute("select count(*) from articles").fetchone()[0]
    result = run_cli("crawl", crawled["url"] + "/", "--db", str(crawled["db"]), "--quiet",
                     "--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert " 0 new," in result.stdout
    assert db.execute("select count(*) from articles").fetchone()[0] == before
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
