"""The archive library: schema, store semantics, FTS, page bodies, summary, migrations."""

from __future__ import annotations

import ast
import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive import SCHEMA_VERSION, Archive, StoreResult, to_utc_iso, utc_now
from archive.core import KEPT_HEADERS

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
CORPUS = [
    line
    for line in (DATA / "fts_corpus.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]

# Own sample text. Inner double spaces and a no-break space must survive unchanged.
TEXT = (
    "Форум  молодых предпринимателей открылся в Актау.\n\n"
    "Участники форума обсудили налоги\u00a0для малого бизнеса в Мангистау."
)


def make_article(url: str = "https://example.kz/n/forum/", **overrides) -> dict:
    article = {
        "url": url,
        "site": "example.kz",
        "title": "Форум предпринимателей прошёл в Актау",
        "text": TEXT,
        "author": "Айгерим Серикова",
        "published_at": "2025-09-12T14:05:00+05:00",
        "published_raw": "12 сентября 2025 г. 14:05",
        "date_source": "meta",
        "language": "ru",
        "description": "Кратко о форуме",
        "categories": ["Общество", "Регионы"],
        "tags": ["форум", "Актау"],
        "image": "https://example.kz/img/forum.jpg",
        "hreflang": {"kk": "https://example.kz/kz/n/forum/", "ru": url},
        "content_hash": "hash-forum-1",
    }
    article.update(overrides)
    return article


@pytest.fixture
def arc(tmp_path):
    archive = Archive(tmp_path / "archive.db")
    yield archive
    archive.close()


def page(arc: Archive, url: str, **overrides) -> int:
    row = {
        "crawl_id": None,
        "url": url,
        "final_url": url,
        "status": 200,
        "content_type": "text/html; charset=utf-8",
        "headers": {"Content-Type": "text/html; charset=utf-8"},
        "encoding": "utf-8",
        "fetched_at": "2025-09-12T09:05:00+00:00",
        "body": "<html><body><p>Форум</p></body></html>".encode(),
        "error": None,
    }
    row.update(overrides)
    return arc.record_page(row)


def search(arc: Archive, query: str) -> set[str]:
    return {row["url"] for row in arc.db["articles"].search(query)}


def fts_integrity(arc: Archive) -> None:
    # rank=1 also compares the index with the content table (external content FTS5).
    arc.db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES('integrity-check', 1)")


# -- connection settings and schema ------------------------------------------------------


def test_connection_settings(arc):
    assert arc.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert arc.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert arc.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert arc.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert arc.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert isinstance(arc.path, str) and arc.path.endswith("archive.db")


def test_schema_indexes_and_triggers(arc):
    indexed = {tuple(i.columns) for i in arc.db["articles"].indexes}
    for column in ("url", "site", "published_at", "content_hash", "duplicate_of"):
        assert (column,) in indexed
    assert any(i.unique and i.columns == ["url"] for i in arc.db["articles"].indexes)
    assert {("url",), ("crawl_id",)} <= {tuple(i.columns) for i in arc.db["pages"].indexes}
    assert {t.name for t in arc.db["articles"].triggers} == {
        "articles_ai", "articles_ad", "articles_au",  # articles_fts
        "articles_stem_ai", "articles_stem_ad", "articles_stem_au"}  # the stemmed index's log
    assert arc.db["articles"].detect_fts() == "articles_fts"
    # Re-crawls touch last_seen_at/page_id only; those must not re-index the text.
    update_trigger = arc.db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'articles_au'").fetchone()[0]
    assert "AFTER UPDATE OF title, text ON articles" in update_trigger
    fks = {(fk.column, fk.other_table) for fk in arc.db["articles"].foreign_keys}
    assert fks == {("duplicate_of", "articles"), ("near_duplicate_of", "articles"), ("page_id", "pages"),
                   ("crawl_id", "crawls")}


def _documented_columns() -> dict[str, set[str]]:
    """Column names per table from the tables in docs/archive-schema.md."""
    doc = (ROOT / "docs" / "archive-schema.md").read_text(encoding="utf-8")
    documented: dict[str, set[str]] = {}
    table = None
    for line in doc.splitlines():
        if line.startswith("#"):
            heading = re.match(r"^##+ `(\w+)`", line)
            table = heading.group(1) if heading else None
            if table:
                documented.setdefault(table, set())
            continue
        cell = re.match(r"^\| `(\w+)` \|", line)
        if cell and table:
            documented[table].add(cell.group(1))
    return documented


def test_every_column_is_documented(arc):
    documented = _documented_columns()
    for table in ("articles", "article_versions", "pages", "crawls"):
        assert set(arc.db[table].columns_dict) == documented.get(table), table


# -- store semantics ------------------------------------------------------------------


def test_store_new_keeps_values_exactly(arc):
    crawl = arc.start_crawl(["example.kz"])
    page_id = page(arc, "https://example.kz/n/forum/?utm=x", crawl_id=crawl)
    result = arc.store_article(
        make_article(), page_id=page_id, crawl_id=crawl, seen_at="2025-09-12T14:05:30+05:00"
    )
    assert result == StoreResult(id=result.id, status="new", duplicate_of=None)
    stored = arc.get_article("https://example.kz/n/forum/")
    assert stored["text"] == TEXT
    assert stored["title"] == "Форум предпринимателей прошёл в Актау"
    assert stored["categories"] == ["Общество", "Регионы"]
    assert stored["hreflang"]["kk"] == "https://example.kz/kz/n/forum/"
    assert stored["published_at"] == "2025-09-12T14:05:00+05:00"  # publisher's offset kept
    assert stored["first_seen_at"] == stored["last_seen_at"] == "2025-09-12T09:05:30+00:00"
    assert stored["page_id"] == page_id and stored["crawl_id"] == crawl
    assert stored["duplicate_of"] is None and stored["updated_at"] is None
    assert arc.db["pages"].get(page_id)["article_id"] == result.id
    # JSON columns hold real JSON text, readable by sqlite's json functions.
    raw = arc.db.execute("SELECT json_extract(tags, '$[1]') FROM articles").fetchone()[0]
    assert raw == "Актау"
    assert arc.get_article("https://example.kz/n/other/") is None


def test_unchanged_updates_only_last_seen_and_page(arc):
    first_page = page(arc, "https://example.kz/n/forum/")
    first = arc.store_article(make_article(), page_id=first_page, crawl_id=None,
                              seen_at="2025-09-12T09:05:00+00:00")
    before = arc.get_article("https://example.kz/n/forum/")
    second_page = page(arc, "https://example.kz/n/forum/", fetched_at="2025-09-13T09:05:00Z")
    # Metadata differences alone do not make a new version, but the newer metadata is kept.
    again = arc.store_article(make_article(author="Другой автор"), page_id=second_page,
                              crawl_id=None, seen_at="2025-09-13T09:05:00Z")
    assert again == StoreResult(first.id, "unchanged", None)
    after = arc.get_article("https://example.kz/n/forum/")
    assert after["last_seen_at"] == "2025-09-13T09:05:00+00:00"
    assert after["page_id"] == second_page
    assert after["author"] == "Другой автор"
    assert {k: v for k, v in after.items() if k not in ("last_seen_at", "page_id", "author")} == {
        k: v for k, v in before.items() if k not in ("last_seen_at", "page_id", "author")
    }
    assert arc.versions("https://example.kz/n/forum/")[0]["version"] == 1  # still one state
    assert arc.db["pages"].get(second_page)["article_id"] == first.id
    # An older sighting (re-extraction of an old page) never moves last_seen_at back.
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at="2025-09-01T00:00:00Z")
    assert arc.get_article("https://example.kz/n/forum/")["last_seen_at"] == "2025-09-13T09:05:00+00:00"
    assert arc.get_article("https://example.kz/n/forum/")["page_id"] == second_page


def test_missing_metadata_never_erases_what_is_stored(arc):
    url = "https://example.kz/n/forum/"
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at="2025-09-12T09:05:00Z")
    again = arc.store_article(make_article(published_at=None, author=None), page_id=None, crawl_id=None,
                              seen_at="2025-09-13T09:05:00Z")
    assert again.status == "unchanged"
    stored = arc.get_article(url)
    assert stored["published_at"] == "2025-09-12T14:05:00+05:00" and stored["author"]


