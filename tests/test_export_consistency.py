"""Export bytes pinned, one snapshot per export, failures that leave nothing behind."""

from __future__ import annotations

import hashlib
import logging
import sqlite3

import pyarrow.parquet as pq
import pytest

from archive import Archive
from archive import export as export_module
from archive.export import export_corpus

WORDS = ("форум", "бюджет", "Астана", "жаңбыр", "выборы", "транспорт", "мектеп", "экология")


def _text(i: int) -> str:
    # Own generated sentences; every few rows a line break, a quote, a comma or an astral character.
    words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(5 + i % 9)]
    text = " ".join(words) + "."
    if i % 4 == 0:
        text += "\n\nВторой абзац, с запятой и «кавычками» \"тоже\"."
    if i % 11 == 0:
        text += " 🙂 \u2028 конец"
    return text


@pytest.fixture
def parc(tmp_path):
    """47 articles in three crawls: offsets, day-only and undated rows, exact and near copies,
    a page-fetched text (its crawl comes from the page), JSON columns of several shapes."""
    arc = Archive(tmp_path / "archive.db")
    crawls = [arc.start_crawl(["p.kz"], {"versions": {"news-archive-crawler": f"0.{n}.0"}}) for n in range(3)]
    for i in range(47):
        published = (None if i % 13 == 5 else f"2025-0{1 + i % 9}-{10 + i % 17}" if i % 6 == 1
                     else f"2025-0{1 + i % 9}-{10 + i % 17}T{i % 24:02d}:15:00+0{5 + i % 2}:00")
        article = {"url": f"https://p{i % 3}.kz/{i}", "site": f"p{i % 3}.kz", "language": "kk" if i % 5 == 0 else "ru",
                   "title": f"Жаңалық {i}, «тақырып»", "text": _text(i if i % 10 != 9 else i - 1),
                   "published_at": published, "categories": ["Общество", f"k{i % 4}"] if i % 3 else None,
                   "tags": [] if i % 7 == 0 else ["тег"], "hreflang": {"ru": f"https://p.kz/{i}"} if i % 2 else None,
                   "content_hash": f"h{i if i % 10 != 9 else i - 1}"}
        if i % 8 == 3:
            page = {"url": article["url"], "site": article["site"], "status": 200, "content_type": "text/html",
                    "fetched_at": "2025-09-15T00:00:00Z", "body": None}
            arc.store_fetch(page, article, crawl_id=crawls[2], seen_at="2025-09-15T00:00:00Z")
        else:
            arc.store_article(article, page_id=None, crawl_id=crawls[i % 2], seen_at="2025-09-15T00:00:00Z")
    for crawl in crawls:
        arc.finish_crawl(crawl, {}, "ok")
    with arc.db.conn:
        arc.db.execute("UPDATE articles SET near_duplicate_of = 2 WHERE id IN (12, 22, 32)")
    yield arc
    arc.close()


def _export(arc, fmt: str, out, workers: int, **filters) -> tuple[bytes, bytes, int]:
    result = export_corpus(arc, fmt, out, workers=workers, **filters)
    return out.read_bytes(), (out.parent / (out.name + ".manifest.json")).read_bytes(), result.rows


def _export(arc, fmt: str, out, **options) -> tuple[bytes, bytes, int]:
    result = export_corpus(arc, fmt, out, **options)
    return out.read_bytes(), (out.parent / (out.name + ".manifest.json")).read_bytes(), result.rows


