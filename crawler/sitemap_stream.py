"""Sitemaps read as a stream: entries come out while the file is parsed.

Scrapy's ``Sitemap`` builds the whole tree first (a 50,000-URL file is ~200,000 elements) and
its SitemapSpider then turns every entry into a Request before the first one can be fetched.
:class:`SitemapStream` walks the body with ``lxml.etree.iterparse``, yields one entry dict at a
time (the same dicts as Scrapy's ``Sitemap``) and frees each element once read.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Iterator

from lxml import etree

logger = logging.getLogger(__name__)


def _local(tag) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


class SitemapStream:
    """Entries of a sitemap body; ``type`` is ``urlset`` or ``sitemapindex`` (its root element)."""

    def __init__(self, body: bytes):
        # The same parser options as Scrapy's Sitemap: no entity expansion, no network.
        self._events = etree.iterparse(BytesIO(body), events=("start", "end"), recover=True,
                                       remove_comments=True, resolve_entities=False, no_network=True,
                                       huge_tree=False)
        self.type = None
        self.site = None  # set by the spider: which site's sitemap this is
        for event, elem in self._events:
            if event == "start":
                self.type = _local(elem.tag)
                break

    def __iter__(self) -> Iterator[dict]:
        depth = 1
        for event, elem in self._events:
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if depth != 1:
                continue
            entry: dict = {}
            for child in elem:
                name = _local(child.tag)
                if name == "link":
                    if "href" in child.attrib:
                        entry.setdefault("alternate", []).append(child.get("href"))
                else:
                    entry[name] = child.text.strip() if child.text else ""
            # Free what was read: the element and the finished siblings before it.
            elem.clear()
            parent = elem.getparent()
            while parent is not None and elem.getprevious() is not None:
                del parent[0]
            if "loc" in entry:
                yield entry

    def problems(self) -> list[str]:
        """Why the body is not well-formed XML, once the entries are read (the parse
        recovers from errors; what could be read was given)."""
        errors = [e for e in self._events.error_log if e.level >= etree.ErrorLevels.ERROR]
        if not errors:
            return []
        e = errors[0]
        return [f"not well-formed XML ({e.message}, line {e.line}, column {e.column})"]


def sitemap_locations(spider, response, site: str | None) -> Iterator[tuple[str, str]]:
    """``("sitemap", url)`` and ``("url", url)`` pairs of a robots.txt or sitemap response, as
    they are parsed; entries go through ``spider.sitemap_filter`` like SitemapSpider's."""
    from scrapy.spiders.sitemap import iterloc
    from scrapy.utils.sitemap import sitemap_urls_from_robots

    if response.url.endswith("/robots.txt"):
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            yield "sitemap", url
        return
    body = spider._get_sitemap_body(response)
    if not body:
        logger.warning("Ignoring invalid sitemap: %s", response.url)
        return
    stream = SitemapStream(body)
    stream.site = site
    kind = {"sitemapindex": "sitemap", "urlset": "url"}.get(stream.type)
    if kind is None:
        logger.warning("Ignoring invalid sitemap: %s", response.url)
        return
    for loc in iterloc(spider.sitemap_filter(stream), spider.sitemap_alternate_links):
        yield kind, loc
