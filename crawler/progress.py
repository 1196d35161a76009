"""Progress of long work: a live per-site table on a terminal, a status line in logs.

:class:`CrawlProgress` is a Scrapy extension (``EXTENSIONS``) that reads the crawl's
stats and signals, so the spider and pipelines do not know about it. Per site it shows
discovered, queued, fetched, stored and errors, the fetch rate and, where the number
left is known (the requests already queued), an ETA. On a terminal (stderr is a TTY, or
``PROGRESS_LIVE = True``) it is a rich live table; otherwise one status line is logged
every ``PROGRESS_INTERVAL`` seconds. :func:`work_progress` does the same for a loop with a
known total (``crawler reextract``, ``crawler export``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

logger = logging.getLogger(__name__)

__all__ = ["CrawlProgress", "Rate", "format_eta", "work_progress"]

_STORED = ("new", "updated", "unchanged", "duplicate")


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Rate:
    """Items per second over the last ``window`` seconds of samples."""

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> float | None:
        now = self.clock()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        (t0, d0) = self.samples[0]
        if now - t0 <= 0:
            return None
        return (done - d0) / (now - t0)

    @staticmethod
    def eta(left: int, rate: float | None) -> float | None:
        if left <= 0:
            return 0.0
        return left / rate if rate else None


class CrawlProgress:
    """Per-site crawl progress from stats and signals; see the module docstring."""

    def __init__(self, crawler, interval: float, live: bool):
        self.crawler = crawler
        self.stats = crawler.stats
        self.interval = interval
        self.live_wanted = live
        self.queued: Counter[str] = Counter()
        self.fetched: Counter[str] = Counter()
        self.rates: dict[str, Rate] = {}
        self.total_rate = Rate()
        self.task = None
        self.live = None
        self._rerouted: list[tuple[logging.StreamHandler, object]] = []
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("PROGRESS_ENABLED", True):
            raise NotConfigured
        live = settings.get("PROGRESS_LIVE")
        live = sys.stderr.isatty() if live in (None, "", "auto") else settings.getbool("PROGRESS_LIVE")
        ext = cls(crawler, settings.getfloat("PROGRESS_INTERVAL", 30.0), live)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    # -- signals -------------------------------------------------------------------------

    @staticmethod
    def _article_site(request) -> str | None:
        # Article requests carry their site; discovery ones (sitemaps, feeds, listings)
        # also say how they discover.
        meta = request.meta
        return meta.get("site") if "discovery" not in meta else None

    def request_scheduled(self, request, spider=None):
        # A retry or a redirect is the same article again: counted once, when first queued.
        meta = request.meta
        if (site := self._article_site(request)) and not (meta.get("retry_times") or meta.get("redirect_times")):
            self.queued[site] += 1

    def response_received(self, response, request, spider=None):
        if site := self._article_site(request):
            self.fetched[site] += 1

    def spider_opened(self, spider=None):
        self._stderr_before = sys.stderr
        if self.live_wanted:
            from rich.console import Console
            from rich.live import Live

            self.live = Live(self.table(), console=Console(stderr=True), refresh_per_second=2,
                             transient=False)
            self.live.start()
            self._route_logs_above_the_table()
            period = 1.0
        else:
            period = self.interval
        self.task = create_looping_call(self.tick)
        self.task.start(period, now=False)

    def spider_closed(self, spider=None, reason=None):
        if self.task is not None and self.task.running:
            self.task.stop()
        if self.live is not None:
            self.live.update(self.table())
            self.live.stop()
            self.live = None
            for handler, stream in self._rerouted:
                handler.setStream(stream)
            self._rerouted = []
        else:
            logger.info("progress (final): %s", self.status_line())

    def _route_logs_above_the_table(self) -> None:
        # Log handlers made before the table hold the real stderr and would write through
        # it; rich's stand-in for sys.stderr prints their lines above the table instead.
        real = {id(sys.__stderr__), id(getattr(self, "_stderr_before", None))}
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) \
                    and id(handler.stream) in real:
                self._rerouted.append((handler, handler.setStream(sys.stderr)))

    # -- figures ---------------------------------------------------------------------------

    def rows(self) -> list[dict]:
        """One dict per site: discovered, queued, fetched, stored, errors, rate, eta."""
        stats = self.stats.get_stats()
        sites = set(self.queued) | set(self.fetched)
        for key in stats:
            parts = key.split("/")
            if len(parts) == 4 and parts[1] == "site" and parts[0] in ("discovery", "archive"):
                sites.add(parts[2])
        rows = []
        for site in sorted(sites):
            stored = sum(stats.get(f"archive/site/{site}/{o}", 0) for o in _STORED)
            errors = stats.get(f"archive/site/{site}/errors", 0)
            fetched = self.fetched[site]
            # Every queued article ends stored, as an error or (a candidate of discovery by
            # content) as no article, once: that is what is left.
            done = stored + errors + stats.get(f"archive/site/{site}/not_article", 0)
            rate = self.rates.setdefault(site, Rate()).update(done)
            discovered = stats.get(f"discovery/site/{site}/discovered", 0)
            known = (stats.get(f"discovery/site/{site}/skipped_known", 0)
                     + stats.get(f"discovery/site/{site}/skipped_visited", 0))
            # Delayed retries may pass the scheduler again: never more than were found.
            queued = min(self.queued[site], max(discovered - known, 0)) if discovered else self.queued[site]
            left = max(queued - done, 0)
            rows.append({
                "site": site,
                "discovered": discovered,
                "known": known,
                "queued": queued,
                "fetched": fetched,
                "stored": stored,
                "errors": errors,
                "done": done,
                "rate": rate,
                "left": left,
                "eta": Rate.eta(left, rate),
            })
        return rows

    def status_line(self) -> str:
        rows = self.rows()
        total_fetched = sum(r["fetched"] for r in rows)
        rate = self.total_rate.update(sum(r["done"] for r in rows))
        left = sum(r["left"] for r in rows)
        head = (f"{total_fetched} fetched, {sum(r['stored'] for r in rows)} stored, "
                f"{sum(r['errors'] for r in rows)} errors, {left} queued"
                f" ({(rate or 0) * 60:.0f}/min, ETA {format_eta(Rate.eta(left, rate))})")
        per_site = "; ".join(
            f"{r['site']}: {r['discovered']} discovered, {r['queued']} queued, {r['fetched']} fetched, "
            f"{r['stored']} stored, {r['errors']} errors" for r in rows)
        return head + (" | " + per_site if per_site else "")

    def table(self):
        from rich.table import Table

        elapsed = time.monotonic() - self.started
        table = Table(title=f"crawl progress ({format_eta(elapsed)} elapsed)", title_justify="left")
        for name in ("site", "discovered", "queued", "fetched", "stored", "errors", "rate/min", "ETA"):
            table.add_column(name, justify="left" if name == "site" else "right")
        for r in self.rows():
            table.add_row(r["site"], str(r["discovered"]), str(r["queued"]), str(r["fetched"]),
                          str(r["stored"]), str(r["errors"]), f"{(r['rate'] or 0) * 60:.0f}",
                          format_eta(r["eta"]))
        return table

    def tick(self):
        try:
            if self.live is not None:
                self.live.update(self.table())
            else:
                logger.info("progress: %s", self.status_line())
        except Exception:  # a display problem must never stop a crawl
            logger.exception("progress display failed")


def _stderr_line(text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    print(f"{stamp} {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def work_progress(label: str, total: int | None, *, live: bool | None = None, interval: float = 30.0,
                  write: Callable[[str], None] = _stderr_line) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)`` for a loop of ``total`` steps: a rich bar on a terminal, else a
    timestamped status line (done, rate, ETA) at most every ``interval`` seconds, written
    to stderr (these commands have no log of their own); a run shorter than ``interval``
    prints nothing."""
    live = sys.stderr.isatty() if live is None else live
    if live:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True)) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n=1: bar.advance(task, n)
        return
    done = 0
    lines = 0
    rate = Rate(clock=time.monotonic)
    last = time.monotonic()

    def advance(n: int = 1) -> None:
        nonlocal done, last, lines
        done += n
        now = time.monotonic()
        if now - last >= interval:
            last = now
            lines += 1
            per_second = rate.update(done)
            left = (total - done) if total is not None else None
            eta = format_eta(Rate.eta(left, per_second)) if left is not None else "–"
            of = f"/{total}" if total is not None else ""
            write(f"{label}: {done}{of} done ({(per_second or 0) * 60:.0f}/min, ETA {eta})")

    rate.update(0)
    yield advance
    if lines:
        write(f"{label}: {done}{'/' + str(total) if total is not None else ''} done")
