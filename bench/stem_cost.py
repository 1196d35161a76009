"""What the stemmed index adds to storing an article (``Archive.store_fetch``, one
transaction per page as the crawl commits), measured against the same archive with the
stemmed index's triggers dropped (so nothing is logged or indexed), interleaved rounds.

    python -m bench.stem_cost [--articles 400] [--rounds 3]
"""

from __future__ import annotations

from archive import Archive
from bench.store_cost import compare


def _without_stems(arc: Archive) -> None:
    for trigger in ("articles_stem_ai", "articles_stem_au", "articles_stem_ad"):
        arc.db.execute(f"DROP TRIGGER IF EXISTS {trigger}")


if __name__ == "__main__":
    compare(__doc__.splitlines()[0], "the stemmed index", _without_stems)
