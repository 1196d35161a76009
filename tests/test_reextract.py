"""`crawler reextract`: extraction again from stored raw pages, no network."""

from __future__ import annotations

import shutil

import sqlite_utils
from click.testing import CliRunner

from crawler.cli import cli


def test_reextract_restores_and_confirms_articles(crawled, tmp_path):
    db_path = tmp_path / "copy.db"
    shutil.copy(crawled["db"], db_path)
    db = sqlite_utils.Database(db_path)
    before = {r["url"]: (r["title"], r["text"], r["published_at"]) for r in db.query("select * from articles")}
    total = len(before)
    # a damaged row (e.g. written by an older extractor) is put right from the stored page
    victim = next(iter(before))
    db.execute("update articles set published_at = null, date_source = null where url = ?", [victim])
    db.conn.commit()
    result = CliRunner().invoke(cli, ["reextract", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    counts = dict(part.rsplit(" ", 1) for part in result.output.strip().split(", "))
    # every stored page gives its article again; error pages are skipped
    assert int(counts["unchanged"]) + int(counts.get("duplicate", 0)) >= total - 1
    # ... and the candidates the classifier called no article are judged again, and stay so
    not_articles = db.execute("select count(*) from pages where error like 'not an article: %'").fetchone()[0]
    assert not_articles and int(counts["not articles"]) == not_articles
    assert int(counts["skipped"]) + not_articles == db.execute(
        "select count(*) from pages where error is not null").fetchone()[0]
    after = {r["url"]: (r["title"], r["text"], r["published_at"]) for r in db.query("select * from articles")}
    assert after == before
    assert db["article_versions"].count == 0


def _dates(db):
    return {r["url"]: (r["published_at"], r["date_source"]) for r in db.query("select * from articles")}


def test_reextract_uses_the_profile_file_the_pages_were_crawled_with(site_server, tmp_path):
    """A .toml profile is recorded with its crawl: re-extraction reads its zone and date
    selector even when the file is gone; without the record it falls back to generic."""
    from conftest import FAST, run_cli

    profile = tmp_path / "localpravda.toml"
    profile.write_text(f'name = "localpravda"\nstart_urls = ["{site_server.url}/"]\n'
                       f'allowed_domains = ["127.0.0.1"]\ndate_selector = "time.article__date"\n'
                       f'timezone = "Europe/Moscow"\n', encoding="utf-8")
    db_path = tmp_path / "a.db"
    result = run_cli("crawl", str(profile), "--db", str(db_path), "--limit", "10", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite_utils.Database(db_path)
    before = _dates(db)
    assert before and "selector" in {source for _, source in before.values()}
    profile.unlink()
    result = CliRunner().invoke(cli, ["reextract", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "updated" not in result.output
    assert _dates(db) == before
    # the same archive without the record: the generic profile reads other dates
    db.execute("update crawls set profiles = null")
    db.conn.commit()
    result = CliRunner().invoke(cli, ["reextract", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert _dates(db) != before
