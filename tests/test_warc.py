"""WARC capture (crawl --warc), crawler import, WARC/WACZ export, replay in pywb.

pywb cannot share the project's virtualenv (pywb 2.10 needs pyOpenSSL < 26.2; Scrapy's pin
is 26.4), so the replay tests install it from PyPI into .venv-pywb (pinned by
tests/pywb-constraints.txt) the first time they run.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive import Archive
from crawler.warc_capture import RotatingWarcWriter
from conftest import EXAMPLE_PATH, EXAMPLE_TXT, FAST, run_cli

ROOT = Path(__file__).resolve().parent.parent
PYWB_VENV = ROOT / ".venv-pywb"


@pytest.fixture(scope="module")
def warc_crawl(site_server, tmp_path_factory):
    """The sample site crawled with --warc."""
    work = tmp_path_factory.mktemp("warccrawl")
    db, warcs = work / "archive.db", work / "warc"
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), "--warc", str(warcs),
                     "--log-file", str(work / "crawl.log"), *FAST)
    assert result.returncode in (0, 1), result.stderr
    return {"db": db, "warcs": sorted(warcs.glob("*.warc.gz")), "url": site_server.url, "work": work}


def _articles(db: Path) -> dict[str, tuple]:
    """url -> (published_at, title, content_hash, duplicate_of's url, near_duplicate_of's url)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT a.url, a.published_at, a.title, a.content_hash, d.url, n.url FROM articles a "
            "LEFT JOIN articles d ON d.id = a.duplicate_of LEFT JOIN articles n ON n.id = a.near_duplicate_of"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def _same_archive(crawled: dict[str, tuple], imported: dict[str, tuple]) -> None:
    """Same urls, dates, titles and texts; the same exact and near-duplicate groups.

    Which member of a group is its original (the first stored) follows the order pages
    were stored, which in a crawl is the order extraction workers finished: so groups are
    compared, not their direction.
    """
    assert {u: v[:3] for u, v in imported.items()} == {u: v[:3] for u, v in crawled.items()}
    for column in (3, 4):
        def groups(rows):
            found: dict[str, set] = {}
            for url, v in rows.items():
                found.setdefault(v[column] or url, set()).add(url)
            return {frozenset(g) for g in found.values() if len(g) > 1}
        assert groups(imported) == groups(crawled), ("duplicate_of", "near_duplicate_of")[column - 3]


def _query(db: Path, sql: str, params=()) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# -- capture -----------------------------------------------------------------------------


def test_capture_points_each_page_at_its_wire_record(warc_crawl):
    db = warc_crawl["db"]
    assert warc_crawl["warcs"], "no WARC file written"
    pages = _query(db, "SELECT id, final_url, status, warc_file, warc_offset, warc_length FROM pages")
    assert pages and all(p[3] for p in pages if p[2] is not None), "a fetched page without its WARC record"
    archive = Archive(db)
    try:
        compressed = 0
        for page_id, final_url, status, path, offset, length in pages:
            if status is None:
                continue
            with open(path, "rb") as fh:
                fh.seek(offset)
                member = fh.read(length)
            record = next(iter(ArchiveIterator(io.BytesIO(member))))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == final_url
            assert int(record.http_headers.get_statuscode()) == status
            raw = record.raw_stream.read()
            if record.http_headers.get_header("Content-Encoding") == "gzip":
                compressed += 1
                assert raw[:2] == b"\x1f\x8b", "the body was stored decompressed"
                assert gzip.decompress(raw) == archive.page_body(page_id)
            elif status == 200:
                assert raw == archive.page_body(page_id)
        assert compressed > 10, "the sample site gzips its pages: the capture must keep that"
    finally:
        archive.close()
    kinds: dict[str, int] = {}
    for path in warc_crawl["warcs"]:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                kinds[record.rec_type] = kinds.get(record.rec_type, 0) + 1
    assert kinds["response"] == kinds["request"] == kinds["metadata"] > len(pages)  # discovery too
    assert kinds["warcinfo"] == len(warc_crawl["warcs"])
    warc_stats = json.loads(_query(db, "SELECT stats FROM crawls")[0][0])["warc"]
    assert warc_stats["records"] == sum(kinds.values()) - kinds["warcinfo"]
    assert warc_stats["files"] == len(warc_crawl["warcs"]) and "errors" not in warc_stats


