"""Precision and recall of near-duplicate links on labelled syndicated variants, and cost.

Two sample outlets: the origin (``SampleSite(n, seed=0)``) and a partner
(``SampleSite(m, seed=1, syndicated=K, source=origin)``) that republishes K origin stories
with edits (new headline, its own dateline and attribution lines, a rewritten sentence, a
cut) and publishes K hard negatives (own reports on the same event or the same template
in another city). Every article of both is stored into a fresh archive in publication
order, as a crawl would, and indexed with crawler.neardup right after its store.

- precision: share of ``near_duplicate_of`` links joining two texts of one story;
- recall: share of labelled variants that end up in their original's cluster;
- cost: wall time of ``NearDupIndexer.index`` per article (signature, candidate lookup,
  verification, writes), median and mean, plus the space the index takes.

Texts come from the generator's ground truth (what extraction should produce), so the
figures measure matching, not extraction; tests/test_neardup.py checks a real crawl.

Run from the repository root:
    .venv/bin/python -m bench.neardup_quality [--origin 2000] [--partner 200] [--syndicated 300]
        [--threshold 0.4] [--sweep]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from archive import Archive
from archive.neardup import estimated_jaccard
from crawler.dedup import content_hash
from crawler.neardup import DEFAULT_THRESHOLD, NearDupIndexer, Signer, min_band_matches
from samplesite import SampleSite

ORIGIN = "http://origin.example"
PARTNER = "http://partner.example"
SEEN = "2026-01-01T00:00:00+00:00"


def articles_of(site: SampleSite, base: str, name: str) -> list[dict]:
    """The articles a correct crawl of ``site`` stores, with hreflang for both editions."""
    truth = [t for t in site.truth() if t["expected"] == "stored" and t["paragraphs"] and t["kind"] != "nonarticle"]
    editions: dict[str, dict[str, str]] = {}
    for t in truth:
        if t["translation_of"]:
            pair = {"ru": base + t["translation_of"], "kk": base + t["path"]}
            editions[t["path"]] = editions[t["translation_of"]] = pair
    out = []
    for t in truth:
        text = "\n\n".join(t["paragraphs"])
        out.append({
            "url": base + t["path"], "site": name, "title": t["title"], "text": text,
            "published_at": t["published_at"], "language": t["language"],
            "hreflang": editions.get(t["path"]), "content_hash": content_hash(text),
            "_path": t["path"], "_base": base,
        })
    return out


def run(n_origin: int, n_partner: int, k: int, threshold: float, workdir: Path) -> dict:
    origin = SampleSite(n_origin, seed=0)
    partner = SampleSite(n_partner, seed=1, syndicated=k, source=origin)
    articles = articles_of(origin, ORIGIN, "origin") + articles_of(partner, PARTNER, "partner")
    # Publication order, as a crawler meets them; undated last.
    articles.sort(key=lambda a: (a["published_at"] is None, a["published_at"] or "", a["url"]))

    db_path = Path(tempfile.mkdtemp(dir=workdir)) / "bench.db"
    arc = Archive(db_path)
    indexer = NearDupIndexer(arc, threshold)
    ids: dict[str, int] = {}
    costs, cpu_costs, store_costs = [], [], []
    candidates = 0
    for a in articles:
        row = {key: v for key, v in a.items() if not key.startswith("_")}
        t0 = time.perf_counter()
        result = arc.store_article(row, page_id=None, crawl_id=None, seen_at=SEEN)
        t1, c1 = time.perf_counter(), time.process_time()
        match = indexer.index(result.id)
        t2, c2 = time.perf_counter(), time.process_time()
        store_costs.append(t1 - t0)
        costs.append(t2 - t1)
        cpu_costs.append(c2 - c1)
        candidates += match.candidates
        ids[a["url"]] = result.id

    # Signing alone, for the breakdown.
    signer = Signer()
    t0 = time.perf_counter()
    for a in articles:
        signer.sign(a["text"])
    sign_ms = (time.perf_counter() - t0) / len(articles) * 1000

    rows = {r["id"]: r for r in arc.db.query("SELECT id, url, duplicate_of, near_duplicate_of FROM articles")}

    def root(article_id: int) -> int:
        r = rows[article_id]
        if r["duplicate_of"] is not None:
            return root(r["duplicate_of"])
        return r["near_duplicate_of"] or article_id

    # Ground-truth story of every stored article: an origin story's variants share its key.
    story: dict[int, str] = {aid: url for url, aid in ids.items()}
    for r in rows.values():
        if r["duplicate_of"] is not None:
            story[r["id"]] = story[r["duplicate_of"]]  # exact copies (same text) are one story
    labels = partner.syndication_truth()
    for lab in labels:
        if lab["label"] == "variant":
            base = ORIGIN if lab["original_site"] == "source" else PARTNER
            story[ids[PARTNER + lab["path"]]] = story[ids[base + lab["original"]]]

    links = [(r["id"], r["near_duplicate_of"]) for r in rows.values() if r["near_duplicate_of"] is not None]
    wrong = [(a, b) for a, b in links if story[a] != story[b]]
    by_level: dict[str, list[bool]] = defaultdict(list)
    for lab in labels:
        if lab["label"] != "variant":
            continue
        base = ORIGIN if lab["original_site"] == "source" else PARTNER
        found = root(ids[PARTNER + lab["path"]]) == root(ids[base + lab["original"]])
        by_level[lab["level"]].append(found)
    negatives_linked = Counter()
    for lab in labels:
        if lab["label"] == "negative" and rows[ids[PARTNER + lab["path"]]]["near_duplicate_of"] is not None:
            negatives_linked[lab["kind"]] += 1
    # Margins: estimated similarity of each labelled page with its look-alike original.
    sigs = dict(arc.db.execute("SELECT article_id, minhash FROM neardup_signatures WHERE minhash IS NOT NULL"))
    sims: dict[str, list[float]] = defaultdict(list)
    for lab in labels:
        base = ORIGIN if lab["original_site"] == "source" else PARTNER
        x, y = sigs.get(ids[PARTNER + lab["path"]]), sigs.get(ids[base + lab["original"]])
        if x is not None and y is not None:
            sims[lab["label"]].append(estimated_jaccard(x, y))
    translations = arc.db.execute("SELECT count(*) FROM translations").fetchone()[0]
    expected_translations = 2 * sum(1 for a in articles if a["hreflang"] and a["language"] == "kk")
    space = _space(arc)
    n = len(articles)
    arc.close()
    found_all = [x for v in by_level.values() for x in v]
    return {
        "threshold": threshold, "articles": n, "variants": len(found_all),
        "negatives": sum(1 for lab in labels if lab["label"] == "negative"),
        "links": len(links), "wrong_links": len(wrong),
        "precision": (len(links) - len(wrong)) / len(links) if links else 1.0,
        "recall": sum(found_all) / len(found_all) if found_all else 1.0,
        "recall_by_level": {lvl: sum(v) / len(v) for lvl, v in sorted(by_level.items())},
        "negatives_linked": dict(negatives_linked),
        "translations": translations, "expected_translations": expected_translations,
        "ms_median": statistics.median(costs) * 1000, "ms_mean": statistics.fmean(costs) * 1000,
        "ms_p95": sorted(costs)[int(0.95 * n)] * 1000,
        "cpu_ms_mean": statistics.fmean(cpu_costs) * 1000,
        "store_ms_median": statistics.median(store_costs) * 1000,
        "sign_ms": sign_ms, "candidates_per_article": candidates / n,
        "min_band_matches": indexer.min_matches, "bytes_per_article": space / n,
        "wrong_examples": wrong[:5],
        "variant_sim": _quantiles(sims["variant"]), "negative_sim": _quantiles(sims["negative"]),
    }


def _quantiles(values: list[float]) -> tuple[float, float, float, float]:
    """min, 5th percentile, median, max."""
    v = sorted(values) or [0.0]
    return v[0], v[int(0.05 * (len(v) - 1))], statistics.median(v), v[-1]


def _space(arc: Archive) -> int:
    try:
        return arc.db.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN ('neardup_bands', 'neardup_signatures', "
            "'sqlite_autoindex_neardup_signatures_1')"
        ).fetchone()[0] or 0
    except Exception:  # noqa: BLE001 - dbstat is optional in SQLite builds
        return 0


def report(r: dict) -> str:
    levels = ", ".join(f"{k} {v:.3f}" for k, v in r["recall_by_level"].items())
    return (
        f"threshold {r['threshold']}: {r['articles']} articles, {r['variants']} labelled variants, "
        f"{r['negatives']} hard negatives\n"
        f"  precision {r['precision']:.3f} ({r['links']} links, {r['wrong_links']} wrong), "
        f"recall {r['recall']:.3f} ({levels})\n"
        f"  estimated Jaccard with the original (min / p5 / median / max): variants "
        f"{' / '.join(f'{x:.2f}' for x in r['variant_sim'])}, hard negatives "
        f"{' / '.join(f'{x:.2f}' for x in r['negative_sim'])}\n"
        f"  hard negatives linked: {r['negatives_linked'] or 0}; translations linked "
        f"{r['translations']} of {r['expected_translations']} rows\n"
        f"  cost per article: index {r['ms_median']:.2f} ms median, {r['ms_mean']:.2f} mean, "
        f"{r['ms_p95']:.2f} p95 wall, {r['cpu_ms_mean']:.2f} ms CPU mean (signing alone {r['sign_ms']:.2f} ms; store_article "
        f"{r['store_ms_median']:.2f} ms); {r['candidates_per_article']:.1f} candidates/article "
        f"(>= {r['min_band_matches']} shared bands); index space {r['bytes_per_article']:.0f} B/article"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origin", type=int, default=2000, help="origin outlet articles")
    parser.add_argument("--partner", type=int, default=200, help="partner outlet's own articles")
    parser.add_argument("--syndicated", type=int, default=300, help="variants (and as many hard negatives)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="also run thresholds 0.3 .. 0.6")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per threshold; costs are the median over runs (the machine may be shared)")
    args = parser.parse_args(argv)
    thresholds = [args.threshold]
    if args.sweep:
        thresholds = sorted({0.3, 0.35, 0.4, 0.5, 0.6, args.threshold})
    print(f"band filter: {', '.join(f'{t} -> >= {min_band_matches(t)} of 64 bands' for t in thresholds)}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for t in thresholds:
            runs = [run(args.origin, args.partner, args.syndicated, t, Path(tmp)) for _ in range(max(1, args.repeat))]
            r = runs[0]  # links are deterministic; only the timings vary between runs
            for key in ("ms_median", "ms_mean", "ms_p95", "cpu_ms_mean", "sign_ms", "store_ms_median"):
                r[key] = statistics.median(x[key] for x in runs)
            print(report(r) + (f" (median of {len(runs)} runs)" if len(runs) > 1 else ""))
            if r["wrong_examples"]:
                print(f"  wrong links (article id -> representative id): {r['wrong_examples']}")
            if t == args.threshold:
                ok = r["precision"] >= 0.95 and r["recall"] >= 0.9
    print("targets (precision >= 0.95, recall >= 0.9):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
