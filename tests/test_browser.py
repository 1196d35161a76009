"""The served archive and the report in a real browser (headless Chromium).

`make test` installs Debian's chromium when it is missing and we are root; without a
browser these tests skip, saying so.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from browser import colour_stats, dump_dom, find_chromium, screenshot
from conftest import run_cli
from health_archive import SITES, build

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (chromium, chromium-browser): install Debian's `chromium` "
           "(make test does when run as root) to run the browser tests")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "archive.db"
    facts = build(path)
    return path, facts


@contextlib.contextmanager
def serving(path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "serve", "--db", str(path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read())
                time.sleep(0.2)
        else:
            raise AssertionError("crawler serve did not answer")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def served(archive):
    path, facts = archive
    with serving(path) as base:
        yield {"base": base, "db": path.stem, **facts}


def test_sample_site_crawl_served_finds_the_example_article_by_an_inflected_word(crawled):
    # The real crawl of the sample site: its example article says «Мангистауской области».
    from conftest import EXAMPLE_PATH

    with serving(crawled["db"]) as base:
        q = urllib.parse.quote("Мангистауская")
        dom = dump_dom(CHROMIUM, f"{base}/{crawled['db'].stem}/stemmed_search?q={q}")
    assert EXAMPLE_PATH in dom
    assert "[Мангистауской]" in dom


def test_bare_inflected_word_finds_the_example_article(served):
    q = urllib.parse.quote("Мангистауская")
    dom = dump_dom(CHROMIUM, f"{served['base']}/{served['db']}/stemmed_search?q={q}")
    assert served["example_url"] in dom
    assert "Мангистауской" in dom and "[Мангистауской]" in dom  # the excerpt marks the form found
    # The articles table's search box takes the README's prefix syntax.
    q = urllib.parse.quote("мангистауск*")
    dom = dump_dom(CHROMIUM, f"{served['base']}/{served['db']}/articles?_search={q}")
    assert served["example_url"] in dom
    # ... and offers the stemmed search next to it.
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*id="stemmed-search"', dom)
    assert form and form.group(1) == f"/{served['db']}/stemmed_search"


def test_database_page_lists_articles_first_and_hides_internal_tables(served):
    dom = dump_dom(CHROMIUM, f"{served['base']}/{served['db']}")
    tables = re.findall(r'<h3><a href="/[^/"]+/([^"?]+)"', dom)
    assert tables[0] == "articles"
    assert not {"neardup_bands", "articles_stem_log", "stem_config"} & set(tables)
    assert "per-site-day" in dom or "per site day" in dom  # docs/queries.md as canned queries


def test_pages_are_decoded_and_rows_show_full_text(served, archive):
    base, db = served["base"], served["db"]
    dom = dump_dom(CHROMIUM, f"{base}/{db}/pages")
    link = re.search(r'href="(/-/page-body/\d+)"', dom)
    assert link, "no decoded-page link in the pages table"
    body = urllib.request.urlopen(base + link.group(1), timeout=10).read().decode()
    assert body.startswith("<html><body><p>")  # the stored bytes, decoded, shown as text
    # Lists cut long texts; a row's page shows the whole text.
    import sqlite3

    conn = sqlite3.connect(f"file:{archive[0]}?mode=ro", uri=True)
    article_id, text = conn.execute("SELECT id, text FROM articles ORDER BY length(text) DESC LIMIT 1").fetchone()
    assert len(text) > 300
    listing = dump_dom(CHROMIUM, f"{base}/{db}/articles?id={article_id}")
    row = dump_dom(CHROMIUM, f"{base}/{db}/articles/{article_id}")
    tail = text[-40:]
    assert tail not in listing and tail in row


def test_health_page_lists_every_site_with_figures(served, tmp_path):
    dom = dump_dom(CHROMIUM, served["base"] + "/-/health")
    for site in SITES:
        row = re.search(rf'<tr class="site" data-site="{re.escape(site)}">(.*?)</tr>', dom, re.S)
        assert row, site
        figures = [int(n) for n in re.findall(r"<td>(\d+)</td>", row.group(1))]
        assert len(figures) == 6 and figures[1] > 0  # days, pages, errors, new, updated, flagged
    shot = screenshot(CHROMIUM, served["base"] + "/-/health", tmp_path / "health.png", size="1000,800")
    colours, not_background = colour_stats(shot)
    assert colours > 20 and not_background > 0.02, (colours, not_background)


def test_report_plots_are_drawn(archive, tmp_path):
    out = tmp_path / "report.html"
    result = run_cli("report", "--db", str(archive[0]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    dom = dump_dom(CHROMIUM, out.as_uri())
    assert len(re.findall(r'<svg class="series"', dom)) == 6 * len(SITES)
    points = re.findall(r'<circle class="point" cx="([\d.]+)" cy="([\d.]+)"', dom)
    assert len(points) >= 6 * len(SITES) * 5
    assert len({cy for _, cy in points}) > 3  # the lines go up and down, not one flat row
    assert len(re.findall(r'<rect class="cell"', dom)) >= len(SITES) * 5
    shot = screenshot(CHROMIUM, out.as_uri() + "#heatmap", tmp_path / "report.png", size="1000,800")
    colours, not_background = colour_stats(shot)
    assert colours > 20 and not_background > 0.05, (colours, not_background)
