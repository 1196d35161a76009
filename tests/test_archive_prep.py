"""The archive's per-page work done in the extraction worker (crawler/archive_prep.py) gives
exactly what the archive computes itself: the same stored body, stemmed index and
near-duplicate signature."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from archive import Archive
from crawler.archive_prep import extract_and_prepare
from crawler.items import FetchedPage
from crawler.neardup import NearDupIndexer

PAGES = Path(__file__).parent / "pages"
FETCHED = "2025-09-12T10:00:00+00:00"


def fetched(name: str) -> FetchedPage:
    body = (PAGES / name).read_bytes()
    url = f"http://127.0.0.1/{name.removesuffix('.html')}/"
    return FetchedPage(url=url, final_url=url, site="local", fetched_at=FETCHED, status=200,
                       headers={"content-type": "text/html; charset=utf-8"},
                       content_type="text/html; charset=utf-8", body=body)


def store(db: Path, prepared: bool) -> None:
    """Each sample page stored as the crawl stores it: with what the worker prepared, or
    with the archive doing all the work itself."""
    with Archive(db) as archive:
        indexer = NearDupIndexer(archive)
        for name in sorted(p.name for p in PAGES.glob("*.html")):
            page = fetched(name)
            result, prep = extract_and_prepare(page, None)
            assert result.article is not None, result.error
            row = {"site": "local", "url": page.url, "final_url": page.final_url, "status": 200,
                   "content_type": page.content_type, "headers": page.headers, "fetched_at": FETCHED,
                   "body": prep.body if prepared else page.body}
            with archive.transaction():
                if prepared:
                    archive.offer_stems(prep.stems)
                _, stored = archive.store_fetch(row, result.article, crawl_id=None, seen_at=FETCHED)
                indexer.index(stored.id, prep.signed if prepared else None)


def dump(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        # The stemmed index keeps no text, only its postings: every (stem, article, column, offset).
        con.execute("CREATE VIRTUAL TABLE temp.stems USING fts5vocab(main, articles_stem_fts, instance)")
        return {
            "pages": con.execute("SELECT url, body, body_size FROM pages ORDER BY url").fetchall(),
            "stems": con.execute("SELECT a.url, s.term, s.col, s.offset FROM temp.stems s "
                                 "JOIN articles a ON a.id = s.doc ORDER BY 1, 3, 4").fetchall(),
            "signatures": con.execute("SELECT a.url, s.shingles, s.minhash FROM neardup_signatures s "
                                      "JOIN articles a ON a.id = s.article_id ORDER BY a.url").fetchall(),
            "bands": con.execute("SELECT band, hash, article_id FROM neardup_bands ORDER BY 1, 2, 3").fetchall(),
        }
    finally:
        con.close()


def test_prepared_in_the_worker_equals_computed_by_the_archive(tmp_path):
    store(tmp_path / "prepared.db", prepared=True)
    store(tmp_path / "archive.db", prepared=False)
    ours, theirs = dump(tmp_path / "prepared.db"), dump(tmp_path / "archive.db")
    assert len(ours["pages"]) == 3 and all(body for _, body, _ in ours["pages"])
    assert len({url for url, *_ in ours["stems"]}) == 3
    assert len(ours["signatures"]) == 3 and ours["bands"]
    assert ours == theirs
    with Archive(tmp_path / "prepared.db", readonly=True) as archive:
        for page_id, name in enumerate(sorted(p.name for p in PAGES.glob("*.html")), start=1):
            assert archive.page_body(page_id) == (PAGES / name).read_bytes()


def test_offered_stems_are_used_and_then_forgotten(tmp_path):
    page = fetched("ru_news.html")
    result, prep = extract_and_prepare(page, None)
    language = result.article["language"]
    row = {"site": "local", "url": page.url, "fetched_at": FETCHED, "body": prep.body}
    with Archive(tmp_path / "a.db") as archive:
        # A deliberately different "stem" shows the index took the offered value.
        archive.offer_stems({(result.article["text"], language): "offered"})
        archive.store_fetch(row, result.article, crawl_id=None, seen_at=FETCHED)
        assert archive._stems == {}
        found = archive.db.execute("SELECT rowid FROM articles_stem_fts WHERE articles_stem_fts MATCH "
                                   "'text:offered'").fetchall()
        assert found == [(1,)]
        # forgotten: the next article with the same text is stemmed by the archive
        archive.store_fetch(dict(row, url=page.url + "2"), dict(result.article, url=page.url + "2"),
                            crawl_id=None, seen_at=FETCHED)
        found = archive.db.execute("SELECT rowid FROM articles_stem_fts WHERE articles_stem_fts MATCH "
                                   "'text:offered'").fetchall()
        assert found == [(1,)]


def test_nothing_prepared_for_a_page_without_an_article():
    page = fetched("ru_news.html")
    page.body = b"<html><body><p>x</p></body></html>"
    result, prep = extract_and_prepare(page, None, store_body=False)
    assert result.article is None and result.error
    assert prep.body is None and prep.stems == {} and prep.signed is None
