"""WARC import speed and memory, and the cost of capture (issue 15).

    .venv/bin/python -m bench.warc_import import --articles 3000 --runs 3
    .venv/bin/python -m bench.warc_import capture --articles 600 --runs 3

``import``: builds two WARC files from the sample site (no server: every sitemap URL of
``SampleSite(N)`` rendered, bodies gzip'd as the sample server sends them, written as
request + response + metadata records exactly as ``crawl --warc`` writes them), one of
``--articles`` pages and one of a tenth of them; then, interleaved ``--runs`` times:

  import      ``crawler import FILE --db fresh.db`` (the CLI as a user types it, all cores);
  extract     the extraction limit: ``bench.extract_only ARCHIVE --extractor ours`` on the
              pages that import stored (the same HTML, extract_job on all cores, no WARC
              reading, no storing);
  import 1/10 the small file, for the memory comparison.

``scale``: WARC files of ``--articles-list`` sample-site articles (e.g. ~10 MB, ~100 MB,
~1 GB), imported smallest first with ``crawler import`` (all cores), each measured for
pages/s and peak memory over the whole process tree, with the extraction limit
(``bench.extract_only``, on its first ``--extract-limit`` pages if given) on the pages of the
second file (or of the only one), run right after its import. An
import still running at ``--deadline`` (UTC ``HH:MM``) is stopped with SIGINT (the import
stops as a user's Ctrl-C stops it): its figures then cover the part it read, which the
result gives in bytes and pages (from ``warc_imports``), never the whole file.

``capture``: one sample site server (``--articles``), then interleaved ``--runs`` times a
crawl into a fresh archive without and with ``--warc``: pages/s, and disk bytes per page
(the archive file, and the WARC files).

CPU and memory count the whole process tree (bench/common.py). Results: a table on stdout
and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import PYTHON, ROOT, Run, SiteProcess, become_subreaper, children_of, mb, med, measure, save_json

OUT = ROOT / "bench" / "out"
FAST = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0",
        "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]


def build_warc(path: Path, articles: int, page_kb: int = 0) -> dict:
    """A WARC of the sample site's sitemap URLs, records as the capture writes them."""
    from warcio.statusandheaders import StatusAndHeaders

    from crawler.warc_capture import RotatingWarcWriter
    from samplesite import SampleSite

    site = SampleSite(n_articles=articles, page_kb=page_kb)
    base = "http://127.0.0.1:8765"
    if path.exists():
        path.unlink()
    writer = RotatingWarcWriter(str(path.parent), max_size=1 << 62, prefix=path.name + ".tmp")
    n = 0
    for entry in site.catalog.entries:
        url = base + entry.path
        resp = site.render(entry.path, base)
        body, headers = resp.body, dict(resp.headers)
        if len(body) > 1024 and headers.get("Content-Type", "").startswith("text/"):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        http = StatusAndHeaders(f"{resp.status} X", list(headers.items()), protocol="HTTP/1.1")
        record = writer.record(url, "response", body, http_headers=http)
        rid = record.rec_headers.get_header("WARC-Record-ID")
        req = writer.record(url, "request", b"", http_headers=StatusAndHeaders(
            f"GET {entry.path} HTTP/1.1", [("Host", "127.0.0.1:8765"), ("Accept-Encoding", "gzip")],
            is_http_request=True), warc_headers_dict={"WARC-Concurrent-To": rid})
        meta = writer.record(url, "metadata", b"role: article\nsite: 127.0.0.1\n",
                             warc_content_type="application/warc-fields",
                             warc_headers_dict={"WARC-Concurrent-To": rid})
        writer.write([record, req, meta])
        n += 1
    writer.close()
    Path(writer.files[0]).rename(path)
    return {"path": str(path), "responses": n, "bytes": path.stat().st_size}


