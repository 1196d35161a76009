"""The stemmed full-text index ``articles_stem_fts`` and ranked search with snippets.

``articles_fts`` (plain words, prefix queries) is kept in sync by SQL triggers. Stems
need Python, which triggers cannot call, so SQL triggers only *log* what changed in
``articles_stem_log`` (the id; for an update or delete also the old title, text and
language, which a contentless FTS5 table needs to remove the old tokens), and
:func:`sync_stem_index` applies the log. The archive calls it inside every write
transaction, so a crawl, a re-extraction or a migration leaves both indexes in step;
a change made by another tool (sqlite-utils, datasette) waits in the log until the
archive is next opened for writing. The index is contentless (``content=''``): it
holds only the stems' postings, not a second copy of the text.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from .stemming import STEMMER_ID, query_terms, stem_query, stem_text, stem_word

logger = logging.getLogger(__name__)

__all__ = [
    "SearchHit",
    "SearchHits",
    "create_stem_index",
    "pending_changes",
    "rebuild_stem_index",
    "search",
    "snippet",
    "sync_stem_index",
]

STEM_FTS = "articles_stem_fts"
STEM_LOG = "articles_stem_log"
_TOKENIZE = "unicode61 remove_diacritics 2"


def stem_fts_sql() -> str:
    from .fts_prefix import FTS_PREFIX

    return (f"CREATE VIRTUAL TABLE IF NOT EXISTS {STEM_FTS} USING fts5("
            f"title, text, content='', tokenize='{_TOKENIZE}', prefix='{FTS_PREFIX}')")


def create_stem_index(db) -> None:
    """Create the stemmed index, its change log and triggers, and index every article."""
    db.execute(stem_fts_sql())
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {STEM_LOG} (
            seq INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL,
            indexed INTEGER NOT NULL,  -- 1: old title/text/language are in the index
            title TEXT, text TEXT, language TEXT)"""
    )
    db.execute("CREATE TABLE IF NOT EXISTS stem_config (key TEXT PRIMARY KEY, value TEXT)")
    db.execute(
        f"""CREATE TRIGGER IF NOT EXISTS articles_stem_ai AFTER INSERT ON articles BEGIN
          INSERT INTO {STEM_LOG} (article_id, indexed) VALUES (new.id, 0);
        END"""
    )
    db.execute(
        f"""CREATE TRIGGER IF NOT EXISTS articles_stem_au
        AFTER UPDATE OF title, text, language ON articles BEGIN
          INSERT INTO {STEM_LOG} (article_id, indexed, title, text, language)
            VALUES (old.id, 1, old.title, old.text, old.language);
        END"""
    )
    db.execute(
        f"""CREATE TRIGGER IF NOT EXISTS articles_stem_ad AFTER DELETE ON articles BEGIN
          INSERT INTO {STEM_LOG} (article_id, indexed, title, text, language)
            VALUES (old.id, 1, old.title, old.text, old.language);
        END"""
    )
    rebuild_stem_index(db)


def rebuild_stem_index(db) -> int:
    """Empty the stemmed index and index every article again; returns the count."""
    db.execute(f"INSERT INTO {STEM_FTS} ({STEM_FTS}) VALUES ('delete-all')")
    db.execute(f"DELETE FROM {STEM_LOG}")
    count = 0
    total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    if total:
        logger.warning("building the stemmed search index over %d articles (once)", total)
    rows = db.execute("SELECT id, title, text, language FROM articles ORDER BY id")
    insert = f"INSERT INTO {STEM_FTS} (rowid, title, text) VALUES (?, ?, ?)"
    batch = []
    for article_id, title, text, language in rows:
        batch.append((article_id, stem_text(title, language), stem_text(text, language)))
        if len(batch) >= 1000:
            db.conn.executemany(insert, batch)
            count += len(batch)
            batch = []
            if count % 50_000 == 0:
                logger.warning("stemmed search index: %d of %d articles", count, total)
    db.conn.executemany(insert, batch)
    count += len(batch)
    db.execute(
        "INSERT OR REPLACE INTO stem_config (key, value) VALUES ('stemmer', ?)", [STEMMER_ID]
    )
    logger.info("stemmed index built over %d articles", count)
    return count


