"""Middlewares: retries that respect the server, per-site politeness, wary discovery.

:class:`PoliteRetryMiddleware` replaces Scrapy's RetryMiddleware (same settings, same
``retry_times`` bookkeeping) and adds:

* ``Retry-After`` on 429 and 503 (seconds or an HTTP-date) is honoured: the retry waits that
  long, and so does every other request to the same download slot (host), because the
  server asked *us* to come back later, not just for this one URL.  A wait longer than
  ``RETRY_AFTER_MAX`` seconds is not worth holding a cron run for: the request is given up
  at once and the response passes on with a note for ``pages.error``.
* Other retries (5xx, timeouts, connection errors) wait ``RETRY_BACKOFF_BASE * 2**(n-1)``
  seconds before the n-th retry, at most ``RETRY_BACKOFF_MAX``.
* A site profile's ``[settings]`` table may set ``RETRY_TIMES``, ``RETRY_AFTER_MAX`` and
  ``RETRY_BACKOFF_BASE`` for that site alone (its ``DOWNLOAD_DELAY`` and
  ``CONCURRENT_REQUESTS_PER_DOMAIN`` are ``DOWNLOAD_SLOTS``, see :mod:`crawler.site_settings`).
  A profile's ``DOWNLOAD_DELAY`` is a fixed delay: AutoThrottle does not move it.

Waiting is ``await``-ed on the reactor's event loop, never ``time.sleep``: other sites and
other requests go on meanwhile.

:class:`DiscoveryCheckMiddleware` (a spider middleware) looks at every sitemap and feed before
the spider parses it: a gzip file inflating beyond ``DOWNLOAD_MAXSIZE`` is refused (the
request's errback records it), a document declaring entities or an external DTD, or one that
is not well-formed XML, is reported and counted as a discovery error (a sitemap's
well-formedness by the spider's own streamed parse, as it reads it).  The parsers used later
never expand entities nor touch the network, so what can still be read is used.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from io import BytesIO
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from lxml import etree
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.asyncio import call_later, sleep
from scrapy.utils.response import response_status_message

from crawler.profiles import crawl_profiles
from crawler.site_settings import site_settings

logger = logging.getLogger(__name__)

# Statuses whose Retry-After header means "come back after this long" (RFC 9110 10.2.3).
RETRY_AFTER_STATUSES = (429, 503)
# Where the spider finds why a retried response was finally passed on.
RETRY_NOTE = "retry_note"
# Exceptions that Scrapy raises without a message, explained for pages.error.
_SILENT_FAILURES = {
    "DownloadCancelledError": "download cancelled: the body grew over DOWNLOAD_MAXSIZE",
    "ResponseDataLossError": "the connection closed before the whole body arrived",
    "ConnectionLost": "the connection was lost",
    "ConnectionDone": "the server closed the connection",
}


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header value (delta-seconds or HTTP-date).

    None when absent or unreadable; 0 for a date in the past.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(retry_number: int, base: float, cap: float) -> float:
    """Wait before the ``retry_number``-th retry (1, 2, ...): base, 2*base, 4*base, ... <= cap."""
    if base <= 0:
        return 0.0
    return min(cap, base * 2 ** max(0, retry_number - 1))


class PoliteRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        # download slot -> time.monotonic() before which no request of that slot may go out
        self._paused_until: dict[str, float] = {}
        # download slot -> its (delay, jitter) while a Retry-After pause holds it
        self._held_delays: dict[str, tuple[float, float]] = {}
        self.profiles = crawl_profiles(settings)
        self._site_settings: dict[str, dict] = {}
        for name, profile in self.profiles.items():
            applied, _ = site_settings(profile)
            if applied:
                self._site_settings[name] = applied

    # -- per-site settings -------------------------------------------------------------

    def _site_of(self, request) -> str | None:
        site = request.meta.get("site")
        if site:
            return site
        for name, profile in self.profiles.items():
            if profile.owns(request.url):
                return name
        return None

    def _setting(self, request, key: str, default):
        site = self._site_of(request)
        value = self._site_settings.get(site, {}).get(key) if site else None
        return default if value is None else type(default)(value)

    # -- the middleware hooks ------------------------------------------------------------

    async def process_request(self, request):
        slot = self.crawler.engine.downloader.get_slot_key(request)
        if "DOWNLOAD_DELAY" in self._site_settings.get(self._site_of(request), {}):
            # The profile's delay is fixed for that site: AutoThrottle would lower it.
            request.meta.setdefault("autothrottle_dont_adjust_delay", True)
        if "max_retry_times" not in request.meta:
            site_retries = self._setting(request, "RETRY_TIMES", -1)
            if site_retries >= 0:
                request.meta["max_retry_times"] = site_retries
        wait = self._paused_until.get(slot, 0.0) - time.monotonic()
        if wait > 0:
            logger.debug("holding %s for %.1f s (Retry-After of %s)", request.url, wait, slot)
            await sleep(wait)
        return None

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        reason = response_status_message(response.status)
        retry_after = None
        if response.status in RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        cap = self._setting(request, "RETRY_AFTER_MAX", self.retry_after_max)
        if retry_after is not None and retry_after > cap:
            note = f"Retry-After {retry_after:.0f} s is over RETRY_AFTER_MAX {cap:.0f} s; gave up"
            logger.warning("giving up %s: HTTP %s, %s", request.url, response.status, note)
            self.crawler.stats.inc_value("retry/retry_after_over_max")
            request.meta[RETRY_NOTE] = note
            return response
        new = self._retry(request, reason)
        if new is None:
            tries = request.meta.get("retry_times", 0) + 1
            request.meta[RETRY_NOTE] = f"gave up after {tries} attempts"
            return response
        if retry_after is not None:
            delay = retry_after
            self._pause_slot(request, delay)
            self.crawler.stats.inc_value("retry/retry_after_honoured")
        else:
            delay = self._backoff(request, new)
        await self._wait(request, delay, reason)
        return new

    async def process_exception(self, request, exception):
        new = super().process_exception(request, exception)
        if new is None:
            if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry"):
                tries = request.meta.get("retry_times", 0) + 1
                request.meta[RETRY_NOTE] = f"gave up after {tries} attempts"
            return None
        await self._wait(request, self._backoff(request, new), type(exception).__name__)
        return new

    # -- helpers ---------------------------------------------------------------------------

    def _backoff(self, request, new) -> float:
        base = self._setting(request, "RETRY_BACKOFF_BASE", self.backoff_base)
        return backoff_delay(new.meta.get("retry_times", 1), base, self.backoff_max)

    def _pause_slot(self, request, delay: float) -> None:
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        until = max(time.monotonic() + delay, self._paused_until.get(key, 0.0))
        self._paused_until[key] = until
        slot = downloader.slots.get(key)
        if slot is None:
            return
        # Requests of this site already past process_request wait in the slot's queue. The
        # downloader sends the next one `slot.delay` seconds after the last (`slot.lastseen`,
        # time.monotonic), so a delay that reaches `until` holds the whole site; the slot's own
        # delay and jitter come back when the pause ends.
        self._held_delays.setdefault(key, (slot.delay, slot.jitter))
        slot.delay = max(slot.delay, until - slot.lastseen)
        slot.jitter = 0
        call_later(until - time.monotonic(), self._end_pause, key)

    def _end_pause(self, key: str) -> None:
        if time.monotonic() < self._paused_until.get(key, 0.0) - 0.001:
            return  # extended by a later Retry-After; its own call ends it
        held = self._held_delays.pop(key, None)
        slot = self.crawler.engine.downloader.slots.get(key)
        if held is not None and slot is not None:
            slot.delay, slot.jitter = held

    async def _wait(self, request, delay: float, reason: str) -> None:
        if delay <= 0:
            return
        logger.info("retrying %s in %.1f s (%s)", request.url, delay, reason)
        self.crawler.stats.inc_value("retry/wait_seconds", delay)
        await sleep(delay)


def describe_failure(failure) -> str:
    """``Type: message (retry note)`` for a failed request, never an empty message."""
    name = failure.type.__name__
    response = getattr(failure.value, "response", None)
    status = getattr(response, "status", 0)
    if 300 <= status < 400 and response is not None:
        # Scrapy's redirect middleware passes on a redirect it will not follow (a Location
        # that is not http(s)): say so instead of "Ignoring non-200 response".
        location = (response.headers.get("Location") or b"").decode("latin-1")
        return f"offsite redirect: HTTP {status} to {location or '(no Location)'} not followed (only http(s))"
    message = (failure.getErrorMessage() or "").strip() or _SILENT_FAILURES.get(name, "no details")
    request = getattr(failure, "request", None)
    note = request.meta.get(RETRY_NOTE) if request is not None else None
    return f"{name}: {message}" + (f" ({note})" if note else "")


# -- discovery documents ---------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b\x08"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_EXTERNAL_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\b(?:SYSTEM|PUBLIC)\b", re.I)


class HostileDocument(Exception):
    """A sitemap or feed refused before parsing (e.g. a gzip bomb)."""


def inflate_capped(data: bytes, max_size: int) -> bytes:
    """Gunzip ``data``; raise HostileDocument as soon as the output passes ``max_size`` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = BytesIO()
    pending = data
    while pending:
        # max_length bounds every step, so a bomb never holds more than max_size + 1 MiB
        chunk = inflater.decompress(pending, 1 << 20)
        out.write(chunk)
        if max_size and out.tell() > max_size:
            raise HostileDocument(f"gzip body inflates beyond DOWNLOAD_MAXSIZE ({max_size} bytes) "
                                  f"from {len(data)} bytes: refused")
        pending = inflater.unconsumed_tail
        if not chunk and not pending:
            break
    return out.getvalue()