def test_every_earlier_state_is_kept_as_a_version(arc):
    url = "https://example.kz/n/forum/"
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at="2025-09-12T09:05:00Z")
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at="2025-09-12T10:00:00Z")
    arc.store_article(make_article(title="Новый заголовок"), page_id=None, crawl_id=None,
                      seen_at="2025-09-13T09:05:00Z")
    third = arc.store_article(make_article(title="Новый заголовок", text="Другой текст.", content_hash="h3"),
                              page_id=None, crawl_id=None, seen_at="2025-09-14T09:05:00Z")
    assert third.status == "updated"
    versions = arc.versions(url)
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["title"] for v in versions] == ["Форум предпринимателей прошёл в Актау", "Новый заголовок",
                                              "Новый заголовок"]
    assert versions[0]["fetched_at"] == "2025-09-12T09:05:00+00:00"
    assert versions[0]["last_seen_at"] == "2025-09-12T10:00:00+00:00"
    assert versions[2]["text"] == "Другой текст." and versions[2]["fetched_at"] == "2025-09-14T09:05:00+00:00"
    assert arc.db["article_versions"].count == 2
    arc.db.execute("DELETE FROM articles")
    assert arc.db["article_versions"].count == 0


def test_store_fetch_is_one_transaction(arc):
    crawl = arc.start_crawl(["example.kz"])
    with pytest.raises(ValueError):
        arc.store_fetch({"url": "https://example.kz/n/x/", "fetched_at": utc_now()}, {"title": "no url"},
                        crawl_id=crawl, seen_at=utc_now())
    assert arc.db["pages"].count == 0  # the page row was rolled back with the failed article
    page_id, result = arc.store_fetch({"url": "https://example.kz/n/forum/", "fetched_at": utc_now()},
                                      make_article(), crawl_id=crawl, seen_at=utc_now())
    assert result.status == "new" and arc.db["pages"].get(page_id)["article_id"] == result.id
    page_id, touched = arc.touch_article("https://example.kz/n/forum/",
                                         {"url": "https://example.kz/n/forum/", "status": 304}, crawl_id=crawl,
                                         seen_at="2030-01-01T00:00:00Z")
    assert touched.status == "unchanged" and touched.id == result.id
    assert arc.get_article("https://example.kz/n/forum/")["last_seen_at"] == "2030-01-01T00:00:00+00:00"
    known = list(arc.known_pages())
    assert known == [{"url": "https://example.kz/n/forum/", "final_url": None,
                      "article_url": "https://example.kz/n/forum/", "last_seen_at": "2030-01-01T00:00:00+00:00",
                      "published_at": "2025-09-12T14:05:00+05:00", "etag": None, "last_modified": None,
                      "lastmod": None}]


