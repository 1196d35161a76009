"""Search at scale: the prefix indexes of both FTS indexes, their migration, the ranking modes."""

from __future__ import annotations

import sqlite3

import sqlite_utils
from click.testing import CliRunner

from archive import SCHEMA_VERSION, Archive, utc_now
from archive.fts_prefix import FTS_PREFIX, has_prefix_index
from archive.schema import MIGRATIONS, configure
from archive.search import STEM_FTS, rebuild_stem_index, search
from crawler.cli import cli
from test_search import check_index

TEXTS = [
    ("Форум в Актау", "Аким Мангистауской области открыл форум молодёжи. Форума ждали давно.", "ru"),
    ("Съезд учителей", "Учителя школ области обсудили отопительный сезон на форуме.", "ru"),
    ("Облыс жаңалықтары", "Маңғыстау облысында форумы өтті. Облыстың әкімі сөйледі.", "kk"),
    ("Ремонт школ", "Министр образования проверил ремонт школ Павлодарской области.", "ru"),
    ("Форумчане", "Форумчане из Павлодара приехали на молодежный форум в Астану.", "ru"),
]
QUERIES = ["форум*", "област*", "Павлодар*", "школ* NOT учител*", "министр* ремонт*", "молодеж* OR молодёж*",
           '"Мангистауской области"', "форум", "Облыс*", "фо*", "отопительн*", "Мангистауская", "облысы"]


def _old_archive(path):
    """An archive as the code before the prefix migration left it: both indexes without prefix=."""
    db = sqlite_utils.Database(path)
    configure(db)
    for number, migration in enumerate(MIGRATIONS, start=1):
        if migration.__name__ == "_m013_fts_prefix_indexes":
            break
        migration(db)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(f"DROP TABLE {STEM_FTS}")
    db.execute(f"CREATE VIRTUAL TABLE {STEM_FTS} USING fts5(title, text, content='', "
               "tokenize='unicode61 remove_diacritics 2')")
    for i, (title, text, language) in enumerate(TEXTS * 3):
        db["articles"].insert({"url": f"https://example.kz/{i}", "site": "example.kz", "title": title,
                               "text": text, "language": language, "first_seen_at": utc_now(),
                               "last_seen_at": utc_now(), "content_hash": f"h{i}"})
    rebuild_stem_index(db)
    db.conn.commit()
    assert not has_prefix_index(db, "articles_fts") and not has_prefix_index(db, STEM_FTS)
    return db


def _results(conn) -> dict:
    out = {}
    for q in QUERIES:
        for stemmed in (False, True):
            out[q, stemmed] = [(h.id, round(h.rank, 6), h.snippet) for h in
                               search(conn, q, stemmed=stemmed, limit=100, candidates=None)]
    return out


def test_migration_adds_prefix_indexes_and_answers_alike(tmp_path):
    path = tmp_path / "old.db"
    db = _old_archive(path)
    before = _results(db.conn)
    assert sum(map(len, before.values())) > 100  # the queries do find things
    db.close()
    with Archive(path) as arc:
        assert arc.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert has_prefix_index(arc.db, "articles_fts") and has_prefix_index(arc.db, STEM_FTS)
        assert f"prefix='{FTS_PREFIX}'" in arc.db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'").fetchone()[0]
        assert _results(arc.db.conn) == before  # same matches, same bm25, same snippets
        arc.db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        check_index(arc.db)
        # The triggers survived the recreated tables: new, edited and deleted articles follow.
        arc.store_article({"url": "https://example.kz/new", "site": "example.kz", "title": "Новое",
                           "text": "Форумный зал Павлодарского университета.", "language": "ru",
                           "content_hash": "new"}, page_id=None, crawl_id=None, seen_at=utc_now())
        new_id = arc.db.execute("SELECT id FROM articles WHERE url = 'https://example.kz/new'").fetchone()[0]
        with arc.transaction():
            arc.db.execute("UPDATE articles SET text = 'Зал Карагандинского вуза.' WHERE id = 1")
            arc.db.execute("DELETE FROM articles WHERE id = 2")
        for stemmed in (False, True):
            hits = {h.id for h in search(arc.db.conn, "форумн*", stemmed=stemmed, candidates=None)}
            assert new_id in hits
            pavlodar = {h.id for h in search(arc.db.conn, "Павлодар*", stemmed=stemmed, limit=100, candidates=None)}
            assert new_id in pavlodar and 2 not in pavlodar
            assert 1 not in {h.id for h in search(arc.db.conn, "Мангистау*", stemmed=stemmed, candidates=None)}
            assert 1 in {h.id for h in search(arc.db.conn, "Карагандин*", stemmed=stemmed, candidates=None)}
        arc.db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        check_index(arc.db)
    # sqlite-utils still sees the plain index as the articles' FTS table.
    db = sqlite_utils.Database(path)
    assert db["articles"].detect_fts() == "articles_fts"
    assert {r["id"] for r in db["articles"].search("Павлодар*")} >= {new_id}
    db.close()


