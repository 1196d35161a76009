"""Keep a crawl on its sites: only http(s), and no redirect off a site's allowed domains.

Article requests carry ``dont_filter`` (spiders/news.py), which Scrapy's offsite filter
lets through, and the spider's ``allowed_domains`` is the union of every target's; so a
redirect from one site to another host would be followed. This middleware checks every
redirected request against the profile of the site that asked for it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from crawler.profiles import ProfileError, resolve_target

logger = logging.getLogger(__name__)

SCHEMES = ("http", "https")


class OffsiteRedirect(IgnoreRequest):
    """A redirect that left the site's allowed domains or http(s)."""


class ScopeMiddleware:
    """Downloader middleware; runs before robots.txt so an offsite host is never asked."""

    def __init__(self, profiles: dict):
        self.profiles = profiles

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        profiles = {}
        for target in s.getlist("CRAWL_TARGETS"):
            try:
                profile = resolve_target(target, s.get("CRAWL_BASE_URL"))
            except ProfileError:  # reported by the spider, which refuses it first
                continue
            profiles[profile.name] = profile
        return cls(profiles)

    def process_request(self, request):
        scheme = urlsplit(request.url).scheme.lower()
        redirected = request.meta.get("redirect_urls")
        if scheme not in SCHEMES:
            what = "redirect" if redirected else "request"
            raise OffsiteRedirect(f"offsite {what}: {request.url} is not http(s)")
        if not redirected:
            return None
        profile = self.profiles.get(request.meta.get("site"))
        if profile is not None and not profile.owns(request.url):
            logger.debug("offsite redirect from %s to %s: not followed (not in the allowed "
                           "domains of %s)", redirected[0], request.url, profile.name)
            raise OffsiteRedirect(f"offsite redirect to {request.url} (from {redirected[0]})")
        return None
