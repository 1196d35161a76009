"""What the prefix indexes (archive/fts_prefix.py) add to storing an article
(``Archive.store_fetch``, one transaction per page as the crawl commits), against the same
archive whose two FTS tables were recreated without ``prefix=``; interleaved rounds, CPU.

    python -m bench.prefix_cost [--articles 400] [--rounds 3]
"""

from __future__ import annotations

from archive import Archive
from archive.schema import FTS_TOKENIZE
from archive.search import STEM_FTS
from bench.store_cost import compare


def _without_prefix(arc: Archive) -> None:
    arc.db.execute("DROP TABLE articles_fts")
    arc.db.execute(f"CREATE VIRTUAL TABLE articles_fts USING FTS5 (title, text, tokenize='{FTS_TOKENIZE}', "
                   "content='articles')")
    arc.db.execute(f"DROP TABLE {STEM_FTS}")
    arc.db.execute(f"CREATE VIRTUAL TABLE {STEM_FTS} USING fts5(title, text, content='', "
                   f"tokenize='{FTS_TOKENIZE}')")


if __name__ == "__main__":
    compare(__doc__.splitlines()[0], "prefix indexes", _without_prefix)
