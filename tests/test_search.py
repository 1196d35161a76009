"""Stemmed full-text search: stems, the index kept in step with articles, `crawler search`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from archive import SCHEMA_VERSION, Archive, utc_now
from archive.kazakh_stem import stem as kk_stem
from archive.schema import MIGRATIONS, configure
from archive.search import STEM_FTS, pending_changes, search
from archive.stemming import stem_query, stem_text
from crawler.cli import cli

ROOT = Path(__file__).resolve().parent.parent
from bench.search_quality import FORMS, load_corpus, measure


def store(arc: Archive, url: str, text: str, *, title: str = "", language: str = "ru", h: str | None = None):
    return arc.store_article({"url": url, "site": "example.kz", "title": title, "text": text,
                              "language": language, "content_hash": h or url},
                             page_id=None, crawl_id=None, seen_at=utc_now())


def found(db, query: str, **kw) -> set[int]:
    return {hit.id for hit in search(db, query, limit=1000, **kw)}


def check_index(db) -> None:
    """The index holds exactly the stems of the current articles (FTS5's own integrity
    check cannot compare a contentless index with its content)."""
    db.execute(f"INSERT INTO {STEM_FTS}({STEM_FTS}, rank) VALUES('integrity-check', 0)")
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.stem_vocab USING fts5vocab(main, {STEM_FTS}, instance)")
    indexed = sorted(db.execute("SELECT doc, col, offset, term FROM temp.stem_vocab").fetchall())
    expected = []
    for article_id, title, text, language in db.execute("SELECT id, title, text, language FROM articles"):
        for col, value in (("title", title), ("text", text)):
            for offset, term in enumerate(stem_text(value, language).split()):
                expected.append((article_id, col, offset, term))
    assert indexed == sorted(expected)


@pytest.fixture
def arc(tmp_path):
    archive = Archive(tmp_path / "archive.db")
    yield archive
    archive.close()


def test_kazakh_stripper_maps_noun_forms_to_one_stem():
    assert {kk_stem(w) for w in ("облыс", "облысы", "облысында")} == {"облыс"}
    assert {kk_stem(w) for w in ("заң", "заңды", "заңға")} == {"заң"}
    assert kk_stem("қаласында") == "қала"
    assert kk_stem("тұрғындармен") == "тұрғын"
    assert kk_stem("заң") == "заң"  # never shorter than three letters


def test_query_syntax_survives_stemming():
    assert stem_query("форум* OR съезд") == "форум* OR съезд"
    assert stem_query('"Мангистауской области"') == '"мангистауск област"'
    assert stem_query("title:выборах NOT ёлка") == "title:(выбор OR выборах) NOT (елк OR елка)"


def test_bare_word_finds_word_forms_on_the_labelled_corpus(arc):
    docs = load_corpus()
    from crawler.language import script_language

    for n, doc in enumerate(docs):
        store(arc, f"https://example.kz/{n}", doc, language=script_language(doc) or "ru")
    results = measure(arc, docs)
    plain, stemmed = results["plain, bare word"], results["stemmed, bare word"]
    assert plain["recall"] < 0.5  # what a bare word found before
    assert stemmed["recall"] >= 0.9
    assert stemmed["false_matches"] <= 2
    assert stemmed["per_word"]["Мангистауская"]["recall"] == 1.0
    assert len(FORMS) == 12


def test_stem_index_follows_insert_update_and_delete(arc):
    first = store(arc, "https://example.kz/1", "Аким Мангистауской области встретился с жителями.", h="a")
    store(arc, "https://example.kz/2", "Жастар форумы Ақтау қаласында өтті.", language="kk")
    assert found(arc.db, "Мангистауская") == {first.id}
    assert found(arc.db, "форумға") != set()  # Kazakh forms through the Kazakh stripper
    store(arc, "https://example.kz/1", "Семинар прошёл в Атырау.", h="b")  # an edit
    assert found(arc.db, "Мангистауская") == set()
    assert found(arc.db, "семинары") == {first.id}
    assert pending_changes(arc.db) == 0
    check_index(arc.db)
    # The plain index and its prefix syntax are untouched.
    assert {r["id"] for r in arc.db["articles"].search("Семинар*")} == {first.id}


def test_changes_by_other_tools_wait_in_the_log_until_the_archive_opens(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as arc:
        one = store(arc, "https://example.kz/1", "Учителя школы организовали субботник.").id
        two = store(arc, "https://example.kz/2", "Урожай зерна оказался выше.").id
    other = sqlite_utils.Database(path)  # e.g. a researcher fixing a text with sqlite-utils
    other["articles"].update(one, {"text": "Выборы в маслихат назначены на март."})
    other["articles"].delete(two)
    other["articles"].insert({"url": "https://example.kz/3", "site": "example.kz", "title": "",
                              "text": "Новый закон вступил в силу.", "first_seen_at": utc_now(),
                              "last_seen_at": utc_now()})
    other.close()
    with Archive(path) as arc:
        assert pending_changes(arc.db) == 0
        assert found(arc.db, "учитель") == set()
        assert found(arc.db, "выборах") == {one}
        assert found(arc.db, "урожай") == set()
        assert len(found(arc.db, "законы")) == 1
        check_index(arc.db)


def test_migration_builds_the_index_for_an_existing_archive(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    configure(db)
    for number, migration in enumerate(MIGRATIONS, start=1):
        if migration.__name__ == "_m004_stemmed_search":
            break
        migration(db)
        db.execute(f"PRAGMA user_version = {number}")
    assert STEM_FTS not in db.table_names()
    db["articles"].insert({"url": "https://example.kz/1", "site": "example.kz", "title": "Форум",
                           "text": "Аким Мангистауской области.", "first_seen_at": utc_now(),
                           "last_seen_at": utc_now()})
    db.close()
    with Archive(path) as arc:
        assert arc.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert found(arc.db, "мангистауская") == {1}


def test_cli_search_ranked_with_snippets_and_read_only(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as arc:
        store(arc, "https://example.kz/a", "Аким Мангистауской области встретился с жителями Жанаозена.",
              title="Аким и жители")
        store(arc, "https://example.kz/b", "Мангистауская область. Мангистауской области. "
              "Мангистаускую область.", title="Мангистауская область")
    path.chmod(0o444)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["search", "Мангистауская", "--db", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "https://example.kz/b" in lines[1]  # more occurrences: ranked first
    assert "[Мангистауской]" in result.output
    assert path.read_bytes() == before
    plain = CliRunner().invoke(cli, ["search", "Мангистауская", "--plain", "--db", str(path)])
    assert plain.exit_code == 0 and "https://example.kz/a" not in plain.output
    bad = CliRunner().invoke(cli, ["search", '"unclosed', "--db", str(path)])
    assert bad.exit_code == 2 and "bad search query" in bad.output and "Traceback" not in bad.output
    missing = CliRunner().invoke(cli, ["search", "x", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 3 and "archive not found" in missing.output


def test_contentless_delete_needs_the_old_tokens(arc):
    # Why the log keeps old values: a delete given other tokens leaves the old ones behind.
    one = store(arc, "https://example.kz/1", "Форум прошёл.").id
    two = store(arc, "https://example.kz/2", "Форум закрылся.").id
    delete = f"INSERT INTO {STEM_FTS}({STEM_FTS}, rowid, title, text) VALUES('delete', ?, ?, ?)"
    match = f"SELECT rowid FROM {STEM_FTS} WHERE {STEM_FTS} MATCH 'форум' ORDER BY rowid"
    arc.db.execute(delete, [two, "", stem_text("Форум закрылся.", "ru")])
    assert arc.db.execute(match).fetchall() == [(one,)]
    arc.db.execute(delete, [one, "", "совсем другое"])
    assert arc.db.execute(match).fetchall() == [(one,)]
    arc.db.conn.rollback()


def test_many_matches_rank_only_the_newest_candidates(arc):
    ids = [store(arc, f"https://example.kz/{n}", "форум " * (5 - n) + "и другое").id for n in range(5)]
    everything = search(arc.db, "форум", candidates=None)
    assert [h.id for h in everything] == ids  # more occurrences ranked first
    newest = search(arc.db, "форум", candidates=2)
    assert [h.id for h in newest] == ids[3:]  # the best of the two newest
    assert [h.id for h in search(arc.db, "форум", candidates=10)] == ids  # fewer matches: exact


def test_ranking_is_fts5_rank_order_and_scores(arc):
    """search sorts bm25() itself (cheaper than FTS5's ORDER BY rank at scale): the same
    scores and the same order as ``ORDER BY rank`` on both indexes."""
    words = ["форум", "область", "школа", "ремонт", "Астана"]
    for n in range(60):
        text = " ".join(words[(n * k) % 5] for k in range(1, 4 + n % 7)) + f" номер {n}"
        store(arc, f"https://example.kz/r{n}", text, title=words[n % 5])
    for stemmed, table in ((False, "articles_fts"), (True, STEM_FTS)):
        for query in ("форум", "школ* OR ремонт*", '"форум область"', "Астана NOT школа"):
            match = stem_query(query) if stemmed else query
            own = arc.db.execute(f"SELECT rowid, rank FROM {table} WHERE {table} MATCH ? ORDER BY rank",
                                 [match]).fetchall()
            hits = search(arc.db, query, stemmed=stemmed, limit=1000, candidates=None, snippets=False)
            assert own, (query, stemmed)
            assert sorted((r, rowid) for rowid, r in own) == [(h.rank, h.id) for h in hits]


def test_writes_inside_a_callers_transaction_are_indexed_before_it_commits(arc):
    arc.db.execute("BEGIN IMMEDIATE")
    one = store(arc, "https://example.kz/1", "Учителя школы организовали субботник.").id
    arc.db.execute("COMMIT")
    assert pending_changes(arc.db) == 0
    assert found(arc.db, "учитель") == {one}

