"""Per-site settings from the profiles' ``[settings]`` tables, worked out once per crawl.

A profile may set ``DOWNLOAD_DELAY``, ``CONCURRENT_REQUESTS_PER_DOMAIN``, ``RETRY_TIMES``,
``RETRY_AFTER_MAX`` and ``RETRY_BACKOFF_BASE`` for its site alone.  The first two become
Scrapy's own ``DOWNLOAD_SLOTS`` entries for the site's hosts, set by the
:class:`SiteSlotsAddon` add-on before the crawl's settings are frozen; the retry ones are
read per request by :class:`crawler.middlewares.PoliteRetryMiddleware`.  Anything else in the
table is reported, not silently ignored.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from crawler.profiles import SiteProfile, crawl_profiles

logger = logging.getLogger(__name__)

# Profile [settings] keys applied per site; anything else in the table is global at best.
PER_SITE_SETTINGS = ("DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN", "RETRY_TIMES",
                     "RETRY_AFTER_MAX", "RETRY_BACKOFF_BASE")


def site_settings(profile: SiteProfile) -> tuple[dict, list[str]]:
    """``(applied per site, not applicable per site)`` of the profile's [settings]."""
    given = dict(profile.settings or {})
    applied = {k: given.pop(k) for k in PER_SITE_SETTINGS if k in given}
    return applied, sorted(given)


def profile_hosts(profile: SiteProfile) -> list[str]:
    """The host names the site's requests go to: its domains (bare and www.) and the hosts
    of its start URLs, sitemaps and feeds."""
    hosts = set()
    for domain in profile.allowed_domains:
        hosts.update((domain, "www." + domain))
    for url in (*profile.start_urls, *profile.sitemaps, *profile.feeds):
        if host := urlsplit(url).hostname:
            hosts.add(host.lower())
    return sorted(hosts)


def download_slots(profiles: dict[str, SiteProfile]) -> dict[str, dict]:
    """``DOWNLOAD_SLOTS`` entries (download slot = host name) of the profiles' delays and
    concurrencies."""
    slots: dict[str, dict] = {}
    for profile in profiles.values():
        applied, _ = site_settings(profile)
        slot = {}
        if "DOWNLOAD_DELAY" in applied:
            slot["delay"] = float(applied["DOWNLOAD_DELAY"])
        if "CONCURRENT_REQUESTS_PER_DOMAIN" in applied:
            slot["concurrency"] = int(applied["CONCURRENT_REQUESTS_PER_DOMAIN"])
        if slot:
            for host in profile_hosts(profile):
                slots[host] = dict(slot)
    return slots


class SiteSlotsAddon:
    """Scrapy add-on: the profiles' delays and concurrencies as ``DOWNLOAD_SLOTS``."""

    def __init__(self, crawler=None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def update_settings(self, settings) -> None:
        profiles = crawl_profiles(settings)
        for name, profile in profiles.items():
            applied, ignored = site_settings(profile)
            if ignored:
                logger.warning("profile %s: settings %s are not applied per site (give them "
                               "with --set for the whole run)", name, ", ".join(ignored))
            if applied:
                logger.info("profile %s: per-site settings %s", name, applied)
        slots = download_slots(profiles)
        if slots:
            merged = {**slots, **settings.getdict("DOWNLOAD_SLOTS")}
            settings.set("DOWNLOAD_SLOTS", merged, priority="addon")
