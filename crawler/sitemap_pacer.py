"""When to fetch the next sitemap of a sitemap index: per site, as its queue drains.

A large site's index lists hundreds of sitemaps of thousands of URLs each.  Fetched all at
once (Scrapy's SitemapSpider does), every article request of the site waits in the
scheduler together.  The pacer holds the sitemaps of each site and hands out the next one
only when none of the site's sitemaps is being fetched and fewer than ``below`` of its
article requests are still waiting for an answer, so memory holds about one sitemap's
requests.  ``below=0`` hands every sitemap out at once.

It only counts: the spider tells it what was scheduled, answered and fetched, and sends
what :meth:`SitemapPacer.release` returns.  No clock, no Scrapy.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from typing import Any

__all__ = ["SitemapPacer"]


class SitemapPacer:
    def __init__(self, below: int = 32, limit: int = 0):
        self.below = max(0, int(below))
        self.limit = max(0, int(limit))  # article requests per site, 0 = no limit
        self._held: defaultdict[str, deque[Any]] = defaultdict(deque)
        self._busy: set[str] = set()
        self._urls: set[str] = set()
        self._scheduled: Counter[str] = Counter()
        self._answered: Counter[str] = Counter()
        self.skipped_over_limit = 0  # held sitemaps dropped: their site reached the limit

    # -- what the spider reports -----------------------------------------------------------

    def known(self, url: str) -> bool:
        """Record a sitemap URL; False when it was seen before (listed twice, or an index
        listing itself)."""
        if url in self._urls:
            return False
        self._urls.add(url)
        return True

    def scheduled(self, site: str) -> None:
        """An article request of ``site`` went to the scheduler."""
        self._scheduled[site] += 1

    def answered(self, site: str) -> None:
        """An article request of ``site`` got its response or its failure."""
        self._answered[site] += 1

    def fetched(self, site: str) -> None:
        """A held sitemap of ``site`` came back (parsed or failed)."""
        self._busy.discard(site)

    def hold(self, site: str, request: Any) -> bool:
        """Keep a sitemap request of ``site`` until :meth:`release` hands it out; False
        (and not held) for a URL already known."""
        if not self.known(request.url):
            return False
        self._held[site].append(request)
        return True

    # -- what the spider asks ----------------------------------------------------------------

    def waiting(self, site: str) -> int:
        """Article requests of ``site`` scheduled and not answered yet."""
        return self._scheduled[site] - self._answered[site]

    def count(self, site: str) -> int:
        """Article requests of ``site`` scheduled so far."""
        return self._scheduled[site]

    def held(self, site: str) -> int:
        return len(self._held.get(site, ()))

    def release(self, site: str, force: bool = False) -> list:
        """The requests of ``site`` to send now: its next held sitemap when none is being
        fetched and its queue runs low (``force``: whatever the queue), all of them with
        ``below=0``, none once the site has its ``limit`` of article requests."""
        held = self._held.get(site)
        if not held or site in self._busy:
            return []
        if self.limit and self._scheduled[site] >= self.limit:
            self.skipped_over_limit += len(held)
            held.clear()
            return []
        if not self.below:
            out = list(held)
            held.clear()
            return out
        if force or self.waiting(site) < self.below:
            self._busy.add(site)
            return [held.popleft()]
        return []

    def release_idle(self) -> list:
        """Nothing else left to fetch: the next held sitemap of every site, whatever the
        counts say (a request lost without a callback leaves a site busy or its count high)."""
        out = []
        for site in list(self._held):
            self._busy.discard(site)
            out.extend(self.release(site, force=True))
        return out
