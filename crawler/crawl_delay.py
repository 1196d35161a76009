"""robots.txt ``Crawl-delay`` on one machine: the seconds a site asks between two requests.

Scrapy's RobotsTxtMiddleware obeys ``Disallow`` but never applies ``Crawl-delay``.
:class:`CrawlDelayMiddleware` reads it from every robots.txt response that passes through the
downloader (RobotsTxtMiddleware's own fetch and the spider's, decompressed, hence its place
below HttpCompressionMiddleware) and holds the site's download slot (its host name) to it:
the slot's delay becomes the larger of the Crawl-delay and the delay it has (DOWNLOAD_DELAY,
the profile's DOWNLOAD_SLOTS delay, or AutoThrottle's), without jitter below it, because a
Crawl-delay is a minimum. AutoThrottle may lower a slot's delay after every response and
Scrapy drops idle slots after a minute, so the delay is set again whenever a request reaches
the downloader (``request_reached_downloader``) and after every response
(``response_downloaded``, after AutoThrottle's own handler, connected earlier).

A Crawl-delay above ``ROBOTSTXT_CRAWL_DELAY_MAX`` seconds is cut to it, with one log line per
site: a hostile ``Crawl-delay: 86400`` would otherwise hold a cron crawl for a day per page.
The distributed mode applies the same capped delay to all workers together through Redis
(:mod:`crawler.distributed`), so politeness is the same on one machine and on many.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


def is_robots_txt(request, response) -> bool:
    return urlsplit(request.url).path == "/robots.txt" and response.status == 200


def robots_crawl_delay(body: str | bytes, user_agent: str) -> float | None:
    """The Crawl-delay robots.txt gives ``user_agent`` (its group, else ``*``), or None."""
    from protego import Protego

    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        delay = Protego.parse(body).crawl_delay(user_agent)
    except Exception:  # unreadable robots.txt: RobotsTxtMiddleware reports it
        return None
    return float(delay) if delay else None


def capped_crawl_delay(delay: float, cap: float, site: str, *, say: bool = True) -> float:
    """``delay`` cut to ``cap`` (0: no cap), saying so (``say``) for the site."""
    if cap > 0 and delay > cap:
        if say:
            logger.warning("robots.txt of %s asks Crawl-delay %g s; held to ROBOTSTXT_CRAWL_DELAY_MAX %g s",
                           site, delay, cap)
        return cap
    return delay


def robots_user_agent(settings) -> str:
    return settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or "*"


class CrawlDelayMiddleware:
    """Downloader middleware: a site's robots.txt Crawl-delay holds its download slot."""

    def __init__(self, crawler):
        s = crawler.settings
        if not s.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        self.user_agent = robots_user_agent(s)
        self.cap = s.getfloat("ROBOTSTXT_CRAWL_DELAY_MAX")
        self.delays: dict[str, float] = {}  # download slot -> Crawl-delay (capped)
        crawler.signals.connect(self._hold, signal=signals.request_reached_downloader)
        crawler.signals.connect(self._hold, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if not is_robots_txt(request, response):
            return response
        delay = robots_crawl_delay(response.body, self.user_agent)
        if delay:
            slot = self.crawler.engine.downloader.get_slot_key(request)
            first = slot not in self.delays
            self.delays[slot] = delay = capped_crawl_delay(delay, self.cap, slot, say=first)
            if first:
                logger.info("robots.txt of %s: Crawl-delay %g s", slot, delay)
                self.crawler.stats.set_value(f"robotstxt/crawl_delay/{slot}", delay)
            self._hold(request)
        return response

    def _hold(self, request, **_) -> None:
        if not self.delays:
            return
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        delay = self.delays.get(key)
        slot = downloader.slots.get(key)
        if delay is None or slot is None:
            return
        if slot.delay < delay:
            slot.delay = delay
        if slot.jitter and slot.delay * (1 - slot.jitter) < delay:
            slot.jitter = 0  # Scrapy's jitter would go below the minimum the site asked for
