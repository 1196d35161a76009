"""Distributed mode (issue 13): pages/s with 1, 2 and 4 worker processes, the writer's CPU per
article, and Redis memory per queued URL. A real redis-server (AOF on), 8 local sites in
their own process, each answering its article pages after 100 to 300 ms (site i waits
100 + 200*i/7 ms), so the crawl is latency-bound and the figures mean something on 2 cores.

    python -m bench.distributed_scaling --rounds 3 [--articles 30] [--queued 5000]

Each worker is one process (EXTRACTION_WORKERS=0: it extracts in its own process) and
fetches at most ``--concurrency`` pages at once (CONCURRENT_REQUESTS), far below
the politeness limit (8 sites x CONCURRENT_REQUESTS_PER_DOMAIN=4), so linear scaling is
possible. The worker counts are interleaved within each round; medians over the rounds.
Workers are started before the writer (they wait for its run), so their start-up is not
counted. pages/s is measured at the sites: article requests over the time from the first to
the last one (``rate``), and over the middle 80 % of them (``rate_mid``: no start or tail).
Workers' CPU per article likewise (all workers together, /proc, while the run lasts).
Writer CPU per article: the writer's own CPU time (utime + stime, /proc) from its run being
in Redis to its exit, over the articles stored. Redis memory per queued URL: ``used_memory``
before and after one worker has queued a ``--queued``-URL sitemap it is fetching slowly.
Results: bench/out/distributed_scaling.json, BENCHMARKS.md and bench/README-distributed.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import PYTHON, ROOT

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
PARAGRAPH = ("Городской совет обсудил план благоустройства набережной, жители предложили "
             "поставить скамейки и высадить деревья вдоль новой велосипедной дорожки. ")
SITES = 8


def article_html(base: str, i: int) -> bytes:
    site = base.split("//")[1].split(":")[0]  # each site's texts its own: no duplicates across sites
    body = "".join(f"<p>{PARAGRAPH * 2} Абзац {k} новости {i} сайта {site}.</p>" for k in range(4))
    return (f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Новость {i}</title>'
            f'<link rel="canonical" href="{base}/n/story-{i}/"></head><body><nav><a href="/">Главная</a></nav>'
            f'<article><h1>Новость номер {i}</h1><time class="article__date">8 мая 2020 г. 12:28</time>'
            f'<div class="article__body">{body}</div></article><footer>© Газета</footer></body></html>').encode()


def serve(articles: int, delays: list[float]) -> None:
    """The sites on 127.0.0.1..8 (one per host); prints their URLs; /__stats gives each one's
    article arrival times (time.time())."""
    import threading

    servers = []
    for i, delay in enumerate(delays):
        arrivals: list[float] = []
        in_flight = {"now": 0, "max": 0, "lock": threading.Lock()}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wait, log, flight = delay, arrivals, in_flight

            def log_message(self, *args):
                pass

            def do_GET(self):
                base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
                ctype, status = "application/xml", 200
                if self.path == "/robots.txt":
                    body, ctype = f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode(), "text/plain"
                elif self.path == "/sitemap.xml":
                    rows = "".join(f"<url><loc>{base}/n/story-{k}/</loc><lastmod>2025-01-01</lastmod></url>"
                                   for k in range(articles))
                    body = f'<?xml version="1.0"?><urlset xmlns="{NS}">{rows}</urlset>'.encode()
                elif self.path.startswith("/n/"):
                    self.log.append(time.time())
                    with self.flight["lock"]:
                        self.flight["now"] += 1
                        self.flight["max"] = max(self.flight["max"], self.flight["now"])
                    time.sleep(self.wait)
                    with self.flight["lock"]:
                        self.flight["now"] -= 1
                    body, ctype = article_html(base, int(self.path.strip("/").split("-")[-1])), "text/html; charset=utf-8"
                elif self.path == "/__stats":
                    body, ctype = json.dumps({"arrivals": self.log, "max_in_flight": self.flight["max"]}).encode(), \
                        "application/json"
                else:
                    body, ctype, status = b"<html><body>no</body></html>", "text/html", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer((f"127.0.0.{i + 1}", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    print(" ".join(f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers), flush=True)
    sys.stdin.read()  # until the bench closes our stdin


class Sites:
    def __init__(self, articles: int, delays: list[float]):
        self.proc = subprocess.Popen([PYTHON, "-m", "bench.distributed_scaling", "--serve", str(articles),
                                      "--delays", ",".join(map(str, delays))],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.urls = self.proc.stdout.readline().split()

    def stats(self) -> list[dict]:
        """Each site's article arrival times and the most article requests it served at once."""
        out = []
        for url in self.urls:
            with urllib.request.urlopen(url + "/__stats", timeout=10) as r:
                out.append(json.loads(r.read()))
        return out

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


