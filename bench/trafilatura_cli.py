"""Run trafilatura's own command line with one host name pointing at loopback.

    python -m bench.trafilatura_cli HOSTNAME [trafilatura arguments...]

trafilatura's sitemap and crawl modes refuse a site given by IP address (courlan finds no
domain in ``127.0.0.1`` and the discovery stops with "invalid URL"), and the benchmark may
not touch /etc/hosts or any DNS.  So this wrapper resolves HOSTNAME (e.g.
``samplesite.test``) to 127.0.0.1 inside this process only, then hands over to
``trafilatura.cli.main`` unchanged.  The sample site writes its links with the Host header
it was asked for, so every URL trafilatura sees stays on that name.
"""

from __future__ import annotations

import socket
import sys


def main() -> None:
    alias = sys.argv.pop(1)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host == alias else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    from trafilatura.cli import main as trafilatura_main

    sys.argv[0] = "trafilatura"
    trafilatura_main()


if __name__ == "__main__":
    main()
