"""`make demo`: serve the sample site on loopback, crawl it into ./archive.db, query it.

Every step is a real command a user could type; each is printed before it runs.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from samplesite import SampleSite, serve

DEMO_PORT = 8765  # a fixed port keeps URLs stable between demo runs when it is free
BIN = Path(sys.executable).parent


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def _run(*args: str) -> None:
    print(f"\n$ {shlex.join(args)}", flush=True)
    subprocess.run(args, check=True)


def main() -> int:
    db = os.environ.get("CRAWLER_DB", "archive.db")
    site = SampleSite(n_articles=int(os.environ.get("DEMO_ARTICLES", "60")))
    with serve(site, port=_free_port(DEMO_PORT)) as server:
        print(f"sample news site serving at {server.url}/ (loopback only)")
        print("(it has bad pages on purpose: a 404, a 500, an empty body and a PDF; the crawl "
              "records them and goes on)")
        # Politeness limits are lifted for our own loopback server only.
        # Through the bundled profile it mirrors, so the archive's site is `kazpravda` and
        # the README's examples (`--site kazpravda`) work on it as printed.
        _run(str(BIN / "crawler"), "crawl", "kazpravda", "--base-url", server.url + "/", "--db", db,
             "--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0",
             "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "--log-level", "WARNING")
    _run(str(BIN / "crawler"), "summary", "--db", db)
    _run(str(BIN / "sqlite-utils"), db,
         "select site, language, count(*) as articles, min(published_at) as first, "
         "max(published_at) as last from articles where duplicate_of is null "
         "group by site, language", "--table")
    _run(str(BIN / "sqlite-utils"), "search", db, "articles", "Мангистау",
         "-c", "url", "-c", "title", "-c", "published_at", "--table")
    print(f"\nThe archive is {db}; try: {BIN / 'crawler'} export --db {db} --format txt --out corpus.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
