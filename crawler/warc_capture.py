"""Write every HTTP exchange of a crawl into gzip'd WARC 1.1 files (``crawler crawl --warc DIR``).

:class:`WarcCaptureMiddleware` is a downloader middleware ordered above every response-side
middleware of Scrapy (HttpCompressionMiddleware is 590, RedirectMiddleware 600,
DownloaderStats 850): it sees each response as the download handler returned it, body still
compressed, ``Content-Encoding`` still present, and 3xx and retried responses too, before
they are followed or retried. Each response becomes a request, a response and a metadata
record (the site and role the spider gave it, for ``crawler import``); the response record's
file, offset and length go into ``request.meta`` (:data:`META_KEY`), and
:class:`WarcLinkMiddleware` (a spider middleware) copies them onto the page item, so that the
archive's ``pages`` row points at its record.

Scrapy hands over the body with any chunked transfer coding already removed, so
``Transfer-Encoding`` is kept under ``X-Archive-Orig-Transfer-Encoding`` (the name pywb uses)
instead of describing framing the record does not have.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
from datetime import datetime, timezone
from http import HTTPStatus

from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler import __version__

logger = logging.getLogger(__name__)

META_KEY = "warc_record"
DEFAULT_MAX_SIZE = 1_000_000_000


def _warc_date(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class RotatingWarcWriter:
    """Gzip'd WARC 1.1 files in ``directory``, a new one once a file passes ``max_size`` bytes.

    Each record is its own gzip member (the WARC convention), so a record can be read by
    seeking to its offset. :meth:`write` returns ``(path, offset, length)`` of every record.
    """

    def __init__(self, directory: str, max_size: int = DEFAULT_MAX_SIZE, prefix: str = "crawl"):
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.max_size = max_size
        self.prefix = prefix
        self._serial = 0
        self._file = None
        self._writer: WARCWriter | None = None
        self.path: str | None = None
        self.files: list[str] = []
        self.bytes_written = 0
        self._lock = threading.Lock()
        # Building a record needs only the writer's helpers, not its file.
        self._builder = WARCWriter(io.BytesIO(), gzip=True, warc_version="1.1")

    def _open(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        while True:
            self._serial += 1
            name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._serial:05d}.warc.gz"
            path = os.path.join(self.directory, name)
            if not os.path.exists(path):
                break
        # "xb": a file of an earlier run is never overwritten.
        self._file = open(path, "xb")
        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        self.path = path
        self.files.append(path)
        info = self._writer.create_warcinfo_record(name, {
            "software": f"news-archive-crawler/{__version__} (warcio)",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
        })
        self._writer.write_record(info)

    def write(self, records) -> list[tuple[str, int, int]]:
        """Write ``records`` (warcio records) together in one file; their locations."""
        with self._lock:
            if self._file is None or self._file.tell() >= self.max_size:
                self.close_file()
                self._open()
            where = []
            for record in records:
                start = self._file.tell()
                self._writer.write_record(record)
                end = self._file.tell()
                self.bytes_written += end - start
                where.append((self.path, start, end - start))
            return where

    def record(self, uri, record_type, payload: bytes, **kw):
        """A warcio record (not yet written) with ``payload`` as its block or HTTP payload."""
        return self._builder.create_warc_record(
            uri, record_type, payload=io.BytesIO(payload), length=len(payload), **kw)

    def close_file(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            self._writer = None

    def close(self) -> None:
        with self._lock:
            self.close_file()


def _header_pairs(headers) -> list[tuple[str, str]]:
    """Scrapy Headers -> (name, value) text pairs, every value of a repeated header kept."""
    pairs = []
    for name, values in headers.items():
        key = name.decode("latin-1")
        if key.lower() == "transfer-encoding":
            key = "X-Archive-Orig-Transfer-Encoding"
        for value in values:
            pairs.append((key, value.decode("latin-1")))
    return pairs


def _request_target(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class WarcCaptureMiddleware:
    """Downloader middleware writing each exchange as it came off the wire (see module doc)."""

    def __init__(self, crawler, directory: str, max_size: int):
        self.crawler = crawler
        self.writer = RotatingWarcWriter(directory, max_size)
        self.stats = crawler.stats
        from scrapy import signals

        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        directory = s.get("WARC_DIR")
        if not directory:
            raise NotConfigured("WARC_DIR not set")
        return cls(crawler, directory, s.getint("WARC_MAX_SIZE", DEFAULT_MAX_SIZE))

    def process_response(self, request, response):
        try:
            self._capture(request, response)
        except Exception:  # the crawl goes on; the count tells the record is missing
            self.stats.inc_value("warc/errors")
            logger.exception("could not write WARC records for %s", response.url)
        return response

    def _capture(self, request, response) -> None:
        w = self.writer
        now = datetime.now(timezone.utc)
        date = _warc_date(now)
        protocol = (getattr(response, "protocol", None) or "HTTP/1.1").upper()
        if not protocol.startswith("HTTP/"):
            protocol = "HTTP/1.1"
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        http = StatusAndHeaders(f"{response.status} {reason}".strip(), _header_pairs(response.headers),
                                protocol=protocol)
        ip = response.ip_address
        warc_headers = {"WARC-Date": date}
        if ip is not None:
            warc_headers["WARC-IP-Address"] = str(ip)
        resp = w.record(response.url, "response", response.body, http_headers=http,
                        warc_headers_dict=dict(warc_headers))
        resp_id = resp.rec_headers.get_header("WARC-Record-ID")
        req_http = StatusAndHeaders(f"{request.method} {_request_target(request.url)} {protocol}",
                                    _header_pairs(request.headers), is_http_request=True)
        req = w.record(request.url, "request", request.body or b"", http_headers=req_http,
                       warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": resp_id})
        meta = request.meta
        role = "article" if "site" in meta and "discovery" not in meta else "discovery"
        lines = [f"role: {role}"]
        if meta.get("site"):
            lines.append(f"site: {meta['site']}")
        if meta.get("classify"):  # a discovery candidate: the page itself decides (classify_page)
            lines.append("classify: true")
        if meta.get("download_latency") is not None:
            lines.append(f"fetchTimeMs: {int(meta['download_latency'] * 1000)}")
        info = w.record(response.url, "metadata", ("\n".join(lines) + "\n").encode("utf-8"),
                        warc_content_type="application/warc-fields",
                        warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": resp_id})
        where = w.write([resp, req, info])
        meta[META_KEY] = where[0]
        self.stats.inc_value("warc/records", 3)
        self.stats.set_value("warc/bytes", w.bytes_written)
        self.stats.set_value("warc/files", len(w.files))

    def spider_closed(self, spider):
        self.writer.close()
        logger.info("WARC: %d file(s), %d bytes in %s", len(self.writer.files), self.writer.bytes_written,
                    self.writer.directory)


class WarcLinkMiddleware:
    """Spider middleware: give each page item the location of its response's WARC record."""

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("WARC_DIR"):
            raise NotConfigured("WARC_DIR not set")
        return cls()

    @staticmethod
    def _link(response, item):
        where = response.meta.get(META_KEY)
        if where is not None and hasattr(item, "warc"):
            item.warc = where
        return item

    def process_spider_output(self, response, result):
        for item in result:
            yield self._link(response, item)

    async def process_spider_output_async(self, response, result):
        async for item in result:
            yield self._link(response, item)
