"""No silent failure (issue 10): real faults, real files, real signals, real servers.

Every test checks the exit code, the one line the user reads, the archive's ``crawls`` row
where there is one, ``PRAGMA integrity_check``, and that what was stored before is still
there. Mount-based tests (a tmpfs that fills up, a read-only mount) need root; they skip
with the reason where mounting is not possible.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, utc_now
from archive.guard import classify
from conftest import FAST, run_cli
from crawler.cli import cli
from crawler.exitcodes import (
    EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_NOT_ARCHIVE, EXIT_NOTHING, EXIT_OK, EXIT_USAGE,
)
from crawler.lock import CrawlLock
from mutable_site import MutableSite, Story
from samplesite import SampleSite, serve

BIN = Path(sys.executable).parent
PARAS = [
    "Жители посёлка собрались на площади, чтобы обсудить строительство новой школы и детского сада.",
    "Глава района пообещал, что работы начнутся весной и закончатся до начала учебного года.",
    "Родители попросили предусмотреть спортивный зал и безопасную дорогу к зданию школы.",
]


# -- helpers ------------------------------------------------------------------------------

def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@contextlib.contextmanager
def ro(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def rw(db):
    conn = sqlite3.connect(db)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def integrity(db) -> str:
    with ro(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def crawl_rows(db) -> list[dict]:
    with ro(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM crawls ORDER BY id")]
        for r in rows:
            r["page_rows"] = conn.execute("SELECT count(*) FROM pages WHERE crawl_id = ?", [r["id"]]).fetchone()[0]
            r["error_rows"] = conn.execute("SELECT count(error) FROM pages WHERE crawl_id = ?",
                                           [r["id"]]).fetchone()[0]
        return rows


def articles(db) -> dict[str, tuple]:
    with ro(db) as conn:
        return {url: (title, h) for url, title, h in conn.execute("SELECT url, title, content_hash FROM articles")}


def one_line(stderr: str) -> str:
    """The user-facing lines (not Scrapy's log lines); there must be exactly one."""
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln[:4].isdigit()]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(lines) == 1, lines
    return lines[0]


def small_archive(path) -> Path:
    """An archive with three articles, written through the library."""
    with Archive(path) as arc:
        crawl = arc.start_crawl(["test"])
        for i, (lang, title) in enumerate([("ru", "Первая"), ("kk", "Екінші"), ("ru", "Третья")]):
            arc.store_fetch({"url": f"https://news.example.kz/n/story-{i}/", "site": "kazpravda", "status": 200,
                             "fetched_at": utc_now(), "body": b"<html></html>"},
                            {"url": f"https://news.example.kz/n/story-{i}/", "site": "kazpravda", "title": title,
                             "text": f"{title}. " + PARAS[i], "language": lang, "published_at": f"2025-0{i + 1}-10",
                             "content_hash": f"h{i}"}, crawl_id=crawl, seen_at=utc_now())
        arc.finish_crawl(crawl, {}, "ok")
    with rw(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Path(path)


def fill(path) -> None:
    """Write zeros to ``path`` until its filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def _mount(args: list[str], target: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a filesystem needs root and mount(8); not available here")
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size) -> a directory on a fresh tmpfs of that size; unmounted afterwards."""
    mounted = []

    def make(size: str, name: str = "fs") -> Path:
        target = tmp_path / name
        target.mkdir()
        _mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs"], target)
        mounted.append(target)
        return target

    yield make
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def remount_ro(target: Path) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro", str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")


@pytest.fixture(scope="module")
def big_site():
    with serve(SampleSite(n_articles=600)) as server:
        yield server


# -- 1. outputs that would destroy stored data ---------------------------------------------

