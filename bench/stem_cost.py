"""What the stemmed index adds to storing an article (``Archive.store_fetch``, one
transaction per page as the crawl commits), measured against the same archive with the
stemmed index's triggers dropped (so nothing is logged or indexed), interleaved rounds.

    python -m bench.stem_cost [--articles 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from archive import Archive
from bench.archive_scale import article_for


def _store(db: Path, start: int, n: int, stemmed: bool) -> float:
    arc = Archive(db)
    if not stemmed:
        for trigger in ("articles_stem_ai", "articles_stem_au", "articles_stem_ad"):
            arc.db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
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
            for stemmed in (True, False) if r % 2 == 0 else (False, True):
                db = Path(tmp) / f"{stemmed}.db"
                results[stemmed].append(_store(db, r * args.articles, args.articles, stemmed))
    for stemmed, values in results.items():
        print(f"{'with' if stemmed else 'without'} the stemmed index: "
              f"{statistics.median(values):.2f} ms CPU per stored article (runs {', '.join(f'{v:.2f}' for v in values)})")
    print(f"ratio {statistics.median(results[True]) / statistics.median(results[False]):.2f}")


if __name__ == "__main__":
    main()
