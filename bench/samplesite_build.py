"""How long the sample site takes to build N articles and to render its sitemap index, one
sitemap chunk and the newest article (what a benchmark crawl of it waits for first).

    python -m bench.samplesite_build [--articles 10000] [--runs 5] [--time-limit 120]

Each run builds a fresh site in this process. Prints one JSON line: the median and the range
of both timings over the runs made (fewer when the time limit is reached), and the targets
(build < 4 s, render < 0.5 s at 10,000 articles, formerly a timed unit test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from samplesite import SampleSite

BASE = "http://127.0.0.1:8765"
TARGETS = {"build_s": 4.0, "render_s": 0.5}


def one_run(n: int) -> dict[str, float]:
    start = time.perf_counter()
    site = SampleSite(n)
    built = time.perf_counter()
    for path in ("/sitemap.xml", "/sitemap-3.xml", "/sitemap-news.xml"):
        assert site.render(path, BASE).status == 200, path
    newest = site.render("/sitemap-news.xml", BASE).body.split(b"<loc>", 1)[1].split(b"</loc>", 1)[0]
    page = site.render(newest.decode()[len(BASE):], BASE)
    assert page.status == 200 and b"article__body" in page.body
    return {"build_s": built - start, "render_s": time.perf_counter() - built}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.samplesite_build", description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds; no new run after it")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.time_limit
    runs = []
    while len(runs) < args.runs and (not runs or time.monotonic() < deadline):
        runs.append(one_run(args.articles))
    result = {"articles": args.articles, "runs": len(runs), "load_average": os.getloadavg()[0]}
    for key, target in TARGETS.items():
        values = [r[key] for r in runs]
        result[key] = {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
                       "max": round(max(values), 3), "target": target,
                       "met": statistics.median(values) < target}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
