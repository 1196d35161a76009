"""What one page costs, part by part, on the pages a benchmark crawl stored.

    .venv/bin/python -m bench.costs ARCHIVE.db [--pages 300]

From an archive written by ``crawler crawl`` (bench/crawl_speed.py leaves one in
bench/out/work/), takes the first N stored article pages and measures, in this process
(CPU time, median of three passes after one warm-up pass):

- extraction: ``process_fetched`` whole, and the date finding alone (``find_published_date``
  on the parsed tree, what extraction calls);
- body compression: zstd at the archive's level, per page;
- SQLite writes: ``Archive.store_fetch`` (page row + article + FTS) into a fresh archive,
  with and without the raw body, one transaction per page (what the crawl does) and with
  10 or 100 pages per transaction (a proposal: see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from archive import Archive
from archive.bodies import BodyCodec
from crawler.dates import find_published_date
from crawler.encoding import decode_html
from crawler.extract import _profile_settings, parse_html
from crawler.items import FetchedPage
from crawler.page import process_fetched
from crawler.profiles import generic_profile


def load(db: str, n: int) -> list[dict]:
    import zstandard

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    unz = zstandard.ZstdDecompressor()
    rows = con.execute(
        "SELECT p.*, a.id AS aid FROM pages p JOIN articles a ON a.page_id = p.id "
        "WHERE p.body IS NOT NULL AND p.error IS NULL ORDER BY p.id LIMIT ?", [n]).fetchall()
    pages = []
    for r in rows:
        d = dict(r)
        d["body"] = unz.decompress(r["body"])
        pages.append(d)
    con.close()
    return pages


def cpu_per_item(fn, items, passes: int = 3) -> float:
    """Median over passes of CPU seconds per item, after one warm-up pass."""
    for item in items[: max(1, len(items) // 10)]:
        fn(item)
    times = []
    for _ in range(passes):
        start = time.process_time()
        for item in items:
            fn(item)
        times.append((time.process_time() - start) / len(items))
    return statistics.median(times)


def fetched(page: dict) -> FetchedPage:
    return FetchedPage(url=page["url"], final_url=page["final_url"], site=page["site"],
                       content_type=page["content_type"], fetched_at=page["fetched_at"],
                       body=page["body"], status=200)


def write_cost(pages: list[dict], articles: list[dict], *, bodies: bool, batch: int, work: Path) -> float:
    """Wall seconds per page of store_fetch into a fresh archive (writes are I/O too)."""
    path = work / f"w-{bodies}-{batch}.db"
    times = []
    for attempt in range(3):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        arc = Archive(path)
        crawl = arc.start_crawl(["bench"])
        start = time.perf_counter()
        for i in range(0, len(pages), batch):
            chunk = range(i, min(i + batch, len(pages)))
            if batch > 1:
                arc.db.execute("BEGIN IMMEDIATE")  # store_fetch nests: a savepoint per page
            for j in chunk:
                p = pages[j]
                page = {k: p[k] for k in ("site", "url", "final_url", "status", "content_type", "encoding",
                                          "fetched_at", "error")}
                page["headers"] = {"content-type": p["content_type"]}
                page["body"] = p["body"] if bodies else None
                arc.store_fetch(page, articles[j], crawl_id=crawl, seen_at=p["fetched_at"])
            if batch > 1:
                arc.db.execute("COMMIT")
        times.append((time.perf_counter() - start) / len(pages))
        arc.close()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.costs", description=__doc__.split("\n\n")[0])
    parser.add_argument("archive")
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args(argv)
    pages = load(args.archive, args.pages)
    if not pages:
        print("no stored pages in", args.archive)
        return 1
    profile = generic_profile(pages[0]["final_url"] or pages[0]["url"])
    languages, timezone, selector = _profile_settings(profile)
    size = statistics.mean(len(p["body"]) for p in pages)
    print(f"{len(pages)} pages, mean body {size / 1024:.0f} KiB")

    results = {}
    results["process_page (all of extraction)"] = cpu_per_item(lambda p: process_fetched(fetched(p), profile), pages)
    trees = []
    for p in pages:
        text, _ = decode_html(p["body"], p["content_type"])
        trees.append((parse_html(text), p))
    results["decode + parse HTML"] = cpu_per_item(
        lambda p: parse_html(decode_html(p["body"], p["content_type"])[0]), pages)

    def dates(tp):
        tree, p = tp
        find_published_date(tree, p["final_url"], languages=languages, timezone=timezone, selector=selector,
                            fetched_at=datetime.fromisoformat(p["fetched_at"]))

    results["find_published_date (on the parsed tree)"] = cpu_per_item(dates, trees)
    codec = BodyCodec()
    results["zstd compress body (archive level)"] = cpu_per_item(lambda p: codec.compress(p["body"]), pages)
    for name, ms in results.items():
        print(f"  {name:<45} {ms * 1000:7.2f} ms CPU per page")

    articles = [process_fetched(fetched(p), profile).article for p in pages]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("SQLite store_fetch (page + article + FTS), wall time per page, fresh archive:")
        for bodies in (False, True):
            for batch in (1, 10, 100):
                t = write_cost(pages, articles, bodies=bodies, batch=batch, work=work)
                results[f"store_fetch bodies={bodies} batch={batch}"] = t
                print(f"  {'with' if bodies else 'without'} raw body, {batch:>3} per transaction: {t * 1000:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
