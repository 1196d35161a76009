"""Exports by worker processes (archive.export_parallel) write exactly the sequential bytes."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from multiprocessing.connection import Connection

import pyarrow.parquet as pq
import pytest

from archive import Archive
from archive import export as export_module
from archive import export_parallel
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


FILTERS = [{}, {"dedup": "near"}, {"dedup": "exact", "language": "ru"}, {"site": "p1.kz", "date_from": "2025-03-01"},
           {"query": "форум OR бюджет"}, {"date_to": "2025-04-30"}, {"site": "nowhere"}]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt", "parquet"])
def test_workers_write_the_sequential_bytes(parc, tmp_path, monkeypatch, fmt):
    # Batches of 5 ids: the 47 rows go to the two workers in turn, many times over, and
    # each worker reads a batch on two connections (3 + 2 ids; the last batch of 2 on one).
    monkeypatch.setattr(export_parallel, "UNIT_ROWS", 5)
    monkeypatch.setattr(export_parallel, "READERS", 2)
    started = []
    original = export_parallel.ParallelStream.start
    monkeypatch.setattr(export_parallel.ParallelStream, "start", lambda self: (started.append(1), original(self)))
    out = tmp_path / f"corpus.{fmt}"
    # Every filter for jsonl; the selection code is shared, so the other formats take three.
    for filters in FILTERS if fmt == "jsonl" else [FILTERS[1], FILTERS[3], FILTERS[-1]]:
        sequential = _export(parc, fmt, out, 0, **filters)
        assert not started
        parallel = _export(parc, fmt, out, 2, **filters)
        assert started.pop() and not started
        assert parallel == sequential, filters
    assert sequential[2] == 0  # the last filter selects nothing: still the same (empty) file


def test_parquet_row_groups_span_worker_batches(parc, tmp_path, monkeypatch):
    monkeypatch.setattr(export_parallel, "UNIT_ROWS", 5)
    out = tmp_path / "g.parquet"
    for rows, chars in ((4, 1 << 20), (7, 1 << 20), (500, 120), (3, 90)):
        monkeypatch.setattr(export_module, "PARQUET_BATCH_ROWS", rows)
        monkeypatch.setattr(export_module, "PARQUET_BATCH_BYTES", chars)
        sequential = _export(parc, "parquet", out, 0)
        groups = [pq.ParquetFile(out).metadata.row_group(i).num_rows
                  for i in range(pq.ParquetFile(out).metadata.num_row_groups)]
        assert _export(parc, "parquet", out, 2) == sequential, (rows, chars)
        assert len(groups) > 47 // 7 and any(g % 5 for g in groups), groups  # groups cut across batches


def test_workers_read_the_snapshot_the_export_started_with(parc, tmp_path, monkeypatch):
    monkeypatch.setattr(export_parallel, "UNIT_ROWS", 4)
    monkeypatch.setattr(export_parallel, "READERS", 2)
    out = tmp_path / "s.jsonl"
    before = _export(parc, "jsonl", out, 0)
    locked_at_start = []
    send = Connection.send_bytes

    def send_and_try_to_commit(self, data, *args):
        if data == b"go":
            # While the workers open their read transactions no writer may commit.
            other = sqlite3.connect(parc.path, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
                locked_at_start.append(False)
                other.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                locked_at_start.append("locked" in str(exc))
            other.close()
        return send(self, data, *args)

    monkeypatch.setattr(Connection, "send_bytes", send_and_try_to_commit)
    iterate = export_parallel.ParallelStream.__iter__

    def commit_midway(self):
        for n, batch in enumerate(iterate(self)):
            if n == 1:
                # A crawl commits while the export runs: new text, a new row, a deleted row.
                writer = sqlite3.connect(parc.path)
                with writer:
                    writer.execute("UPDATE articles SET text = 'changed' "
                                   "WHERE id IN (SELECT id FROM articles ORDER BY published_at DESC LIMIT 3)")
                    writer.execute("INSERT INTO articles (url, site, title, text, published_at, first_seen_at, "
                                   "last_seen_at) VALUES ('https://p.kz/new', 'p.kz', 'new', 'new', '2025-01-01', "
                                   "'x', 'x')")
                    writer.execute("UPDATE articles SET near_duplicate_of = NULL WHERE near_duplicate_of IS NOT NULL")
                    writer.execute("DELETE FROM articles WHERE id = (SELECT max(id) FROM articles WHERE id < 40)")
                writer.close()
            yield batch

    monkeypatch.setattr(export_parallel.ParallelStream, "__iter__", commit_midway)
    during = _export(parc, "jsonl", out, 2)
    assert locked_at_start == [True, True]
    assert during[0] == before[0] and during[2] == before[2] == 47
    monkeypatch.undo()
    after = _export(parc, "jsonl", out, 0)
    assert after[0] != before[0] and after[2] == 47  # one row more, one less


def test_no_write_lock_means_one_process(parc, tmp_path, monkeypatch, caplog):
    out = tmp_path / "l.csv"
    expected = _export(parc, "csv", out, 0)
    monkeypatch.setattr(export_parallel, "LOCK_TIMEOUT", 0.05)
    writer = sqlite3.connect(parc.path)
    writer.execute("BEGIN IMMEDIATE")  # a crawl in the middle of a write
    try:
        with caplog.at_level(logging.INFO, logger="archive.export"):
            assert _export(parc, "csv", out, 2) == expected
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "exporting in one process" in caplog.text


def test_a_dead_worker_fails_the_export_and_leaves_no_file(parc, tmp_path, monkeypatch):
    monkeypatch.setattr(export_parallel, "UNIT_ROWS", 2)
    original = export_parallel.ParallelStream.start

    def start_then_kill(self):
        original(self)
        self._procs[1].kill()
        self._procs[1].wait()

    monkeypatch.setattr(export_parallel.ParallelStream, "start", start_then_kill)
    out = tmp_path / "dead.jsonl"
    with pytest.raises(RuntimeError, match="worker"):
        export_corpus(parc, "jsonl", out, workers=2)
    assert not out.exists() and not (tmp_path / "dead.jsonl.part").exists()


def test_workers_start_by_themselves_for_a_big_archive(parc, tmp_path, monkeypatch):
    started = []
    original = export_parallel.ParallelStream.start
    monkeypatch.setattr(export_parallel.ParallelStream, "start", lambda self: (started.append(1), original(self)))
    out = tmp_path / "auto.jsonl"
    small = _export(parc, "jsonl", out, None)
    assert not started  # 47 articles: not worth starting processes
    monkeypatch.setattr(export_module, "PARALLEL_MIN_ROWS", 40)
    assert _export(parc, "jsonl", out, None) == small and started == [1]
    # A caller's open transaction may already hold another snapshot: no workers then.
    with parc.db.conn:
        parc.db.execute("SELECT count(*) FROM articles").fetchone()
        parc.db.execute("BEGIN")
        assert export_corpus(parc, "jsonl", tmp_path / "t.jsonl").rows == 47
    assert started == [1]
    assert hashlib.sha256((tmp_path / "t.jsonl").read_bytes()).digest() == hashlib.sha256(small[0]).digest()


def test_a_cold_whole_archive_export_reads_the_table_in_storage_order_meanwhile(parc, tmp_path, monkeypatch):
    out = tmp_path / "w.jsonl"
    expected = _export(parc, "jsonl", out, 0)
    # 47 articles: too few to be worth sampling, so it is never wanted by itself.
    assert not export_parallel.WarmUp.wanted(str(parc.path))
    runs = []
    original_run = export_parallel.WarmUp._run

    def run(self):
        original_run(self)
        runs.append(self)

    monkeypatch.setattr(export_parallel.WarmUp, "wanted", classmethod(lambda cls, path: True))
    monkeypatch.setattr(export_parallel.WarmUp, "_run", run)
    assert _export(parc, "jsonl", out, 2) == expected
    assert len(runs) == 1
    # Only for an export of (nearly) the whole archive.
    _export(parc, "jsonl", out, 2, site="p1.kz")
    assert len(runs) == 1


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_worker_failure_reaches_the_caller_after_the_batches_before_it(parc, tmp_path, monkeypatch, fmt):
    """Text that is not UTF-8 fails the worker that reads it; its error must come through
    its result pipe whole (after its queued batches), not cut into a batch being sent."""
    monkeypatch.setattr(export_parallel, "UNIT_ROWS", 3)
    last = parc.db.execute("SELECT id FROM articles WHERE published_at IS NOT NULL "
                           "ORDER BY published_at DESC, id DESC LIMIT 1").fetchone()[0]
    with parc.db.conn:
        parc.db.execute("UPDATE articles SET text = CAST(x'c3ff' AS TEXT) WHERE id = ?", [last])
    out = tmp_path / f"corpus.{fmt}"
    with pytest.raises(Exception) as sequential:
        export_corpus(parc, fmt, out, workers=0)
    with pytest.raises(RuntimeError, match="an export worker failed: OperationalError") as parallel:
        export_corpus(parc, fmt, out, workers=2)
    assert str(sequential.value) in str(parallel.value)
