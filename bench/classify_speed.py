"""CPU cost of the page classifier, and of a discovery candidate's whole page work.

On the first ``--pages`` pages of wcxb-dev's tuning part (raw bytes, as fetched), interleaved
``--runs`` times, medians of CPU milliseconds per page:

- ``classify_page(bytes, url)`` now, and with ``--before REV`` the classifier (code and
  model) of that git revision, loaded from ``git show`` beside it;
- a discovery candidate as the crawl handles it (``process_page(..., classify=CLASSIFIER)``:
  one parse shared by classifier and extraction) against the same work with two parses
  (``classify_page(text)``, then ``extract_article(text)`` when it says article), as
  process_page did before.

    .venv/bin/python -m bench.classify_speed [--pages 150] [--runs 3] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

from bench import realworld

ROOT = Path(__file__).resolve().parents[1]


def _old_classifier(rev: str):
    """classify_page of git revision ``rev``, with that revision's model."""
    source = subprocess.run(["git", "show", f"{rev}:crawler/classify.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    model = json.loads(subprocess.run(["git", "show", f"{rev}:crawler/classify_model.json"], cwd=ROOT,
                                      check=True, capture_output=True, text=True).stdout)
    module = types.ModuleType("classify_before")
    exec(compile(source, f"{rev}:crawler/classify.py", "exec"), module.__dict__)  # noqa: S102 - own repo
    module._model = lambda: (float(model["rate"]), model["trees"])
    return module.classify_page


def _two_parses(body: bytes, url: str) -> None:
    from crawler.encoding import decode_html
    from crawler.extract import ExtractionError, classify_page, extract_article

    text, _ = decode_html(body, None)
    if classify_page(text, url) == "article":
        try:
            extract_article(text, url)
        except ExtractionError:
            pass


def _one_parse(body: bytes, url: str) -> None:
    from crawler.page import CLASSIFIER, process_page

    process_page(body, {"content-type": "text/html"}, url, None, None, classify=CLASSIFIER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="also time the classifier of this git revision")
    args = parser.parse_args(argv)
    if not realworld.available(realworld.WCXB):
        print(f"classify_speed: {realworld.WCXB} not found", file=sys.stderr)
        return 2
    from crawler.extract import classify_page

    pages = [p for p in realworld.wcxb_pages() if p.part == "tuning"][: args.pages]
    variants = {"classify_page now": classify_page}
    if args.before:
        variants[f"classify_page at {args.before}"] = _old_classifier(args.before)
    variants["candidate, two parses"] = _two_parses
    variants["candidate, one parse (process_page)"] = _one_parse
    for fn in variants.values():  # imports, caches
        fn(pages[0].html, pages[0].url)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, fn in variants.items():
            cpu = time.process_time()
            for p in pages:
                fn(p.html, p.url)
            times[name].append(1000 * (time.process_time() - cpu) / len(pages))
    print(f"{len(pages)} tuning pages, {args.runs} interleaved runs, CPU ms per page (median; all runs)")
    for name, values in times.items():
        print(f"  {name:40} {statistics.median(values):7.1f}   {', '.join(f'{v:.1f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
