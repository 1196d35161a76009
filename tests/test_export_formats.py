"""Research exports: Parquet, FTS and dedup filters, manifests, reproducibility, one file per article."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import pty
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timezone
from importlib import metadata
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from archive import Archive
from archive import export as export_module
from archive.export import (
    CHECKSUMS_NAME,
    article_filename,
    count_articles,
    export_corpus,
    format_txt,
    iter_articles,
)
from archive.views import ensure_views
from crawler.cli import cli

VERSIONS_1 = {"news-archive-crawler": "0.0.9", "trafilatura": "2.3.0", "dateparser": "1.4.0"}
VERSIONS_2 = {"news-archive-crawler": "0.1.0", "trafilatura": "2.3.1", "dateparser": "1.5.0"}

# key -> (crawl, url, site, language, published_at, title, text, content_hash)
SAMPLES = {
    "late": (1, "https://a.kz/1", "a.kz", "ru", "2025-09-12T23:30:00+05:00", "Форум в Актау",
             "Форум открылся поздно вечером.", "h1"),
    "day": (1, "https://a.kz/2", "a.kz", "ru", "2025-09-12", "Погода", "Днём было солнечно.", "h2"),
    "leap": (1, "https://b.kz/1", "b.kz", "kk", "2024-02-29T08:00:00+06:00", "Таңғы жаңалық",
             "Таңертең жаңбыр жауды.", "h3"),
    "offset-change": (1, "https://b.kz/2", "b.kz", "ru", "2025-03-01T00:30:00+05:00", "Полночь",
                      "Новость после полуночи.", "h4"),
    "undated": (1, "https://c.kz/1", "c.kz", "en", None, "Undated", "No date was found.", "h5"),
    "copy": (2, "https://c.kz/copy", "c.kz", "ru", "2025-09-14T09:00:00+05:00", "Копия", "Днём было солнечно.", "h2"),
    "near": (2, "https://d.kz/near", "d.kz", "ru", "2025-09-13T10:00:00+03:00", "Форум прошёл в Актау",
             "Форум открылся вечером.", "h7"),
    "naive": (2, "https://d.kz/naive", "d.kz", "ru", "2025-09-10T10:00:00", "Без пояса", "Время без смещения.", "h8"),
}


def _drop_near_column(db) -> None:
    for index in db["articles"].indexes:
        if "near_duplicate_of" in index.columns:
            db.execute(f"DROP INDEX {index.name}")
    db["articles"].transform(drop={"near_duplicate_of"})
    ensure_views(db)


@pytest.fixture
def farc(tmp_path):
    """Eight articles from two crawls with different software, offsets, a day-only date,
    a naive time, no date, an exact copy and a near-duplicate."""
    arc = Archive(tmp_path / "archive.db")
    crawls = {1: arc.start_crawl(["a.kz", "b.kz", "c.kz"], {"versions": VERSIONS_1}),
              2: arc.start_crawl(["c.kz", "d.kz"], {"versions": VERSIONS_2})}
    ids = {}
    for key, (crawl, url, site, language, published_at, title, text, content_hash) in SAMPLES.items():
        ids[key] = arc.store_article(
            {"url": url, "site": site, "language": language, "published_at": published_at, "title": title,
             "text": text, "content_hash": content_hash, "categories": ["Общество", site],
             "tags": [] if site == "a.kz" else None, "hreflang": {"ru": url, "kk": url + "?kk"}},
            page_id=None, crawl_id=crawls[crawl], seen_at="2025-09-15T06:00:00+06:00").id
    for crawl in crawls.values():
        arc.finish_crawl(crawl, {}, "ok")
    if "near_duplicate_of" not in arc.db["articles"].columns_dict:
        arc.db["articles"].add_column("near_duplicate_of", int)
        ensure_views(arc.db)
    with arc.db.conn:
        arc.db.execute("UPDATE articles SET near_duplicate_of = NULL")
        arc.db.execute("UPDATE articles SET near_duplicate_of = ? WHERE id = ?", [ids["late"], ids["near"]])
    arc.ids = ids
    arc.crawls = crawls
    yield arc
    arc.close()


def keys(arc, rows) -> list[str]:
    by_id = {v: k for k, v in arc.ids.items()}
    return [by_id[row["id"]] for row in rows]


ORDER = ["leap", "offset-change", "naive", "day", "late", "near", "copy", "undated"]


# -- parquet -----------------------------------------------------------------------------


def test_parquet_typed_columns_and_published_at(farc, tmp_path):
    out = tmp_path / "corpus.parquet"
    assert export_corpus(farc, "parquet", out).rows == len(SAMPLES)
    schema = pq.read_schema(out)
    utc = pa.timestamp("us", tz="UTC")
    assert schema.field("id").type == pa.int64() and schema.field("duplicate_of").type == pa.int64()
    assert schema.field("published_at").type == utc and schema.field("first_seen_at").type == utc
    assert schema.field("published_at_local").type == pa.string()
    assert schema.field("published_day").type == pa.date32()
    assert schema.field("categories").type == pa.list_(pa.string())
    assert schema.field("hreflang").type == pa.list_(pa.struct([("lang", pa.string()), ("url", pa.string())]))

    frame = pl.read_parquet(out)  # polars has its own Parquet reader: a second opinion on the file
    assert keys(farc, frame.iter_rows(named=True)) == ORDER
    row = {k: r for k, r in zip(ORDER, frame.iter_rows(named=True))}
    # Offsets differ per row; the timestamp column holds the instant in UTC.
    assert row["late"]["published_at"] == datetime(2025, 9, 12, 18, 30, tzinfo=timezone.utc)
    assert row["near"]["published_at"] == datetime(2025, 9, 13, 7, 0, tzinfo=timezone.utc)
    assert row["leap"]["published_at"] == datetime(2024, 2, 29, 2, 0, tzinfo=timezone.utc)
    # The publisher's day stays the local one, also when UTC is on the day before.
    assert row["offset-change"]["published_at"] == datetime(2025, 2, 28, 19, 30, tzinfo=timezone.utc)
    assert row["offset-change"]["published_day"] == date(2025, 3, 1)
    assert row["offset-change"]["published_at_local"] == "2025-03-01T00:30:00+05:00"
    # Only a day, or a time without an offset: no instant, but the day and the text are kept.
    for key, day in (("day", date(2025, 9, 12)), ("naive", date(2025, 9, 10))):
        assert row[key]["published_at"] is None and row[key]["published_day"] == day
        assert row[key]["published_at_local"] == SAMPLES[key][4]
    assert row["undated"]["published_at"] is None and row["undated"]["published_day"] is None
    assert row["copy"]["duplicate_of"] == farc.ids["day"] and row["day"]["duplicate_of"] is None
    assert row["near"]["near_duplicate_of"] == farc.ids["late"]
    assert row["late"]["categories"] == ["Общество", "a.kz"] and row["late"]["tags"] == []
    assert row["leap"]["tags"] is None
    assert row["late"]["hreflang"] == [{"lang": "ru", "url": "https://a.kz/1"},
                                       {"lang": "kk", "url": "https://a.kz/1?kk"}]
    assert row["late"]["first_seen_at"] == datetime(2025, 9, 15, 0, 0, tzinfo=timezone.utc)
    assert row["late"]["text"] == "Форум открылся поздно вечером."


def test_parquet_streams_in_row_groups(farc, tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "PARQUET_BATCH_ROWS", 3)
    out = tmp_path / "groups.parquet"
    export_corpus(farc, "parquet", out)
    meta = pq.ParquetFile(out).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 2]
    # A batch is also closed by size: with a 1-byte budget every article is its own group.
    monkeypatch.setattr(export_module, "PARQUET_BATCH_BYTES", 1)
    export_corpus(farc, "parquet", out)
    assert pq.ParquetFile(out).metadata.num_row_groups == len(SAMPLES)
    assert pl.read_parquet(out).height == len(SAMPLES)
    # An empty selection still has the full schema.
    export_corpus(farc, "parquet", out, site="nowhere.kz")
    empty = pl.read_parquet(out)
    assert empty.height == 0 and empty.schema["published_at"] == pl.Datetime("us", "UTC")


def test_parquet_to_stdout(farc):
    result = CliRunner().invoke(cli, ["export", "--db", farc.path, "--format", "parquet", "--out", "-",
                                      "--lang", "kk"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(io.BytesIO(result.stdout_bytes))
    assert table.column("url").to_pylist() == ["https://b.kz/1"]


# -- filters ------------------------------------------------------------------------------


def test_fts_query_filter(farc, tmp_path):
    assert keys(farc, iter_articles(farc, query="форум*")) == ["late", "near"]
    assert keys(farc, iter_articles(farc, query="форум*", site="d.kz")) == ["near"]
    assert keys(farc, iter_articles(farc, query='"поздно вечером"')) == ["late"]
    assert keys(farc, iter_articles(farc, query="солнечно", dedup="exact")) == ["day"]
    assert count_articles(farc, query="солнечно") == 2
    with pytest.raises(ValueError, match="full-text"):
        iter_articles(farc, query='"unbalanced')
    result = CliRunner().invoke(cli, ["export", "--db", farc.path, "--format", "jsonl",
                                      "--out", str(tmp_path / "q.jsonl"), "--query", "форум* AND"])
    assert result.exit_code == 2 and "bad full-text query" in result.output
    assert not (tmp_path / "q.jsonl").exists()


def test_dedup_policies(farc):
    assert keys(farc, iter_articles(farc, dedup="all")) == ORDER
    assert keys(farc, iter_articles(farc, dedup="exact")) == [k for k in ORDER if k != "copy"]
    assert keys(farc, iter_articles(farc, dedup="near")) == [k for k in ORDER if k not in ("copy", "near")]
    # Groups count among the selected rows: a copy whose original is not selected stays.
    assert keys(farc, iter_articles(farc, site="c.kz", dedup="exact")) == ["copy", "undated"]
    assert keys(farc, iter_articles(farc, site="d.kz", dedup="near")) == ["naive", "near"]
    assert keys(farc, iter_articles(farc, date_from="2025-09-13", dedup="near")) == ["near", "copy"]
    assert keys(farc, iter_articles(farc, date_from="2025-09-12", dedup="near")) == ["day", "late"]
    assert count_articles(farc, dedup="near") == len(SAMPLES) - 2
    with pytest.raises(ValueError):
        iter_articles(farc, dedup="fuzzy")


def test_dedup_near_before_the_near_column_exists(farc, caplog):
    _drop_near_column(farc.db)
    with caplog.at_level(logging.WARNING, logger="archive.export"):
        assert keys(farc, iter_articles(farc, dedup="near")) == [k for k in ORDER if k != "copy"]
    assert "no near-duplicate links" in caplog.text
    assert count_articles(farc, dedup="near") == len(SAMPLES) - 1


# -- manifests and reproducibility --------------------------------------------------------


def test_manifest(farc, tmp_path):
    out = tmp_path / "corpus.jsonl"
    result = export_corpus(farc, "jsonl", out, language="ru", dedup="exact")
    assert result.manifest == str(out) + ".manifest.json"
    manifest = json.loads(Path(result.manifest).read_text(encoding="utf-8"))
    assert manifest["filters"] == {"site": None, "language": "ru", "date_from": None, "date_to": None,
                                   "query": None, "dedup": "exact"}
    assert manifest["rows"] == result.rows == 5 == len(out.read_text(encoding="utf-8").splitlines())
    assert manifest["rows_by_site"] == {"a.kz": 2, "b.kz": 1, "d.kz": 2}
    assert manifest["rows_by_language"] == {"ru": 5}
    assert manifest["published"] == {"first": "2025-03-01T00:30:00+05:00", "last": "2025-09-13T10:00:00+03:00",
                                     "undated": 0}
    assert manifest["files"] == [{"path": "corpus.jsonl", "bytes": out.stat().st_size,
                                  "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}]
    last = farc.db.execute("select id, started_at, finished_at, status from crawls order by id desc").fetchone()
    assert manifest["archive"]["last_crawl"] == dict(zip(("id", "started_at", "finished_at", "status"), last))
    assert manifest["archive"]["last_crawl_finished_at"] == farc.db.execute(
        "select max(finished_at) from crawls").fetchone()[0]
    assert manifest["archive"]["articles"] == len(SAMPLES) and manifest["archive"]["path"] == farc.path
    # Which software extracted the rows, from what each crawl recorded; and what exported them.
    assert manifest["software"]["rows"] == [
        {"versions": VERSIONS_1, "crawls": [farc.crawls[1]], "rows": 3},
        {"versions": VERSIONS_2, "crawls": [farc.crawls[2]], "rows": 2},
    ]
    export_versions = manifest["software"]["export"]
    assert export_versions["trafilatura"] == metadata.version("trafilatura")
    assert export_versions["dateparser"] == metadata.version("dateparser")
    assert export_versions["news-archive-crawler"] == metadata.version("news-archive-crawler")
    # An open file gets no manifest unless one is asked for.
    assert export_corpus(farc, "csv", io.StringIO()).manifest is None
    elsewhere = tmp_path / "m.json"
    assert export_corpus(farc, "csv", io.StringIO(), manifest=elsewhere, site="b.kz").manifest == str(elsewhere)
    assert json.loads(elsewhere.read_text(encoding="utf-8"))["files"] == []
    assert export_corpus(farc, "csv", tmp_path / "x.csv", manifest=False).manifest is None
    assert not (tmp_path / "x.csv.manifest.json").exists()


def test_same_command_same_bytes(farc, tmp_path, monkeypatch):
    runner = CliRunner()
    commands = {
        "jsonl": ["--format", "jsonl", "--out", "c.jsonl"],
        "csv": ["--format", "csv", "--out", "c.csv", "--dedup", "near"],
        "parquet": ["--format", "parquet", "--out", "c.parquet", "--query", "форум* OR солнечно"],
        "txt": ["--format", "txt", "--out", "c.txt", "--from", "2025-01-01"],
        "dir": ["--format", "txt", "--out", "articles/"],
    }

    def run_all() -> dict[str, bytes]:
        produced = {}
        for args in commands.values():
            result = runner.invoke(cli, ["export", "--db", farc.path, *args], catch_exceptions=False)
            assert result.exit_code == 0, result.output
        for path in sorted(tmp_path.rglob("*")):
            if path.is_file() and not path.name.startswith("archive.db"):
                produced[str(path.relative_to(tmp_path))] = path.read_bytes()
        return produced

    monkeypatch.chdir(tmp_path)
    first = run_all()
    time.sleep(1.1)  # a clock read anywhere in the output would now differ
    second = run_all()
    assert first == second
    assert "c.parquet.manifest.json" in first and "articles.manifest.json" in first
    assert len([p for p in first if p.startswith("articles/")]) == len(SAMPLES) + 1
    data = b"".join(v for k, v in first.items() if not k.endswith(".json"))
    assert datetime.now(timezone.utc).strftime("%Y-%m-%dT").encode() not in data


# -- txt, one file per article ------------------------------------------------------------

HOSTILE_TITLES = [
    "../../etc/passwd", "/abs/path", "a\x00b", "x" * 5000, "Ж" * 400, "CON", "nul", "COM1", "LPT1.txt", "..", ".",
    "", None, "same", "same", "SAME", "пример/../..\\..\\win", "\u202etxt.exe", "   ", 'a:b*c?d<e>f|g"h',
    "🙂 эмодзи", "~/.bashrc", "C:\\Windows\\system32", "name\nwith\r\nbreaks", ".hidden",
]


def test_per_article_names_are_safe_and_unique(tmp_path):
    arc = Archive(tmp_path / "h.db")
    for i, title in enumerate(HOSTILE_TITLES):
        arc.store_article({"url": f"https://h.kz/{i}", "title": title, "text": f"Текст {i}.",
                           "content_hash": f"h{i}", "published_at": "2025-09-12" if i % 2 else None},
                          page_id=None, crawl_id=None, seen_at="2025-09-13T00:00:00Z")
    target = tmp_path / "out" / "corpus"
    result = export_corpus(arc, "txt", target, per_article=True)
    assert result.rows == len(HOSTILE_TITLES)
    names = sorted(os.listdir(target))
    articles = [n for n in names if n != CHECKSUMS_NAME]
    assert len(articles) == len(HOSTILE_TITLES)
    assert len({n.casefold() for n in articles}) == len(articles)  # unique on case-insensitive disks too
    for name in articles:
        assert re.fullmatch(r"(\d{4}-\d{2}-\d{2}|unknown)-\d{8}-[\w-]+\.txt", name), name
        assert len(name.encode("utf-8")) <= 255 and not name.startswith(".")
        assert (target / name).resolve().parent == target.resolve()
    # Nothing was written anywhere else.
    outside = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert {p for p in outside if not p.startswith("out/corpus/") and not p.startswith("h.db")} == {
        "out", "out/corpus", "out/corpus.manifest.json"}
    # Every file is the article in the corpus format; SHA256SUMS lists them all.
    rows = {article_filename(a): a for a in iter_articles(arc)}
    assert sorted(rows) == articles
    for name, article in rows.items():
        assert (target / name).read_text(encoding="utf-8") == format_txt(article)
    sums = (target / CHECKSUMS_NAME).read_text(encoding="utf-8").splitlines()
    assert sorted(sums) == sorted(f"{hashlib.sha256((target / n).read_bytes()).hexdigest()}  {n}" for n in articles)
    manifest = json.loads((tmp_path / "out" / "corpus.manifest.json").read_text(encoding="utf-8"))
    assert manifest["layout"] == "one file per article" and manifest["article_files"] == len(HOSTILE_TITLES)
    assert manifest["files"][0]["path"] == "corpus/SHA256SUMS"
    # Readable slugs for ordinary titles.
    assert article_filename({"id": 7, "title": "Форум в Актау: итоги", "published_at": "2025-09-12T10:00:00+05:00"}
                            ) == "2025-09-12-00000007-форум-в-актау-итоги.txt"
    arc.close()


def test_per_article_directory_replacement(farc, tmp_path):
    target = tmp_path / "corpus"
    assert export_corpus(farc, "txt", target, per_article=True).rows == len(SAMPLES)
    assert export_corpus(farc, "txt", target, per_article=True, site="a.kz").rows == 2
    assert len(os.listdir(target)) == 3  # the earlier export was replaced, not added to
    # A directory holding anything else is left alone.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.md").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        export_corpus(farc, "txt", other, per_article=True)
    assert os.listdir(other) == ["notes.md"]
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError):
        export_corpus(farc, "txt", tmp_path / "plain", per_article=True)
    assert sorted(p.name for p in tmp_path.iterdir() if ".part" in p.name or ".old" in p.name) == []
    # From the command line: a trailing slash asks for a directory, and only txt has one.
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--db", farc.path, "--format", "txt", "--out", str(tmp_path / "cli") + "/"])
    assert result.exit_code == 0 and len(os.listdir(tmp_path / "cli")) == len(SAMPLES) + 1
    result = runner.invoke(cli, ["export", "--db", farc.path, "--format", "csv", "--out", str(tmp_path / "c") + "/"])
    assert result.exit_code == 2 and "txt" in result.output
    result = runner.invoke(cli, ["export", "--db", farc.path, "--format", "txt", "--out", str(other) + "/"])
    assert result.exit_code == 2 and "not empty" in result.output


# -- progress bar -------------------------------------------------------------------------


def _export_stderr(db: str, out: str, tty: bool) -> str:
    args = [sys.executable, "-m", "crawler", "export", "--db", db, "--format", "jsonl", "--out", out]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    if not tty:
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=True).stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=slave, env=env, timeout=60)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_only_on_a_terminal(farc, tmp_path):
    on_terminal = _export_stderr(farc.path, str(tmp_path / "t.jsonl"), tty=True)
    assert "exporting" in on_terminal and f"{len(SAMPLES)}/{len(SAMPLES)}" in on_terminal
    in_a_log = _export_stderr(farc.path, str(tmp_path / "l.jsonl"), tty=False)
    assert "exporting" not in in_a_log and "\x1b[" not in in_a_log
    assert (tmp_path / "t.jsonl").read_bytes() == (tmp_path / "l.jsonl").read_bytes()


# -- a real crawl ---------------------------------------------------------------------------


def test_export_of_a_real_crawl_names_its_software(crawled, tmp_path):
    from archive.manifest import software_versions

    out = tmp_path / "crawl.parquet"
    result = CliRunner().invoke(cli, ["export", "--db", str(crawled["db"]), "--format", "parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "crawl.parquet.manifest.json").read_text(encoding="utf-8"))
    with Archive(crawled["db"], create=False) as arc:
        total = arc.db["articles"].count
        crawl_ids = [r[0] for r in arc.db.execute("select id from crawls order by id")]
        # Other tests may re-crawl this archive: rows belong to the crawl that fetched their text.
        text_crawls = [r[0] for r in arc.db.execute(
            "select distinct coalesce(p.crawl_id, a.crawl_id) from articles a left join pages p on p.id = a.page_id "
            "order by 1")]
    assert manifest["rows"] == total > 0 and pl.read_parquet(out).height == total
    # The crawl recorded the versions it ran with; the manifest attributes the rows to them.
    assert manifest["software"]["rows"] == [{"versions": software_versions(), "crawls": text_crawls, "rows": total}]
    assert manifest["archive"]["last_crawl"]["id"] == crawl_ids[-1]


# -- the batched encoders write what the row-by-row export wrote ---------------------------

# Values that exercise every escape and fallback: control characters, NUL, line and
# paragraph separators, quotes, backslashes, astral characters, odd JSON column values,
# and publication times outside the canonical form.
HOSTILE = [
    ("Line, \u2028sep\u2029para\r\nnext", "a\x00b\x01c\x1f\x7f\u0085 «q» \"dq\" \\b\\ \ttab\r\nCRLF\n\n\n  \n p2 \u00a0\n\u3000",
     "2025-09-12T23:30:00+05:00", ["Общество", "a\"b", "\u2028"], [], {"ru": "https://h.kz/0", "kk": None}),
    ("🙂 эмодзи 𝔘𝔫𝔦", "😀" * 50 + "\n" + "ж" * 3000, "2025-09-12", [1.5, 1e16, 2**70, True, None, {"k": [1, 2]}], None, None),
    (None, None, None, None, ["x"], {"x-default": "u"}),
    ("", "", "2025-09-10T10:00:00", [], [""], {}),
    ("micro, comma", "t,\rcr only", "2025-09-10T10:00:00.123456+05:30", ["a"], ["b"], {"en": "e"}),
    ("zulu", "t", "2025-09-10T10:00:00Z", "not a list", 7, ["not", "an", "object"]),
    ("month 13", "t", "2025-13-45T10:00:00+05:00", None, None, None),
    ("feb 30", "t", "2025-02-30T10:00:00+05:00", None, None, None),
    ("feb 30 day", "t", "2025-02-30", None, None, None),
    ("hour 24", "t", "2025-09-12T24:00:00+05:00", None, None, None),
    ("second 60", "t", "2025-09-12T23:59:60+05:00", None, None, None),
    ("junk", "t", "yesterday", None, None, None),
    ("lmt offset", "t", "1900-01-01T00:00:00+05:53:28", None, None, None),
    ("offset 24h", "t", "2025-09-12T10:00:00+24:00", None, None, None),
    ("year 1", "t", "0001-01-01T00:00:00+01:00", None, None, None),
    ("year 0", "t", "0000-12-31T23:00:00-02:00", None, None, None),
    ("year 9999", "t", "9999-12-31T23:00:00-02:00", None, None, None),
    ("wide digits", "t", "２０２５-09-12T10:00:00+05:00", None, None, None),
    ("space", "t", "2025-09-12 10:00:00+05:00", None, None, None),
    ("leap", "t", "2024-02-29T08:00:00+06:00", None, None, None),
]


@pytest.fixture
def harc(tmp_path):
    arc = Archive(tmp_path / "hostile.db")
    crawl = arc.start_crawl(["h.kz"], {"versions": VERSIONS_1})
    for i, (title, text, published_at, categories, tags, hreflang) in enumerate(HOSTILE):
        arc.store_article(
            {"url": f"https://h.kz/{i}", "site": "h.kz" if i % 3 else None, "language": "ru" if i % 2 else "kk",
             "title": title, "text": text, "published_at": published_at, "categories": categories, "tags": tags,
             "hreflang": hreflang, "content_hash": f"h{i % 17}", "author": 12345 if i == 4 else None},
            page_id=None, crawl_id=crawl if i % 4 else None, seen_at="2025-09-15T06:00:00+06:00")
    arc.finish_crawl(crawl, {}, "ok")
    with arc.db.conn:
        arc.db.execute("UPDATE articles SET near_duplicate_of = 1 WHERE id IN (5, 6)")
    yield arc
    arc.close()


def _reference_jsonl(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _reference_csv(rows, columns) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if column in ("categories", "tags", "hreflang") and value is not None:
                value = json.dumps(value, ensure_ascii=False)
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _reference_txt(rows) -> bytes:
    out = []
    for row in rows:
        published = row.get("published_at")
        day = published[:10] if published and re.match(r"\d{4}-\d{2}-\d{2}", published) else "unknown"
        title = re.sub(r"\s*[\r\n\u2028\u2029]+\s*", " ", row.get("title") or "").strip()
        out.append((f" date {day} {title}" if title else f" date {day}") + "\n\n")
        out.extend(line + "\n\n" for line in (row.get("text") or "").splitlines() if line.strip())
    return "".join(out).encode("utf-8")


@pytest.mark.parametrize("filters", [{}, {"dedup": "near"}, {"site": "h.kz", "date_from": "2025-01-01"}])
def test_batched_text_formats_match_the_row_by_row_export(harc, tmp_path, filters):
    # A float where an integer belongs (SQLite allows it): the JSON line keeps Python's spelling.
    harc.db.execute("PRAGMA foreign_keys = OFF")
    with harc.db.conn:
        harc.db.execute("UPDATE articles SET page_id = 1e-07 WHERE id = 3")
    harc.db.execute("PRAGMA foreign_keys = ON")
    rows = list(iter_articles(harc, **filters))
    columns = list(harc.db["articles"].columns_dict)
    expected = {"jsonl": _reference_jsonl(rows), "csv": _reference_csv(rows, columns), "txt": _reference_txt(rows)}
    for fmt, reference in expected.items():
        out = tmp_path / f"h.{fmt}"
        assert export_corpus(harc, fmt, out, **filters).rows == len(rows)
        assert out.read_bytes() == reference, fmt
        # An open text stream receives the same characters.
        stream = io.StringIO(newline="")
        export_corpus(harc, fmt, stream, **filters)
        assert stream.getvalue().encode("utf-8") == reference, fmt
        manifest = json.loads((tmp_path / f"h.{fmt}.manifest.json").read_text(encoding="utf-8"))
        assert manifest["files"][0]["sha256"] == hashlib.sha256(reference).hexdigest()
        assert manifest["rows"] == len(rows)
        assert manifest["rows_by_site"] == dict(sorted(
            Counter("null" if r["site"] is None else r["site"] for r in rows).items()))
        dated = sorted(r["published_at"] for r in rows if r["published_at"] is not None)
        assert manifest["published"] == {"first": dated[0] if dated else None, "last": dated[-1] if dated else None,
                                         "undated": sum(r["published_at"] is None for r in rows)}


def test_orjson_writes_strings_as_the_standard_library_does():
    # The JSON lines' strings and integers go through orjson: every code point must be
    # escaped (or not) exactly as json.dumps(..., ensure_ascii=False) does.
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert orjson.dumps(every) == json.dumps(every, ensure_ascii=False).encode("utf-8")
    for number in (0, -1, 2**63 - 1, -(2**63)):
        assert orjson.dumps(number) == json.dumps(number).encode()


def _reference_instant(value):
    if not value or len(value) <= 10:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.astimezone(timezone.utc) if moment.tzinfo else None
    except (ValueError, OverflowError):
        return None


def _reference_day(value):
    if value and re.match(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def test_parquet_timestamps_match_python_for_every_form(harc, tmp_path):
    out = tmp_path / "h.parquet"
    assert export_corpus(harc, "parquet", out).rows == len(HOSTILE)
    table = pq.read_table(out)
    rows = list(iter_articles(harc))
    assert table.column("id").to_pylist() == [r["id"] for r in rows]
    assert table.column("published_at_local").to_pylist() == [r["published_at"] for r in rows]
    assert table.column("published_at").to_pylist() == [_reference_instant(r["published_at"]) for r in rows]
    assert table.column("published_day").to_pylist() == [_reference_day(r["published_at"]) for r in rows]
    assert table.column("first_seen_at").to_pylist() == [_reference_instant(r["first_seen_at"]) for r in rows]
    # The fast path did the canonical ones: make sure the table really has both kinds.
    instants = table.column("published_at").to_pylist()
    assert sum(v is not None for v in instants) >= 4 and sum(v is None for v in instants) >= 10
    assert table.column("categories").to_pylist()[[r["title"] for r in rows].index("zulu")] == ["not a list"]
    assert table.column("title").to_pylist() == [r["title"] for r in rows]
    assert table.column("text").to_pylist() == [r["text"] for r in rows]


def test_parquet_row_groups_count_characters_not_bytes(farc, tmp_path, monkeypatch):
    # Cyrillic takes two UTF-8 bytes per character; the budget counts characters.
    lengths = {}
    with farc.db.conn:
        for n, (key, article_id) in enumerate(sorted(farc.ids.items(), key=lambda kv: kv[1])):
            text = "ж" * (40 + 10 * n)
            farc.db.execute("UPDATE articles SET text = ?, title = 't' WHERE id = ?", [text, article_id])
            lengths[article_id] = len(text) + 1
    order = [r["id"] for r in iter_articles(farc)]
    budget = 150
    monkeypatch.setattr(export_module, "PARQUET_BATCH_BYTES", budget)
    expected, group, size = [], 0, 0
    for article_id in order:
        group, size = group + 1, size + lengths[article_id]
        if group >= export_module.PARQUET_BATCH_ROWS or size >= budget:
            expected.append(group)
            group, size = 0, 0
    if group:
        expected.append(group)
    assert len(expected) > 2 and len(expected) < len(order)  # bytes alone would split more often
    out = tmp_path / "sized.parquet"
    export_corpus(farc, "parquet", out)
    meta = pq.ParquetFile(out).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == expected


def test_a_failing_output_stops_the_export(farc):
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: every write fails with EPIPE
    with open(write_end, "wb") as broken, pytest.raises(BrokenPipeError):
        export_corpus(farc, "jsonl", broken)