def test_a_new_crawl_marks_a_killed_one_interrupted(arc):
    first = arc.start_crawl(["example.kz"])
    second = arc.start_crawl(["example.kz"])
    assert arc.db["crawls"].get(first)["status"] == "interrupted"
    assert arc.db["crawls"].get(second)["status"] == "running"


def test_changed_title_or_text_updates_row(arc):
    first = arc.store_article(make_article(), page_id=None, crawl_id=None,
                              seen_at="2025-09-12T09:05:00Z")
    # Headlines get edited after publication: same url, new title.
    retitled = arc.store_article(make_article(title="XII форум прошёл в Мангистау"), page_id=None,
                                 crawl_id=None, seen_at="2025-09-12T12:00:00Z")
    assert retitled == StoreResult(first.id, "updated", None)
    row = arc.get_article("https://example.kz/n/forum/")
    assert row["title"] == "XII форум прошёл в Мангистау"
    assert row["updated_at"] == "2025-09-12T12:00:00+00:00"
    assert row["first_seen_at"] == "2025-09-12T09:05:00+00:00"

    new_text = TEXT + "\n\nДобавлен новый абзац о Каспии."
    edited = arc.store_article(make_article(title="XII форум прошёл в Мангистау", text=new_text,
                                            content_hash="hash-forum-2"),
                               page_id=None, crawl_id=None, seen_at="2025-09-13T12:00:00Z")
    assert edited.status == "updated"
    assert arc.get_article("https://example.kz/n/forum/")["text"] == new_text
    assert arc.db["articles"].count == 1


