"""Per-site health per day, its flags, `crawler report` and the page `crawler serve` shows."""

from __future__ import annotations

import re
import sqlite3

import pytest
from click.testing import CliRunner

from archive.health import error_kind, site_health
from crawler.cli import cli
from health_archive import BOILERPLATE, DAYS, LAST_DAY, SITES, build


@pytest.fixture(scope="module")
def health_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("health") / "archive.db"
    facts = build(path)
    return path, facts


def readonly(path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def by_site(path) -> dict:
    return {s.site: s for s in site_health(readonly(path))}


def test_figures_per_site_and_day(health_db):
    path, _ = health_db
    sites = by_site(path)
    assert set(sites) == set(SITES)
    a, b, c = sites["a.kz"], sites["b.kz"], sites["c.kz"]
    assert len(a.days) == DAYS and a.language == "ru" and c.language == "kk"
    steady = a.days[3]
    assert (steady.pages, steady.new, steady.updated, steady.errors) == (6, 6, 0, {})
    assert steady.dated == 1.0 and steady.boilerplate == 0.0 and steady.other_language == 0.0
    lengths = sorted(len(t) for (t,) in readonly(path).execute(
        "SELECT text FROM articles WHERE site = 'a.kz' AND first_seen_at LIKE ?", [steady.day + "%"]))
    assert steady.median_length == (lengths[2] + lengths[3]) / 2
    last_a = a.days[-1]
    assert last_a.day == LAST_DAY
    assert last_a.boilerplate == pytest.approx(6 / 7)  # 6 of 7 articles carry the sentence
    assert last_a.boilerplate_sentence == BOILERPLATE
    assert last_a.dated == pytest.approx(1 / 7)
    last_b = b.days[-1]
    assert last_b.errors == {"HTTP 503": 5} and last_b.new == 1
    last_c = c.days[-1]
    assert last_c.updated == 1 and last_c.exact_duplicates == 1


def test_flags_only_where_a_site_left_its_baseline(health_db):
    path, _ = health_db
    sites = by_site(path)
    flagged = {(s.site, d.day): d.flags for s in sites.values() for d in s.days if d.flags}
    assert set(flagged) == {("a.kz", LAST_DAY), ("b.kz", LAST_DAY)}
    assert any(f.startswith("boilerplate") for f in flagged[("a.kz", LAST_DAY)])
    assert any(f.startswith("dated") for f in flagged[("a.kz", LAST_DAY)])
    assert any(f.startswith("error share") for f in flagged[("b.kz", LAST_DAY)])
    assert any(f.startswith("new 1") for f in flagged[("b.kz", LAST_DAY)])


def test_error_kinds():
    assert error_kind("HTTP 500 (gave up after 3 attempts)") == "HTTP 500"
    assert error_kind("not HTML: application/pdf") == "not HTML"
    assert error_kind("empty body") == "empty body"


def test_report_is_one_offline_file_with_plots(health_db, tmp_path):
    path, _ = health_db
    out = tmp_path / "report.html"
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["report", "--db", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert path.read_bytes() == before  # read-only
    # Offline: nothing fetched at view time.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page
    for site in SITES:
        assert f'data-site="{site}"' in page
        series = re.findall(rf'<svg class="series" data-site="{re.escape(site)}".*?</svg>', page)
        assert len(series) == 6
        assert all(s.count('class="point"') == DAYS for s in series)
    cells = re.findall(r'<rect class="cell"[^>]*data-new="(\d+)"', page)
    assert len(cells) == len(SITES) * DAYS and sum(map(int, cells)) > 0
    assert page.count('stroke="#d00"') == 2  # the two flagged days framed in the heatmap


def test_report_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 3 and "archive not found" in result.output
    assert not (tmp_path / "r.html").exists()


def test_summary_shows_the_last_crawl_and_each_sites_last_good_one(tmp_path):
    from archive import Archive

    path = tmp_path / "archive.db"
    with Archive(path) as arc:
        first = arc.start_crawl(["a", "b"])
        arc.finish_crawl(first, {"by_site": {"a.kz": {}, "b.kz": {}}, "failed_sites": []}, "ok")
        second = arc.start_crawl(["a", "b"])
        arc.finish_crawl(second, {"by_site": {"a.kz": {}, "b.kz": {}}, "failed_sites": ["b.kz"], "pages": 5,
                                  "errors": 2}, "partial")
        third = arc.start_crawl(["a"])
        arc.finish_crawl(third, {"by_site": {"a.kz": {}}, "failed_sites": []}, "failed")
    result = CliRunner().invoke(cli, ["summary", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert data["last_crawl"]["id"] == third and data["last_crawl"]["status"] == "failed"
    assert isinstance(data["last_crawl"]["seconds"], int) and data["last_crawl"]["started_at"]
    by_site = data["last_successful_crawl_by_site"]
    assert by_site["a.kz"].startswith(f"crawl {second} at ") and by_site["b.kz"].startswith(f"crawl {first} at ")
    text = CliRunner().invoke(cli, ["summary", "--db", str(path)]).output
    assert "last_crawl:\n  id: 3\n  status: failed" in text
