"""bench/archive_bulk.py builds the same archive as Archive.store_fetch, only faster."""

from __future__ import annotations

import sqlite3

from archive.stemming import stem_text
from bench.archive_bulk import check, compare


def test_bulk_build_matches_the_store_path_and_the_comparison_sees_a_difference(tmp_path):
    assert check(800, tmp_path, batch=300) == []
    store, bulk = tmp_path / "check-store.db", tmp_path / "check-bulk.db"
    con = sqlite3.connect(bulk, isolation_level=None)
    title, text, language = con.execute("SELECT title, text, language FROM articles WHERE id = 7").fetchone()
    # One article missing from the stemmed index only: the rows agree, a match set does not.
    con.execute("INSERT INTO articles_stem_fts (articles_stem_fts, rowid, title, text) VALUES ('delete', 7, ?, ?)",
                [stem_text(title, language), stem_text(text, language)])
    con.close()
    problems = compare(store, bulk)
    assert problems and all(p.startswith("articles_stem_fts MATCH") for p in problems)
    con = sqlite3.connect(bulk, isolation_level=None)
    con.execute("UPDATE pages SET status = 203 WHERE id = 5")
    con.close()
    assert any(p.startswith("pages: ") for p in compare(store, bulk))
