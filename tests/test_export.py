"""Exports: jsonl, csv and the users' txt corpus format, with filters and stable order."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from archive import Archive
from archive.export import export, format_txt, iter_articles

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "kazpravda-2025-09-12-civil-forum.txt"
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
    assert "https://c.kz/copy" not in urls(iter_articles(arc, include_duplicates=False))
    assert len(urls(iter_articles(arc, include_duplicates=False))) == 5
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
    assert export(arc, "jsonl", out) == len(SAMPLES)
    raw = out.read_bytes()
    assert "Днём было солнечно".encode() in raw  # not ASCII-escaped
    rows = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert urls(rows) == urls(iter_articles(arc))
    assert set(rows[0]) == set(arc.db["articles"].columns_dict)
    assert rows[0]["categories"] == ["Погода"] and rows[0]["hreflang"] == {"ru": "https://b.kz/2"}
    assert rows[0]["text"] == "Строка один.\nСтрока два."


def test_csv(arc, tmp_path):
    out = tmp_path / "out.csv"
    assert export(arc, "csv", out, language="ru") == 4
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
            assert export(arc, "txt", out) == 1
            assert out.read_bytes() == expected
            buffer = io.BytesIO()
            export(arc, "txt", buffer)
            assert buffer.getvalue() == expected
    assert format_txt(example_article()).encode("utf-8") == expected


def test_txt_several_articles_and_undated(arc):
    text = io.StringIO()
    assert export(arc, "txt", text) == len(SAMPLES)
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
        export(arc, "xml", tmp_path / "x.xml")
    assert not (tmp_path / "x.xml").exists()
    # A failing export leaves no file behind that looks complete.
    with pytest.raises(ValueError):
        export(arc, "txt", tmp_path / "bad.txt", date_to="tomorrow")
    assert list(tmp_path.glob("bad.txt*")) == []
    # An empty selection still writes the csv header.
    out = tmp_path / "empty.csv"
    assert export(arc, "csv", out, site="nowhere.kz") == 0
    assert out.read_text(encoding="utf-8").startswith("id,url,site,")
    # Works with a bare sqlite_utils.Database too.
    assert export(arc.db, "jsonl", io.StringIO(), site="b.kz") == 2
