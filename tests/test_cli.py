"""CLI tests with click's CliRunner against a real archive built through the library."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from crawler.cli import cli

README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        crawl = archive.start_crawl(["http://127.0.0.1:1/"])
        for i, (day, lang, site) in enumerate([("2020-05-08T12:28:00+06:00", "ru", "a.kz"),
                                               ("2024-11-05T09:26:00+05:00", "ru", "b.kz"),
                                               ("2025-09-12T14:05:00+05:00", "kk", "a.kz")]):
            page = archive.record_page({"crawl_id": crawl, "url": f"http://{site}/n/s{i}/", "status": 200,
                                        "fetched_at": "2025-09-13T00:00:00+00:00", "body": b"<html></html>",
                                        "site": site})
            archive.store_article({"url": f"http://{site}/n/s{i}/", "site": site, "title": f"Заголовок {i}",
                                   "text": f"Первый абзац {i}.\n\nВторой абзац.", "published_at": day,
                                   "language": lang, "content_hash": f"h{i}"},
                                  page_id=page, crawl_id=crawl, seen_at="2025-09-13T00:00:00+00:00")
        archive.finish_crawl(crawl, {"pages": 3}, "ok")
    return path


def test_every_command_has_help_and_is_documented():
    readme = README.read_text(encoding="utf-8")
    runner = CliRunner()
    for name, command in cli.commands.items():
        assert command.help, name
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
        assert f"crawler {name}" in readme, f"`crawler {name}` is not in the README"


def test_export_txt_filters_exact_output(db_path, tmp_path):
    out = tmp_path / "corpus.txt"
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "txt", "--out", str(out),
                                      "--site", "a.kz", "--lang", "ru"])
    assert result.exit_code == 0, result.output
    assert result.output == f"exported 1 articles to {out} (manifest {out}.manifest.json)\n"
    assert out.read_text(encoding="utf-8") == " date 2020-05-08 Заголовок 0\n\nПервый абзац 0.\n\nВторой абзац.\n\n"


def test_export_jsonl_date_range(db_path, tmp_path):
    out = tmp_path / "a.jsonl"
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "jsonl", "--out", str(out),
                                      "--from", "2024-01-01", "--to", "2024-12-31"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["title"] for r in rows] == ["Заголовок 1"]


def test_export_workers_option_gives_the_same_bytes(db_path, tmp_path):
    outputs = []
    for workers in ("2", "0"):
        out = tmp_path / f"w{workers}.jsonl"
        result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "jsonl", "--out", str(out),
                                          "--workers", workers])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == 3
    bad = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "jsonl", "--out",
                                   str(tmp_path / "x.jsonl"), "--workers", "-1"])
    assert bad.exit_code == 2 and "--workers" in bad.output


def test_export_to_stdout(db_path):
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", "csv", "--out", "-"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["title"] for r in rows] == ["Заголовок 0", "Заголовок 1", "Заголовок 2"]
    assert rows[0]["text"] == "Первый абзац 0.\n\nВторой абзац."


def test_bad_dates_and_missing_archive_are_clear_errors(db_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--db", str(db_path), "--format", "txt", "--out", "x", "--from", "12.09.2025"])
    assert result.exit_code == 2 and "expected a date as YYYY-MM-DD" in result.output
    result = runner.invoke(cli, ["summary", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 3 and "archive not found" in result.output
    assert not (tmp_path / "nope.db").exists()


def test_summary(db_path):
    result = CliRunner().invoke(cli, ["summary", "--db", str(db_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["articles"] == 3


def test_crawl_rejects_unknown_profile_before_starting(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "nosuchsite", "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 2
    assert "unknown site profile 'nosuchsite'" in result.output
    assert not (tmp_path / "a.db").exists()


def test_db_from_environment(db_path):
    result = CliRunner().invoke(cli, ["summary", "--json"], env={"CRAWLER_DB": str(db_path)})
    assert result.exit_code == 0 and json.loads(result.output)["articles"] == 3


def test_profiles_lists_bundled():
    result = CliRunner().invoke(cli, ["profiles"])
    assert result.exit_code == 0
    assert result.output.splitlines()[1].split("\t")[:2] == ["kazpravda", "https://kazpravda.kz/"]