# sha256 and size of each export: txt as version 0.1.0 wrote it; jsonl and csv as 0.1.0
# wrote them plus the three article columns added since (withdrawn_at, tz_source,
# modified_at), the other bytes unchanged. The bytes must not change.
PINNED = [
    ({}, "jsonl", 36692, "976b6e6ac1ab8dd207854c6ef78126793d81959b7ea935d4b51c83094a11f1b9"),
    ({}, "csv", 17435, "04831577d72125cfeec1e5e101cc28a889ede7478226cce93cdc8b6f8418003f"),
    ({}, "txt", 9786, "54d6ac1a5d37095ae8a57519debd5a4af6429a7862e9fd720d445fb357e1da41"),
    ({"dedup": "near"}, "jsonl", 31299, "53cb5f8cb499cfe998e4b3a40d3e3689520242ee489a73309c5ebbfdabd6a32b"),
    ({"dedup": "near"}, "csv", 14891, "79519b996b165a19f442229bbe73e4684ea615486f9c5b008e0696a0eab109f4"),
    ({"dedup": "near"}, "txt", 8438, "85d4cc50f0cb5291fac67fb90f0495e538358ed2e7dc64aa95944946feca0437"),
    ({"dedup": "exact", "language": "ru"}, "jsonl", 25801, "7b0adb2993a96c34946f918b8248373f1f2f6a4257850f61f1e6f989df77ad61"),
    ({"dedup": "exact", "language": "ru"}, "csv", 12338, "0a694720b4d297304ef18e6e1d6ba5ff36d24038ec75097dc74b1eeaf80249d6"),
    ({"dedup": "exact", "language": "ru"}, "txt", 6932, "d6a8868f287a3963e7b70b3270ba421ee12913efbe5ebb6a1fad312eb1fd880d"),
    ({"site": "p1.kz", "date_from": "2025-03-01"}, "jsonl", 7307, "cb8094db51e1596c846cd462f0e870fd920f86b3eb3f311453bb82ed1c986243"),
    ({"site": "p1.kz", "date_from": "2025-03-01"}, "csv", 3850, "b1b18f3edd37224284bcd42d141383cec8b864d821f9ff95c50ac7f7efafacfe"),
    ({"site": "p1.kz", "date_from": "2025-03-01"}, "txt", 2113, "c982e790e3fe05463e279a2f71539ab657e4fb8e4e56836a253a9c6bc7a5d428"),
    ({"query": "форум OR бюджет"}, "jsonl", 35264, "33a27fab41d489e7032a6b332fad913087dac2444181d25e3b64c0e5438d6838"),
    ({"query": "форум OR бюджет"}, "csv", 16841, "02a930d8078a2f4c9f92a0321536f68857b42be4b151f78a05bbe6fe53b6a2a7"),
    ({"query": "форум OR бюджет"}, "txt", 9507, "96c83e42af8338f21d138ea9a69164a08f1d5b2762c2481cafc15f786e4d1f12"),
    ({"date_to": "2025-04-30"}, "jsonl", 15797, "f70c6d9945d412dd362d28eec67b91bc9e7d5cc377a43c4f46d8c2e749bf735f"),
    ({"date_to": "2025-04-30"}, "csv", 7334, "af7e0fbf748b02add75cbd8b445734e03d4b1fb3abd2797813550e01b24b0baf"),
    ({"date_to": "2025-04-30"}, "txt", 3794, "67871f37375462982c705078cb9ef7ec5ec2830d9351f3f2f9fd774c59539978"),
]


@pytest.mark.parametrize(("filters", "fmt", "size", "sha256"), PINNED)
def test_export_bytes_are_pinned(parc, tmp_path, filters, fmt, size, sha256):
    data = _export(parc, fmt, tmp_path / f"corpus.{fmt}", **filters)[0]
    assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt", "parquet"])
def test_workers_option_writes_the_same_bytes(parc, tmp_path, fmt):
    out = tmp_path / f"corpus.{fmt}"
    for filters in ({}, {"dedup": "near"}, {"site": "nowhere"}):
        assert _export(parc, fmt, out, workers=2, **filters) == _export(parc, fmt, out, workers=0, **filters)


