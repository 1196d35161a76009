"""Prefix indexes for both full-text indexes, so `форум*` stays fast in a big archive.

Without a prefix index FTS5 answers ``форум*`` by merging the doclists of every term
that starts with ``форум`` (форум, форума, форуме, форумчане, ...) into one list in
memory, and a ranked query does that more than once (the rows, bm25's document count,
the newest-first walk of :func:`archive.search.search`). That cost grows with the
archive. With ``prefix='3 4 5 6 7 8'`` FTS5 also stores the postings of every 3- to
8-letter prefix as a term of its own, so such a query reads one doclist like a bare
word. Prefixes of other lengths are still answered by merging. Sizes and timings:
BENCHMARKS.md, "Search at scale"; the trade-off is described in docs/archive-schema.md.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

__all__ = ["FTS_PREFIX", "has_prefix_index", "plain_fts_sql", "use_prefix_indexes"]

# Letters, as FTS5 counts them (characters, not bytes).
FTS_PREFIX = "3 4 5 6 7 8"
_PREFIX_OPTION = re.compile(r"\bprefix\s*=\s*['\"]([0-9 ,]*)['\"]", re.I)


def plain_fts_sql(tokenize: str) -> str:
    # sqlite-utils' own layout (content="articles"), so its detect_fts, search,
    # rebuild-fts and optimize keep recognising the table.
    return (
        'CREATE VIRTUAL TABLE "articles_fts" USING FTS5 (\n'
        '    "title", "text",\n'
        f"    tokenize='{tokenize}',\n"
        f"    prefix='{FTS_PREFIX}',\n"
        '    content="articles"\n'
        ")"
    )


def has_prefix_index(db, table: str) -> bool:
    row = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()
    if row is None or not row[0]:
        return False
    m = _PREFIX_OPTION.search(row[0])
    return bool(m) and m.group(1).split() == FTS_PREFIX.split()


def use_prefix_indexes(db, tokenize: str) -> None:
    """Recreate ``articles_fts`` and ``articles_stem_fts`` with :data:`FTS_PREFIX`.

    Runs in the caller's transaction (a migration's): dropped, created and filled again
    in one transaction, so a crash leaves the old index. The triggers stay: they name
    the tables, which keep their names.
    """
    from .search import STEM_FTS, rebuild_stem_index, stem_fts_sql

    total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    if not has_prefix_index(db, "articles_fts"):
        if total:
            logger.warning("adding prefix indexes to the full-text index of %d articles (once)", total)
        db.execute("DROP TABLE IF EXISTS articles_fts")
        db.execute(plain_fts_sql(tokenize))
        db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [STEM_FTS]).fetchone() \
            and not has_prefix_index(db, STEM_FTS):
        db.execute(f"DROP TABLE {STEM_FTS}")
        db.execute(stem_fts_sql())
        rebuild_stem_index(db)
