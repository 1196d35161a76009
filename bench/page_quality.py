"""Dates and text of ``extract_article`` as the crawl calls it, on the three real-world sets.

Each set is split into a tuning part and a held-out part (bench/realworld.py: sorted index
% 5 == 4 held out); figures are printed for both and for all pages, never page by page for
the held-out part.

    .venv/bin/python -m bench.page_quality dates   # realworld/dates: day accuracy
    .venv/bin/python -m bench.page_quality aeb     # realworld/extraction: text F1
    .venv/bin/python -m bench.page_quality wcxb    # the 790 wcxb-dev articles: both
    ... --misses    # list the wrong days of the TUNING part (file, expected, ours, rule)

Day accuracy counts a page right when ``published_at[:10]`` is the true day; a page on
which extract_article raises (the crawl stores nothing) counts as wrong. Text F1 is the
AEB benchmark's shingle F1 (bench/extraction_quality.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter

from bench import realworld
from bench.extraction_quality import aggregate, page_scores


def _evaluate(pages, want_date: bool, truth_text):
    rows = []
    started = time.process_time()
    for page in pages:
        art = realworld.crawl_extract(page.html, page.url)
        day = (art.published_at or "")[:10] if art is not None else ""
        rows.append((page, art, day))
    elapsed = time.process_time() - started
    out = {"pages_per_cpu_s": len(pages) / elapsed if elapsed else float("inf")}
    if want_date:
        out["day"] = realworld.by_part([(p.part, float(day == p.truth["date"])) for p, _, day in rows])
        out["tz_source"] = Counter((getattr(a, "tz_source", None) if a else "no article")
                                   for _, a, _ in rows)
        out["rule"] = Counter(((a.date_source if a else "no article"), day == p.truth["date"])
                              for p, a, day in rows)
    if truth_text is not None:
        for part in (*realworld.PARTS, "all"):
            scores = [page_scores(truth_text(p), a.text if a else "")
                      for p, a, _ in rows if part == "all" or p.part == part]
            out.setdefault("text", {})[part] = aggregate(scores) | {"n": len(scores)}
    return out, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", choices=("dates", "aeb", "wcxb"))
    parser.add_argument("--misses", action="store_true",
                        help="list the wrong days of the tuning part")
    args = parser.parse_args(argv)
    folder = {"dates": realworld.DATES, "aeb": realworld.AEB, "wcxb": realworld.WCXB}[args.set]
    if not realworld.available(folder):
        print(f"page_quality: {folder} not found (the shared real-world sets are not part "
              "of the repository)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.CRITICAL)
    if args.set == "dates":
        pages, want_date, text = realworld.dates_pages(), True, None
    elif args.set == "aeb":
        pages, want_date, text = realworld.aeb_pages(), False, lambda p: p.truth.get("articleBody", "")
    else:
        pages = tuple(p for p in realworld.wcxb_pages() if p.truth["page_type"] == "article")
        want_date, text = True, lambda p: p.truth.get("text") or ""
    result, rows = _evaluate(pages, want_date, text)
    print(f"{args.set}: {len(pages)} pages, {result['pages_per_cpu_s']:.1f} pages/CPU-s")
    if want_date:
        dated = [(p, a, d) for p, a, d in rows if p.truth.get("date")]
        if len(dated) != len(rows):
            result["day"] = realworld.by_part(
                [(p.part, float(d == p.truth["date"])) for p, _, d in dated])
        for part, (acc, n) in result["day"].items():
            print(f"  day accuracy {part:9} {acc:.3f}  ({n} pages)")
        print("  tz_source:", dict(result["tz_source"].most_common()))
        rules = result["rule"]
        print("  rule right/answered:", ", ".join(
            f"{r}: {rules[(r, True)]}/{rules[(r, True)] + rules[(r, False)]}"
            for r in sorted({r for r, _ in rules}, key=str)))
    if text is not None:
        for part, r in result["text"].items():
            print(f"  text F1 {part:9} {r['f1']:.3f}  (P {r['precision']:.3f} R {r['recall']:.3f},"
                  f" {r['n']} pages)")
    if args.misses and want_date:
        print("\ntuning-part misses: file, expected, ours, rule, tz_source, raw")
        for p, a, d in rows:
            if p.part == "tuning" and p.truth.get("date") and d != p.truth["date"]:
                print(f"  {p.key} {p.truth['date']} {a.published_at if a else 'NO ARTICLE'} "
                      f"{a.date_source if a else ''} {getattr(a, 'tz_source', '')} "
                      f"{(a.published_raw or '')[:60] if a else ''!r}  {p.url[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
