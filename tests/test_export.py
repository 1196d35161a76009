"""Exports: jsonl, csv and the users' txt corpus format, with filters and stable order."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from archive import Archive
from archive.export import export_corpus, format_txt, iter_articles

from conftest import EXAMPLE_TXT as EXAMPLE

EXAMPLE_URL = "https://kazpravda.kz/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/"


def example_article(paragraph_separator: str = "\n\n") -> dict:
    """The example corpus file taken apart into the fields the extractor delivers."""
    raw = EXAMPLE.read_text(encoding="utf-8")
    header, body = raw.split("\n\n", 1)
    match = re.fullmatch(r" date (\d{4}-\d{2}-\d{2}) (.+)", header)
    assert match, header
    paragraphs = [p for p in body.split("\n\n") if p]
    return {
        "url": EXAMPLE_URL,
        "site": "kazpravda.kz",
        "title": match.group(2),
        "text": paragraph_separator.join(paragraphs),
        "published_at": f"{match.group(1)}T14:05:00+05:00",
        "language": "ru",
        "categories": ["Общество"],
        "tags": ["Мангистау", "форум"],
        "hreflang": {"kk": "https://kazpravda.kz/kz/n/forum/"},
        "content_hash": "example",
    }


# Own sample articles: (url, site, language, published_at, title, text, content_hash)
SAMPLES = [
    ("https://a.kz/1", "a.kz", "ru", "2025-09-12T23:30:00+05:00", "Поздняя новость", "Вечером прошёл дождь.", "h1"),
    ("https://a.kz/2", "a.kz", "ru", "2025-09-12", "Новость дня", "Днём было солнечно.", "h2"),
    ("https://b.kz/1", "b.kz", "kk", "2025-09-13T08:00:00+05:00", "Таңғы жаңалық", "Таңертең жаңбыр жауды.", "h3"),
    ("https://b.kz/2", "b.kz", "ru", "2025-09-11T10:00:00+06:00", "Вчерашнее", "Строка один.\nСтрока два.", "h4"),
    ("https://c.kz/1", "c.kz", "en", None, "Undated", "No date was found.", "h5"),
    ("https://c.kz/copy", "c.kz", "ru", "2025-09-14T09:00:00+05:00", "Копия", "Днём было солнечно.", "h2"),
]


@pytest.fixture
def arc(tmp_path):
    archive = Archive(tmp_path / "archive.db")
    for url, site, language, published_at, title, text, content_hash in SAMPLES:
        archive.store_article(
            {"url": url, "site": site, "language": language, "published_at": published_at,
             "title": title, "text": text, "content_hash": content_hash,
             "categories": ["Погода"], "tags": [], "hreflang": {"ru": url}},
            page_id=None, crawl_id=None, seen_at="2025-09-15T00:00:00Z",
        )
    yield archive
    archive.close()


def urls(rows) -> list[str]:
    return [row["url"] for row in rows]


def test_order_is_published_at_then_id_with_undated_last(arc):
    assert urls(iter_articles(arc)) == [
        "https://b.kz/2", "https://a.kz/2", "https://a.kz/1", "https://b.kz/1", "https://c.kz/copy",
        "https://c.kz/1",
    ]


def test_filters(arc):
    assert urls(iter_articles(arc, site="a.kz")) == ["https://a.kz/2", "https://a.kz/1"]
    assert urls(iter_articles(arc, language="kk")) == ["https://b.kz/1"]
    # The day written in published_at counts, inclusive at both ends; 23:30 local stays on the 12th.
    assert urls(iter_articles(arc, date_from="2025-09-12", date_to="2025-09-12")) == [
        "https://a.kz/2", "https://a.kz/1"]
    assert urls(iter_articles(arc, date_from="2025-09-13")) == ["https://b.kz/1", "https://c.kz/copy"]
    assert urls(iter_articles(arc, date_to="2025-09-11")) == ["https://b.kz/2"]
    assert "https://c.kz/copy" not in urls(iter_articles(arc, dedup="exact"))
    assert len(urls(iter_articles(arc, dedup="exact"))) == 5
    assert urls(iter_articles(arc, site="a.kz", language="kk")) == []
    for bad in ("12.09.2025", "2025-9-1", "2025-02-30"):
        with pytest.raises(ValueError):
            iter_articles(arc, date_from=bad)


def test_iter_articles_decodes_json_columns(arc):
    first = next(iter_articles(arc, site="a.kz"))
    assert first["categories"] == ["Погода"] and first["tags"] == []
    assert first["hreflang"] == {"ru": "https://a.kz/2"}


def test_jsonl(arc, tmp_path):
    out = tmp_path / "out.jsonl"
    assert export_corpus(arc, "jsonl", out).rows == len(SAMPLES)
    raw = out.read_bytes()
    assert "Днём было солнечно".encode() in raw  # not ASCII-escaped
    rows = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert urls(rows) == urls(iter_articles(arc))
    assert set(rows[0]) == set(arc.db["articles"].columns_dict)
    assert rows[0]["categories"] == ["Погода"] and rows[0]["hreflang"] == {"ru": "https://b.kz/2"}
    assert rows[0]["text"] == "Строка один.\nСтрока два."


def test_csv(arc, tmp_path):
    out = tmp_path / "out.csv"
    assert export_corpus(arc, "csv", out, language="ru").rows == 4
    with open(out, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [dict(zip(header, values)) for values in reader]
    assert header == list(arc.db["articles"].columns_dict)
    assert [r["url"] for r in rows] == urls(iter_articles(arc, language="ru"))
    assert json.loads(rows[0]["categories"]) == ["Погода"]
    assert rows[0]["text"] == "Строка один.\nСтрока два."  # newlines survive inside quotes
    assert rows[0]["duplicate_of"] == "" and rows[-1]["duplicate_of"] == str(
        arc.get_article("https://a.kz/2")["id"])


def test_txt_reproduces_the_example_file_byte_for_byte(tmp_path):
    expected = EXAMPLE.read_bytes()
    for separator in ("\n\n", "\n"):  # the extractor's blank-line form, and one line per paragraph
        with Archive(tmp_path / f"ex{len(separator)}.db") as arc:
            arc.store_article(example_article(separator), page_id=None, crawl_id=None,
                              seen_at="2025-09-12T09:10:00Z")
            out = tmp_path / "example.txt"
            assert export_corpus(arc, "txt", out).rows == 1
            assert out.read_bytes() == expected
            buffer = io.BytesIO()
            export_corpus(arc, "txt", buffer)
            assert buffer.getvalue() == expected
    assert format_txt(example_article()).encode("utf-8") == expected


def test_txt_several_articles_and_undated(arc):
    text = io.StringIO()
    assert export_corpus(arc, "txt", text).rows == len(SAMPLES)
    content = text.getvalue()
    assert content.startswith(" date 2025-09-11 Вчерашнее\n\nСтрока один.\n\nСтрока два.\n\n date 2025-09-12 ")
    assert content.endswith(" date unknown Undated\n\nNo date was found.\n\n")
    # The documented way to split a multi-article file gives back each article's block.
    blocks = re.split(r"(?<=\n\n)(?= date (?:\d{4}-\d{2}-\d{2}|unknown) )", content)
    assert blocks == [format_txt(a) for a in iter_articles(arc)]


def test_format_txt_edge_cases():
    assert format_txt({"title": "Заголовок\nв две строки ", "text": "Абзац.\r\n\r\n\r\nЕщё абзац.",
                       "published_at": "2024-01-05"}) == (
        " date 2024-01-05 Заголовок в две строки\n\nАбзац.\n\nЕщё абзац.\n\n")
    assert format_txt({"title": None, "text": None, "published_at": None}) == " date unknown\n\n"
    # Inner spacing of a paragraph is kept as extracted.
    assert format_txt({"title": "T", "text": "на\u00a0\u00a0 задачах", "published_at": "2025-09-12"}) == (
        " date 2025-09-12 T\n\nна\u00a0\u00a0 задачах\n\n")


def test_export_targets_and_errors(arc, tmp_path):
    with pytest.raises(ValueError):
        export_corpus(arc, "xml", tmp_path / "x.xml")
    assert not (tmp_path / "x.xml").exists()
    # A failing export leaves no file behind that looks complete.
    with pytest.raises(ValueError):
        export_corpus(arc, "txt", tmp_path / "bad.txt", date_to="tomorrow")
    assert list(tmp_path.glob("bad.txt*")) == []
    # An empty selection still writes the csv header.
    out = tmp_path / "empty.csv"
    assert export_corpus(arc, "csv", out, site="nowhere.kz").rows == 0
    assert out.read_text(encoding="utf-8").startswith("id,url,site,")
    # Works with a bare sqlite_utils.Database too.
    assert export_corpus(arc.db, "jsonl", io.StringIO(), site="b.kz").rows == 2


# -- views and the ready queries of docs/queries.md -------------------------------------

from click.testing import CliRunner  # noqa: E402
from sqlite_utils.cli import cli as sqlite_utils_cli  # noqa: E402

from archive.views import VIEWS, ensure_views, view_sql  # noqa: E402

QUERIES_MD = Path(__file__).parent.parent / "docs" / "queries.md"
TRAFILATURA = "2.3.1-test"

# (key, url, site, language, published_at, published_raw, title, text, content_hash)
QUERY_SAMPLES = [
    ("forum", "https://a.kz/1", "a.kz", "ru", "2025-09-12T10:00:00+05:00", "12.09.2025 10:00",
     "Форум молодёжи в Актау", "Форум открылся утром в Актау.\nУчастники форума обсудили занятость.", "q1"),
    ("weather", "https://a.kz/2", "a.kz", "ru", "2025-09-12", "12.09.2025", "Погода", "Днём было солнечно.", "q2"),
    ("forum-near", "https://b.kz/1", "b.kz", "ru", "2025-09-12T12:00:00+05:00", None,
     "Форум молодёжи прошёл в Актау", "Форум прошёл в Актау.\nУчастники форума говорили о работе.", "q3"),
    ("weather-copy", "https://c.kz/copy", "c.kz", "ru", "2025-09-13T09:00:00+05:00", None,
     "Копия погоды", "Днём было солнечно.", "q2"),
    ("unparsed", "https://b.kz/2", "b.kz", "kk", None, "кеше", "Кешегі жаңалық", "Кеше жаңбыр жауды.", "q5"),
    ("undated", "https://c.kz/2", "c.kz", "en", None, None, "Undated", "No date anywhere.", "q6"),
    ("forum-other", "https://c.kz/3", "c.kz", "ru", "2025-09-13T20:00:00+06:00", None,
     "Форум в Алматы", "Форумы проходят ежегодно.", "q7"),
]


def _ensure_near_column(db) -> None:
    # The near-duplicate migration may not have landed yet: add its column ourselves.
    if "near_duplicate_of" not in db["articles"].columns_dict:
        db["articles"].add_column("near_duplicate_of", int)


def build_query_archive(path) -> tuple[Archive, dict[str, int]]:
    """An archive with known answers: exact and near duplicates, missing dates, one crawl."""
    arc = Archive(path)
    crawl = arc.start_crawl(["a.kz", "b.kz", "c.kz"], {"versions": {"trafilatura": TRAFILATURA}})
    ids = {}
    for key, url, site, language, published_at, raw, title, text, content_hash in QUERY_SAMPLES:
        ids[key] = arc.store_article(
            {"url": url, "site": site, "language": language, "published_at": published_at,
             "published_raw": raw, "title": title, "text": text, "content_hash": content_hash},
            page_id=None, crawl_id=crawl, seen_at="2025-09-14T00:00:00Z").id
    arc.finish_crawl(crawl, {}, "ok")
    _ensure_near_column(arc.db)
    with arc.db.conn:
        # Links set by hand, whatever near-duplicate detection would find in these short texts.
        arc.db.execute("UPDATE articles SET near_duplicate_of = NULL")
        arc.db.execute("UPDATE articles SET near_duplicate_of = ? WHERE id = ?", [ids["forum"], ids["forum-near"]])
    ensure_views(arc.db)
    return arc, ids


@pytest.fixture
def qarc(tmp_path):
    arc, ids = build_query_archive(tmp_path / "archive.db")
    yield arc, ids
    arc.close()


def documented_queries() -> dict[str, list[str]]:
    """The tagged sqlite-utils commands of docs/queries.md, as argument lists."""
    import shlex

    found = {}
    for name, block in re.findall(r"<!-- query: (\S+) -->\s*```sh\n(.*?)```", QUERIES_MD.read_text(encoding="utf-8"),
                                  flags=re.S):
        args = shlex.split(block)
        assert args[0] == "sqlite-utils", name
        found[name] = args[1:]
    return found


def run_documented(name: str, db_path) -> list[dict]:
    args = documented_queries()[name]
    args = [str(db_path) if a == "archive.db" else a for a in args if a not in ("--table", "-t")]
    result = CliRunner().invoke(sqlite_utils_cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_documented_queries_give_the_known_answers(qarc):
    arc, ids = qarc
    db = arc.path
    assert run_documented("per-site-day", db) == [
        {"site": "c.kz", "day": "2025-09-13", "articles": 2},
        {"site": "a.kz", "day": "2025-09-12", "articles": 2},
        {"site": "b.kz", "day": "2025-09-12", "articles": 1},
    ]
    assert run_documented("per-site-month", db) == [
        {"month": "2025-09", "site": "a.kz", "articles": 2, "without_copies": 2},
        {"month": "2025-09", "site": "b.kz", "articles": 1, "without_copies": 1},
        {"month": "2025-09", "site": "c.kz", "articles": 2, "without_copies": 1},
    ]
    assert run_documented("missing-dates-count", db) == [
        {"site": "b.kz", "reason": "not parsed", "articles": 1},
        {"site": "c.kz", "reason": "not found", "articles": 1},
    ]
    assert run_documented("missing-dates-list", db) == [
        {"id": ids["unparsed"], "url": "https://b.kz/2", "published_raw": "кеше", "page_id": None}]
    assert run_documented("duplicates-of", db) == [
        {"article_id": ids["forum"], "relation": "representative", "site": "a.kz", "url": "https://a.kz/1",
         "title": "Форум молодёжи в Актау"},
        {"article_id": ids["forum-near"], "relation": "near", "site": "b.kz", "url": "https://b.kz/1",
         "title": "Форум молодёжи прошёл в Актау"},
    ]
    assert run_documented("largest-groups", db) == [
        {"group_id": ids["forum"], "articles": 2, "sites": 2, "first_published": "2025-09-12T10:00:00+05:00"},
        {"group_id": ids["weather"], "articles": 2, "sites": 2, "first_published": "2025-09-12"},
    ]
    assert [r["id"] for r in run_documented("search", db)] == sorted(
        [ids["forum"], ids["forum-near"], ids["forum-other"]])
    snippets = run_documented("search-snippet", db)
    assert sorted(r["id"] for r in snippets) == sorted([ids["forum"], ids["forum-near"]])
    assert all("[Актау]" in r["excerpt"] for r in snippets)
    assert run_documented("search-per-day", db) == [
        {"day": "2025-09-12", "articles": 2}, {"day": "2025-09-13", "articles": 1}]
    crawls = run_documented("crawls", db)
    assert len(crawls) == 1 and crawls[0]["status"] == "ok" and crawls[0]["articles_new"] == 6
    assert crawls[0]["trafilatura_version"] == TRAFILATURA and isinstance(crawls[0]["seconds"], int)


def test_every_documented_query_is_checked():
    # A query added to the doc without an expected answer above would go untested.
    source = Path(__file__).read_text(encoding="utf-8")
    for name in documented_queries():
        assert f'run_documented("{name}"' in source, name
    assert len(documented_queries()) >= 8


def test_duplicates_of_any_member_and_of_an_article_without_copies(qarc):
    arc, ids = qarc
    rows = lambda url: [r["article_id"] for r in arc.db.query(  # noqa: E731
        "select article_id from duplicate_groups where group_id = "
        "(select group_id from duplicate_groups where url = :url) order by article_id", {"url": url})]
    assert rows("https://c.kz/copy") == rows("https://a.kz/2") == sorted([ids["weather"], ids["weather-copy"]])
    assert rows("https://c.kz/3") == []
    # An exact copy of a near-duplicate joins its cluster.
    copy = arc.store_article({"url": "https://d.kz/1", "site": "d.kz", "title": "Ещё копия",
                              "text": "whatever", "content_hash": "q3"},
                             page_id=None, crawl_id=None, seen_at="2025-09-15T00:00:00Z")
    assert copy.duplicate_of == ids["forum-near"]
    assert rows("https://d.kz/1") == sorted([ids["forum"], ids["forum-near"], copy.id])
    relation = dict(arc.db.execute("select article_id, relation from duplicate_groups").fetchall())
    assert relation[copy.id] == "exact" and relation[ids["forum-near"]] == "near"


def test_views_are_created_once_and_follow_the_near_column(tmp_path):
    arc = Archive(tmp_path / "v.db")
    try:
        assert set(VIEWS) <= set(arc.db.view_names())
        if "near_duplicate_of" in arc.db["articles"].columns_dict:
            # Back to an archive from before near-duplicate detection.
            for index in arc.db["articles"].indexes:
                if "near_duplicate_of" in index.columns:
                    arc.db.execute(f"DROP INDEX {index.name}")
            arc.db["articles"].transform(drop={"near_duplicate_of"})
            ensure_views(arc.db)
        # Before near-duplicate detection: the near column reads NULL, exact copies still group.
        assert "near_duplicate_of" not in arc.db.execute(
            "select sql from sqlite_master where name = 'duplicate_groups'").fetchone()[0]
        arc.store_article({"url": "https://x.kz/1", "title": "T", "text": "same", "content_hash": "h",
                           "published_at": "2025-01-02"}, page_id=None, crawl_id=None, seen_at="2025-01-03T00:00:00Z")
        arc.store_article({"url": "https://x.kz/2", "title": "T", "text": "same", "content_hash": "h",
                           "published_at": "2025-01-02"}, page_id=None, crawl_id=None, seen_at="2025-01-03T00:00:00Z")
        assert arc.db.execute("select articles, exact_duplicates, near_duplicates from articles_per_site_day"
                              ).fetchall() == [(2, 1, None)]
        assert arc.db.execute("select count(*) from duplicate_groups").fetchone()[0] == 2
        assert ensure_views(arc.db) == []  # current: nothing rewritten
        arc.db["articles"].add_column("near_duplicate_of", int)
        assert ensure_views(arc.db) == ["articles_per_site_day", "duplicate_groups"]
        assert ensure_views(arc.db) == []
        assert arc.db.execute("select near_duplicates from articles_per_site_day").fetchall() == [(0,)]
        # A view from an older release is replaced on the next open.
        with arc.db.conn:
            arc.db.execute("drop view crawl_summary")
            arc.db.execute("create view crawl_summary as select id from crawls")
        cookie = arc.db.execute("PRAGMA schema_version").fetchone()[0]
    finally:
        arc.close()
    with Archive(tmp_path / "v.db") as again:
        assert again.db.execute("select sql from sqlite_master where name = 'crawl_summary'").fetchone()[0] == (
            view_sql("crawl_summary", True))
        replaced = again.db.execute("PRAGMA schema_version").fetchone()[0]
        assert replaced > cookie
    with Archive(tmp_path / "v.db") as third:  # already current: the schema is not touched
        assert third.db.execute("PRAGMA schema_version").fetchone()[0] == replaced