def test_writer_rotates_files_by_size(tmp_path):
    writer = RotatingWarcWriter(str(tmp_path), max_size=2000)
    body = os.urandom(1500)  # incompressible: each record passes the limit
    where = [writer.write([writer.record(f"http://127.0.0.1/{i}", "resource", body,
                                         warc_content_type="application/octet-stream")])[0]
             for i in range(4)]
    writer.close()
    assert len({w[0] for w in where}) == 4 and len(writer.files) == 4
    for path, offset, length in where:
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(io.BytesIO(fh.read(length)))))
        assert record.content_stream().read() == body


# -- import ------------------------------------------------------------------------------


def test_round_trip_import_gives_the_crawls_articles(warc_crawl, tmp_path):
    db = tmp_path / "imported.db"
    result = run_cli("import", *map(str, warc_crawl["warcs"]), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("import 1 ")
    assert "Traceback" not in result.stderr
    crawled, imported = _articles(warc_crawl["db"]), _articles(db)
    assert len(crawled) > 50
    _same_archive(crawled, imported)
    assert any(v[3] for v in crawled.values()), "the sample site has an exact duplicate"
    (status, stats), = _query(db, "SELECT status, stats FROM crawls")
    counts = _query(db, "SELECT articles_new, duplicates FROM crawls")[0]
    assert counts == (len(crawled) - sum(1 for v in crawled.values() if v[3]), sum(1 for v in crawled.values() if v[3]))
    stats = json.loads(stats)
    assert stats["records"]["discovery"] > 0
    pages = _query(db, "SELECT count(*) FROM pages")[0][0]
    # Imported again: every file is known as finished, nothing is added.
    again = run_cli("import", *map(str, warc_crawl["warcs"]), "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert _query(db, "SELECT count(*) FROM pages")[0][0] == pages
    assert json.loads(_query(db, "SELECT stats FROM crawls WHERE id = 2")[0][0])["files"] == {
        "already_imported": len(warc_crawl["warcs"])}


def test_round_trip_keeps_near_duplicate_links(tmp_path):
    # The syndicated outlet republishes edited copies: near-duplicates the default site lacks.
    from samplesite import SampleSite, serve

    with serve(SampleSite(40, seed=2, syndicated=6)) as server:
        crawl = run_cli("crawl", server.url + "/", "--db", str(tmp_path / "c.db"), "--warc", str(tmp_path / "w"),
                        "-q", *FAST)
    assert crawl.returncode in (0, 1), crawl.stderr
    warcs = sorted(map(str, (tmp_path / "w").glob("*.warc.gz")))
    result = run_cli("import", *warcs, "--db", str(tmp_path / "i.db"))
    assert result.returncode == 0, result.stderr
    crawled, imported = _articles(tmp_path / "c.db"), _articles(tmp_path / "i.db")
    assert sum(1 for v in crawled.values() if v[4]) >= 3, "the syndicated site gives near-duplicate links"
    _same_archive(crawled, imported)


def test_import_filters_by_site_and_day(warc_crawl, tmp_path):
    crawled = _articles(warc_crawl["db"])
    days = sorted(v[0][:10] for v in crawled.values() if v[0])
    first, last = days[len(days) // 3], days[2 * len(days) // 3]
    db = tmp_path / "window.db"
    result = run_cli("import", *map(str, warc_crawl["warcs"]), "--db", str(db), "--from", first, "--to", last)
    assert result.returncode == 0, result.stderr
    expected = {u for u, v in crawled.items() if v[0] and first <= v[0][:10] <= last}
    assert set(_articles(db)) == expected and 0 < len(expected) < len(crawled)
    other = tmp_path / "other.db"
    result = run_cli("import", *map(str, warc_crawl["warcs"]), "--db", str(other), "--site", "example.org")
    assert result.returncode == 0, result.stderr
    assert _articles(other) == {}
    assert json.loads(_query(other, "SELECT stats FROM crawls")[0][0])["filtered"]["site"] > 50


def test_killed_import_resumes_after_the_last_finished_record(warc_crawl, tmp_path):
    # Three copies: the kill lands in the middle of the run, the resume has work left.
    copies = []
    for n in range(3):
        for path in warc_crawl["warcs"]:
            copy = tmp_path / f"copy{n}-{path.name}"
            shutil.copyfile(path, copy)
            copies.append(str(copy))
    db = tmp_path / "resumed.db"
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "import", *copies, "--db", str(db), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = _query(db, "SELECT count(*) FROM warc_imports WHERE finished_at IS NOT NULL")[0][0]
        except sqlite3.Error:
            done = 0
        if done >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    before = _query(db, "SELECT path, next_offset, finished_at FROM warc_imports")
    assert before and any(f for _, _, f in before)
    result = run_cli("import", *copies, "--db", str(db))
    assert result.returncode == 0, result.stderr
    _same_archive(_articles(warc_crawl["db"]), _articles(db))
    statuses = [r[0] for r in _query(db, "SELECT status FROM crawls ORDER BY id")]
    assert statuses == ["interrupted", "ok"] or statuses == ["interrupted", "partial"]
    files = json.loads(_query(db, "SELECT stats FROM crawls WHERE id = 2")[0][0])["files"]
    assert files["already_imported"] >= 1
    # No record was stored twice: as many pages as one uninterrupted import of the copies.
    whole = tmp_path / "whole.db"
    assert run_cli("import", *copies, "--db", str(whole)).returncode == 0
    assert _query(db, "SELECT count(*) FROM pages")[0][0] == _query(whole, "SELECT count(*) FROM pages")[0][0]


def _one_stream_copy(warcs: list[Path], out: Path) -> Path:
    """The records of ``warcs`` (gzip'd per record) gzip'd again as ONE stream."""
    with gzip.open(out, "wb", compresslevel=6) as dst:
        for path in warcs:
            dst.write(gzip.decompress(path.read_bytes()))
    return out


def test_a_warc_gzipd_as_one_stream_is_read_to_its_end(warc_crawl, tmp_path):
    one = _one_stream_copy(warc_crawl["warcs"], tmp_path / "one-stream.warc.gz")
    with gzip.open(one) as fh:  # the premise: one member holds every record
        assert fh.read(4096).startswith(b"WARC/") and len(warc_crawl["warcs"]) >= 1
    db = tmp_path / "one.db"
    result = run_cli("import", str(one), "--db", str(db))
    assert result.returncode == 0, result.stderr
    _same_archive(_articles(warc_crawl["db"]), _articles(db))
    assert _query(db, "SELECT count(*) FROM warc_skips") == [(0,)]
    stats = json.loads(_query(db, "SELECT stats FROM crawls")[0][0])
    assert stats["files"] == {"imported": 1, "one_gzip_stream": 1}
    # No offset into such a file can be read alone: the pages keep the file, not a position,
    # and an export rebuilds their records.
    assert _query(db, "SELECT count(*), count(warc_file), count(warc_offset) FROM pages")[0][1:] == (
        _query(db, "SELECT count(*) FROM pages")[0][0], 0)
    out = tmp_path / "again.warc.gz"
    export = run_cli("export", "--db", str(db), "--format", "warc", "--out", str(out))
    assert export.returncode == 0, export.stderr
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text())
    assert manifest["records"]["rebuilt"] == manifest["rows"] > 0, manifest["records"]


def test_a_killed_one_stream_import_resumes_without_doubles_or_losses(warc_crawl, tmp_path):
    # Three copies of the crawl's records in one stream: the kill lands in its middle.
    one = _one_stream_copy(warc_crawl["warcs"] * 3, tmp_path / "thrice.warc.gz")
    db = tmp_path / "resumed.db"
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "import", str(one), "--db", str(db), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    saved = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            saved = _query(db, "SELECT records FROM warc_imports")[0][0]
        except (sqlite3.Error, IndexError):
            saved = 0
        if saved >= 200:  # a few commits in: past the first copy's start, far from the end
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    (offset, finished), = _query(db, "SELECT next_offset, finished_at FROM warc_imports")
    assert offset > 0 and finished is None
    stored_before = _query(db, "SELECT count(*) FROM pages")[0][0]
    assert stored_before > 0
    result = run_cli("import", str(one), "--db", str(db))
    assert result.returncode == 0, result.stderr
    statuses = [r[0] for r in _query(db, "SELECT status FROM crawls ORDER BY id")]
    assert statuses[0] == "interrupted" and statuses[1] in ("ok", "partial")
    assert json.loads(_query(db, "SELECT stats FROM crawls WHERE id = 2")[0][0])["files"]["resumed"] == 1
    whole = tmp_path / "whole.db"
    assert run_cli("import", str(one), "--db", str(whole)).returncode == 0
    # nothing doubled, nothing lost: the same pages, by URL and count, as one uninterrupted import
    pages = "SELECT url, count(*) FROM pages GROUP BY url ORDER BY url"
    assert _query(db, pages) == _query(whole, pages)
    _same_archive(_articles(whole), _articles(db))


def test_import_counts_pages_that_are_no_article_as_a_crawl_does(tmp_path):
    from mutable_site import MutableSite
    from test_incremental import _stories

    site = MutableSite(_stories(), sitemap=False)  # its /news/ listing is a candidate, no article
    try:
        crawl = run_cli("crawl", site.url + "/", "--db", str(tmp_path / "c.db"), "--warc", str(tmp_path / "w"),
                        *FAST)
    finally:
        site.close()
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    warcs = sorted(map(str, (tmp_path / "w").glob("*.warc.gz")))
    result = run_cli("import", *warcs, "--db", str(tmp_path / "i.db"))
    assert result.returncode == 0, result.stderr
    verdicts = "SELECT url, error FROM pages WHERE error LIKE 'not an article: %' ORDER BY url"
    crawled = _query(tmp_path / "c.db", verdicts)
    assert crawled and _query(tmp_path / "i.db", verdicts) == crawled
    counts = "SELECT status, pages, errors, json_extract(stats, '$.not_articles') FROM crawls"
    (c_status, c_pages, c_errors, c_not), = _query(tmp_path / "c.db", counts)
    (i_status, i_pages, i_errors, i_not), = _query(tmp_path / "i.db", counts)
    assert (i_errors, i_not, i_status) == (c_errors, c_not, c_status) == (0, len(crawled), "ok")
    assert i_pages == c_pages
    kinds = json.loads(_query(tmp_path / "i.db", "SELECT stats FROM crawls")[0][0])["not_article_kinds"]
    assert kinds == {"listing": len(crawled)}


_PAGE = """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2025-03-0{n}T10:00:00+05:00"></head>
<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"""


def _html(n: int) -> bytes:
    words = ["проверка", "архив", "запись", "новость", "город", "совет", "решение", "жители"]
    paragraphs = "".join(
        f"<p>Абзац {i} заметки номер {n}: " + " ".join(words[(i * n + k) % len(words)] for k in range(40)) + ".</p>"
        for i in range(6))
    return _PAGE.format(title=f"Тестовая заметка номер {n}", n=n, paragraphs=paragraphs).encode("utf-8")


def _record(uri, rtype, payload, http=None, **kw) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="1.1")
    writer.write_record(writer.create_warc_record(uri, rtype, payload=io.BytesIO(payload), length=len(payload),
                                                  http_headers=http, **kw))
    return buf.getvalue()


def _response(uri: str, body: bytes, ctype: str = "text/html; charset=utf-8") -> bytes:
    http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                            protocol="HTTP/1.1")
    return _record(uri, "response", body, http=http)