def test_out_that_is_the_archive_or_any_database_is_refused(tmp_path):
    db = small_archive(tmp_path / "archive.db")
    other = small_archive(tmp_path / "other.db")
    # As while a crawl runs: the archive open, its -wal and -shm beside it.
    holder = Archive(db)
    holder.db.execute("SELECT count(*) FROM articles").fetchone()
    other_holder = Archive(other)
    other_holder.db.execute("SELECT count(*) FROM articles").fetchone()
    assert (tmp_path / "archive.db-wal").exists() and (tmp_path / "other.db-shm").exists()
    (tmp_path / "link.jsonl").symlink_to(db)
    before = {p.name: sha(p) for p in tmp_path.iterdir() if p.is_file()}
    runner = CliRunner()
    cases = [(str(db), "it is the archive"), (str(db) + "-wal", "-wal"), (str(db) + "-shm", "-shm"),
             (str(db) + ".lock", ".lock"), (str(other), "SQLite database"), (str(tmp_path / "link.jsonl"), "archive"),
             (str(other) + "-wal", "belongs to the SQLite database")]
    for out, why in cases:
        for fmt in ("jsonl", "csv", "parquet", "txt"):
            result = runner.invoke(cli, ["export", "--db", str(db), "--format", fmt, "--out", out])
            assert result.exit_code == EXIT_USAGE, (out, result.output)
            assert "refusing" in result.output and why in result.output, result.output
            assert len(result.output.strip().splitlines()) == 1
    # the manifest may not land on it either
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "jsonl", "--out", str(tmp_path / "x.jsonl"),
                                 "--manifest", str(db)])
    assert result.exit_code == EXIT_USAGE and "refusing" in result.output
    assert not (tmp_path / "x.jsonl").exists()
    after = {p.name: sha(p) for p in tmp_path.iterdir() if p.is_file() and p.name in before}
    assert after == before
    holder.close()
    other_holder.close()
    assert integrity(db) == "ok" and len(articles(db)) == 3
    # a missing output directory is one line, not a traceback
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "jsonl", "--out", str(tmp_path / "no/x.jsonl")])
    assert result.exit_code == EXIT_CANNOT_RUN and "output directory does not exist" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- 2. storage failures stop the run -------------------------------------------------------

