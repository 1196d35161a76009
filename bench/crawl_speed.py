"""Crawl speed side by side on the same sample site (issue 5).

    .venv/bin/python -m bench.crawl_speed --articles 2000 --runs 3
    .venv/bin/python -m bench.crawl_speed --articles 10000 --runs 1 --extract-limit 2500

For one sample site (``python -m samplesite`` in its own process, article pages padded to
``--page-kb`` KB, gzip on as real servers do), each repetition runs, one after the other:

  a    this project: ``crawler crawl URL --db fresh.db`` with politeness lifted
       (AutoThrottle off, no delay, 16 concurrent requests per domain), extraction in its
       worker pool (one per core);
  b    trafilatura's own command line: ``--sitemap URL --list`` then ``-i urls --json
       --with-metadata -o DIR`` with a config file setting SLEEP_TIME = 0,
       SSRF_PROTECTION = off and DOWNLOAD_TIMEOUT = 4 (see trafilatura_config and
       BENCHMARKS.md for why, and why it takes two steps);
  c1   the fetching limit: a Scrapy spider that downloads every sitemap URL, nothing else;
  c2   the extraction limit: the HTML run (a) stored, extracted on all cores with
       ``trafilatura.extract`` (what b runs per page) and with the crawl's own process_page;

then, once per site: a second, incremental ``crawler crawl`` of the unchanged site into the
archive of (a), and (a) with ``EXTRACTION_WORKERS=0`` (extraction in the crawl process, as
before the pool).  CPU seconds and peak memory count the whole process tree of each command
(workers included; see bench/common.py); the sample site's own CPU is reported apart.
Results: a table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from bench.common import PYTHON, ROOT, Run, SiteProcess, become_subreaper, mb, med, measure, save_json

ALIAS = "samplesite.test"  # trafilatura refuses IP addresses; see bench/trafilatura_cli.py
FAST = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0",
        "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]


def trafilatura_config(path: Path) -> Path:
    """trafilatura's own settings.cfg with the changes a loopback benchmark needs.

    SLEEP_TIME 0 and SSRF_PROTECTION off lift its politeness and let it reach 127.0.0.1.
    DOWNLOAD_TIMEOUT 4: its retry backoff is DOWNLOAD_TIMEOUT / 2 seconds, doubling, so with
    the default 30 s the sample site's one HTTP 500 page alone costs 45 s of waiting; with 4
    it waits 2 + 4 s, about what the project's retry middleware waits (1 + 2 s).  Loopback
    downloads take milliseconds, far from any timeout.
    """
    import trafilatura

    original = Path(trafilatura.__file__).with_name("settings.cfg").read_text()
    lines = []
    for line in original.splitlines():
        if line.startswith("SLEEP_TIME"):
            line = "SLEEP_TIME = 0"
        elif line.startswith("SSRF_PROTECTION"):
            line = "SSRF_PROTECTION = off"
        elif line.startswith("DOWNLOAD_TIMEOUT"):
            line = "DOWNLOAD_TIMEOUT = 4"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


def crawl_cmd(url: str, db: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "crawler", "crawl", url + "/", "--db", str(db), "-q", *FAST, *extra]


def archive_pages(db: Path, crawl_id: int | None = None) -> int:
    con = sqlite3.connect(db)
    try:
        if crawl_id is None:
            crawl_id = con.execute("SELECT max(id) FROM crawls").fetchone()[0]
        return con.execute("SELECT pages FROM crawls WHERE id = ?", [crawl_id]).fetchone()[0] or 0
    finally:
        con.close()


class Bench:
    def __init__(self, site: SiteProcess, work: Path, verbose: bool = True):
        self.site = site
        self.work = work
        self.verbose = verbose
        self.runs: list[Run] = []
        self.cfg = trafilatura_config(work / "trafilatura.cfg")

    def _measure(self, label: str, cmd: list[str], **kw) -> tuple[Run, str, str]:
        site_cpu = self.site.cpu()
        run, out, err = measure(label, cmd, cwd=ROOT, ignore={self.site.pid}, **kw)
        run.extra["site_cpu"] = round(self.site.cpu() - site_cpu, 2)
        if run.returncode not in (0, 1):
            raise RuntimeError(f"{label} failed ({run.returncode}): {err[-2000:]}")
        return run, out, err

    def _keep(self, run: Run) -> Run:
        self.runs.append(run)
        if self.verbose:
            print(f"  {run.label:<24} {run.pages:>6} pages {run.wall:8.1f} s {run.pages_per_s:7.1f} p/s "
                  f"cpu {run.cpu:7.1f} s (top {run.extra.get('top_cpu', 0):6.1f})  pss {mb(run.peak_pss_sum):>5} MB  rss {mb(run.peak_rss_sum):>5} MB  "
                  f"site cpu {run.extra.get('site_cpu', 0):5.1f} s  load {run.loadavg_before:.1f}", flush=True)
        return run

    def project(self, db: Path, label: str = "a project", *extra: str) -> Run:
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        run, out, err = self._measure(label, crawl_cmd(self.site.url, db, *extra))
        run.pages = archive_pages(db)
        run.extra["summary"] = out.strip().splitlines()[-1] if out.strip() else err[-300:]
        return self._keep(run)

    def incremental(self, db: Path) -> Run:
        run, out, err = self._measure("a incremental", crawl_cmd(self.site.url, db))
        run.pages = archive_pages(db)
        run.extra["summary"] = out.strip().splitlines()[-1] if out.strip() else err[-300:]
        return self._keep(run)

    def trafilatura(self, n: int) -> Run:
        alias_url = self.site.url.replace("127.0.0.1", ALIAS)
        urls = self.work / "trafilatura-urls.txt"
        out_dir = self.work / "trafilatura-out"
        shutil.rmtree(out_dir, ignore_errors=True)
        listing, out, _ = self._measure("b list", [
            PYTHON, "-m", "bench.trafilatura_cli", ALIAS, "--sitemap", alias_url + "/",
            "--config-file", str(self.cfg), "--list"])
        urls.write_text(out)
        run, _, _ = self._measure("b trafilatura", [
            PYTHON, "-m", "bench.trafilatura_cli", ALIAS, "-i", str(urls), "--config-file", str(self.cfg),
            "-o", str(out_dir), "--json", "--with-metadata"])
        # the two steps are one trafilatura crawl: add them up
        run.wall += listing.wall
        run.cpu_user += listing.cpu_user
        run.cpu_sys += listing.cpu_sys
        run.extra["site_cpu"] += listing.extra["site_cpu"]
        run.peak_rss_sum = max(run.peak_rss_sum, listing.peak_rss_sum)
        run.peak_pss_sum = max(run.peak_pss_sum, listing.peak_pss_sum)
        run.max_rss_single = max(run.max_rss_single, listing.max_rss_single)
        run.pages = len([u for u in out.splitlines() if u.strip()])
        # past 1,000 files trafilatura writes into numbered subdirectories
        run.extra["outputs"] = sum(1 for f in out_dir.rglob("*.json")) if out_dir.exists() else 0
        run.extra["list_wall"] = listing.wall
        return self._keep(run)

    def fetch_only(self) -> Run:
        run, out, _ = self._measure("c1 fetch only", [PYTHON, "-m", "bench.fetch_only", self.site.url])
        run.pages = json.loads(out.strip().splitlines()[-1])["pages"]
        return self._keep(run)

    def extract_only(self, db: Path, extractor: str, limit: int) -> Run:
        cmd = [PYTHON, "-m", "bench.extract_only", str(db), "--extractor", extractor]
        if limit:
            cmd += ["--limit", str(limit)]
        run, out, _ = self._measure(f"c2 extract {extractor}", cmd)
        result = json.loads(out.strip().splitlines()[-1])
        run.pages = result["pages"]
        run.extra.update(result)
        return self._keep(run)


def summarise(runs: list[Run]) -> dict[str, dict]:
    """Median figures per label."""
    by_label: dict[str, list[Run]] = {}
    for run in runs:
        by_label.setdefault(run.label, []).append(run)
    table = {}
    for label, group in by_label.items():
        table[label] = {
            "runs": len(group),
            "pages": med(r.pages for r in group),
            "wall": med(r.wall for r in group),
            "pages_per_s": med(r.pages_per_s for r in group),
            "cpu": med(r.cpu for r in group),
            "pages_per_cpu_s": med(r.pages_per_cpu_s for r in group),
            "site_cpu": med(r.extra.get("site_cpu", 0) for r in group),
            "top_cpu": med(r.extra.get("top_cpu", 0) for r in group),
            "peak_pss_mb": med(r.peak_pss_sum / 2**20 for r in group),
            "peak_rss_sum_mb": med(r.peak_rss_sum / 2**20 for r in group),
            "max_rss_single_mb": med(r.max_rss_single / 2**20 for r in group),
            "max_procs": max(r.max_procs for r in group),
            "load": med(r.loadavg_before for r in group),
        }
    return table


def ratios(table: dict[str, dict]) -> dict[str, float]:
    a = table.get("a project")
    out = {}
    if not a:
        return out
    for other, name in (("c2 extract ours", "project / extraction-only (ours)"),
                        ("c2 extract trafilatura", "project / extraction-only (trafilatura.extract)"),
                        ("b trafilatura", "project / trafilatura CLI"),
                        ("c1 fetch only", "project / fetch-only")):
        if other in table:
            out[name] = a["pages_per_s"] / table[other]["pages_per_s"]
            out[name + ", per CPU-second"] = a["pages_per_cpu_s"] / table[other]["pages_per_cpu_s"]
    if "a incremental" in table:
        out["incremental time / first run time"] = table["a incremental"]["wall"] / a["wall"]
    if "a in-process extraction" in table:
        out["pool speed-up (pages/s vs in-process)"] = a["pages_per_s"] / table["a in-process extraction"]["pages_per_s"]
    return out


def print_table(table: dict[str, dict], rat: dict[str, float]) -> None:
    print("\n| run | n | pages | wall s | pages/s | CPU s (tree) | of which top process | pages/CPU-s | site CPU s | peak PSS MB (sum) | peak RSS MB (sum) | largest process MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, t in table.items():
        print(f"| {label} | {t['runs']} | {t['pages']:.0f} | {t['wall']:.1f} | {t['pages_per_s']:.1f} | {t['cpu']:.1f} | {t['top_cpu']:.1f} | "
              f"{t['pages_per_cpu_s']:.1f} | {t['site_cpu']:.1f} | {t['peak_pss_mb']:.0f} | {t['peak_rss_sum_mb']:.0f} | "
              f"{t['max_rss_single_mb']:.0f} |")
    print()
    for name, value in rat.items():
        print(f"- {name}: {value:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crawl_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--page-kb", type=int, default=140)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--extract-limit", type=int, default=0,
                        help="c2 on the first N stored pages only (its rate is per page)")
    parser.add_argument("--only", default="a,b,c1,c2,inc,inproc",
                        help="comma list of a,b,c1,c2,inc,inproc (default: all)")
    parser.add_argument("--extractors", default="trafilatura,ours",
                        help="which extraction-only runs c2 makes (trafilatura, ours)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="also run (a) with these crawl settings, as 'a project KEY=VALUE'")
    parser.add_argument("--work", default=str(ROOT / "bench" / "out" / "work"))
    parser.add_argument("--json", help="result file (default bench/out/crawl_speed-N<articles>.json)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    become_subreaper()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"a-{args.articles}.db"
    started = time.time()
    with SiteProcess(args.articles, args.page_kb) as site:
        bench = Bench(site, work)
        print(f"site {site.url}: {args.articles} articles, pages padded to {args.page_kb} KB, "
              f"{args.runs} run(s)", flush=True)
        for i in range(args.runs):
            print(f"repetition {i + 1}", flush=True)
            if "a" in only:
                bench.project(db)
            if args.set:
                extra = [x for kv in args.set for x in ("--set", kv)]
                bench.project(work / f"a-set-{args.articles}.db", "a project " + " ".join(args.set), *extra)
            if "c2" in only and db.exists():
                for extractor in args.extractors.split(","):
                    bench.extract_only(db, extractor, args.extract_limit)
            if "c1" in only:
                bench.fetch_only()
            if "b" in only:
                bench.trafilatura(args.articles)
        if "inc" in only and db.exists():
            for _ in range(args.runs):
                bench.incremental(db)
        if "inproc" in only:
            bench.project(work / f"inproc-{args.articles}.db", "a in-process extraction",
                          "--set", "EXTRACTION_WORKERS=0")
    table = summarise(bench.runs)
    rat = ratios(table)
    print_table(table, rat)
    save_json(args.json or ROOT / "bench" / "out" / f"crawl_speed-N{args.articles}.json", {
        "articles": args.articles, "page_kb": args.page_kb, "runs": args.runs,
        "extract_limit": args.extract_limit, "seconds": round(time.time() - started),
        "table": table, "ratios": rat, "all_runs": [r.as_dict() for r in bench.runs]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
