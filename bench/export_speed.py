"""Export throughput: `crawler export` to jsonl, csv, parquet and txt on a synthetic archive.

Builds (once, cached under bench/out/) an archive of realistic articles through the
project's own write path (``Archive.store_fetch``: a page with its HTML body and the
article extracted from it), then times the real command, ``python -m crawler export``, in
a child process per run: wall time, CPU time and peak RSS (``wait4``), median of
``--runs`` runs, for every format, with and without filters. Prints articles/s and MB/s
of output, and the fixed cost of the command (start-up, imports, manifest) measured on
an empty selection.

    .venv/bin/python bench/export_speed.py                       # 200,000 articles
    .venv/bin/python bench/export_speed.py --articles 50000 --formats jsonl,parquet
    .venv/bin/python bench/export_speed.py --profile jsonl       # cProfile of one export

Articles: Russian (80 %) and Kazakh (20 %) text from the sample site's generator
(samplesite.textgen), about 4.7 KiB of text each, four sites, publication times with
+05:00 / +06:00 (Almaty before 2024-03-01) / +03:00 offsets, 5 % day-only dates, 3 %
undated, 1 % naive times; categories, tags, hreflang pairs; 2 % exact copies under a
second URL (duplicate_of set by store_article) and 3 % near-duplicate links (set with
one UPDATE: the MinHash pipeline is not what is measured here).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import logging
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from archive import Archive
from samplesite import textgen

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
# Bump when the generated rows change, so a cached archive of the old kind is not reused.
GENERATOR_VERSION = 1
SITES = ("kazpravda.kz", "tengrinews.kz", "inform.kz", "nur.kz")
CATEGORIES = ("Общество", "Экономика", "Политика", "Регионы", "Спорт", "Культура", "Происшествия", "Мир")
TAGS = ("Астана", "Алматы", "форум", "бюджет", "образование", "здравоохранение", "выборы", "транспорт",
        "экология", "сельское хозяйство", "IT", "туризм")
AUTHORS = ("Айгерим Сапарова", "Дмитрий Ким", "Ержан Омаров", "Наталья Петренко", None, None)
VERSIONS = [
    {"news-archive-crawler": "0.1.0", "trafilatura": "2.3.1", "dateparser": "1.5.0"},
    {"news-archive-crawler": "0.0.9", "trafilatura": "2.3.0", "dateparser": "1.4.0"},
]
CRAWLS = 8
BATCH = 1000  # articles per write transaction while building
ALMATY_CHANGE = datetime(2024, 3, 1, tzinfo=timezone.utc)


def _published(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.03:
        return None
    moment = datetime(2019, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(7 * 365 * 86400))
    if roll < 0.08:
        return moment.date().isoformat()
    if roll < 0.09:
        return moment.replace(tzinfo=None).isoformat()
    if roll < 0.25:
        offset = 3
    else:
        offset = 6 if moment < ALMATY_CHANGE else 5
    return moment.astimezone(timezone(timedelta(hours=offset))).isoformat()


def _article(i: int, rng: random.Random) -> tuple[dict, dict]:
    """One (page, article) pair; the page body is the article's HTML."""
    site = SITES[i % len(SITES)]
    kazakh = rng.random() < 0.2
    story = textgen.make_story(rng, 2025)
    n_paras = rng.randint(8, 18)
    photo = rng.random() < 0.3
    if kazakh:
        title, paras, language = textgen.kk_title(story, rng), textgen.kk_paragraphs(story, i, n_paras, photo), "kk"
    else:
        title, paras, language = textgen.ru_title(story, rng), textgen.ru_paragraphs(story, i, n_paras, photo), "ru"
    text = "\n\n".join(paras)
    url = f"https://{site}/news/{i:07d}-{textgen.slugify(title, 60)}"
    hreflang = None
    if rng.random() < 0.15:
        hreflang = {"ru": url, "kk": url + "?lang=kk"}
    published = _published(rng)
    article = {
        "url": url, "site": site, "title": title, "text": text,
        "author": rng.choice(AUTHORS), "published_at": published,
        "published_raw": published and published[:16].replace("T", " "),
        "date_source": "json-ld" if published else None, "language": language,
        "description": textgen.lead_sentence(paras), "categories": rng.sample(CATEGORIES, rng.randint(1, 3)),
        "tags": rng.sample(TAGS, rng.randint(0, 5)) if rng.random() < 0.8 else None,
        "image": f"https://{site}/media/{i:07d}.jpg" if rng.random() < 0.7 else None,
        "hreflang": hreflang, "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }
    body = ("<html><head><title>" + title + "</title></head><body><article><h1>" + title + "</h1>"
            + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>").encode("utf-8")
    page = {"url": url, "final_url": url, "site": site, "status": 200, "content_type": "text/html",
            "headers": {"content-type": "text/html; charset=utf-8"}, "encoding": "utf-8", "body": body}
    return page, article


def build(path: Path, n: int, seed: int = 1) -> None:
    """Fill a fresh archive at ``path`` with ``n`` articles (written aside, renamed when done)."""
    partial = path.with_name(path.name + ".part")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    rng = random.Random(seed)
    started = time.perf_counter()
    with Archive(partial) as arc:
        crawl = None
        previous: list[dict] = []
        for start in range(0, n, BATCH):
            # One transaction per batch; store_fetch nests in it as a savepoint.
            arc.db.execute("BEGIN IMMEDIATE")
            for i in range(start, min(n, start + BATCH)):
                page, article = _article(i, rng)
                if previous and rng.random() < 0.02:
                    # The same text republished under another URL: an exact duplicate.
                    copied = rng.choice(previous)
                    article.update(text=copied["text"], content_hash=copied["content_hash"])
                if i * CRAWLS % n < CRAWLS or crawl is None:  # the next crawl starts
                    if crawl is not None:
                        arc.finish_crawl(crawl, {}, "ok")
                    crawl = arc.start_crawl(list(SITES), {"versions": VERSIONS[i * CRAWLS // n % 2]})
                fetched = datetime(2025, 9, 1, tzinfo=timezone.utc) + timedelta(seconds=i)
                page["fetched_at"] = fetched.isoformat()
                arc.store_fetch(page, article, crawl_id=crawl, seen_at=fetched.isoformat())
                if len(previous) < 1000:
                    previous.append(article)
                elif rng.random() < 0.01:
                    previous[rng.randrange(1000)] = article
            arc.db.execute("COMMIT")
            if start and start % 20000 == 0:
                rate = start / (time.perf_counter() - started)
                logger.info("built %d / %d articles (%.0f/s)", start, n, rate)
        arc.finish_crawl(crawl, {}, "ok")
        with arc.db.conn:
            # A near-duplicate cluster member points at an earlier original.
            arc.db.execute(
                "UPDATE articles SET near_duplicate_of = (id * 7919) % (id - 1) + 1 "
                "WHERE id > 2 AND duplicate_of IS NULL AND (id * 2654435761) % 100 < 3")
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    os.replace(partial, path)
    logger.info("built %s: %d articles in %.0f s", path, n, time.perf_counter() - started)


def archive_for(n: int, rebuild: bool = False) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"export-{n}-v{GENERATOR_VERSION}.db"
    if rebuild or not path.exists():
        build(path, n)
    return path


# -- timing -----------------------------------------------------------------------------


def run_export(db: Path, fmt: str, out: Path, extra: list[str]) -> dict:
    """One `crawler export` in a child process: wall, CPU, peak RSS, output bytes."""
    for old in (out, Path(f"{out}.manifest.json")):
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    command = [sys.executable, "-m", "crawler", "export", "--db", str(db), "--format", fmt,
               "--out", str(out), *extra]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()
    child.stdout.close()
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}): {stderr[-2000:]}")
    rows = int(stdout.split()[1])  # "exported N articles to ..."
    size = sum(p.stat().st_size for p in out.rglob("*")) if out.is_dir() else out.stat().st_size
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "rows": rows, "bytes": size}


FILTERS = {
    "all": [],
    "site+year": ["--site", "kazpravda.kz", "--from", "2024-01-01", "--to", "2024-12-31"],
    "lang kk": ["--lang", "kk"],
    "query": ["--query", "бюджет*"],  # a common stem: about 28 % of the articles
    "dedup near": ["--dedup", "near"],
}
SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet", "txt": ".txt"}


def warm(db: Path) -> None:
    """Read the archive once, so the first timed run does not pay for the disk."""
    with open(db, "rb") as fh:
        while fh.read(1 << 22):
            pass


def measure(db: Path, formats: list[str], filters: list[str], runs: int, work: Path) -> list[dict]:
    results = []
    warm(db)
    # A selection that is empty from the index alone: what remains is start-up, imports,
    # opening the archive and writing the manifest.
    baseline = [run_export(db, "jsonl", work / "empty.jsonl", ["--from", "2100-01-01"]) for _ in range(runs)]
    fixed = statistics.median(r["wall"] for r in baseline)
    print(f"fixed cost (start-up, imports, manifest; empty selection): {fixed:.2f} s, "
          f"peak RSS {statistics.median(r['rss_mb'] for r in baseline):.0f} MB")
    header = (f"{'format':8} {'filter':11} {'rows':>8} {'wall s':>7} {'cpu s':>6} {'art/s':>8} "
              f"{'art/s*':>8} {'MB/s':>6} {'out MB':>7} {'RSS MB':>7}")
    print(header)
    for fmt in formats:
        for name in filters:
            out = work / f"corpus{SUFFIX[fmt]}"
            samples = [run_export(db, fmt, out, FILTERS[name]) for _ in range(runs)]
            wall = statistics.median(s["wall"] for s in samples)
            row = {
                "format": fmt, "filter": name, "rows": samples[0]["rows"], "wall": wall,
                "cpu": statistics.median(s["cpu"] for s in samples),
                "rss_mb": max(s["rss_mb"] for s in samples), "out_mb": samples[0]["bytes"] / 1e6,
                "runs": [round(s["wall"], 3) for s in samples],
            }
            row["per_s"] = row["rows"] / wall
            # Without the fixed cost of the command: the export loop's own rate (not
            # meaningful for a small selection, whose run is mostly that fixed cost).
            row["per_s_loop"] = row["rows"] / (wall - fixed) if wall > 2 * fixed else None
            row["mb_s"] = row["out_mb"] / wall
            results.append(row)
            loop = f"{row['per_s_loop']:8.0f}" if row["per_s_loop"] else f"{'-':>8}"
            print(f"{fmt:8} {name:11} {row['rows']:8d} {wall:7.2f} {row['cpu']:6.1f} {row['per_s']:8.0f} "
                  f"{loop} {row['mb_s']:6.1f} {row['out_mb']:7.1f} {row['rss_mb']:7.0f}", flush=True)
    for old in work.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    return results


def profile(db: Path, fmt: str, work: Path, limit: int) -> None:
    """cProfile of one in-process export (the same code the command runs)."""
    from archive.export import export_corpus

    with Archive(db, create=False) as arc:
        profiler = cProfile.Profile()
        profiler.enable()
        started = time.perf_counter()
        result = export_corpus(arc, fmt, work / f"profile{SUFFIX[fmt]}")
        elapsed = time.perf_counter() - started
        profiler.disable()
    print(f"{fmt}: {result.rows} rows in {elapsed:.2f} s under the profiler")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="jsonl,csv,parquet,txt")
    parser.add_argument("--filters", default=",".join(FILTERS),
                        help=f"comma-separated, from: {', '.join(FILTERS)}")
    parser.add_argument("--rebuild", action="store_true", help="build the archive again")
    parser.add_argument("--archive", metavar="PATH", type=Path,
                        help="time exports of this archive instead of the synthetic one")
    parser.add_argument("--profile", metavar="FORMAT", help="profile one export in-process instead")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("archive").setLevel(logging.WARNING)
    db = args.archive or archive_for(args.articles, args.rebuild)
    work = OUT / f"export-work-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(db, args.profile, work, 40)
        shutil.rmtree(work)
        return 0
    articles = Archive(db, create=False)
    with articles:
        count = articles.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    print(f"archive {db.name}: {count} articles, {db.stat().st_size / 1e6:.0f} MB; "
          f"medians of {args.runs} runs; art/s* leaves out the fixed cost")
    results = measure(db, args.formats.split(","), args.filters.split(","), args.runs, work)
    if args.json:
        Path(args.json).write_text(json.dumps({"articles": count, "results": results}, indent=2))
    work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