def test_full_disk_stops_the_crawl_and_keeps_what_was_stored(tmpfs, big_site):
    fs = tmpfs("2m")
    db = fs / "archive.db"
    first = run_cli("crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(db), "--limit", "8",
                    "-q", *FAST)
    assert first.returncode == EXIT_OK, first.stderr[-2000:]
    stored_before = articles(db)
    assert len(stored_before) >= 8
    result = run_cli("crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(db), "-q", *FAST)
    assert result.returncode == EXIT_CANNOT_RUN, result.stdout + result.stderr[-3000:]
    line = one_line(result.stderr)
    assert line.startswith("crawler: could not run: could not store pages in ") and "disk is full" in line, line
    assert "recorded as failed in crawl 2" in line
    assert len(result.stderr) < 20_000  # not a traceback per page
    rows = crawl_rows(db)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "disk is full" in rows[1]["stats"]
    for r in rows:  # counts are the rows that exist
        assert r["pages"] == r["page_rows"] and r["errors"] == r["error_rows"], r
    assert rows[1]["page_rows"] < 600  # it stopped, it did not fetch the site to the end
    assert integrity(db) == "ok"
    now = articles(db)
    assert all(now[url] == v for url, v in stored_before.items())


def test_export_onto_a_full_disk_keeps_the_previous_output(tmpfs, tmp_path, big_site):
    db = tmp_path / "archive.db"
    assert run_cli("crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(db), "--limit", "60",
                   "-q", *FAST).returncode == EXIT_OK
    fs = tmpfs("64k")
    out = fs / "corpus.txt"
    ok = run_cli("export", "--db", str(db), "--format", "txt", "--out", str(out), "--lang", "kk", "--workers", "0")
    assert ok.returncode == EXIT_OK, ok.stderr
    previous = sha(out)
    result = run_cli("export", "--db", str(db), "--format", "jsonl", "--out", str(out), "--workers", "0")
    assert result.returncode == EXIT_CANNOT_RUN, result.stderr
    line = one_line(result.stderr)
    assert "No space left on device" in line and "nothing was replaced" in line, line
    assert sha(out) == previous
    assert sorted(p.name for p in fs.iterdir()) == ["corpus.txt", "corpus.txt.manifest.json"]
    assert integrity(db) == "ok"


def test_reextract_on_a_full_disk_stops_with_one_line(tmpfs, tmp_path, big_site):
    src = tmp_path / "src.db"
    assert run_cli("crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(src), "--limit", "30",
                   "-q", *FAST).returncode == EXIT_OK
    with rw(src) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    fs = tmpfs(f"{src.stat().st_size // 1024 + 512}k")
    db = fs / "archive.db"
    shutil.copy(src, db)
    before = articles(db)
    # Take the rest of the space: re-extraction writes (last_seen_at at least) and cannot.
    fill(fs / "filler")
    result = run_cli("reextract", "--db", str(db))
    if result.returncode == EXIT_OK:
        pytest.skip("re-extraction found nothing to write on this run (every article unchanged in place)")
    assert result.returncode == EXIT_CANNOT_RUN, result.stderr
    line = one_line(result.stderr)
    assert "reextract stopped: could not write to" in line or "cannot open archive" in line, line
    assert integrity(db) == "ok"
    assert articles(db) == before


# -- 3. signals -------------------------------------------------------------------------------

def _start_slow_crawl(db, url, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "kazpravda", "--base-url", url + "/", "--db", str(db), "-q",
         "--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0.15",
         "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "--set", "EXTRACTION_WORKERS=0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_pages(db, proc, n: int, crawl_id: int = 1, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with ro(db) as conn:
                if conn.execute("SELECT count(*) FROM pages WHERE crawl_id = ?", [crawl_id]).fetchone()[0] >= n:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the crawl stored no pages in time")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_finishes_gracefully_and_records_interrupted(tmp_path, big_site, sig):
    db = tmp_path / "archive.db"
    assert run_cli("crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(db), "--limit", "5",
                   "-q", *FAST).returncode == EXIT_OK
    before = articles(db)
    proc = _start_slow_crawl(db, big_site.url)
    _wait_for_pages(db, proc, 3, crawl_id=2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, err[-3000:]
    # the summary line starts with its UTC finish time
    assert re.match(r"\S+ crawl 2 interrupted: ", out), out
    assert one_line(err) == f"crawler: crawl 2 stopped by {sig.name}; recorded as interrupted"
    rows = crawl_rows(db)
    assert rows[1]["status"] == "interrupted" and rows[1]["finished_at"]
    assert rows[1]["pages"] == rows[1]["page_rows"] >= 3
    assert rows[1]["page_rows"] < 590
    assert integrity(db) == "ok"
    now = articles(db)
    assert all(now[url] == v for url, v in before.items())


def test_a_second_signal_stops_at_once_and_the_archive_stays_consistent(tmp_path, big_site):
    db = tmp_path / "archive.db"
    proc = _start_slow_crawl(db, big_site.url)
    _wait_for_pages(db, proc, 3)
    stored = len(articles(db))
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 10
    assert proc.returncode == EXIT_INTERRUPTED, err[-3000:]
    line = one_line(err)
    assert line.startswith("crawler: stopped at once by a second SIGTERM; crawl 1: "), line
    assert integrity(db) == "ok"
    assert len(articles(db)) >= stored
    status = crawl_rows(db)[0]["status"]
    assert status in ("interrupted", "running")
    if status == "running":  # the signal came mid-write: the next crawl says what happened
        assert "the next crawl marks it interrupted" in line
        run_cli("crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(db), "--limit", "1", "-q", *FAST)
        assert crawl_rows(db)[0]["status"] == "interrupted"
    else:
        assert "recorded interrupted" in line


# -- 4. read-only commands never write ---------------------------------------------------------

def _foreign_files(tmp_path) -> dict[str, Path]:
    notes = tmp_path / "notes.db"
    with rw(notes) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('мои заметки')")
    own = tmp_path / "own-articles.db"
    with rw(own) as conn:
        conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, headline TEXT)")
        conn.execute("INSERT INTO articles (headline) VALUES ('x')")
    text = tmp_path / "readme.txt"
    text.write_text("this is not a database\n" * 100)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    return {"notes": notes, "own": own, "text": text, "empty": empty}


def test_read_only_commands_refuse_what_is_not_an_archive_and_leave_it_as_it_was(tmp_path):
    files = _foreign_files(tmp_path)
    runner = CliRunner()
    for name, path in files.items():
        before = sha(path)
        commands = [["summary", "--db", str(path)],
                    ["export", "--db", str(path), "--format", "jsonl", "--out", str(tmp_path / f"{name}.jsonl")],
                    ["history", "https://news.example.kz/n/story-0/", "--db", str(path)]]
        if name != "empty":  # writing commands may turn an empty file into an archive
            commands += [["reextract", "--db", str(path)], ["crawl", "kazpravda", "--db", str(path)]]
        for args in commands:
            result = runner.invoke(cli, args)
            assert result.exit_code == EXIT_NOT_ARCHIVE, (name, args[0], result.output)
            assert f"not a news archive: {path}" in result.output
            assert len(result.output.strip().splitlines()) == 1
        assert sha(path) == before, name
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(path.name)) == [path.name]
        assert not (tmp_path / f"{name}.jsonl").exists()
    assert files["empty"].stat().st_size == 0
    with rw(files["notes"]) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0


def test_read_only_commands_work_on_a_read_only_mount(tmpfs, tmp_path):
    src = small_archive(tmp_path / "src.db")
    fs = tmpfs("4m")
    db = fs / "archive.db"
    shutil.copy(src, db)  # a WAL-mode file, checkpointed: no -wal or -shm beside it
    before = sha(db)
    remount_ro(fs)
    runner = CliRunner()
    result = runner.invoke(cli, ["summary", "--db", str(db), "--json"])
    assert result.exit_code == EXIT_OK, result.output
    assert '"articles": 3' in result.output
    out = tmp_path / "corpus.jsonl"
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == EXIT_OK, result.output
    assert len(out.read_text().splitlines()) == 3
    result = runner.invoke(cli, ["history", "https://news.example.kz/n/story-1/", "--db", str(db)])
    assert result.exit_code == EXIT_OK and "1 version" in result.output
    # writing commands fail with one line and the exit code for "could not run"
    result = runner.invoke(cli, ["reextract", "--db", str(db)])
    assert result.exit_code == EXIT_CANNOT_RUN and "is on a read-only filesystem)" in result.output, result.output
    result = run_cli("crawl", "kazpravda", "--db", str(db), "-q")
    assert result.returncode == EXIT_CANNOT_RUN, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"crawler: could not run: cannot open archive {db}: ") and "read-only filesystem" in line
    assert sha(db) == before and sorted(p.name for p in fs.iterdir()) == ["archive.db"]
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert classify(db) == "archive"


def test_crawl_refuses_a_foreign_database_but_takes_an_empty_file(tmp_path, site_server):
    files = _foreign_files(tmp_path)
    result = run_cli("crawl", site_server.url + "/", "--db", str(files["notes"]), "-q", *FAST)
    assert result.returncode == EXIT_NOT_ARCHIVE
    assert one_line(result.stderr) == f"crawler: not a news archive: {files['notes']} (a non-empty file of " \
                                      "something else; not turned into one)"
    result = run_cli("crawl", site_server.url + "/", "--db", str(files["empty"]), "--limit", "3", "-q", *FAST)
    assert result.returncode == EXIT_OK, result.stderr[-2000:]
    # --limit caps the pages that may be articles: candidates of discovery by content count
    assert classify(files["empty"]) == "archive" and 1 <= len(articles(files["empty"])) <= 3


# -- 5. one table of exit codes, per command --------------------------------------------------

def test_exit_codes_of_every_command(tmp_path):
    db = small_archive(tmp_path / "archive.db")
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nstart_urls = ["https://bad.example.kz/"]\nmax_listing_pages = "five"\n')
    out = str(tmp_path / "x.jsonl")
    runner = CliRunner()
    cases = [
        (["profiles"], EXIT_OK),
        (["crawl", "nosuchsite", "--db", str(db)], EXIT_USAGE),
        (["crawl", str(bad), "--db", str(db)], EXIT_USAGE),
        (["crawl", "kazpravda", "--db", str(tmp_path / "no" / "a.db")], EXIT_CANNOT_RUN),
        (["crawl", "kazpravda", "--db", str(text)], EXIT_NOT_ARCHIVE),
        (["crawl", "kazpravda", "--db", str(db), "--limit", "-1"], EXIT_USAGE),
        (["crawl", "kazpravda", "--db", str(db), "--set", "DOWNLOAD_DELAY=slow"], EXIT_USAGE),
        (["crawl", "kazpravda", "--db", str(db), "--set", "AUTOTHROTTLE_ENABLED=nah"], EXIT_USAGE),
        (["export", "--db", str(db), "--format", "jsonl", "--out", out], EXIT_OK),
        (["export", "--db", str(db), "--format", "jsonl", "--out", out, "--site", "tengrinews"], EXIT_NOTHING),
        (["export", "--db", str(db), "--format", "jsonl", "--out", out, "--lang", "kz"], EXIT_USAGE),
        (["export", "--db", str(db), "--format", "jsonl", "--out", str(db)], EXIT_USAGE),
        (["export", "--db", str(tmp_path / "missing.db"), "--format", "jsonl", "--out", out], EXIT_CANNOT_RUN),
        (["export", "--db", str(text), "--format", "jsonl", "--out", out], EXIT_NOT_ARCHIVE),
        (["summary", "--db", str(db)], EXIT_OK),
        (["summary", "--db", str(tmp_path / "missing.db")], EXIT_CANNOT_RUN),
        (["summary", "--db", str(text)], EXIT_NOT_ARCHIVE),
        (["history", "https://news.example.kz/n/story-0/", "--db", str(db)], EXIT_OK),
        (["history", "https://news.example.kz/n/nothing/", "--db", str(db)], EXIT_NOTHING),
        (["history", "https://news.example.kz/n/story-0/", "--db", str(tmp_path / "missing.db")], EXIT_CANNOT_RUN),
        (["history", "https://news.example.kz/n/story-0/", "--db", str(text)], EXIT_NOT_ARCHIVE),
        (["reextract", "--db", str(db)], EXIT_OK),
        (["reextract", "--db", str(tmp_path / "missing.db")], EXIT_CANNOT_RUN),
        (["reextract", "--db", str(text)], EXIT_NOT_ARCHIVE),
    ]
    for args, code in cases:
        result = runner.invoke(cli, args)
        assert result.exit_code == code, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    with CrawlLock(db):
        result = runner.invoke(cli, ["crawl", "kazpravda", "--db", str(db)])
    assert result.exit_code == EXIT_LOCKED and "another crawl is running" in result.output
    assert not (tmp_path / "no").exists() and text.read_text() == "not a database"
    assert integrity(db) == "ok" and len(articles(db)) == 3


def test_the_readme_exit_code_table_matches_the_code():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    from crawler.exitcodes import TABLE

    for code, _ in TABLE:
        assert f"| {code} |" in readme, code


# -- 6. selections that match nothing, languages, sites ------------------------------------------

def test_selections_that_match_nothing_say_what_the_archive_holds(tmp_path):
    db = small_archive(tmp_path / "archive.db")
    out = tmp_path / "corpus.txt"
    out.write_text("an earlier corpus\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "txt", "--out", str(out), "--site", "nurkz"])
    assert result.exit_code == EXIT_NOTHING
    assert result.output.strip() == ("Error: no article matches --site nurkz; nothing written; the archive has "
                                     "sites: kazpravda; languages: kk, ru")
    assert out.read_text() == "an earlier corpus\n"
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "txt", "--out", str(out), "--lang", "kz"])
    assert result.exit_code == EXIT_USAGE and "did you mean kk?" in result.output
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "txt", "--out", str(out), "--lang", "xx"])
    assert result.exit_code == EXIT_USAGE and "not an ISO 639-1 language code" in result.output
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "jsonl", "--out", str(out),
                                 "--lang", "RU", "--site", "KazPravda"])
    assert result.exit_code == EXIT_OK and "exported 2 articles" in result.output
    # the README's own example, as printed, on an archive like the demo's
    result = runner.invoke(cli, ["export", "--db", str(db), "--format", "txt", "--out", str(out), "--site",
                                 "kazpravda", "--lang", "ru", "--from", "2025-01-01", "--to", "2025-12-31"])
    assert result.exit_code == EXIT_OK and "exported 2 articles" in result.output


