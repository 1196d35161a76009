"""What the prefix indexes (archive/fts_prefix.py) add to storing an article
(``Archive.store_fetch``, one transaction per page as the crawl commits), against the same
archive whose two FTS tables were recreated without ``prefix=``; interleaved rounds, CPU.

    python -m bench.prefix_cost [--articles 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from archive import Archive
from archive.schema import FTS_TOKENIZE
from archive.search import STEM_FTS
from bench.archive_scale import article_for


def _without_prefix(arc: Archive) -> None:
    arc.db.execute("DROP TABLE articles_fts")
    arc.db.execute(f"CREATE VIRTUAL TABLE articles_fts USING FTS5 (title, text, tokenize='{FTS_TOKENIZE}', "
                   "content='articles')")
    arc.db.execute(f"DROP TABLE {STEM_FTS}")
    arc.db.execute(f"CREATE VIRTUAL TABLE {STEM_FTS} USING fts5(title, text, content='', "
                   f"tokenize='{FTS_TOKENIZE}')")


def _store(db: Path, start: int, n: int, prefix: bool) -> float:
    fresh = not db.exists()
    arc = Archive(db)
    if fresh and not prefix:
        _without_prefix(arc)
    t = time.process_time()
    for i in range(start, start + n):
        page, article = article_for(i)
        arc.store_fetch(page, article, crawl_id=None, seen_at=page["fetched_at"])
    cpu = time.process_time() - t
    arc.close()
    return cpu / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {True: [], False: []}
        for r in range(args.rounds):
            for prefix in (True, False) if r % 2 == 0 else (False, True):
                db = Path(tmp) / f"{prefix}.db"
                results[prefix].append(_store(db, r * args.articles, args.articles, prefix))
    for prefix, values in results.items():
        print(f"{'with' if prefix else 'without'} prefix indexes: "
              f"{statistics.median(values):.2f} ms CPU per stored article (runs {', '.join(f'{v:.2f}' for v in values)})")
    print(f"ratio {statistics.median(results[True]) / statistics.median(results[False]):.2f}")


if __name__ == "__main__":
    main()