def sync_stem_index(db, stemmed: Mapping[tuple[str | None, str | None], str] | None = None) -> int:
    """Apply the change log to the stemmed index; returns the articles re-indexed.

    Call inside a write transaction. For each logged article the index holds what it
    had before the first logged change (nothing after an insert, the logged old values
    otherwise): those tokens are removed and the article's current row, if any, indexed.
    ``stemmed`` maps ``(text, language)`` to :func:`stem_text`'s result where it was
    computed already (by the crawl's extraction workers).
    """
    def stem(text, language):
        if stemmed:
            done = stemmed.get((text, language))
            if done is not None:
                return done
        return stem_text(text, language)

    log = db.execute(
        f"SELECT seq, article_id, indexed, title, text, language FROM {STEM_LOG} ORDER BY seq"
    ).fetchall()
    if not log:
        return 0
    first: dict[int, tuple] = {}
    for row in log:
        first.setdefault(row[1], row[1:])
    for article_id, indexed, title, text, language in first.values():
        if indexed:
            db.execute(
                f"INSERT INTO {STEM_FTS} ({STEM_FTS}, rowid, title, text) "
                "VALUES ('delete', ?, ?, ?)",
                [article_id, stem(title, language), stem(text, language)],
            )
        current = db.execute(
            "SELECT title, text, language FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        if current is not None:
            db.execute(
                f"INSERT INTO {STEM_FTS} (rowid, title, text) VALUES (?, ?, ?)",
                [article_id, stem(current[0], current[2]), stem(current[1], current[2])],
            )
    db.execute(f"DELETE FROM {STEM_LOG} WHERE seq <= ?", [log[-1][0]])
    return len(first)


def stem_index_current(db) -> bool:
    """True when the index was built by the stemmers installed now."""
    row = db.execute("SELECT value FROM stem_config WHERE key = 'stemmer'").fetchone()
    return row is not None and row[0] == STEMMER_ID


def pending_changes(db) -> int:
    """Logged article changes not yet applied to the stemmed index."""
    return db.execute(f"SELECT count(*) FROM {STEM_LOG}").fetchone()[0]


class SearchHits(list):
    """The hits, best first; ``bounded`` is True when the query had more matches than
    ``candidates`` and only the newest ones were ranked."""

    bounded: bool = False


@dataclass
class SearchHit:
    id: int
    url: str
    site: str | None
    title: str | None
    published_at: str | None
    language: str | None
    rank: float
    snippet: str


def snippet(text: str | None, language: str | None, query: str, *, width: int = 12,
            mark: tuple[str, str] = ("[", "]")) -> str:
    """An excerpt of ``text`` around the first word matching ``query``, matches marked."""
    stems, prefixes = query_terms(query)
    text = text or ""

    def matches(word: str) -> bool:
        lower = word.lower().replace("ё", "е")
        return stem_word(word, language) in stems or (bool(prefixes) and lower.startswith(prefixes))

    # Words are stemmed only up to the end of the excerpt: a long text costs no more.
    spans: list[tuple[int, int, str, bool]] = []
    first_hit = None
    for m in re.finditer(r"[^\W_]+", text):
        hit = matches(m.group())
        spans.append((m.start(), m.end(), m.group(), hit))
        if hit and first_hit is None:
            first_hit = len(spans) - 1
        if first_hit is not None and len(spans) >= first_hit + width:
            break
    if not spans:
        return ""
    centre = first_hit if first_hit is not None else 0
    lo = max(0, centre - width // 3)
    hi = min(len(spans), lo + width)
    out = []
    pos = spans[lo][0]
    for start, end, word, hit in spans[lo:hi]:
        out.append(text[pos:start])
        out.append(f"{mark[0]}{word}{mark[1]}" if hit else word)
        pos = end
    excerpt = re.sub(r"\s+", " ", "".join(out)).strip()
    more = hi < len(spans) or spans[hi - 1][1] < len(text.rstrip(".!?… \n"))
    return ("…" if lo > 0 else "") + excerpt + ("…" if more else "")


# Ranking costs in proportion to the matches (bm25 of each): a word in most articles of a
# million-article archive took 1.5 s. Beyond this many matches, only the newest ones
# (highest rowid, i.e. stored last) are ranked; see docs/archive-schema.md.
RANK_CANDIDATES = 10_000


def search(db, query: str, *, stemmed: bool = True, limit: int = 20, offset: int = 0,
           candidates: int | None = RANK_CANDIDATES, snippets: bool = True) -> SearchHits:
    """Articles matching ``query``, best first (bm25), with snippets.

    ``stemmed`` searches word forms (``articles_stem_fts``, the query rewritten by
    :func:`archive.stemming.stem_query`); otherwise the query goes to ``articles_fts``
    as written. With more than ``candidates`` matches only the newest ``candidates``
    (by rowid) are ranked (None: rank them all) and the result's ``bounded`` says so;
    bm25's statistics stay those of the whole index. A malformed query raises ``ValueError``.
    """
    conn = db.conn if hasattr(db, "conn") else db
    table = STEM_FTS if stemmed else "articles_fts"
    match = stem_query(query) if stemmed else query
    if not match.strip():
        raise ValueError("empty search query")
    try:
        bound = None
        if candidates:
            # Walking a doclist newest first is cheap; this finds the K-th newest match.
            # The K-th newest, and whether there is a (K+1)-th: only then is a match left out.
            rows = conn.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT 2 OFFSET ?",
                [match, candidates - 1]).fetchall()
            bound = rows[0][0] if len(rows) == 2 else None
        where = f"{table} MATCH ?" + (" AND rowid >= ?" if bound is not None else "")
        params = [match] + ([bound] if bound is not None else []) + [limit, offset]
        # The top rows come from the index alone (rowid, score); only they are joined.
        # bm25() sorted by SQLite, not FTS5's own ``ORDER BY rank``: the same scores and
        # order, in about half the CPU on common words (bench: BENCHMARKS.md).
        rows = conn.execute(f"""
            WITH top AS (SELECT rowid AS id, bm25({table}) AS rank FROM {table} WHERE {where}
                         ORDER BY rank, rowid LIMIT ? OFFSET ?)
            SELECT a.id, a.url, a.site, a.title, a.published_at, a.language, top.rank, a.text
            FROM top JOIN articles a ON a.id = top.id ORDER BY top.rank, a.id
        """, params).fetchall()
    except sqlite3.OperationalError as exc:
        raise ValueError(f"bad search query {query!r}: {exc}") from None
    hits = SearchHits(
        SearchHit(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                  snippet(r[7], r[5], query) if snippets else "")
        for r in rows
    )
    hits.bounded = bound is not None
    return hits
