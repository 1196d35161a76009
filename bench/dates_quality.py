"""Day accuracy of publication-date finding on real pages with ground truth.

Compares our dates (extract_article as the crawl calls it) with plain htmldate.find_date (defaults)
and trafilatura's bare_extraction(..., with_metadata=True).date on
/work/shared/realworld/dates (195 dated news pages, many languages), and prints
accuracy, pages per second, which of our rules answered, and the pages still wrong.

Run from the repository root:
    .venv/bin/python -m bench.dates_quality [--compare-orders] [--fixed-languages]

Ours is measured as the crawl runs it: ``extract_article(html, url, profile=...)`` with
the generic profile the spider builds for a bare homepage URL (bench/realworld.py), its
``published_at`` day; a page on which it raises counts as wrong. bench/page_quality.py
gives the tuning / held-out split of the same figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from typing import Callable

# ../shared beside the project root; not part of the repository
from bench.realworld import DATES as DATA  # noqa: E402


def load_pages() -> list[tuple[str, str, str, bytes]]:
    """(url, file name, expected YYYY-MM-DD, raw HTML) for every page with a known date."""
    truth = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    pages = []
    for url, entry in truth.items():
        expected = entry.get("date")
        if not isinstance(expected, str) or not expected[:4].isdigit():
            continue  # NaN: no known date
        raw = gzip.decompress((DATA / "pages" / f"{entry['file']}.gz").read_bytes())
        pages.append((url, entry["file"], expected, raw))
    return pages


def run(pages, finder: Callable[[bytes, str], tuple[str | None, object]]):
    """Apply finder to every page; returns (accuracy, pages/s, per-page answers)."""
    answers = []
    started = time.process_time()
    for url, _name, _expected, raw in pages:
        answers.append(finder(raw, url))
    elapsed = time.process_time() - started
    right = sum((day or "")[:10] == expected
                for (day, _), (_, _, expected, _) in zip(answers, pages))
    return right / len(pages), len(pages) / elapsed, answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare-orders", action="store_true",
                        help="also measure other rule orders (slower)")
    parser.add_argument("--fixed-languages", action="store_true",
                        help="also measure languages=('ru','kk','en') instead of per-page detection")
    args = parser.parse_args(argv)

    if not (DATA / "truth.json").is_file():
        print(f"dates_quality: ground truth not found at {DATA}/truth.json; this benchmark "
              "needs the shared real-world set (/work/shared is not part of the repository).",
              file=sys.stderr)
        return 2
    try:
        from htmldate import find_date
        from trafilatura import bare_extraction

        from crawler.dates import DEFAULT_ORDER, DateResult, find_published_date
    except ImportError as exc:
        print(f"dates_quality: cannot import ({exc}); run it from the repository root as "
              "`.venv/bin/python -m bench.dates_quality` or install the project (pip install -e .)",
              file=sys.stderr)
        return 2

    pages = load_pages()
    print(f"{len(pages)} pages with a known date in {DATA}")

    from bench.realworld import crawl_extract

    def ours(order=DEFAULT_ORDER, languages=None):
        if order == DEFAULT_ORDER and languages is None:
            def crawl(raw, url):
                art = crawl_extract(raw, url)
                if art is None:
                    return None, DateResult(None, None, "no article")
                return art.published_at, DateResult(art.published_at, art.published_raw,
                                                    art.date_source)
            return crawl

        def finder(raw, url):  # the date finder alone, for the rule-order comparison
            result = find_published_date(raw, url, languages=languages, order=order)
            return result.value, result
        return finder

    def htmldate_plain(raw, url):
        return find_date(raw, url=url), None

    def trafilatura_meta(raw, url):
        doc = bare_extraction(raw, url=url, with_metadata=True)
        return (getattr(doc, "date", None) if doc is not None else None), None

    rows = []
    # The first pass pays for dateparser loading the locales it meets; later passes
    # (a crawler's steady state) do not, so both are shown.
    acc, speed, answers = run(pages, ours())
    rows.append(("extract_article as the crawl calls it, first pass", acc, speed))
    acc, speed, answers = run(pages, ours())
    rows.append(("extract_article as the crawl calls it", acc, speed))
    if args.fixed_languages:
        fixed_acc, fixed_speed, _ = run(pages, ours(languages=("ru", "kk", "en")))
        rows.append(("find_published_date (languages=ru,kk,en)", fixed_acc, fixed_speed))
    if args.compare_orders:
        others = [
            ("json-ld", "meta", "time", "selector", "htmldate", "text", "url"),
            ("json-ld", "meta", "time", "selector", "url", "text", "htmldate"),
            ("json-ld", "meta", "time", "selector", "text", "url"),
            ("htmldate",),
            ("text", "json-ld", "meta", "time", "url", "htmldate"),
        ]
        for order in others:
            o_acc, o_speed, _ = run(pages, ours(order=order))
            rows.append((f"find_published_date order={','.join(order)}", o_acc, o_speed))
    h_acc, h_speed, h_answers = run(pages, htmldate_plain)
    rows.append(("htmldate.find_date (defaults)", h_acc, h_speed))
    t_acc, t_speed, _ = run(pages, trafilatura_meta)
    rows.append(("trafilatura bare_extraction(with_metadata=True).date", t_acc, t_speed))

    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'tool'.ljust(width)}  day-accuracy  pages/CPU-s")
    for name, accuracy, speed in rows:
        print(f"{name.ljust(width)}  {accuracy:12.3f}  {speed:11.1f}")

    sources: Counter = Counter()
    wrong = []
    for (value, result), (url, name, expected, _), (h_value, _) in zip(answers, pages, h_answers):
        ok = (value or "")[:10] == expected
        sources[(result.source, ok)] += 1
        if not ok:
            wrong.append((name, url, expected, result, h_value))
    print("\nwhich rule answered (ours, default order): right / total")
    for source in sorted({s for s, _ in sources}, key=lambda s: (s is None, s or "")):
        right, bad = sources[(source, True)], sources[(source, False)]
        print(f"  {str(source):10} {right:4d} / {right + bad}")

    print(f"\npages still wrong ({len(wrong)}): file, expected, ours (raw, rule), htmldate")
    for name, url, expected, result, h_value in wrong:
        print(f"  {name}  {expected}  {result.value} ({result.raw!r}, {result.source})  "
              f"htmldate={h_value}\n      {url[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
