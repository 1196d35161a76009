"""Discovery by content: which links of a listing to follow, and how.

A site without a profile gives no article URL pattern to trust, so the spider fetches
every same-site link that is not clearly navigation or a static file as a *candidate*,
and the page itself decides (:func:`crawler.extract.classify_page`, run by the extraction
pipeline through :func:`crawler.page.process_page`'s ``classify`` slot). This module holds
the decisions made before fetching, from the link alone:

- :func:`link_kind`: ``"static"``, ``"navigation"``, ``"pagination"`` (``rel=next``,
  «Следующая», «Далее», «Келесі», page numbers, ``?page=N``, ``/page/N/``), ``"archive"``
  (a date archive such as ``/archive/2025/09/12/``) or ``"candidate"``;
- :func:`listing_date`: the date a listing shows next to a link (``<time datetime>`` in the
  same teaser), recorded with the page and compared on the next visit;
- :class:`LearnedPatterns`: URL templates of the articles confirmed on a site, the last
  word on a candidate the classifier calls ``"other"`` (a short note read as no article is
  still an article when two confirmed articles share its URL's shape).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

__all__ = ["LearnedPatterns", "link_kind", "listing_date", "url_template"]

_STATIC = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|svg|bmp|ico|css|js|mjs|map|woff2?|ttf|otf|eot|"
                     r"mp[34]|m4a|ogg|wav|webm|avi|mov|pdf|docx?|xlsx?|pptx?|zip|rar|7z|gz|tgz|"
                     r"xml|json|rss|atom|txt|csv|exe|apk|dmg)$", re.IGNORECASE)
# Pages that are navigation or service on practically every site: never articles, and not
# the listings that lead to articles either.
_NAVIGATION = re.compile(
    r"/(?:about|contacts?|kontakty|login|logout|signin|signup|register|registration|auth|account|"
    r"profile|user|users|cart|basket|checkout|search|poisk|advert\w*|reklama|rss|feeds?|sitemap|"
    r"privacy|terms|policy|cookies?|subscribe|subscription|print|share|tags?|authors?|amp|"
    r"wp-admin|wp-login\.php|cdn-cgi|static|assets|media|uploads?|images?|img|css|js)"
    r"(?:/|$|\.|\?)",
    re.IGNORECASE)
_NAV_QUERY = re.compile(r"(?:^|&)(?:print|share|replytocom|lang|sort|order|view|format)=", re.IGNORECASE)
_PAGE_QUERY = re.compile(r"(?:^|&)(?:page|p|pg|PAGEN_\d+|start|offset)=\d+(?:&|$)", re.IGNORECASE)
_PAGE_PATH = re.compile(r"/page/?\d+/?$|/p\d+/?$", re.IGNORECASE)
_NEXT_WORDS = re.compile(r"^\W*(?:следующая|следующие|далее|дальше|вперед|вперёд|ещё|еще|"
                         r"келесі|әрі қарай|keles[iı]|next|older|more)\b|^\s*(?:»|›|→|>>)\s*$",
                         re.IGNORECASE)
_ARCHIVE_DAY = re.compile(r"/(?:19|20)\d\d/(?:0?[1-9]|1[0-2])(?:/(?:0?[1-9]|[12]\d|3[01]))?/?$")
_DIGITS = re.compile(r"\d+")


def link_kind(url: str, text: str = "", rel: str = "") -> str:
    """What a same-site link most likely leads to, judged from the link alone."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if _STATIC.search(path):
        return "static"
    if _NAVIGATION.search(path) or _NAV_QUERY.search(parts.query):
        return "navigation"
    words = " ".join(text.split())
    if ("next" in rel.lower().split() or _PAGE_QUERY.search(parts.query) or _PAGE_PATH.search(path)
            or _NEXT_WORDS.search(words) or (words.isdigit() and len(words) <= 4 and parts.query)):
        return "pagination"
    if _ARCHIVE_DAY.search(path) and ("/archive" in path.lower() or path.count("/") <= 5):
        return "archive"
    return "candidate"


def listing_date(anchor) -> str | None:
    """The ``<time datetime>`` of the teaser a link sits in (a parsel Selector), or None.

    Only a teaser holding one link counts, so a date is never given to the wrong story.
    """
    node = anchor
    for _ in range(3):
        node = node.xpath("..")
        if not node:
            return None
        if len(node.xpath(".//a[@href]")) > 1:
            return None
        stamp = node.xpath(".//time/@datetime").get()
        if stamp:
            return stamp.strip() or None
    return None


def url_template(url: str) -> str:
    """The shape of a URL: its directories, its last segment and query keys with numbers
    and slugs replaced. ``/news/view.php?id=1099`` -> ``/news/view.php?id=<n>``."""
    parts = urlsplit(url)
    shaped = []
    for segment in (parts.path or "/").split("/"):
        segment = _DIGITS.sub("<n>", segment)
        shaped.append("<slug>" if segment.count("-") >= 2 or segment.count("_") >= 2 else segment)
    query = "&".join(f"{k}=" + ("<n>" if v.isdigit() else v) for k, v in sorted(parse_qsl(parts.query)))
    return "/".join(shaped) + (f"?{query}" if query else "")


class LearnedPatterns:
    """URL templates of the articles confirmed on each origin (scheme, host, port)."""

    def __init__(self, urls: Iterable[str] = (), min_confirmed: int = 2):
        self.min_confirmed = min_confirmed
        self._counts: Counter[tuple[str, str]] = Counter()
        for url in urls:
            self.confirm(url)

    @staticmethod
    def _key(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc.lower()}", url_template(url)

    def confirm(self, url: str) -> None:
        """``url`` is an article."""
        self._counts[self._key(url)] += 1

    def matches(self, url: str) -> bool:
        """Do at least ``min_confirmed`` articles of ``url``'s origin share its template?"""
        return self._counts.get(self._key(url), 0) >= self.min_confirmed