def _declare(record: bytes, length: int) -> bytes:
    """The record with another WARC Content-Length than its block has."""
    i = record.index(b"Content-Length: ")
    j = record.index(b"\r\n", i)
    return record[:i + 16] + str(length).encode() + record[j:]


def _declared(record: bytes) -> int:
    i = record.index(b"Content-Length: ")
    return int(record[i + 16:record.index(b"\r\n", i)])


def test_bad_records_are_skipped_with_reasons_and_the_import_goes_on(tmp_path):
    base = "http://127.0.0.1:9/news/"
    z = gzip.compress
    truncated = z(_response(base + "cut-in-the-middle-story/", _html(4)))
    long_ = _response(base + "declared-too-long-story/", _html(5))
    short = _response(base + "declared-too-short-story/", _html(6))
    revisit = _record(base + "first-good-story/", "revisit", b"",
                      http=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"),
                      warc_headers_dict={"WARC-Refers-To-Target-URI": base + "first-good-story/"})
    huge = _response(base + "one-gigabyte-declared-story/", _html(7))
    tail = z(_response(base + "cut-at-the-end-story/", _html(8)))
    members = [
        z(_response(base + "first-good-story/", _html(1))),
        truncated[: len(truncated) // 2],
        z(_response(base + "second-good-story/", _html(2))),
        z(_declare(long_, _declared(long_) + 500)),
        z(_declare(short, _declared(short) - 500)),
        z(_record("http://127.0.0.1:9/notes.txt", "resource", b"plain", warc_content_type="text/plain")),
        z(_record("dns:127.0.0.1", "response", b"127.0.0.1 A", warc_content_type="text/dns")),
        z(revisit),
        z(_declare(huge, 1_000_000_000)),
        z(_response(base + "picture-not-a-page-story/", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png")),
        z(_response(base + "third-good-story/", _html(3))),
        tail[:-40],
    ]
    warc = tmp_path / "bad.warc.gz"
    warc.write_bytes(b"".join(members))
    db = tmp_path / "bad.db"
    result = run_cli("import", str(warc), "--db", str(db), "--workers", "0")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    titles = sorted(t for (t,) in _query(db, "SELECT title FROM articles"))
    assert titles == [f"Тестовая заметка номер {n}" for n in (1, 2, 3)]
    reasons = {url: reason for url, reason in _query(db, "SELECT url, reason FROM warc_skips")}
    unreadable = [r for u, r in _query(db, "SELECT url, reason FROM warc_skips") if u is None]
    assert unreadable and all(r.startswith("unreadable record") for r in unreadable)
    assert reasons[base + "declared-too-long-story/"].startswith("truncated")
    assert reasons[base + "declared-too-short-story/"].startswith("wrong Content-Length")
    assert reasons["http://127.0.0.1:9/notes.txt"] == "resource record: not an HTTP response"
    assert reasons["dns:127.0.0.1"] == "response record without an HTTP response"
    assert reasons[base + "first-good-story/"].startswith("revisit record")
    assert reasons[base + "one-gigabyte-declared-story/"].startswith("record too large: 1000000000 bytes")
    assert reasons[base + "cut-at-the-end-story/"].startswith("truncated")
    assert _query(db, "SELECT error FROM pages WHERE url LIKE '%picture%'") == [("not HTML: image/png",)]
    status, stats = _query(db, "SELECT status, stats FROM crawls")[0]
    skipped = json.loads(stats)["skipped"]
    assert status == "partial"
    assert skipped["not HTML"] == 1 and skipped["record too large"] == 1 and skipped["truncated"] == 2
    # every warc_skips row counted, and the not-HTML page (a pages row with its error)
    assert sum(skipped.values()) == _query(db, "SELECT count(*) FROM warc_skips")[0][0] + 1


def test_a_300_mb_record_streams_past_in_bounded_memory(tmp_path):
    size = 300 * 2**20
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + str(size).encode()
            + b"\r\n\r\n")
    head = (b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: http://127.0.0.1:9/news/very-big-page-story/\r\n"
            b"WARC-Date: 2025-03-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
            b"Content-Type: application/http; msgtype=response\r\nContent-Length: "
            + str(len(http) + size).encode() + b"\r\n\r\n")
    warc = tmp_path / "big.warc.gz"
    with open(warc, "wb") as fh:
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        fh.write(z.compress(head + http))
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            fh.write(z.compress(block))
        fh.write(z.compress(b"\r\n\r\n") + z.flush())
        fh.write(gzip.compress(_response("http://127.0.0.1:9/news/small-page-after-it/", _html(1))))
    # A wrapper process whose only child is the import: its children's peak RSS is the import's.
    wrapper = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "crawler", "import", str(warc),
                             "--db", str(tmp_path / "big.db"), "--workers", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    peak_kb = int(result.stdout.strip().splitlines()[-1])
    assert peak_kb < 200 * 1024, f"import peaked at {peak_kb // 1024} MB for a 300 MB record"
    assert _query(tmp_path / "big.db", "SELECT reason FROM warc_skips") == [
        (f"record too large: {len(http) + size} bytes declared, limit {16 * 2**20}",)]
    assert _query(tmp_path / "big.db", "SELECT count(*) FROM articles") == [(1,)]


def test_a_file_that_is_not_a_warc_fails_clearly(tmp_path):
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"this is not a WARC file at all\n" * 10)
    result = run_cli("import", str(junk), "--db", str(tmp_path / "j.db"))
    assert result.returncode == 1
    assert "no usable WARC record" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("import", str(tmp_path / "nope.warc.gz"), "--db", str(tmp_path / "j.db"))
    assert missing.returncode == 1 and "no such WARC file" in missing.stderr


# -- export and replay -------------------------------------------------------------------


def test_export_warc_rebuilds_uncaptured_pages_and_is_repeatable(crawled, tmp_path):
    out = tmp_path / "corpus.warc.gz"
    result = run_cli("export", "--db", str(crawled["db"]), "--format", "warc", "--out", str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text())
    rows = _query(crawled["db"], "SELECT count(*) FROM articles")[0][0]
    assert manifest["format"] == "warc" and manifest["rows"] == rows
    assert manifest["records"]["rebuilt"] == rows and manifest["records"]["captured"] == 0
    import hashlib
    assert manifest["files"][0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    responses, marked, notes = 0, 0, 0
    with open(out, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                responses += 1
                marked += bool(record.rec_headers.get_header("WARC-Rebuilt"))
            elif record.rec_type == "metadata":
                notes += b"rebuilt: true" in record.content_stream().read()
    assert responses == marked == notes == rows
    (tmp_path / "again").mkdir()
    again = tmp_path / "again" / "corpus.warc.gz"
    assert run_cli("export", "--db", str(crawled["db"]), "--format", "warc", "--out", str(again)).returncode == 0
    assert again.read_bytes() == out.read_bytes()


def test_export_wacz_of_captured_pages_validates(warc_crawl, tmp_path):
    out = tmp_path / "corpus.wacz"
    result = run_cli("export", "--db", str(warc_crawl["db"]), "--format", "wacz", "--out", str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text())
    assert manifest["records"]["captured"] == manifest["rows"] > 50 and manifest["records"]["rebuilt"] == 0
    check = subprocess.run([str(Path(sys.executable).parent / "wacz"), "validate", "-f", str(out)],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, check.stdout + check.stderr
    import zipfile
    with zipfile.ZipFile(out) as z:
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()]
    assert len(pages) == manifest["rows"] + 1
    assert any(p.get("url", "").endswith(EXAMPLE_PATH) for p in pages)


@pytest.fixture(scope="module")
def pywb():
    wayback = PYWB_VENV / "bin" / "wayback"
    if not wayback.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(PYWB_VENV)], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        got = subprocess.run([str(PYWB_VENV / "bin" / "pip"), "install", "--quiet", "-c",
                              str(ROOT / "tests" / "pywb-constraints.txt"), "pywb==2.10.0"],
                             capture_output=True, text=True, timeout=600)
        if got.returncode != 0:
            shutil.rmtree(PYWB_VENV, ignore_errors=True)
            pytest.skip(f"pywb could not be installed from PyPI: {got.stderr.strip()[-300:]}")
    return PYWB_VENV / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _replay(bin_dir: Path, work: Path, archive_file: Path, url: str) -> str:
    work.mkdir()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run([str(bin_dir / "wb-manager"), "init", "c"], cwd=work, check=True, capture_output=True, env=env)
    add = [str(bin_dir / "wb-manager"), "add"] + (["--unpack-wacz"] if archive_file.suffix == ".wacz" else [])
    subprocess.run(add + ["c", str(archive_file)], cwd=work, check=True, capture_output=True, env=env)
    port = _free_port()
    server = subprocess.Popen([str(bin_dir / "wayback"), "--bind", "127.0.0.1", "--port", str(port)], cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/c/mp_/{url}", timeout=10) as response:
                    return response.read().decode("utf-8", "replace")
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(10)


def _example_sentence() -> str:
    text = EXAMPLE_TXT.read_text(encoding="utf-8")
    body = [line for line in text.splitlines()[1:] if len(line) > 80]
    return body[0][:60]


def test_pywb_replays_the_example_article_from_the_rebuilt_warc(crawled, pywb, tmp_path):
    out = tmp_path / "rebuilt.warc.gz"
    assert run_cli("export", "--db", str(crawled["db"]), "--format", "warc", "--out", str(out)).returncode == 0
    page = _replay(pywb, tmp_path / "pywb", out, crawled["url"] + EXAMPLE_PATH)
    assert _example_sentence() in page


def test_pywb_replays_the_example_article_from_the_captured_wacz(warc_crawl, pywb, tmp_path):
    out = tmp_path / "captured.wacz"
    assert run_cli("export", "--db", str(warc_crawl["db"]), "--format", "wacz", "--out", str(out)).returncode == 0
    page = _replay(pywb, tmp_path / "pywb", out, warc_crawl["url"] + EXAMPLE_PATH)
    assert _example_sentence() in page


@pytest.fixture(scope="module")
def replayweb():
    import replayweb

    if replayweb.find_chromium() is None:
        pytest.skip("no chromium: `make browser` installs Debian's chromium (as root)")
    try:
        replayweb.fetch()
    except replayweb.Unavailable as exc:
        pytest.skip(f"ReplayWeb.page {replayweb.VERSION} not available: {exc}")
    return replayweb


def test_replaywebpage_replays_the_example_article_from_the_captured_wacz(warc_crawl, replayweb, tmp_path):
    out = tmp_path / "captured.wacz"
    assert run_cli("export", "--db", str(warc_crawl["db"]), "--format", "wacz", "--out", str(out)).returncode == 0
    url = warc_crawl["url"] + EXAMPLE_PATH
    frames = replayweb.replayed_frames(out, url, _example_sentence(), tmp_path / "rwp")
    # the article's text, in the frame ReplayWeb.page's service worker serves from the archive
    replayed = [address for address, text in frames if _example_sentence() in text]
    assert replayed, [(a, t[:200]) for a, t in frames]
    assert all("/replay/w/" in a and a.endswith("mp_/" + url) for a in replayed), replayed