def xml_problems(body: bytes, *, parse: bool = True) -> list[str]:
    """What is wrong with an XML discovery document: entities, external DTD, not well-formed
    (that last one only with ``parse``: it reads the whole document)."""
    problems = []
    head = body[:65536]
    if _ENTITY_DECL.search(head):
        problems.append("declares XML entities (not expanded)")
    if _EXTERNAL_DTD.search(head):
        problems.append("refers to an external DTD (not loaded)")
    if not parse:
        return problems
    try:
        # A streaming parse with the same safety as the real parsers, just to find errors.
        for _, element in etree.iterparse(BytesIO(body), events=("end",), resolve_entities=False,
                                          no_network=True, load_dtd=False, huge_tree=False):
            element.clear()
    except etree.XMLSyntaxError as exc:
        problems.append(f"not well-formed XML ({exc.msg})")
    return problems


def report_xml_problems(crawler, kind: str, url: str, problems: list[str]) -> None:
    """One warning and the discovery error counts for a hostile or broken document."""
    stats = crawler.stats
    stats.inc_value("discovery/errors")
    stats.inc_value("discovery/hostile_documents")
    logger.warning("%s %s %s; using what could be read safely", kind, url, ", ".join(problems))


class DiscoveryCheckMiddleware:
    """Spider middleware: check sitemaps and feeds (``meta['discovery']``) before parsing."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_input(self, response) -> None:
        kind = response.meta.get("discovery")
        if kind not in ("sitemap", "feed") or response.url.endswith("/robots.txt"):
            return None
        body = response.body
        if body[:3] == _GZIP_MAGIC:
            max_size = response.meta.get("download_maxsize", self.max_size)
            body = inflate_capped(body, max_size)  # HostileDocument goes to the errback
        if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<":
            return None  # not XML at all: the spider's own checks report it
        if kind == "sitemap":
            # Checked by the spider's own streamed parse (SitemapStream.problems): a second
            # full parse here, before it, would hold back the first article requests and
            # double the parsing of every sitemap.
            return None
        problems = xml_problems(body)
        if problems:
            report_xml_problems(self.crawler, kind, response.url, problems)
        return None
