"""The archive at scale: build a big synthetic archive, then time searches and exports.

    .venv/bin/python -m bench.archive_scale build --articles 1000000 [--db bench/out/big.db]
    .venv/bin/python -m bench.archive_scale build --bulk --articles 1000000 [--time-limit S]
    .venv/bin/python -m bench.archive_scale check-bulk --articles 2000   # bulk == store_fetch?
    .venv/bin/python -m bench.archive_scale optimize [--db ...]  # FTS5 optimize of both indexes
    .venv/bin/python -m bench.archive_scale fts     [--db ...]
    .venv/bin/python -m bench.archive_scale search  [--db ...]   # archive.search, plain and stemmed
    .venv/bin/python -m bench.archive_scale export  [--db ...] [--runs 3] [--cold] [--workers 0,2]
    .venv/bin/python -m bench.archive_scale sizes   [--size-articles 3000]
    .venv/bin/python -m bench.archive_scale all --articles 100000   # all four

``build`` writes articles through the project's own write path, ``Archive.store_fetch``
(a page row and its article, FTS triggers included), with text from the sample site's
generator (Russian and Kazakh templates, 7-17 paragraphs, about 4.5 KiB).  It can be stopped and resumed
(it continues from the articles already there) and prints its rate and memory as it goes.
Pages are stored without their raw body, like ``ARCHIVE_STORE_BODIES = False``; ``sizes``
measures what raw bodies add per article on a smaller archive of rendered 140 KB pages.
``--batch`` pages share one transaction (store_fetch nests as a savepoint); the crawl
itself commits every page. ``build --bulk`` (bench/archive_bulk.py) writes the same rows
and indexes several times faster: texts and stems made on every core, ``--batch``
(default 20,000) articles per transaction, FTS5 segments merged once by ``optimize``
afterwards; stoppable (SIGTERM, Ctrl-C, ``--time-limit``) and resumed the same way.
``check-bulk`` builds ``--articles`` both ways and compares them (tests/test_bench_bulk.py
runs it on 800).

``search`` times archive.search.search (top 20 with snippets, as ``crawler search``) on the
plain and the stemmed index, ranking the newest RANK_CANDIDATES matches and all of them,
and reports each index's bytes per article. ``fts`` runs common Russian words, prefixes and phrases against ``articles_fts`` (top 20
by rank, and a full count) and prints p50/p95 latency; ``export`` runs ``crawler export``
to jsonl and parquet in a child process and prints articles/s, CPU seconds and peak memory
(``--cold``: with the archive evicted from the page cache first; ``--workers 0,2``: one
process against two workers, interleaved).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.common import PYTHON, ROOT, become_subreaper, measure, save_json

DEFAULT_DB = ROOT / "bench" / "out" / "big.db"
SITES = ("steppravda.kz", "kazpravda.kz", "tengrinews.kz", "inform.kz", "nur.kz")
START = datetime(2019, 1, 1, tzinfo=timezone.utc)
SPAN_MIN = 8 * 365 * 24 * 60

# What researchers type: bare words (one form), stems with *, phrases, combinations.
QUERIES = (
    "форум",
    "форум*",
    "област*",
    "Астана",
    "Павлодар*",
    '"Мангистауской области"',
    "министр* ремонт*",
    "отопительн* сезон*",
    "школ* NOT учител*",
    '"круглом столе"',
    "молодеж* OR молодёж*",
    "облысы",
)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def article_for(i: int) -> tuple[dict, dict]:
    """Page and article dicts for synthetic article number i (deterministic)."""
    from samplesite import textgen

    rng = random.Random(i)
    when = START + timedelta(minutes=rng.randrange(SPAN_MIN))
    story = textgen.make_story(rng, when.year)
    kazakh = rng.random() < 0.1
    n_paras = rng.randint(7, 17)  # about 4.5 KiB of UTF-8 text, like a typical news story
    if kazakh:
        title = textgen.kk_title(story, rng)
        paras = textgen.kk_paragraphs(story, i, n_paras, False)
    else:
        title = textgen.ru_title(story, rng)
        paras = textgen.ru_paragraphs(story, i, n_paras, False)
    site = SITES[i % len(SITES)]
    url = f"https://{site}/{'kz/' if kazakh else ''}n/{i}-{textgen.slugify(title, 60)}/"
    offset = "+06:00" if when < datetime(2024, 3, 1, tzinfo=timezone.utc) else "+05:00"
    local = when + timedelta(hours=int(offset[1:3]))
    fetched = (when + timedelta(hours=1)).isoformat(timespec="seconds")
    text = "\n\n".join(paras)
    import hashlib

    article = {
        "url": url, "site": site, "title": title, "text": text, "author": None,
        "published_at": local.strftime("%Y-%m-%dT%H:%M:00") + offset,
        "published_raw": local.strftime("%d.%m.%Y %H:%M"), "date_source": "json-ld",
        "language": "kk" if kazakh else "ru", "description": paras[0][:200],
        "categories": [], "tags": [], "image": None, "hreflang": {},
        "content_hash": hashlib.sha1(text.encode()).hexdigest(),
    }
    page = {"site": site, "url": url, "final_url": url, "status": 200,
            "content_type": "text/html; charset=utf-8", "headers": {"content-type": "text/html; charset=utf-8"},
            "encoding": "utf-8", "fetched_at": fetched, "body": None, "error": None}
    return page, article


def build(db: Path, n: int, batch: int, report_every: int, quiet: bool = False) -> dict:
    from archive import Archive

    db.parent.mkdir(parents=True, exist_ok=True)
    arc = Archive(db)
    have = arc.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    crawl = arc.start_crawl(["bench/archive_scale"])
    if not quiet:
        print(f"{db}: {have} articles; building to {n}, {batch} per transaction", flush=True)
    start = time.perf_counter()
    cpu0 = time.process_time()
    last_t, last_i = start, have
    rates = []
    i = have
    while i < n:
        arc.db.execute("BEGIN IMMEDIATE")
        for j in range(i, min(i + batch, n)):
            page, article = article_for(j)
            arc.store_fetch(page, article, crawl_id=crawl, seen_at=page["fetched_at"])
        arc.db.execute("COMMIT")
        i = min(i + batch, n)
        if not quiet and (i % report_every == 0 or i == n):
            now = time.perf_counter()
            rate = (i - last_i) / (now - last_t)
            rates.append({"articles": i, "rate": rate, "rss_mb": rss_mb(), "db_mb": os.path.getsize(db) / 2**20})
            print(f"  {i:>9} articles  {rate:7.0f}/s  rss {rss_mb():6.0f} MB  file {os.path.getsize(db) / 2**20:8.0f} MB",
                  flush=True)
            last_t, last_i = now, i
    arc.finish_crawl(crawl, {}, "ok")
    arc.close()
    wall = time.perf_counter() - start
    return {"built": n - have, "wall": wall, "cpu": time.process_time() - cpu0,
            "rate": (n - have) / wall if wall else 0, "progress": rates,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def generation_rate(k: int = 2000) -> float:
    start = time.process_time()
    for i in range(k):
        article_for(10**9 + i)
    return k / (time.process_time() - start)


def fts(db: Path, repeats: int) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    shapes = {
        "top 20 by rank": ("SELECT a.id, a.title FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
                           "WHERE articles_fts MATCH ? ORDER BY rank LIMIT 20"),
        "count all matches": "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?",
        "first 20, no ranking": ("SELECT a.id, a.title FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
                                 "WHERE articles_fts MATCH ? LIMIT 20"),
    }
    out = {"articles": n, "shapes": {}}
    for shape, sql in shapes.items():
        lat, per_query = [], {}
        for q in QUERIES:
            con.execute(sql, [q]).fetchall()  # warm the page cache once
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                rows = con.execute(sql, [q]).fetchall()
                times.append(time.perf_counter() - t)
            lat += times
            per_query[q] = {"median_ms": statistics.median(times) * 1000,
                            "result": rows[0][0] if shape == "count all matches" else len(rows)}
        lat.sort()
        out["shapes"][shape] = {"p50_ms": lat[len(lat) // 2] * 1000,
                                "p95_ms": lat[min(len(lat) - 1, int(len(lat) * 0.95))] * 1000,
                                "max_ms": lat[-1] * 1000, "per_query": per_query}
        print(f"{shape}: p50 {out['shapes'][shape]['p50_ms']:.1f} ms, p95 {out['shapes'][shape]['p95_ms']:.1f} ms "
              f"({len(QUERIES)} queries x {repeats}, {n} articles)")
        for q, r in per_query.items():
            print(f"    {q:<28} {r['median_ms']:9.1f} ms   {r['result']}")
    con.close()
    return out


# Bare inflected words, which only the stemmed index answers with every form.
STEMMED_EXTRA = ("Мангистауская", "областях", "форумы", "министров", "облысында")


def search_latency(db: Path, repeats: int, candidate_runs: list[int | None] | None = None,
                   time_limit: float | None = None) -> dict:
    """Top 20 through archive.search.search (what `crawler search` runs, snippets included),
    plain and stemmed, bounded ranking against ranking every match; index size per article.

    ``time_limit``: seconds; each run stops its rounds early (after at least one) when the
    time is up, and says how many it did."""
    deadline = time.perf_counter() + time_limit if time_limit else None
    from archive.search import RANK_CANDIDATES, search

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    out = {"articles": n, "rank_candidates": RANK_CANDIDATES, "runs": {}}
    plans = {
        "plain": (False, QUERIES),
        "stemmed": (True, QUERIES + STEMMED_EXTRA),
    }
    for label, (stemmed, queries) in plans.items():
        for candidates in candidate_runs or (RANK_CANDIDATES, None):
            name = f"{label}, {'newest ' + str(candidates) if candidates else 'all'} ranked"
            lat, per_query = [], {}
            for q in queries:
                search(con, q, stemmed=stemmed, candidates=candidates)  # warm the cache once
            # Interleaved: every query once per round, so load changes hit all alike.
            times = {q: [] for q in queries}
            cpu_times = {q: [] for q in queries}
            rounds = 0
            for _ in range(repeats):
                if rounds and deadline and time.perf_counter() > deadline:
                    break
                rounds += 1
                for q in queries:
                    t, c = time.perf_counter(), time.thread_time()
                    hits = search(con, q, stemmed=stemmed, candidates=candidates)
                    cpu_times[q].append(time.thread_time() - c)
                    times[q].append(time.perf_counter() - t)
                    per_query[q] = len(hits)
            cpu = []
            for q in queries:
                lat += times[q]
                cpu += cpu_times[q]
            lat.sort()
            cpu.sort()
            # CPU time of the searching thread: on a machine shared with other jobs the wall
            # time also holds the waits for a core; the cache is warm, so search is CPU-bound.
            row = {"p50_ms": lat[len(lat) // 2] * 1000,
                   "p95_ms": lat[min(len(lat) - 1, int(len(lat) * 0.95))] * 1000,
                   "max_ms": lat[-1] * 1000,
                   "cpu_p50_ms": cpu[len(cpu) // 2] * 1000,
                   "cpu_p95_ms": cpu[min(len(cpu) - 1, int(len(cpu) * 0.95))] * 1000,
                   "loadavg": os.getloadavg()[0], "rounds": rounds,
                   "per_query_median_ms": {q: statistics.median(times[q]) * 1000 for q in queries},
                   "per_query_median_cpu_ms": {q: statistics.median(cpu_times[q]) * 1000 for q in queries},
                   "hits": per_query}
            out["runs"][name] = row
            if candidates:
                _extrapolate(con, stemmed, queries, row, n)
            print(f"{name}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, max {row['max_ms']:.0f} ms; "
                  f"CPU p50 {row['cpu_p50_ms']:.1f} ms, p95 {row['cpu_p95_ms']:.1f} ms "
                  f"({len(queries)} queries x {rounds}, {n} articles, load {row['loadavg']:.1f})", flush=True)
            if candidates:
                print(f"    estimated CPU at 1,000,000 articles (matches in proportion): p50 "
                      f"{row['cpu_1m_p50_ms']:.0f} ms, p95 {row['cpu_1m_p95_ms']:.0f} ms")
            for q in queries:
                print(f"    {q:<28} {row['per_query_median_ms'][q]:9.1f} ms  CPU {row['per_query_median_cpu_ms'][q]:7.1f} ms"
                      f"  {row.get('matches', {}).get(q, '')} matches")
    tables = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    text = con.execute("SELECT sum(length(CAST(text AS BLOB))) FROM articles").fetchone()[0] or 0
    plain = sum(v for k, v in tables.items() if k.startswith("articles_fts"))
    stem = sum(v for k, v in tables.items() if k.startswith("articles_stem_fts"))
    out["bytes_per_article"] = {"text": text / n, "articles_fts": plain / n, "articles_stem_fts": stem / n,
                                "file": os.path.getsize(db) / n}
    print("bytes per article: " + ", ".join(f"{k} {v:,.0f}" for k, v in out["bytes_per_article"].items()))
    con.close()
    return out


def optimize(db: Path) -> dict:
    """FTS5 ``optimize`` of both full-text indexes (what ``sqlite-utils optimize --no-vacuum``
    does): one b-tree per index instead of the segments automerge left; timed, with sizes."""
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    out: dict = {"articles": n}
    for table in ("articles_fts", "articles_stem_fts"):
        start = time.perf_counter()
        con.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
        con.commit()
        out[table] = {"seconds": time.perf_counter() - start}
        print(f"{table}: optimize {out[table]['seconds']:.0f} s ({n} articles)", flush=True)
    con.close()
    return out


def _extrapolate(con, stemmed: bool, queries, row: dict, n: int, target: int = 1_000_000) -> None:
    """A bounded search's cost that grows with the archive is bm25's pass over every match
    of each phrase (the document counts); the ranked rows are capped. So: the measured CPU
    plus the CPU of counting the matches times (target / n - 1), as if the matches grew in
    proportion. An estimate, not a measurement."""
    from archive.search import STEM_FTS
    from archive.stemming import stem_query

    table = STEM_FTS if stemmed else "articles_fts"
    row["matches"], row["count_cpu_ms"], estimate = {}, {}, []
    for q in queries:
        match = stem_query(q) if stemmed else q
        best = None
        for _ in range(3):
            c = time.thread_time()
            count = con.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", [match]).fetchone()[0]
            took = time.thread_time() - c
            best = took if best is None else min(best, took)
        row["matches"][q] = count
        row["count_cpu_ms"][q] = best * 1000
        estimate.append(row["per_query_median_cpu_ms"][q] + best * 1000 * (target / n - 1))
    estimate.sort()
    row["cpu_1m_p50_ms"] = statistics.median(estimate)
    row["cpu_1m_p95_ms"] = estimate[min(len(estimate) - 1, int(len(estimate) * 0.95))]


def _drop_page_cache(path: Path) -> None:
    """Evict the archive's pages from the OS page cache (only this file's, nothing else)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def export(db: Path, formats: list[str], work: Path, *, runs: int = 1, cold: bool = False,
           workers: list[str] | None = None) -> dict:
    """Time ``crawler export`` of the whole archive: wall, CPU of the whole process tree
    (workers included), peak RSS of its largest process and PSS of the tree.

    ``workers``: values of ``--workers`` to compare ("" = the export's own choice,
    "0" = one process), run interleaved; ``cold``: evict the archive from the page cache
    before each run, as after a day of other work (this VM's host reclaims idle cache).
    """
    become_subreaper()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    con.close()
    out: dict = {"articles": n, "cold": cold, "runs": runs}
    for fmt in formats:
        target = work / f"export.{fmt}"
        samples: dict[str, list[dict]] = {w: [] for w in (workers or [""])}
        for _ in range(runs):
            for choice in samples:  # interleaved: conditions drift between runs
                target.unlink(missing_ok=True)
                if cold:
                    _drop_page_cache(db)
                chosen = ["--workers", choice] if choice else []
                run, _, err = measure(f"export {fmt}", [PYTHON, "-m", "crawler", "export", "--db", str(db),
                                                        "--format", fmt, "--out", str(target), *chosen], cwd=ROOT)
                if run.returncode != 0:
                    print(f"export {fmt} failed: {err[-1500:]}")
                    samples[choice].append({"error": err[-1500:]})
                    continue
                size = target.stat().st_size
                sample = {"wall": run.wall, "cpu": run.cpu, "cpu_user": run.cpu_user, "cpu_sys": run.cpu_sys,
                          "articles_per_s": n / run.wall, "articles_per_cpu_s": n / run.cpu,
                          "peak_rss_mb": run.max_rss_single / 2**20, "peak_pss_mb": run.peak_pss_sum / 2**20,
                          "file_mb": size / 2**20, "loadavg_before": run.loadavg_before}
                samples[choice].append(sample)
                print(f"export {fmt} (workers {choice or 'auto'}{', cold' if cold else ''}): {n} articles in "
                      f"{run.wall:.1f} s = {n / run.wall:,.0f} articles/s, cpu {run.cpu:.1f} s "
                      f"({n / run.cpu:,.0f}/cpu-s), peak RSS {run.max_rss_single / 2**20:.0f} MB, "
                      f"PSS of the tree {run.peak_pss_sum / 2**20:.0f} MB, file {size / 2**20:.0f} MB, "
                      f"load {run.loadavg_before:.2f}", flush=True)
                target.unlink(missing_ok=True)
        result = {}
        for choice, rows in samples.items():
            good = [r for r in rows if "error" not in r]
            if not good:
                result[choice or "auto"] = rows
                continue
            median = {key: statistics.median(r[key] for r in good) for key in good[0]}
            result[choice or "auto"] = {**median, "samples": good}
        out[fmt] = result if workers else result["auto"]
    return out