def _fresh(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def _articles(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM pages WHERE error IS NULL").fetchone()[0]
    finally:
        con.close()


def _show(run: Run) -> Run:
    print(f"  {run.label:<16} {run.pages:>6} pages {run.wall:8.1f} s {run.pages_per_s:7.1f} p/s "
          f"cpu {run.cpu:7.1f} s  peak rss sum {mb(run.peak_rss_sum):>5} MB  largest process "
          f"{mb(run.max_rss_single):>5} MB  load {run.loadavg_before:.1f}", flush=True)
    return run


def bench_import(args) -> dict:
    work = OUT / "warc"
    work.mkdir(parents=True, exist_ok=True)
    big = build_warc(work / f"site-{args.articles}.warc.gz", args.articles, args.page_kb)
    small = build_warc(work / f"site-{args.articles // 10}.warc.gz", args.articles // 10, args.page_kb)
    print(f"WARCs: {big['responses']} responses {mb(big['bytes'])} MB; {small['responses']} responses "
          f"{mb(small['bytes'])} MB", flush=True)
    runs: dict[str, list[Run]] = {"import": [], "extract": [], "import 1/10": []}
    for i in range(args.runs):
        db = work / "import.db"
        _fresh(db)
        run, out, err = measure("import", [PYTHON, "-m", "crawler", "import", big["path"], "--db", str(db)], cwd=ROOT)
        if run.returncode != 0:
            raise RuntimeError(f"import failed: {err[-2000:]}")
        run.pages = _articles(db)
        run.extra["summary"] = out.strip()
        runs["import"].append(_show(run))
        run, out, err = measure("extract", [PYTHON, "-m", "bench.extract_only", str(db), "--extractor", "ours"],
                                cwd=ROOT)
        result = json.loads(out.strip().splitlines()[-1])
        run.pages = result["pages"]
        run.extra.update(result)
        runs["extract"].append(_show(run))
        db_small = work / "import-small.db"
        _fresh(db_small)
        run, out, err = measure("import 1/10", [PYTHON, "-m", "crawler", "import", small["path"], "--db",
                                                str(db_small)], cwd=ROOT)
        run.pages = _articles(db_small)
        runs["import 1/10"].append(_show(run))
    table = {label: {"pages": med(r.pages for r in rs), "wall_s": med(r.wall for r in rs),
                     "pages_per_s": med(r.pages_per_s for r in rs), "cpu_s": med(r.cpu for r in rs),
                     "peak_rss_sum_mb": med(r.peak_rss_sum for r in rs) / 2**20,
                     "largest_process_mb": med(r.max_rss_single for r in rs) / 2**20}
             for label, rs in runs.items()}
    pairs = [a.pages_per_s / b.pages_per_s for a, b in zip(runs["import"], runs["extract"])]
    result = {"warcs": [big, small], "table": table, "import_over_extract_per_pair": pairs,
              "import_over_extract_median": med(pairs), "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()}}
    print(json.dumps({"table": table, "ratio_median": med(pairs), "ratios": pairs}, indent=1))
    save_json(OUT / "warc-import.json", result)
    return result


def _interrupt_at(deadline: float | None, label: str, cmd_word: str) -> threading.Timer | None:
    """SIGINT our child running ``cmd_word`` once the wall clock passes ``deadline``."""
    if deadline is None:
        return None

    def fire() -> None:
        for pid in children_of(os.getpid()):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd_word.encode() in cmdline:
                print(f"  {label}: deadline reached, SIGINT to {pid}", flush=True)
                os.kill(pid, signal.SIGINT)

    timer = threading.Timer(max(0.0, deadline - time.time()), fire)
    timer.daemon = True
    timer.start()
    return timer


def _progress(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT next_offset, records, finished_at FROM warc_imports").fetchall()
        pages = con.execute("SELECT count(*) FROM pages").fetchone()[0]
    finally:
        con.close()
    return {"bytes_done": sum(r[0] for r in rows), "records_done": sum(r[1] for r in rows),
            "finished": all(r[2] for r in rows) and bool(rows), "pages_stored": pages}


def bench_scale(args) -> dict:
    work = OUT / "warc-scale"
    work.mkdir(parents=True, exist_ok=True)
    deadline = None
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        now = datetime.now(timezone.utc)
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    sizes = sorted(int(n) for n in args.articles_list.split(","))
    results = []
    for i, n in enumerate(sizes):
        started = time.perf_counter()
        w = build_warc(work / f"site-{n}.warc.gz", n, args.page_kb)
        w["build_s"] = round(time.perf_counter() - started, 1)
        print(f"built {w['path']}: {w['responses']} responses, {mb(w['bytes'])} MB in {w['build_s']} s", flush=True)
        db = work / f"import-{w['responses']}.db"
        _fresh(db)
        timer = _interrupt_at(deadline, "import", "import")
        run, out, err = measure(f"import {mb(w['bytes'])} MB", [PYTHON, "-m", "crawler", "import", w["path"],
                                                                "--db", str(db)], cwd=ROOT, timeout=6 * 3600)
        if timer is not None:
            timer.cancel()
        run.pages = _articles(db)
        done = _progress(db)
        run.extra.update(done, summary=out.strip(), stderr_tail=err[-500:], file_bytes=w["bytes"])
        print(f"  read {mb(done['bytes_done'])} of {mb(w['bytes'])} MB, finished={done['finished']}", flush=True)
        entry = {"warc": w, "import": _show(run).as_dict()}
        if i == min(1, len(sizes) - 1):  # the second file, or the only one
            limit = ["--limit", str(args.extract_limit)] if args.extract_limit else []
            run, out, err = measure("extract", [PYTHON, "-m", "bench.extract_only", str(db), "--extractor", "ours",
                                                *limit], cwd=ROOT, timeout=6 * 3600)
            got = json.loads(out.strip().splitlines()[-1])
            run.pages = got["pages"]
            run.extra.update(got)
            entry["extract"] = _show(run).as_dict()
        results.append(entry)
        save_json(OUT / "warc-scale.json", {"results": results})
        Path(w["path"]).unlink()
        _fresh(db)
        if deadline is not None and time.time() > deadline:
            print("deadline passed: no further file", flush=True)
            break
    return {"results": results}


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.glob("*.warc.gz"))


def bench_capture(args) -> dict:
    work = OUT / "warc-capture"
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[Run]] = {"crawl": [], "crawl --warc": []}
    with SiteProcess(args.articles, args.page_kb) as site:
        for i in range(args.runs):
            for label in (("crawl", "crawl --warc") if i % 2 == 0 else ("crawl --warc", "crawl")):
                db = work / "c.db"
                _fresh(db)
                warcs = work / "w"
                shutil.rmtree(warcs, ignore_errors=True)
                extra = ["--warc", str(warcs)] if label == "crawl --warc" else []
                cmd = [PYTHON, "-m", "crawler", "crawl", site.url + "/", "--db", str(db), "-q", *FAST, *extra]
                run, out, err = measure(label, cmd, cwd=ROOT, ignore={site.pid})
                if run.returncode not in (0, 1):
                    raise RuntimeError(f"{label} failed: {err[-2000:]}")
                con = sqlite3.connect(db)
                run.pages = con.execute("SELECT count(*) FROM pages").fetchone()[0]
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                con.close()
                run.extra["db_bytes"] = db.stat().st_size
                run.extra["warc_bytes"] = _dir_bytes(warcs) if extra else 0
                runs[label].append(_show(run))
    table = {label: {"pages": med(r.pages for r in rs), "pages_per_s": med(r.pages_per_s for r in rs),
                     "cpu_s": med(r.cpu for r in rs),
                     "db_bytes_per_page": med(r.extra["db_bytes"] / r.pages for r in rs),
                     "warc_bytes_per_page": med(r.extra["warc_bytes"] / r.pages for r in rs)}
             for label, rs in runs.items()}
    ratio = table["crawl --warc"]["pages_per_s"] / table["crawl"]["pages_per_s"]
    result = {"table": table, "speed_ratio_warc_over_plain": ratio,
              "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()}}
    print(json.dumps({"table": table, "speed_ratio": ratio}, indent=1))
    save_json(OUT / "warc-capture.json", result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.warc_import", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("import", "capture", "build", "scale"))
    parser.add_argument("--articles-list", default="1430,14300,143000",
                        help="scale: article counts of the WARC files (~7 KB per article)")
    parser.add_argument("--extract-limit", type=int, default=0,
                        help="scale: the extraction limit on the first N pages only (default: all)")
    parser.add_argument("--deadline", help="scale: stop a running import at this UTC time (HH:MM)")
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--page-kb", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="build: the WARC file to write")
    args = parser.parse_args(argv)
    become_subreaper()
    if args.what == "build":
        print(json.dumps(build_warc(args.out, args.articles, args.page_kb)))
    elif args.what == "import":
        bench_import(args)
    elif args.what == "scale":
        bench_scale(args)
    else:
        bench_capture(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
