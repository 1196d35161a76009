"""Cost of discovery by content: non-article pages fetched per article found.

``python -m bench.discovery_cost [--articles N] [--runs R]`` serves the sample site and every
shape of samplesite/shapes.py on loopback, crawls them all in ONE ``crawler crawl`` command
(default settings, as a user types it) into a fresh archive, then re-crawls unchanged, and
prints per site: articles found against the truth, non-articles stored (should be 0),
candidates fetched that were no article (by the page's own verdict), and that count per
article found; and for the re-crawl, article pages fetched (should be 0) and listings re-read.
Fetch counts do not depend on load, so the runs should agree exactly.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from samplesite.generate import SampleSite
from samplesite.server import serve
from samplesite.shapes import ListingSite, PrefixSite, TreeSite

FAST = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0"]


def _origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


def one_run(n_articles: int) -> dict:
    sample = SampleSite(n_articles=n_articles)
    shapes = [ListingSite(), ListingSite(seed="second", first_id=5203), PrefixSite(), TreeSite()]
    with serve(sample) as server, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "a.db"
        targets = [server.url + "/", *(u for s in shapes for u in s.start_urls())]
        names = {server.url: "samplesite", **{s.url: f"{s.name} {i}" for i, s in enumerate(shapes, 1)}}
        truth = {server.url + t["path"] for t in sample.truth() if t["expected"] == "stored"}
        truth |= {t["url"] for s in shapes for t in s.truth()}
        out = {}
        for label in ("first", "unchanged re-crawl"):
            r = subprocess.run([sys.executable, "-m", "crawler", "crawl", *targets, "--db", str(db),
                                "--quiet", *FAST], capture_output=True, text=True)
            if r.returncode not in (0, 3):
                raise SystemExit(f"crawl failed ({r.returncode}): {r.stderr[-2000:]}")
            con = sqlite3.connect(db)
            crawl = con.execute("select max(id) from crawls").fetchone()[0]
            rows = con.execute("select url, error, article_id from pages where crawl_id = ?", [crawl]).fetchall()
            stored = {u for (u,) in con.execute("select url from articles")}
            con.close()
            per = {}
            for origin, name in names.items():
                mine = [(u, e, a) for u, e, a in rows if _origin(u) == origin]
                found = {u for u in stored if _origin(u) == origin}
                expected = {u for u in truth if _origin(u) == origin}
                kinds = Counter(e.removeprefix("not an article: ") for _, e, _ in mine
                                if e and e.startswith("not an article: "))
                per[name] = {"expected": len(expected), "found": len(found & expected),
                             "stored_not_expected": len(found - expected),
                             "articles_fetched": sum(1 for _, e, a in mine if a is not None),
                             "not_articles": sum(kinds.values()), "kinds": dict(kinds)}
            out[label] = per
    for s in shapes:
        s.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=60)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--json", help="write the runs here")
    args = ap.parse_args(argv)
    runs = [one_run(args.articles) for _ in range(args.runs)]
    agree = all(json.dumps(r, sort_keys=True) == json.dumps(runs[0], sort_keys=True) for r in runs)
    first = runs[0]["first"]
    print("| site | articles found / expected | non-articles stored | non-articles fetched | per article |")
    print("| --- | --- | --- | --- | --- |")
    total_found = total_na = 0
    for name, d in first.items():
        ratio = d["not_articles"] / d["found"] if d["found"] else float("nan")
        total_found += d["found"]
        total_na += d["not_articles"]
        print(f"| {name} | {d['found']} / {d['expected']} | {d['stored_not_expected']} | "
              f"{d['not_articles']} ({', '.join(f'{k} {v}' for k, v in sorted(d['kinds'].items()))}) | {ratio:.2f} |")
    print(f"| all, one command | {total_found} | | {total_na} | {total_na / total_found:.2f} |")
    again = runs[0]["unchanged re-crawl"]
    print(f"\nunchanged re-crawl: {sum(d['articles_fetched'] for d in again.values())} article pages fetched, "
          f"{sum(d['not_articles'] for d in again.values())} listings re-read; runs agree: {agree}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