def test_migration_is_all_or_nothing(tmp_path):
    # A failure inside the migration (here: the stemmed rebuild cannot read the articles)
    # leaves both old indexes and the old schema version.
    path = tmp_path / "old.db"
    db = _old_archive(path)
    before = _results(db.conn)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    import archive.search as search_module

    real = search_module.stem_text
    calls = []

    def failing(text, language):
        calls.append(1)
        if len(calls) > 5:
            raise OSError("disk gone")
        return real(text, language)

    search_module.stem_text = failing
    try:
        try:
            Archive(path).close()
        except OSError:
            pass
        else:
            raise AssertionError("the migration should have failed")
    finally:
        search_module.stem_text = real
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    conn.close()
    db = sqlite_utils.Database(path)
    assert not has_prefix_index(db, "articles_fts") and not has_prefix_index(db, STEM_FTS)
    assert _results(db.conn) == before
    db.close()


def test_cli_search_rank_all_ranks_every_match(tmp_path):
    path = tmp_path / "a.db"
    with Archive(path) as arc:
        with arc.transaction():
            for i in range(30):
                # The oldest articles say «форум» most often: they rank first only when every
                # match is ranked.
                text = " ".join(["Форум."] * (12 if i < 3 else 1) + ["Слово."] * 20)
                arc.store_article({"url": f"https://example.kz/{i}", "site": "example.kz", "title": f"Т {i}",
                                   "text": text, "language": "ru", "content_hash": f"h{i}"},
                                  page_id=None, crawl_id=None, seen_at=utc_now())
    hits = search(sqlite3.connect(path), "форум", limit=3, candidates=10)
    assert hits.bounded and {h.id for h in hits}.isdisjoint({1, 2, 3})
    assert not search(sqlite3.connect(path), "форум", limit=3, candidates=30).bounded  # exactly 30 match
    runner = CliRunner()
    import json

    notes = []

    def ids(*options):
        result = runner.invoke(cli, ["search", "форум", "--db", str(path), "--limit", "3", "--json", *options])
        assert result.exit_code == 0, result.output
        notes.append("best of the newest 10; --rank-all ranks every match" in result.stderr)
        return {json.loads(line)["id"] for line in result.stdout.splitlines() if line.startswith("{")}

    for plain in ([], ["--plain"]):
        newest = ids("--rank-newest", "10", *plain)
        assert len(newest) == 3 and newest.isdisjoint({1, 2, 3}) and min(newest) > 20
        assert ids("--rank-all", *plain) == {1, 2, 3}
        assert ids(*plain) == {1, 2, 3}  # fewer matches than the default bound: every one ranked
        assert notes[-3:] == [True, False, False]  # the bounded run says so, the others do not
    both = runner.invoke(cli, ["search", "форум", "--db", str(path), "--rank-all", "--rank-newest", "5"])
    assert both.exit_code == 2 and "exclude each other" in both.output