@pytest.mark.parametrize("workers", [0, 2])
def test_an_export_reads_the_snapshot_it_started_with(parc, tmp_path, monkeypatch, workers):
    out = tmp_path / "s.jsonl"
    before = _export(parc, "jsonl", out)
    batches = export_module.iter_batches

    def commit_midway(db, selection, columns, **options):
        for n, rows in enumerate(batches(db, selection, columns, fetch_rows=4, **options)):
            if n == 1:
                # A crawl commits while the export runs: new text, a new row, a deleted row.
                writer = sqlite3.connect(parc.path)
                with writer:
                    writer.execute("UPDATE articles SET text = 'changed' "
                                   "WHERE id IN (SELECT id FROM articles ORDER BY published_at DESC LIMIT 3) "
                                   "OR published_at IS NULL")
                    writer.execute("INSERT INTO articles (url, site, title, text, published_at, first_seen_at, "
                                   "last_seen_at) VALUES ('https://p.kz/new', 'p.kz', 'new', 'new', '2025-01-01', "
                                   "'x', 'x')")
                    writer.execute("UPDATE articles SET near_duplicate_of = NULL WHERE near_duplicate_of IS NOT NULL")
                    writer.execute("DELETE FROM articles WHERE id = (SELECT max(id) FROM articles WHERE id < 40)")
                writer.close()
            yield rows

    monkeypatch.setattr(export_module, "iter_batches", commit_midway)
    assert _export(parc, "jsonl", out, workers=workers) == before
    monkeypatch.undo()
    after = _export(parc, "jsonl", out)
    assert after[0] != before[0] and after[2] == 47  # one row more, one less


def test_an_export_inside_the_callers_transaction(parc, tmp_path):
    expected = _export(parc, "jsonl", tmp_path / "a.jsonl")[0]
    with parc.db.conn:
        parc.db.execute("BEGIN")
        parc.db.execute("SELECT count(*) FROM articles").fetchone()
        assert export_corpus(parc, "jsonl", tmp_path / "t.jsonl").rows == 47
        assert parc.db.conn.in_transaction  # the caller's transaction is left open
    assert (tmp_path / "t.jsonl").read_bytes() == expected


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_an_unreadable_row_fails_the_export_and_leaves_no_file(parc, tmp_path, fmt):
    last = parc.db.execute("SELECT id FROM articles WHERE published_at IS NOT NULL "
                           "ORDER BY published_at DESC, id DESC LIMIT 1").fetchone()[0]
    with parc.db.conn:
        parc.db.execute("UPDATE articles SET text = CAST(x'c3ff' AS TEXT) WHERE id = ?", [last])
    out = tmp_path / f"corpus.{fmt}"
    with pytest.raises(sqlite3.OperationalError):
        export_corpus(parc, fmt, out)
    assert not out.exists() and not (tmp_path / f"corpus.{fmt}.part").exists()
    assert not (tmp_path / f"corpus.{fmt}.manifest.json").exists()


def test_workers_need_a_moment_of_write_lock_else_one_process(parc, tmp_path, monkeypatch, caplog):
    pools = []

    class Recorded(export_module.ProcessPoolExecutor):  # the real pool, counted
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(export_module, "ProcessPoolExecutor", Recorded)
    out = tmp_path / "l.csv"
    expected = _export(parc, "csv", out, workers=0)
    assert not pools
    with caplog.at_level(logging.INFO, logger="archive.export"):
        assert _export(parc, "csv", out, workers=2) == expected
    assert len(pools) == 1 and "exporting in one process" not in caplog.text  # the workers did the export
    monkeypatch.setattr(export_module, "LOCK_TIMEOUT", 0.05)
    writer = sqlite3.connect(parc.path)
    writer.execute("BEGIN IMMEDIATE")  # a crawl in the middle of a write
    try:
        with caplog.at_level(logging.INFO, logger="archive.export"):
            assert _export(parc, "csv", out, workers=2) == expected
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert len(pools) == 1 and "exporting in one process" in caplog.text


def test_parquet_row_groups_cut_across_worker_batches(parc, tmp_path, monkeypatch):
    batches = export_module.iter_batches
    monkeypatch.setattr(export_module, "iter_batches",
                        lambda db, selection, columns, **options: batches(db, selection, columns, fetch_rows=5, **options))
    out = tmp_path / "g.parquet"
    for rows, chars in ((4, 1 << 20), (7, 1 << 20), (500, 120), (3, 90)):
        monkeypatch.setattr(export_module, "PARQUET_BATCH_ROWS", rows)
        monkeypatch.setattr(export_module, "PARQUET_BATCH_BYTES", chars)
        sequential = _export(parc, "parquet", out, workers=0)
        meta = pq.ParquetFile(out).metadata
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert _export(parc, "parquet", out, workers=2) == sequential, (rows, chars)
        assert len(groups) > 47 // 7 and any(g % 5 for g in groups), groups  # groups cut across batches