def test_text_compared_when_hash_missing(arc):
    arc.store_article(make_article(content_hash=None), page_id=None, crawl_id=None, seen_at=utc_now())
    same = arc.store_article(make_article(content_hash=None), page_id=None, crawl_id=None, seen_at=utc_now())
    other = arc.store_article(make_article(content_hash=None, text="Совсем другой текст."),
                              page_id=None, crawl_id=None, seen_at=utc_now())
    assert (same.status, other.status) == ("unchanged", "updated")


def test_duplicates_point_to_the_original(arc):
    original = arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
    copy = arc.store_article(make_article("https://mirror.kz/forum"), page_id=None, crawl_id=None,
                             seen_at=utc_now())
    third = arc.store_article(make_article("https://third.kz/forum"), page_id=None, crawl_id=None,
                              seen_at=utc_now())
    assert copy == StoreResult(copy.id, "duplicate", original.id)
    assert third.duplicate_of == original.id  # never a chain through the copy
    assert arc.get_article("https://mirror.kz/forum")["duplicate_of"] == original.id
    # Without a hash nothing is called a duplicate.
    nohash = arc.store_article(make_article("https://fourth.kz/forum", content_hash=None),
                               page_id=None, crawl_id=None, seen_at=utc_now())
    assert nohash.status == "new"
    # Storing the duplicate again is "unchanged" and keeps its pointer.
    again = arc.store_article(make_article("https://mirror.kz/forum"), page_id=None, crawl_id=None,
                              seen_at=utc_now())
    assert again == StoreResult(copy.id, "unchanged", original.id)


def test_edited_duplicate_stops_being_one_and_original_never_chains(arc):
    original = arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
    copy = arc.store_article(make_article("https://mirror.kz/forum"), page_id=None, crawl_id=None,
                             seen_at=utc_now())
    edited = arc.store_article(make_article("https://mirror.kz/forum", text="Своя версия текста.",
                                            content_hash="hash-mirror"),
                               page_id=None, crawl_id=None, seen_at=utc_now())
    assert edited == StoreResult(copy.id, "updated", None)
    # A third article copies the original; then the original is edited to match the mirror:
    # it has a duplicate pointing at it, so it must stay an original itself.
    arc.store_article(make_article("https://third.kz/forum"), page_id=None, crawl_id=None, seen_at=utc_now())
    changed = arc.store_article(make_article(text="Своя версия текста.", content_hash="hash-mirror"),
                                page_id=None, crawl_id=None, seen_at=utc_now())
    assert changed == StoreResult(original.id, "updated", None)
    chains = arc.db.execute(
        "SELECT count(*) FROM articles a JOIN articles b ON a.duplicate_of = b.id "
        "WHERE b.duplicate_of IS NOT NULL"
    ).fetchone()[0]
    assert chains == 0


