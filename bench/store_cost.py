"""CPU per stored article (``Archive.store_fetch``, one transaction per page as the crawl
commits) with and without one part of the archive, in interleaved rounds: the shared body
of bench/stem_cost.py and bench/prefix_cost.py."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from archive import Archive
from bench.archive_scale import article_for


def _store(db: Path, start: int, n: int, without: Callable[[Archive], None] | None) -> float:
    fresh = not db.exists()
    arc = Archive(db)
    if fresh and without is not None:
        without(arc)
    t = time.process_time()
    for i in range(start, start + n):
        page, article = article_for(i)
        arc.store_fetch(page, article, crawl_id=None, seen_at=page["fetched_at"])
    cpu = time.process_time() - t
    arc.close()
    return cpu / n * 1000


def compare(description: str, part: str, without: Callable[[Archive], None]) -> None:
    """Parse the command line, run the rounds, print the medians and their ratio.
    ``without`` takes ``part`` out of a fresh archive."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[bool, list[float]] = {True: [], False: []}
        for r in range(args.rounds):
            for kept in (True, False) if r % 2 == 0 else (False, True):
                db = Path(tmp) / f"{kept}.db"
                results[kept].append(_store(db, r * args.articles, args.articles, None if kept else without))
    for kept, values in results.items():
        print(f"{'with' if kept else 'without'} {part}: "
              f"{statistics.median(values):.2f} ms CPU per stored article (runs {', '.join(f'{v:.2f}' for v in values)})")
    print(f"ratio {statistics.median(results[True]) / statistics.median(results[False]):.2f}")
