"""``python -m samplesite --articles N --port P [--seed S] [--page-kb K]``: serve in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .generate import SampleSite
from .server import serve


def main(argv: list[str] | None = None) -> int:
    """Serve a sample site until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m samplesite", description=__doc__)
    parser.add_argument("--articles", type=int, default=60, help="ordinary Russian stories (default 60)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--page-kb", type=int, default=0, help="pad article pages to about K KB (default: natural)")
    parser.add_argument("--no-gzip", action="store_true", help="never gzip responses")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    site = SampleSite(n_articles=args.articles, seed=args.seed, page_kb=args.page_kb)
    stop = threading.Event()
    # A handler, not KeyboardInterrupt: the signal may land anywhere, even while the
    # server is still starting, and must always end in a clean shutdown.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with serve(site, host=args.host, port=args.port, verbose=args.verbose, gzip=not args.no_gzip) as server:
        print(f"{server.url}/  ({args.articles} articles, seed {args.seed}; Ctrl-C stops)", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