class Redis:
    def __init__(self, work: Path):
        binary = shutil.which("redis-server") or str(Path(PYTHON).parent / "redis-server")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        work.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(work),
                                      "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
                                     stdout=subprocess.DEVNULL)
        import redis

        self.client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def crawler(*args: str, log) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "crawler", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def settings(concurrency: int, per_domain: int = 4) -> list[str]:
    # EXTRACTION_WORKERS=0: each worker is one process, standing for one small host
    pairs = {"CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain, "DOWNLOAD_DELAY": 0,
             "AUTOTHROTTLE_ENABLED": "false", "RETRY_TIMES": 1, "EXTRACTION_WORKERS": 0}
    return [x for k, v in pairs.items() for x in ("--set", f"{k}={v}")]


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        time.sleep(0.05)


def scaling_run(workers: int, articles: int, concurrency: int, work: Path, per_domain: int = 4) -> dict:
    delays = [0.1 + 0.2 * i / (SITES - 1) for i in range(SITES)]
    redis_server = Redis(work / "redis")
    sites = Sites(articles, delays)
    db = work / "archive.db"
    log = open(work / "crawl.log", "ab")
    try:
        procs = [crawler("worker", "--redis", redis_server.url, "--exit-when-idle", "--log-level", "WARNING", log=log)
                 for _ in range(workers)]
        time.sleep(3)  # the workers' imports, before the run exists
        writer = crawler("crawl", *(u + "/" for u in sites.urls), "--db", str(db), "--redis", redis_server.url,
                         "--local-workers", "0", "-q", *settings(concurrency, per_domain), log=log)
        wait_for(lambda: redis_server.client.exists("crawler:run"), 120)
        cpu_start = cpu_seconds(writer.pid)
        cpu_end = cpu_start
        # the workers' CPU from the same moment (their start-up before it is not counted)
        w_start = {p.pid: cpu_seconds(p.pid) for p in procs}
        w_end = dict(w_start)
        samples = []  # (time.time(), the workers' CPU so far): their CPU while articles arrive
        while writer.poll() is None:
            for p in procs:
                try:
                    w_end[p.pid] = cpu_seconds(p.pid)
                except OSError:
                    pass
            samples.append((time.time(), sum(w_end.values())))
            try:
                cpu_end = cpu_seconds(writer.pid)
            except OSError:
                break
            time.sleep(0.1)
        rc = writer.wait()
        for p in procs:
            p.wait(60)
        site_stats = sites.stats()
        arrivals_by_site = [st["arrivals"] for st in site_stats]
        times = sorted(t for site in arrivals_by_site for t in site)
        commands = {k.split("_", 1)[1]: v["calls"] for k, v in redis_server.client.info("commandstats").items()}
        stored = __import__("sqlite3").connect(db).execute("select count(*) from articles").fetchone()[0]
    finally:
        log.close()
        sites.close()
        redis_server.close()
    n = len(times)
    lo, hi = times[n // 10], times[(9 * n) // 10]

    def cpu_at(t: float) -> float:
        return next((c for when, c in samples if when >= t), samples[-1][1] if samples else 0.0)

    mid_cpu = cpu_at(hi) - cpu_at(lo)
    per_site = [sorted(t) for t in arrivals_by_site]
    return {"workers": workers, "per_domain": per_domain, "rc": rc, "articles_fetched": n, "articles_stored": stored,
            "rate": round((n - 1) / (times[-1] - times[0]), 2),
            "rate_mid": round(((9 * n) // 10 - n // 10) / (hi - lo), 2),
            "writer_cpu_s": round(cpu_end - cpu_start, 3),
            "writer_cpu_ms_per_article": round(1000 * (cpu_end - cpu_start) / max(1, stored), 2),
            "workers_cpu_ms_per_article": round(1000 * sum(w_end[k] - w_start[k] for k in w_start) / max(1, n), 2),
            # the same over the middle 80 % of the arrivals: without each worker's start and end
            "workers_cpu_ms_per_article_mid": round(1000 * mid_cpu / max(1, (9 * n) // 10 - n // 10), 2),
            # Redis commands per article fetched (all clients): the cost of asking for work
            "redis_calls_per_article": {k: round(v / max(1, n), 2) for k, v in sorted(commands.items())
                                        if v >= n / 10},
            # the sites in the order the frontier drained them: (first, last) article, s from the first
            "max_in_flight_per_site": max(st["max_in_flight"] for st in site_stats),
            "sites_from_to": [(round(t[0] - times[0], 1), round(t[-1] - times[0], 1)) for t in per_site if t],
            "loadavg_1min": os.getloadavg()[0]}


def queue_memory(queued: int, work: Path) -> dict:
    """Redis memory per queued URL: one worker queues a ``queued``-URL sitemap and fetches
    one article at a time from a site answering after 5 s."""
    redis_server = Redis(work / "redis-mem")
    sites = Sites(queued, [5.0])
    log = open(work / "mem.log", "ab")
    try:
        # (the sample URLs are candidates of discovery by content, at most DISCOVERY_MAX_PAGES)
        writer = crawler("crawl", sites.urls[0] + "/", "--db", str(work / "mem.db"), "--redis", redis_server.url,
                         "--local-workers", "0", "-q", *settings(1), "--set", f"DISCOVERY_MAX_PAGES={queued}",
                         log=log)
        wait_for(lambda: redis_server.client.exists("crawler:run"), 120)
        before = redis_server.used_memory()
        worker = crawler("worker", "--redis", redis_server.url, "--log-level", "WARNING", log=log)
        wait_for(lambda: redis_server.client.exists("crawler:tasks")
                 and redis_server.client.xlen("crawler:tasks") >= queued, 300)
        time.sleep(1)
        after = redis_server.used_memory()
        tasks = redis_server.client.xlen("crawler:tasks")
        by_key = {k: redis_server.client.memory_usage(f"crawler:{k}", samples=0) or 0
                  for k in ("tasks", "seen", "listed")}
        for p in (worker, writer):
            p.send_signal(signal.SIGKILL)
            p.wait()
    finally:
        log.close()
        sites.close()
        redis_server.close()
    return {"queued": tasks, "used_memory_before": before, "used_memory_after": after,
            "bytes_per_queued_url": round((after - before) / tasks, 1),
            "bytes_per_queued_url_by_key": {k: round(v / tasks, 1) for k, v in by_key.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    p.add_argument("--delays", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--articles", type=int, default=30, help="articles per site")
    p.add_argument("--concurrency", type=int, default=2, help="CONCURRENT_REQUESTS of each worker")
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--per-domain", type=int, default=4,
                   help="CONCURRENT_REQUESTS_PER_DOMAIN, shared by all workers (the politeness limit)")
    p.add_argument("--queued", type=int, default=5000)
    a = p.parse_args(argv)
    if a.serve is not None:
        serve(a.serve, [float(d) for d in a.delays.split(",")])
        return 0
    counts = [int(w) for w in a.workers.split(",")]
    runs = []
    with tempfile.TemporaryDirectory(prefix="dist-bench-") as tmp:
        for r in range(a.rounds):
            order = counts if r % 2 == 0 else counts[::-1]
            for w in order:
                res = scaling_run(w, a.articles, a.concurrency, Path(tmp) / f"r{r}w{w}", a.per_domain)
                res["round"] = r
                print(json.dumps(res), flush=True)
                runs.append(res)
        memory = queue_memory(a.queued, Path(tmp)) if a.queued else None
    if memory:
        print(json.dumps(memory), flush=True)
    summary = {}
    for w in counts if runs else []:
        mine = [r for r in runs if r["workers"] == w]
        summary[w] = {k: statistics.median(r[k] for r in mine)
                      for k in ("rate", "rate_mid", "writer_cpu_ms_per_article", "workers_cpu_ms_per_article",
                                "workers_cpu_ms_per_article_mid")}
    base = summary.get(counts[0])
    for w in counts if base else []:
        summary[w]["vs_linear"] = round(summary[w]["rate"] / (base["rate"] * w / counts[0]), 2)
        summary[w]["vs_linear_mid"] = round(summary[w]["rate_mid"] / (base["rate_mid"] * w / counts[0]), 2)
    print(json.dumps({"summary": summary}, indent=1))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "distributed_scaling.json").write_text(json.dumps(
        {"args": vars(a), "runs": runs, "summary": summary, "queue_memory": memory,
         "loadavg_at_end": os.getloadavg()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