def test_only_originals_are_pointed_to(arc):
    original = arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
    copy = arc.store_article(make_article("https://mirror.kz/forum"), page_id=None, crawl_id=None,
                             seen_at=utc_now())
    # The original is edited; the copy (lower id than anything new) still has the old hash.
    arc.store_article(make_article(text="Исправленный текст.", content_hash="hash-fixed"),
                      page_id=None, crawl_id=None, seen_at=utc_now())
    assert arc.get_article("https://mirror.kz/forum")["duplicate_of"] == original.id
    late = arc.store_article(make_article("https://late.kz/forum"), page_id=None, crawl_id=None,
                             seen_at=utc_now())
    assert late.status == "new" and late.duplicate_of is None and late.id > copy.id


def test_store_is_one_transaction(arc):
    # page_id 999 does not exist: the foreign key fails and nothing of the call remains.
    with pytest.raises(sqlite3.IntegrityError):
        arc.store_article(make_article(), page_id=999, crawl_id=None, seen_at=utc_now())
    assert arc.db["articles"].count == 0
    assert search(arc, "Мангистау") == set()
    with pytest.raises(ValueError):
        arc.store_article(make_article(url=""), page_id=None, crawl_id=None, seen_at=utc_now())


def test_unknown_keys_are_ignored_with_a_warning(arc, caplog):
    with caplog.at_level("WARNING", logger="archive.core"):
        arc.store_article(make_article(canonical_url="x", extra=1), page_id=None, crawl_id=None,
                          seen_at=utc_now())
        arc.store_article(make_article("https://b.kz/x", canonical_url="x"), page_id=None,
                          crawl_id=None, seen_at=utc_now())
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("canonical_url" in w for w in warnings) == 1
    assert "canonical_url" not in arc.db["articles"].columns_dict


def test_known_urls(arc):
    for n in range(3):
        arc.store_article(make_article(f"https://example.kz/n/{n}/", content_hash=f"h{n}"),
                          page_id=None, crawl_id=None, seen_at=utc_now())
    assert arc.known_urls() == {f"https://example.kz/n/{n}/" for n in range(3)}


# -- full-text search ----------------------------------------------------------------


def test_fts_follows_insert_and_update(arc):
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
    assert search(arc, "Мангистау") == {"https://example.kz/n/forum/"}
    assert search(arc, "мангистау") == {"https://example.kz/n/forum/"}  # case-folded Cyrillic
    # Unchanged re-store: the index must stay consistent (the update trigger is narrowed).
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
    fts_integrity(arc)
    arc.store_article(make_article(title="Семинар в Атырау", text="Семинар прошёл в Атырау.",
                                   content_hash="hash-new"),
                      page_id=None, crawl_id=None, seen_at=utc_now())
    assert search(arc, "Мангистау") == set()
    assert search(arc, "Атырау") == {"https://example.kz/n/forum/"}
    fts_integrity(arc)
    arc.db.execute("DELETE FROM articles")
    assert search(arc, "Атырау") == set()
    fts_integrity(arc)


def _store_corpus(arc: Archive) -> dict[str, str]:
    urls = {}
    for n, sentence in enumerate(CORPUS):
        url = f"https://example.kz/n/{n}/"
        urls[url] = sentence
        arc.store_article(make_article(url, title="", text=sentence, content_hash=f"c{n}"),
                          page_id=None, crawl_id=None, seen_at=utc_now())
    return urls


def test_prefix_query_finds_other_endings(arc):
    urls = _store_corpus(arc)
    with_forms = {u for u, s in urls.items()
                  if re.search(r"(?<!\w)форум(а|е|ом|ы|ов|ах)?(?!\w)", s, re.I)}
    assert len(with_forms) >= 6
    exact = search(arc, "форум")
    prefix = search(arc, "форум*")
    assert with_forms <= prefix
    assert len(exact) < len(with_forms)  # a bare word misses «форума», «форуме», ...
    assert any("форумами" in urls[u] or "Форумчане" in urls[u] for u in prefix - with_forms)
    # The stem reaches forms whose ending changes the last letters: область -> област*
    assert {u for u, s in urls.items() if re.search(r"област(ь|и|ью|ей|ях)\b", s, re.I)} <= search(arc, "област*")
    # Kazakh letters are word characters: «заң*» finds заң, заңды, заңға.
    assert len(search(arc, "заң*")) == 3


