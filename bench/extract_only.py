"""The extraction limit: extract stored pages on all cores, with no crawling at all.

    python -m bench.extract_only ARCHIVE.db --extractor trafilatura|ours [--workers N] [--limit N]

Reads the raw pages a crawl stored in an archive (the same HTML the crawler received) and
extracts them in a ``multiprocessing.Pool`` of N processes (default: one per core):

- ``trafilatura``: ``trafilatura.extract(html, url=..., output_format="json",
  with_metadata=True)``, what ``trafilatura --json --with-metadata`` runs per page;
- ``ours``: the crawl's own unit of work, ``crawler.page.process_page``
  (decoding, extraction, date, language, hash) with the generic profile of the site.

Page ids are read first; each worker opens the archive read-only and decompresses its pages
itself (about 0.3 ms of a page's cost), so the parent only hands out numbers.  Prints one
JSON line: pages, articles extracted, failures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import sys

_state: dict = {}


def _init(db_path: str, extractor: str) -> None:
    import zstandard

    _state["db"] = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    _state["zstd"] = zstandard.ZstdDecompressor()
    _state["extractor"] = extractor
    if extractor == "ours":
        from crawler.profiles import generic_profile

        _state["profile"] = {}
        _state["generic_profile"] = generic_profile


def _page(page_id: int) -> tuple:
    return _state["db"].execute(
        "SELECT url, final_url, site, content_type, fetched_at, body FROM pages WHERE id = ?",
        [page_id]).fetchone()


def _extract(page_id: int) -> bool:
    url, final_url, site, content_type, fetched_at, blob = _page(page_id)
    body = _state["zstd"].decompress(blob)
    if _state["extractor"] == "trafilatura":
        import trafilatura

        return trafilatura.extract(body, url=final_url or url, output_format="json",
                                   with_metadata=True) is not None
    from crawler.items import FetchedPage
    from crawler.page import process_fetched

    profiles = _state["profile"]
    if site not in profiles:  # what `crawler crawl URL` uses for a site given by its URL
        profiles[site] = _state["generic_profile"](final_url or url)
    page = FetchedPage(url=url, final_url=final_url, site=site, content_type=content_type,
                       fetched_at=fetched_at, body=body, status=200)
    return process_fetched(page, profiles[site]).article is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extract_only", description=__doc__)
    parser.add_argument("archive")
    parser.add_argument("--extractor", choices=("trafilatura", "ours"), required=True)
    parser.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N stored pages")
    args = parser.parse_args(argv)
    con = sqlite3.connect(f"file:{args.archive}?mode=ro", uri=True)
    sql = ("SELECT id FROM pages WHERE body IS NOT NULL AND error IS NULL ORDER BY id"
           + (f" LIMIT {int(args.limit)}" if args.limit else ""))
    ids = [row[0] for row in con.execute(sql)]
    con.close()
    workers = args.workers or len(os.sched_getaffinity(0))
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(workers, initializer=_init, initargs=(args.archive, args.extractor)) as pool:
        results = list(pool.imap_unordered(_extract, ids, chunksize=4))
    print(json.dumps({"pages": len(ids), "articles": sum(results), "failed": len(ids) - sum(results),
                      "workers": workers}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