def sizes(n: int, work: Path) -> dict:
    """Bytes per article with and without raw HTML, on two archives of the same n articles.

    Both get the crawl's near-duplicate index too (crawler.neardup), reported apart.
    """
    from archive import Archive
    from crawler.neardup import NearDupIndexer
    from samplesite import SampleSite

    site = SampleSite(n_articles=n, page_kb=140)
    paths = [e.path for e in site.catalog.entries if e.kind == "article" and e.bad is None][:n]
    out = {}
    for bodies in (False, True):
        db = work / f"sizes-{bodies}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        arc = Archive(db)
        crawl = arc.start_crawl(["bench/sizes"])
        arc.db.execute("BEGIN IMMEDIATE")
        ids = []
        for i, path in enumerate(paths):
            page, article = article_for(i)
            if bodies:
                page["body"] = site.render(path, "https://steppravda.kz").body
            ids.append(arc.store_fetch(page, article, crawl_id=crawl, seen_at=page["fetched_at"])[1].id)
        arc.db.execute("COMMIT")
        indexer = NearDupIndexer(arc)
        for article_id in ids:
            indexer.index(article_id)
        text_bytes = arc.db.execute("SELECT sum(length(CAST(text AS BLOB))) FROM articles").fetchone()[0]
        arc.close()
        con = sqlite3.connect(db)
        con.execute("VACUUM")
        tables = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        con.close()
        total = os.path.getsize(db)
        k = len(paths)
        fts_bytes = sum(v for name, v in tables.items() if name.startswith("articles_fts"))
        nd_bytes = sum(v for name, v in tables.items() if name.startswith("neardup"))
        row = {"articles": k, "bytes_per_article": total / k, "text_bytes_per_article": text_bytes / k,
               "articles_table_bytes_per_article": tables.get("articles", 0) / k,
               "fts_bytes_per_article": fts_bytes / k, "neardup_bytes_per_article": nd_bytes / k,
               "pages_table_bytes_per_article": tables.get("pages", 0) / k}
        out["with raw HTML" if bodies else "without raw HTML"] = row
        print(f"{'with' if bodies else 'without'} raw HTML: {total / k / 1024:.1f} KiB per article in all "
              f"(text {text_bytes / k / 1024:.1f} KiB; tables: articles {row['articles_table_bytes_per_article'] / 1024:.1f}, "
              f"FTS {fts_bytes / k / 1024:.1f}, near-dup {nd_bytes / k / 1024:.1f}, "
              f"pages {row['pages_table_bytes_per_article'] / 1024:.1f} KiB)")
        db.unlink()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.archive_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("build", "optimize", "fts", "search", "export", "sizes", "all",
                                         "check-bulk"))
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="pages per transaction while building")
    parser.add_argument("--bulk", action="store_true",
                        help="build: the same archive in bulk (bench/archive_bulk.py), texts made on all cores")
    parser.add_argument("--time-limit", type=float, help="build --bulk: stop (resumably) after this many seconds; search: "
                             "fewer rounds once this many seconds have passed")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each FTS query")
    parser.add_argument("--formats", default="jsonl,parquet")
    parser.add_argument("--candidates", help="search: ranking bounds to compare, e.g. 10000,2000,0 (0: all)")
    parser.add_argument("--runs", type=int, default=1, help="export: runs of each (medians reported)")
    parser.add_argument("--cold", action="store_true", help="export: evict the archive from the page cache first")
    parser.add_argument("--workers", help="export: --workers values to compare, e.g. 0,2; "
                                          "build --bulk: generating processes (default: one per core)")
    parser.add_argument("--size-articles", type=int, default=3000, help="articles for `sizes`")
    parser.add_argument("--json", type=Path, help="append results here (default bench/out/archive_scale.json)")
    args = parser.parse_args(argv)
    result: dict = {}
    work = args.db.parent
    work.mkdir(parents=True, exist_ok=True)
    if args.what in ("build", "all") and args.bulk:
        from bench.archive_bulk import build_bulk

        batch = args.batch if args.batch != parser.get_default("batch") else 20_000
        result["build"] = build_bulk(args.db, args.articles, batch=batch, time_limit=args.time_limit,
                                     workers=int(args.workers) if args.workers else None)
        print(f"bulk build: {result['build']['built']} articles in {result['build']['wall']:.0f} s = "
              f"{result['build']['rate']:.0f}/s (load {os.getloadavg()[0]:.1f})")
    elif args.what in ("build", "all"):
        print(f"text generation alone: {generation_rate():.0f} articles/CPU-s")
        result["build"] = build(args.db, args.articles, args.batch, report_every=max(args.batch, 50_000))
    if args.what == "check-bulk":
        from bench.archive_bulk import check

        start = time.perf_counter()
        problems = check(args.articles, work)
        result["check-bulk"] = {"articles": args.articles, "problems": problems,
                                "seconds": time.perf_counter() - start}
        print(f"store_fetch and bulk builds of {args.articles} articles: "
              + ("the same" if not problems else "DIFFER:\n  " + "\n  ".join(problems)))
        if problems:
            save_json(args.json or ROOT / "bench" / "out" / "archive_scale-check-bulk.json", result)
            return 1
    if args.what == "optimize":
        result["optimize"] = optimize(args.db)
    if args.what in ("fts", "all"):
        result["fts"] = fts(args.db, args.repeats)
    if args.what in ("search", "all"):
        runs = [int(c) or None for c in args.candidates.split(",")] if args.candidates else None
        start = time.perf_counter()
        result["search"] = search_latency(args.db, args.repeats, runs, time_limit=args.time_limit)
        result["search"]["seconds"] = time.perf_counter() - start
        print(f"search benchmark: {result['search']['seconds']:.0f} s")
    if args.what in ("export", "all"):
        result["export"] = export(args.db, args.formats.split(","), work, runs=args.runs, cold=args.cold,
                                  workers=args.workers.split(",") if args.workers else None)
    if args.what in ("sizes", "all"):
        result["sizes"] = sizes(args.size_articles, work)
    path = args.json or ROOT / "bench" / "out" / f"archive_scale-{args.what}.json"
    save_json(path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