def test_yo_is_not_folded_so_search_both_spellings(arc):
    # Measured: unicode61 folds Latin diacritics only; «ё» and «е» stay distinct.
    urls = _store_corpus(arc)
    yo = {u for u, s in urls.items() if re.search(r"\bёлк", s, re.I)}
    ye = {u for u, s in urls.items() if re.search(r"\bелк", s, re.I)}
    assert yo and ye
    assert search(arc, "ёлк*") == yo
    assert search(arc, "ёлк* OR елк*") == yo | ye


def test_sqlite_utils_cli_search(arc):
    arc.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
    arc.store_article(make_article("https://example.kz/n/2/", title="Погода", text="Дожди в Алматы.",
                                   content_hash="h2"),
                      page_id=None, crawl_id=None, seen_at=utc_now())
    for query in ("Мангистау", "форум*"):
        out = subprocess.run(
            [sys.executable, "-m", "sqlite_utils", "search", arc.path, "articles", query],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout
        assert [row["url"] for row in json.loads(out)] == ["https://example.kz/n/forum/"]


# -- pages --------------------------------------------------------------------------


def test_page_body_round_trips_through_zstd(arc):
    html = ("<html><head><meta charset='windows-1251'></head><body>"
            + "<p>Участники форума обсудили налоги.</p>" * 200 + "</body></html>").encode("cp1251")
    binary = bytes(range(256)) * 4
    ids = [page(arc, f"https://example.kz/{n}", body=body) for n, body in enumerate((html, binary))]
    for page_id, body in zip(ids, (html, binary)):
        assert arc.page_body(page_id) == body
        row = arc.db["pages"].get(page_id)
        assert row["body_size"] == len(body)
        assert row["body"][:4] == b"\x28\xb5\x2f\xfd"  # a plain zstd frame
    assert len(arc.db["pages"].get(ids[0])["body"]) < len(html) / 10
    none_id = page(arc, "https://example.kz/none", body=None)
    empty_id = page(arc, "https://example.kz/empty", body=b"")
    assert arc.page_body(none_id) is None
    assert arc.page_body(empty_id) == b""
    with pytest.raises(KeyError):
        arc.page_body(12345)
    with pytest.raises(TypeError):
        page(arc, "https://example.kz/str", body="<html>")


def test_error_page_and_iter_pages(arc):
    crawl = arc.start_crawl(["example.kz"])
    ok = page(arc, "https://example.kz/ok", crawl_id=crawl, site="example.kz",
              headers={b"Content-Type": [b"text/html"], b"ETag": [b'"abc"'], b"Set-Cookie": [b"s=1"],
                       "Retry-After": "120", "Cache-Control": ["no-cache", "max-age=0"]})
    failed = page(arc, "https://example.kz/timeout", crawl_id=crawl, site="example.kz", status=None,
                  body=None, headers=None, content_type=None, error="TimeoutError: took longer than 30s")
    row = arc.db["pages"].get(failed)
    assert row["error"].startswith("TimeoutError") and row["body"] is None and row["status"] is None
    assert json.loads(arc.db["pages"].get(ok)["headers"]) == {
        "content-type": "text/html", "etag": '"abc"', "retry-after": "120",
        "cache-control": "no-cache, max-age=0",
    }
    assert set(json.loads(arc.db["pages"].get(ok)["headers"])) <= set(KEPT_HEADERS)
    assert [p["id"] for p in arc.iter_pages()] == [ok]
    assert [p["id"] for p in arc.iter_pages(with_errors=True)] == [ok, failed]
    assert [p["id"] for p in arc.iter_pages(site="other.kz")] == []
    first = next(arc.iter_pages())
    assert first["body"].startswith(b"<html>") and first["headers"]["etag"] == '"abc"'
    assert first["site"] == "example.kz" and first["fetched_at"] == "2025-09-12T09:05:00+00:00"


def test_iter_pages_allows_writes_while_iterating(arc):
    ids = [page(arc, f"https://example.kz/n/{n}/", body=f"<p>{n}</p>".encode()) for n in range(150)]
    seen = []
    for row in arc.iter_pages():
        seen.append(row["id"])
        arc.store_article(make_article(row["url"], content_hash=f"h{row['id']}"),
                          page_id=row["id"], crawl_id=None, seen_at=row["fetched_at"])
    assert seen == ids
    assert arc.db.execute("SELECT count(*) FROM pages WHERE article_id IS NULL").fetchone()[0] == 0


# -- crawls and summary ------------------------------------------------------------


def test_crawl_lifecycle(arc):
    crawl = arc.start_crawl(["kazpravda.kz", "tengrinews.kz"], {"limit": 10})
    row = arc.db["crawls"].get(crawl)
    assert row["status"] == "running" and json.loads(row["targets"]) == ["kazpravda.kz", "tengrinews.kz"]
    assert json.loads(row["settings"]) == {"limit": 10}
    p1 = page(arc, "https://example.kz/a", crawl_id=crawl)
    page(arc, "https://example.kz/b", crawl_id=crawl, error="HttpError 500", body=None, status=500)
    arc.store_article(make_article(), page_id=p1, crawl_id=crawl, seen_at=utc_now())
    arc.store_article(make_article("https://m.kz/a"), page_id=None, crawl_id=crawl, seen_at=utc_now())
    arc.store_article(make_article(), page_id=None, crawl_id=crawl, seen_at=utc_now())
    started = datetime(2025, 9, 12, 9, 5, tzinfo=timezone.utc)
    arc.finish_crawl(crawl, {"articles_updated": 7, "requests": 12, "by_site": {"kazpravda.kz": 3},
                             "start_time": started}, "partial")
    row = arc.db["crawls"].get(crawl)
    assert row["status"] == "partial" and row["finished_at"] >= row["started_at"]
    assert (row["pages"], row["errors"]) == (2, 1)  # observed in the pages table
    assert (row["articles_new"], row["duplicates"], row["articles_unchanged"]) == (1, 1, 1)
    assert row["articles_updated"] == 7  # given values win
    assert json.loads(row["stats"]) == {"requests": 12, "by_site": {"kazpravda.kz": 3},
                                        "start_time": "2025-09-12T09:05:00+00:00"}
    with pytest.raises(ValueError):
        arc.finish_crawl(crawl, {}, "running")
    with pytest.raises(KeyError):
        arc.finish_crawl(crawl + 100, {}, "ok")


def test_summary_counts(arc):
    crawl = arc.start_crawl(["example.kz"])
    arc.store_article(make_article(), page_id=None, crawl_id=crawl, seen_at=utc_now())
    arc.store_article(make_article("https://mirror.kz/a", site="mirror.kz"), page_id=None,
                      crawl_id=crawl, seen_at=utc_now())
    arc.store_article(make_article("https://example.kz/kk/1", language="kk", published_at="2024-03-01",
                                   content_hash="kk1"),
                      page_id=None, crawl_id=crawl, seen_at=utc_now())
    arc.store_article(make_article("https://example.kz/undated", published_at=None, language=None,
                                   content_hash="u1"),
                      page_id=None, crawl_id=crawl, seen_at=utc_now())
    page(arc, "https://example.kz/a", crawl_id=crawl)
    page(arc, "https://example.kz/b", crawl_id=crawl, error="DNSLookupError", body=None)
    summary = arc.summary()
    assert summary["articles"] == 4 and summary["duplicates"] == 1
    assert summary["by_site"] == {"example.kz": 3, "mirror.kz": 1}
    assert summary["by_language"] == {"ru": 2, "kk": 1, None: 1}
    assert (summary["pages"], summary["page_errors"], summary["crawls"]) == (2, 1, 1)
    assert summary["with_published_at"] == 3
    assert (summary["published_min"], summary["published_max"]) == ("2024-03-01", "2025-09-12")


# -- opening, migrations, isolation ------------------------------------------------


def test_reopen_is_idempotent(tmp_path):
    path = tmp_path / "archive.db"
    # sqlite_stat1 comes from PRAGMA optimize on close: statistics, not schema.
    schema_sql = ("SELECT type, name, sql FROM sqlite_master "
                  "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name")
    with Archive(path) as first:
        first.store_article(make_article(), page_id=None, crawl_id=None, seen_at=utc_now())
        schema = list(first.db.execute(schema_sql))
    for _ in range(2):
        with Archive(path, create=False) as again:
            assert list(again.db.execute(schema_sql)) == schema
            assert again.get_article("https://example.kz/n/forum/")["text"] == TEXT
            assert search(again, "Мангистау") == {"https://example.kz/n/forum/"}


def test_open_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Archive(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    newer = tmp_path / "newer.db"
    Archive(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Archive(newer)


WRITER = """
import sys
from archive import Archive, utc_now
arc = Archive(sys.argv[1])
for i in range(300):
    arc.store_article({"url": f"https://e.kz/{sys.argv[2]}/{i}", "title": "Т", "text": f"Текст {i}",
                       "content_hash": f"{sys.argv[2]}-{i}"}, page_id=None, crawl_id=None, seen_at=utc_now())
    arc.store_article({"url": f"https://e.kz/shared/{i}", "title": "Т", "text": f"Общий {i}",
                       "content_hash": f"shared-{i}"}, page_id=None, crawl_id=None, seen_at=utc_now())
arc.close()
"""


def test_two_writer_processes(tmp_path):
    # e.g. a re-extraction while a cron crawl runs: writers must wait, not fail "locked".
    path = tmp_path / "archive.db"
    Archive(path).close()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    with Archive(path) as arc:
        assert arc.db["articles"].count == 900
        fts_integrity(arc)


def test_timestamps_are_utc_iso():
    assert to_utc_iso("2025-09-12T14:05:00+05:00") == "2025-09-12T09:05:00+00:00"
    assert to_utc_iso("2025-09-12T09:05:00.123456Z") == "2025-09-12T09:05:00+00:00"
    assert to_utc_iso("2025-09-12T09:05:00") == "2025-09-12T09:05:00+00:00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", utc_now())
    with pytest.raises(ValueError):
        to_utc_iso("12 сентября 2025")


def test_archive_imports_neither_scrapy_click_nor_crawler():
    # Researchers use archive/ alone: none of its modules may import these.
    for source in (ROOT / "archive").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in {"scrapy", "click", "crawler", "spiders"}, source


def test_archive_works_in_a_process_without_scrapy(tmp_path):
    code = (
        "import sys, archive, archive.export\n"
        "assert 'scrapy' not in sys.modules\n"
        "a = archive.Archive(sys.argv[1])\n"
        "a.store_article({'url': 'https://e.kz/1', 'title': 'Т', 'text': 'Текст'}, page_id=None,"
        " crawl_id=None, seen_at=archive.utc_now())\n"
        "archive.export.export_corpus(a, 'txt', sys.argv[1] + '.txt')\n"
        "a.close()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'scrapy', 'twisted', 'crawler', 'spiders'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.db")], check=True, timeout=60,
                   cwd=ROOT)
    assert (tmp_path / "a.db.txt").read_text(encoding="utf-8") == " date unknown Т\n\nТекст\n\n"
