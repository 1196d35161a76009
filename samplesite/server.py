"""Serve a SampleSite over HTTP on loopback (stdlib ThreadingHTTPServer in a daemon thread)."""

from __future__ import annotations

import gzip
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .generate import SampleSite

logger = logging.getLogger(__name__)

_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_COMPRESSIBLE = re.compile(r"^(?:text/|application/(?:xml|rss\+xml|json))")


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as crawlers expect from a real server.
    protocol_version = "HTTP/1.1"
    server_version = "SampleSite/1.0"
    sys_version = ""
    timeout = 60  # drop idle keep-alive connections eventually
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive response (90 pages/s instead of thousands).
    disable_nagle_algorithm = True
    server: "_Server"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        host = self.headers.get("Host", "")
        # Links use the request's own base URL, so the site works under any loopback port.
        base = f"http://{host}" if _HOST_HEADER.match(host) else self.server.url
        resp = self.server.site.render(self.path, base)
        body, headers = resp.body, dict(resp.headers)
        accepts_gzip = self.server.gzip and "gzip" in self.headers.get("Accept-Encoding", "").lower()
        if accepts_gzip and len(body) > 1024 and _COMPRESSIBLE.match(headers.get("Content-Type", "")):
            # level 1: the server shares the machine with the crawler it is measuring
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        self.send_response(resp.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        if self.server.verbose:
            logger.info("%s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, addr: tuple[str, int], site: SampleSite, verbose: bool, gzip: bool):
        super().__init__(addr, _Handler)
        self.site = site
        self.verbose = verbose
        self.gzip = gzip
        self.url = f"http://{self.server_address[0]}:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up mid-response are normal for crawlers; keep stderr quiet.
        logger.debug("connection error from %s", client_address, exc_info=True)


class SiteServer:
    """A running sample site; ``url`` is ``http://127.0.0.1:PORT`` (no trailing slash)."""

    def __init__(self, httpd: _Server):
        self._httpd = httpd
        self.url: str = httpd.url
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"samplesite {self.url}", daemon=True)
        self._thread.start()
        self._closed = False

    def close(self) -> None:
        """Stop serving, close the socket and join the server thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "SiteServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve(site: SampleSite, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False,
          gzip: bool = True) -> SiteServer:
    """Start serving ``site`` on host:port (port 0 picks a free one) in a daemon thread.

    ``verbose`` logs one line per request (logger ``samplesite.server``, INFO); ``gzip``
    compresses text responses for clients that send ``Accept-Encoding: gzip``.
    """
    return SiteServer(_Server((host, port), site, verbose, gzip))