def _readme_block(heading: str) -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split(heading, 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_readme_export_and_search_blocks_run_as_printed_on_the_demo_archive(tmp_path, site_server):
    """`make demo` crawls the sample site through the kazpravda profile; so does this."""
    result = run_cli("crawl", "kazpravda", "--base-url", site_server.url + "/", "--db", str(tmp_path / "archive.db"),
                     "-q", *FAST)
    assert result.returncode == EXIT_OK, result.stderr[-2000:]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CRAWLER_DB", None)
    with rw(tmp_path / "archive.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(tmp_path / "archive.db", tmp_path / "news.db")  # the cron section's name for it
    for heading in ("### Searching, and Russian word endings", "## Export", "## Running from cron"):
        for command in _readme_block(heading).split("\n"):
            if not command.strip():
                continue
            if command.startswith("  "):  # continuation of a quoted multi-line query
                continue
            # a line whose quotes do not close continues on the next lines of the block
            block = _readme_block(heading)
            full = block[block.index(command):]
            script = command if command.count('"') % 2 == 0 else full.split('" --table', 1)[0] + '" --table'
            done = subprocess.run(["bash", "-c", "set -o pipefail; " + script], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (script, done.stdout[-500:], done.stderr[-2000:])
            if script.startswith("crawler export"):
                assert "exported 0 " not in done.stdout + done.stderr, script
    assert (tmp_path / "corpus.txt").stat().st_size > 0
    assert (tmp_path / "corpus.csv").stat().st_size > 0
    assert integrity(tmp_path / "archive.db") == "ok"


# -- 7. scope ------------------------------------------------------------------------------------

class _RedirectingSite(MutableSite):
    def __init__(self, stories, away: dict[str, str]):
        super().__init__(stories)
        self.away = away

    def respond(self, path, headers):
        if path in self.away:
            return 301, {"Location": self.away[path]}, b""
        return super().respond(path, headers)


def _stories(n: int) -> list[Story]:
    return [Story(f"novost-nomer-{i}-o-shkole", f"Новость номер {i} о школе", [f"{p} ({i})" for p in PARAS],
                  "5 ноября 2024 г. 9:26") for i in range(n)]


def test_redirects_off_the_site_and_non_http_urls_are_not_followed(tmp_path):
    elsewhere = MutableSite(_stories(1))
    site = _RedirectingSite(_stories(3), {
        "/n/novost-nomer-1-o-shkole/": elsewhere.url.replace("127.0.0.1", "localhost") + "/n/novost-nomer-0-o-shkole/",
        "/n/novost-nomer-2-o-shkole/": "file:///etc/passwd",
    })
    try:
        db = tmp_path / "archive.db"
        result = run_cli("crawl", site.url + "/", "--db", str(db), "-q", *FAST)
        assert result.returncode == EXIT_OK, result.stderr[-2000:]
        assert elsewhere.requests == []  # not even its robots.txt
        with ro(db) as conn:
            errors = dict(conn.execute("SELECT url, error FROM pages WHERE error IS NOT NULL"))
        assert "offsite redirect to http://localhost:" in errors[site.url + "/n/novost-nomer-1-o-shkole/"]
        assert "offsite" in errors[site.url + "/n/novost-nomer-2-o-shkole/"]
        assert "root:" not in db.read_bytes().decode("latin-1")
        assert [r["status"] for r in crawl_rows(db)] == ["partial"]
        assert integrity(db) == "ok"
    finally:
        site.close()
        elsewhere.close()


BAD_PROFILES = {
    'start_urls = ["file:///etc/"]': "start_urls: only http(s) URLs",
    'start_urls = "https://bad.example.kz/"': "start_urls: expected a list of strings",
    'start_urls = ["https://bad.example.kz/"]\nsitemaps = ["ftp://bad.example.kz/s.xml"]': "sitemaps: only http(s)",
    'start_urls = ["https://bad.example.kz/"]\nmax_listing_pages = "five"': "max_listing_pages: expected a whole",
    'start_urls = ["https://bad.example.kz/"]\nmax_listing_pages = -3': "max_listing_pages: expected a whole",
    'start_urls = ["https://bad.example.kz/"]\nlanguages = "ru"': "languages: expected a list of strings",
    'start_urls = ["https://bad.example.kz/"]\nlanguages = ["kz"]': "did you mean kk?",
    'start_urls = ["https://bad.example.kz/"]\nsettings = "fast"': "settings: expected a table",
    'start_urls = ["https://bad.example.kz/"]\n[settings]\nDOWNLOAD_DELAY = "slow"': "settings.DOWNLOAD_DELAY",
    'start_urls = ["https://bad.example.kz/"]\ntimezone = "Mars/Olympus"': "timezone: unknown time zone",
}


@pytest.mark.parametrize("body", list(BAD_PROFILES))
def test_bad_profile_fields_are_one_line_naming_file_and_field(tmp_path, body):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n' + body + "\n")
    result = CliRunner().invoke(cli, ["crawl", str(path), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.strip().startswith(f"Error: {path}: ") and BAD_PROFILES[body] in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "a.db").exists()
    path.write_text("name = 5\nstart_urls = ['https://bad.example.kz/']\n")
    result = CliRunner().invoke(cli, ["crawl", str(path), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == EXIT_USAGE and "name: expected a non-empty string" in result.output


# -- 8. expected failures without tracebacks --------------------------------------------------------

def test_unreachable_site_is_one_line_per_document_even_quiet(tmp_path):
    with socket_port() as port:
        pass  # a port nobody listens on
    result = run_cli("crawl", f"http://127.0.0.1:{port}/", "--db", str(tmp_path / "a.db"), "-q", *FAST)
    assert result.returncode == EXIT_NOTHING
    assert "Traceback" not in result.stderr and " ERROR: " not in result.stderr, result.stderr
    robots = [ln for ln in result.stderr.splitlines() if "robots.txt" in ln]
    assert 1 <= len(robots) <= 2 and all("refused" in ln for ln in robots), robots
    assert re.match(r"\S+ crawl 1 failed: ", result.stdout), result.stdout
    assert [r["status"] for r in crawl_rows(tmp_path / "a.db")] == ["failed"]


def test_gave_up_retrying_is_not_an_error_under_quiet(tmp_path):
    class Failing(MutableSite):
        def respond_article(self, path, headers=None):
            return 500, {"Content-Type": "text/html"}, b"<html>oops</html>"

    site = Failing(_stories(2))
    try:
        result = run_cli("crawl", site.url + "/", "--db", str(tmp_path / "a.db"), "-q", *FAST)
    finally:
        site.close()
    assert "Gave up retrying" not in result.stderr and " ERROR: " not in result.stderr, result.stderr
    assert result.stderr.count("HTTP 500 (gave up after 2 attempts)") >= 2  # still said, as a WARNING


class socket_port:
    def __enter__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


# -- 9. 410 Gone ------------------------------------------------------------------------------------

def test_410_marks_a_stored_article_withdrawn_and_keeps_it(tmp_path):
    class Gone(MutableSite):
        gone: set[str] = set()

        def respond_article(self, path, headers=None):
            if path in self.gone:
                return 410, {"Content-Type": "text/html"}, b"<html>gone</html>"
            return super().respond_article(path, headers)

    site = Gone(_stories(3))
    db = tmp_path / "archive.db"
    try:
        assert run_cli("crawl", site.url + "/", "--db", str(db), "-q", *FAST).returncode == EXIT_OK
        before = articles(db)
        Gone.gone = {"/n/novost-nomer-1-o-shkole/"}
        result = run_cli("crawl", site.url + "/", "--db", str(db), "--refresh", "-q", *FAST)
    finally:
        site.close()
    assert result.returncode == EXIT_OK, result.stderr[-2000:]
    assert articles(db) == before  # kept, unchanged
    with ro(db) as conn:
        marked = dict(conn.execute("SELECT url, withdrawn_at FROM articles"))
    gone_url = site.url + "/n/novost-nomer-1-o-shkole/"
    assert marked[gone_url] is not None and [u for u, w in marked.items() if w] == [gone_url]
    runner = CliRunner()
    for choice, expected in (("include", 3), ("exclude", 2), ("only", 1)):
        out = tmp_path / f"{choice}.jsonl"
        result = runner.invoke(cli, ["export", "--db", str(db), "--format", "jsonl", "--out", str(out),
                                     "--withdrawn", choice])
        assert result.exit_code == EXIT_OK, result.output
        assert len(out.read_text().splitlines()) == expected
    default = tmp_path / "default.jsonl"
    runner.invoke(cli, ["export", "--db", str(db), "--format", "jsonl", "--out", str(default)])
    assert default.read_text() == (tmp_path / "include.jsonl").read_text()
    assert integrity(db) == "ok"


def test_a_signal_to_the_whole_process_group_lets_the_workers_finish(tmp_path, big_site):
    """`timeout` and Ctrl-C signal every process of the group, the extraction workers too:
    the pages in hand must still be extracted and stored, with no worker traceback."""
    db = tmp_path / "archive.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "kazpravda", "--base-url", big_site.url + "/", "--db", str(db),
         "-q", "--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0.15",
         "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "--set", "EXTRACTION_WORKERS=2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_pages(db, proc, 3)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, err[-3000:]
    assert "Traceback" not in err and "BrokenProcessPool" not in err, err[-3000:]
    assert one_line(err) == "crawler: crawl 1 stopped by SIGTERM; recorded as interrupted"
    rows = crawl_rows(db)
    assert rows[0]["status"] == "interrupted"
    with ro(db) as conn:
        lost = conn.execute("SELECT url, error FROM pages WHERE error LIKE '%crash%' OR error LIKE '%Broken%'"
                            " OR error LIKE '%killed%'").fetchall()
    assert lost == []
    assert integrity(db) == "ok"
