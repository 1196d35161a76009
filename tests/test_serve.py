"""`crawler serve` without a browser: the shipped metadata, canned queries, clear errors."""

from __future__ import annotations

import re
import socket
import sqlite3

from click.testing import CliRunner

from archive import Archive
from crawler import datasette_plugin
from crawler.cli import cli
from crawler.serve import INTERNAL_TABLES, QUERIES_MD, STEMMED_SEARCH_SQL, build_metadata, canned_queries


def test_metadata_hides_internal_tables_and_ships_the_documented_queries(tmp_path):
    meta = build_metadata("archive")["databases"]["archive"]
    with Archive(tmp_path / "archive.db") as arc:
        tables = set(arc.db.table_names())
    assert set(INTERNAL_TABLES) <= tables  # every hidden name is a real table
    assert all(meta["tables"][name]["hidden"] for name in INTERNAL_TABLES)
    articles = meta["tables"]["articles"]
    assert articles["fts_table"] == "articles_fts" and articles["searchmode"] == "raw"
    assert meta["tables"]["article_days"]["facets"] == ["site", "language", "day"]
    documented = re.findall(r'<!-- query: (\S+) -->\s*```sh\nsqlite-utils archive\.db ', QUERIES_MD.read_text("utf-8"))
    assert set(documented) == set(canned_queries()) and len(documented) >= 8
    assert "stemmed_search" in meta["queries"]


def test_canned_queries_run_on_an_archive(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as arc:
        arc.store_article({"url": "https://a.kz/1", "site": "a.kz", "title": "Встреча", "language": "ru",
                           "text": "Аким Мангистауской области встретился с жителями.", "content_hash": "h",
                           "published_at": "2025-09-12T10:00:00+05:00"},
                          page_id=None, crawl_id=None, seen_at="2025-09-12T05:00:00+00:00")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    datasette_plugin.prepare_connection(conn)
    rows = conn.execute(STEMMED_SEARCH_SQL, {"q": "Мангистауская"}).fetchall()
    assert [r[4] for r in rows] == ["https://a.kz/1"] and "[Мангистауской]" in rows[0][5]
    assert conn.execute(STEMMED_SEARCH_SQL, {"q": ""}).fetchall() == []  # the page's first, empty load
    params = {"site": "a.kz", "url": "https://a.kz/1", "q": "Мангистау*"}
    for name, query in canned_queries().items():
        wanted = {p: params[p] for p in re.findall(r":(\w+)", query["sql"])}
        conn.execute(query["sql"], wanted).fetchall()  # each documented query runs


def test_serve_refuses_a_busy_port_and_a_missing_archive(tmp_path):
    path = tmp_path / "archive.db"
    Archive(path).close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--db", str(path), "--port", str(port)])
    assert result.exit_code == 3 and f"cannot serve on 127.0.0.1:{port}" in result.output
    missing = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 3 and "archive not found" in missing.output


def _served_page(path, url, rank_candidates):
    import asyncio

    from crawler.serve import make_datasette

    async def get():
        ds = make_datasette(str(path), rank_candidates=rank_candidates)
        return await ds.client.get(url)

    response = asyncio.run(get())
    assert response.status_code == 200
    return response.text


def test_served_stemmed_search_says_when_only_the_newest_matches_were_ranked(tmp_path):
    from urllib.parse import quote

    path = tmp_path / "archive.db"
    with Archive(path) as arc:
        for i in range(4):
            region = "Мангистауской" if i else "Павлодарской"
            arc.store_article({"url": f"https://a.kz/{i}", "site": "a.kz", "title": f"Встреча {i}",
                               "language": "ru",
                               "text": f"Аким {region} области встретился с жителями.",
                               "content_hash": f"h{i}", "published_at": "2025-09-12T10:00:00+05:00"},
                              page_id=None, crawl_id=None, seen_at="2025-09-12T05:00:00+00:00")
    many = "/archive/stemmed_search?q=" + quote("области")  # all 4 match
    few = "/archive/stemmed_search?q=" + quote("Мангистауская")  # 3 match
    page = _served_page(path, many, rank_candidates=3)
    assert 'id="ranking-bounded"' in page and "best of the newest 3" in page
    assert set(re.findall(r"https://a\.kz/\d", page)) == {"https://a.kz/1", "https://a.kz/2", "https://a.kz/3"}
    for url in (few, "/archive/stemmed_search"):  # not more matches than ranked; the empty box
        page = _served_page(path, url, rank_candidates=3)
        assert 'id="ranking-bounded"' not in page
    assert len(set(re.findall(r"https://a\.kz/\d", _served_page(path, few, rank_candidates=3)))) == 3
    # The default bound is the one `crawler search` uses.
    assert 'id="ranking-bounded"' not in _served_page(path, many, rank_candidates=10_000)
