"""Memory against sitemap size (issue 13): peak PSS of the crawl's process tree and the time to
its first article request, on a site of 5,000 URLs in one sitemap and on one of 1,000,000 (an
index of 20 sitemaps of 50,000), both generated on the fly by a local server in its own
process. Each crawl runs ``--seconds`` with politeness lifted, then gets SIGTERM (``timeout``).

    python -m bench.frontier_memory --seconds 60 --runs 1 [--modes frontier,memory]

``frontier``: FRONTIER_ENABLED=true (crawler/frontier.py); ``memory``: Scrapy's own queues.
Results: bench/out/frontier_memory.json and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import PYTHON, ROOT, become_subreaper, measure

PER_SITEMAP = 50_000
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
PARAGRAPH = ("Городской совет обсудил план благоустройства набережной, жители предложили "
             "поставить скамейки и высадить деревья вдоль новой велосипедной дорожки. ")


def serve(total: int) -> None:
    """The generated site on a free port; prints its URL, logs when /n/ is first requested."""
    first: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            path = self.path
            ctype = "application/xml"
            if path == "/robots.txt":
                body, ctype = f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode(), "text/plain"
            elif path == "/sitemap.xml" and total <= PER_SITEMAP:
                body = self._urlset(base, 0, total)
            elif path == "/sitemap.xml":
                n = -(-total // PER_SITEMAP)
                rows = "".join(f"<sitemap><loc>{base}/sitemap-{k}.xml</loc></sitemap>" for k in range(n))
                body = f'<?xml version="1.0"?><sitemapindex xmlns="{NS}">{rows}</sitemapindex>'.encode()
            elif path.startswith("/sitemap-"):
                k = int(path[len("/sitemap-"):-len(".xml")])
                body = self._urlset(base, k * PER_SITEMAP, min(total, (k + 1) * PER_SITEMAP))
            elif path.startswith("/n/"):
                if "first_article" not in first:
                    first["first_article"] = time.time()
                    print(f"first_article {first['first_article']:.3f}", flush=True)
                i = path.strip("/").split("/")[-1].split("-")[0]
                title = f"Новость {i}: совет обсудил набережную"
                body = (f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{title}</title>'
                        f'<link rel="canonical" href="{base}{path}"></head><body><article><h1>{title}</h1>'
                        f'<time datetime="2025-03-0{int(i) % 9 + 1}T10:00:00+05:00">2025</time>'
                        + "".join(f"<p>{PARAGRAPH * 3} ({i}.{k})</p>" for k in range(4))
                        + "</article></body></html>").encode()
                ctype = "text/html; charset=utf-8"
            else:
                body, ctype = b"<html><body>nothing here</body></html>", "text/html"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _urlset(self, base: str, start: int, end: int) -> bytes:
            rows = "".join(f"<url><loc>{base}/n/{i}-sovet-obsudil-naberezhnuyu/</loc><lastmod>2025-03-01</lastmod></url>"
                           for i in range(start, end))
            return f'<?xml version="1.0"?><urlset xmlns="{NS}">{rows}</urlset>'.encode()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def one_run(total: int, mode: str, seconds: int, work: Path, run: int = 0) -> dict:
    site = subprocess.Popen([PYTHON, "-m", "bench.frontier_memory", "--serve", str(total)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    url = site.stdout.readline().strip()
    db = work / f"{mode}-{total}-{run}.db"  # a fresh archive per run, never a resume
    fast = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0",
            "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "--set", "ROBOTSTXT_OBEY=true"]
    if mode == "frontier":
        fast += ["--set", "FRONTIER_ENABLED=true"]
    cmd = ["timeout", "-k", "60", "-s", "TERM", str(seconds), PYTHON, "-m", "crawler", "crawl", url + "/",
           "--db", str(db), "-q", *fast]
    started = time.time()
    try:
        run, out, err = measure(f"{mode}-{total}", cmd, cwd=ROOT, ignore={site.pid}, timeout=seconds + 120)
    finally:
        site.terminate()
        rest = site.communicate(timeout=10)[0]
    first = [float(line.split()[1]) for line in rest.splitlines() if line.startswith("first_article")]
    import sqlite3
    con = sqlite3.connect(db)
    pages = con.execute("select count(*) from pages").fetchone()[0]
    con.close()
    return {"mode": mode, "urls": total, "seconds": seconds, "peak_pss_mb": round(run.peak_pss_sum / 2**20, 1),
            "peak_rss_mb": round(run.peak_rss_sum / 2**20, 1), "first_article_s": round(first[0] - started, 2) if first else None,
            "pages": pages, "wall_s": round(run.wall, 1), "cpu_s": round(run.cpu, 1), "returncode": run.returncode,
            "loadavg_before": run.loadavg_before, "stderr_tail": err[-300:]}


def _median_or_none(values: list) -> str:
    seen = [v for v in values if v is not None]
    if not seen:
        return "never"
    missing = f" ({len(values) - len(seen)} runs without one)" if len(seen) < len(values) else ""
    return f"{statistics.median(seen):.2f} s{missing}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--modes", default="frontier,memory")
    p.add_argument("--sizes", default="5000,1000000")
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    become_subreaper()
    # What users run: their Python caches the project's bytecode (__pycache__). Where
    # PYTHONDONTWRITEBYTECODE is set (as on our dev VMs), every crawl would compile the
    # project's modules again (about 0.1 s of CPU before the first request).
    subprocess.run([PYTHON, "-m", "compileall", "-q", "crawler", "archive", "spiders"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.runs):
            for mode in args.modes.split(","):  # interleaved
                for total in map(int, args.sizes.split(",")):
                    res = one_run(total, mode, args.seconds, Path(tmp), r)
                    res["run"] = r
                    print(json.dumps({k: v for k, v in res.items() if k != "stderr_tail"}), flush=True)
                    results.append(res)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "frontier_memory.json").write_text(json.dumps(results, indent=1))
    for mode in args.modes.split(","):
        for total in map(int, args.sizes.split(",")):
            rs = [r for r in results if r["mode"] == mode and r["urls"] == total]
            print(f"{mode:9} {total:>9,} URLs: peak PSS median {statistics.median(r['peak_pss_mb'] for r in rs):.0f} MB, "
                  f"first article {_median_or_none([r['first_article_s'] for r in rs])}, "
                  f"pages {statistics.median(r['pages'] for r in rs):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
