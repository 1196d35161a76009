"""Page classifier on wcxb-dev: article against the six other page types.

``crawler.extract.classify_page(html, url)`` as the crawl calls it (raw response bytes and
the page URL), on the 1,497 labelled pages of ../shared/realworld/wcxb-dev, split into a
tuning part and a held-out part (bench/realworld.py). Prints precision and recall of
"article" on both parts, the confusion by true page type, the reference rule ("og:type is
article, or JSON-LD says Article") and the classifier's speed.

    .venv/bin/python -m bench.classify_quality [--errors]

``--errors`` lists the TUNING part's misclassified pages (never the held-out ones).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter

from lxml import html as lxml_html

from bench import realworld

_ARTICLE_LD = re.compile(r"article|blogposting|newsarticle|report", re.IGNORECASE)


def reference_rule(html: bytes, url: str) -> str:
    """og:type is article, or a JSON-LD @type says Article: the issue's reference."""
    try:
        tree = lxml_html.document_fromstring(html)
    except Exception:  # noqa: BLE001 - an unparseable page is simply not an article
        return "other"
    if any(v.strip().lower() == "article" for v in tree.xpath("//meta[@property='og:type']/@content")):
        return "article"
    for script in tree.xpath("//script[contains(@type,'ld+json')]/text()"):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for t in re.findall(r'"@type"\s*:\s*"([^"]+)"', json.dumps(data)):
            if _ARTICLE_LD.search(t):
                return "article"
    return "other"


def score(labels: list[tuple[str, bool, bool]]) -> dict[str, dict[str, float]]:
    """(part, truly article, predicted article) -> precision/recall per part."""
    out = {}
    for part in (*realworld.PARTS, "all"):
        rows = [(t, p) for q, t, p in labels if part == "all" or q == part]
        tp = sum(t and p for t, p in rows)
        fp = sum(p and not t for t, p in rows)
        fn = sum(t and not p for t, p in rows)
        out[part] = {"precision": tp / (tp + fp) if tp + fp else 0.0,
                     "recall": tp / (tp + fn) if tp + fn else 0.0, "n": len(rows)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="list tuning-part mistakes")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference rule")
    args = parser.parse_args(argv)
    if not realworld.available(realworld.WCXB):
        print(f"classify_quality: {realworld.WCXB} not found (the shared real-world sets are "
              "not part of the repository)", file=sys.stderr)
        return 2
    from crawler.extract import classify_page

    pages = realworld.wcxb_pages()
    classify_page(pages[0].html, pages[0].url)  # imports
    started = time.perf_counter()
    cpu = time.process_time()
    kinds = [classify_page(p.html, p.url) for p in pages]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    ours = score([(p.part, p.truth["page_type"] == "article", k == "article")
                  for p, k in zip(pages, kinds)])
    print(f"{len(pages)} pages; classify_page: {len(pages) / cpu:.0f} pages/CPU-s "
          f"({1000 * cpu / len(pages):.1f} ms/page CPU, {1000 * wall / len(pages):.1f} ms wall)")
    for part, r in ours.items():
        print(f"  classify_page  {part:9} P {r['precision']:.3f} R {r['recall']:.3f} ({r['n']} pages)")
    confusion = Counter((p.truth["page_type"], k) for p, k in zip(pages, kinds))
    print("  true type -> answers:")
    for t in sorted({p.truth["page_type"] for p in pages}):
        print(f"    {t:14}", dict(sorted((k, n) for (tt, k), n in confusion.items() if tt == t)))
    if not args.no_reference:
        ref = score([(p.part, p.truth["page_type"] == "article",
                      reference_rule(p.html, p.url) == "article") for p in pages])
        for part, r in ref.items():
            print(f"  reference rule {part:9} P {r['precision']:.3f} R {r['recall']:.3f}")
    if args.errors:
        print("\ntuning-part mistakes: file, true type, answer, url")
        for p, k in zip(pages, kinds):
            if p.part == "tuning" and (p.truth["page_type"] == "article") != (k == "article"):
                print(f"  {p.key} {p.truth['page_type']:13} {k:9} {p.url[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
