"""Extraction quality on real pages: our extract_article vs trafilatura alone.

Data: /work/shared/realworld/extraction (181 pages of scrapinghub's
article-extraction-benchmark, MIT).  Metric as the benchmark's evaluate.py defines it:
``\\w+`` tokens, 4-token shingles counted as multisets, per-page tp/fp/fn normalised to sum
to 1, precision and recall averaged over the pages where they are defined, F1 of the averages.

Usage: python -m bench.extraction_quality [--data DIR] [--limit N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# ../shared beside the project root; not part of the repository
from bench.realworld import AEB as DEFAULT_DATA  # noqa: E402

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 4) -> Counter:
    """Multiset of ``n``-token shingles; a text shorter than ``n`` tokens is one shingle."""
    tokens = _TOKEN_RE.findall(text or "")
    if len(tokens) < n:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_scores(truth: str, pred: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of shingle counts for one page, normalised to sum to 1 (all 0 if empty)."""
    t, p = shingles(truth), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp > 0 else 0.0


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn > 0 else 0.0


def aggregate(scores: list[tuple[float, float, float]]) -> dict[str, float]:
    """Mean precision and recall over pages where defined, and F1 of the two means."""
    precisions = [_precision(*s) for s in scores if s[0] + s[1] > 0]
    recalls = [_recall(*s) for s in scores if s[0] + s[2] > 0]
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f1}


def load_pages(data: Path, limit: int | None = None) -> list[tuple[str, str, str, str]]:
    """[(id, url, html, true body)] in sorted id order."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        pages.append((key, truth[key]["url"], html, truth[key].get("articleBody", "")))
    return pages


def _ours(html: str, url: str) -> str:
    """extract_article as the crawl calls it for a bare URL (bench/realworld.py)."""
    from bench.realworld import crawl_extract

    article = crawl_extract(html, url)
    return article.text if article is not None else ""


def _trafilatura_extract(html: str, url: str) -> str:
    from trafilatura import extract

    return extract(html, url=url) or ""


def _trafilatura_bare(html: str, url: str) -> str:
    from trafilatura import bare_extraction

    doc = bare_extraction(html, url=url, with_metadata=True)
    return (doc.text or "") if doc is not None else ""


EXTRACTORS: dict[str, Callable[[str, str], str]] = {
    "ours": _ours,
    "trafilatura.extract": _trafilatura_extract,
    "trafilatura.bare_extraction": _trafilatura_bare,
}


def run(name: str, fn: Callable[[str, str], str], pages) -> dict[str, float]:
    """Score one extractor over ``pages``; adds pages/s (wall clock, one process)."""
    scores = []
    start = time.perf_counter()
    for _key, url, html, truth in pages:
        scores.append(page_scores(truth, fn(html, url)))
    elapsed = time.perf_counter() - start
    result = aggregate(scores)
    result["pages_per_s"] = len(pages) / elapsed if elapsed else float("inf")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N pages only")
    parser.add_argument("--only", nargs="*", choices=sorted(EXTRACTORS), help="extractors to run")
    args = parser.parse_args(argv)
    if not (args.data / "ground-truth.json").is_file():
        print(
            f"extraction benchmark data not found at {args.data} "
            "(expected ground-truth.json and html/ID.html.gz; pass --data DIR)",
            file=sys.stderr,
        )
        return 2
    # trafilatura logs every discarded page; the figures are what matters here.
    logging.basicConfig(level=logging.CRITICAL)
    pages = load_pages(args.data, args.limit)
    # Warm up imports and caches so the first extractor is not charged for them.
    for fn in EXTRACTORS.values():
        fn(pages[0][2], pages[0][1])
    print(f"{len(pages)} pages from {args.data}")
    print(f"{'extractor':<30} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8}")
    for name in args.only or EXTRACTORS:
        r = run(name, EXTRACTORS[name], pages)
        print(f"{name:<30} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1']:6.3f} {r['pages_per_s']:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
