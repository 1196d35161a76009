"""One fetched page in, an article record or a recorded reason out.

:func:`process_page` is the whole per-page work of the archive: decode, classify, extract,
dates, language, dedup keys.  It is a plain function of the response's bytes, headers, URL,
fetch time and site profile, with no Scrapy or Twisted import, so that the crawl's item
pipeline, its worker processes, ``crawler reextract`` and any other driver give the same
record for the same page.
"""

from __future__ import annotations

import functools
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from crawler.dedup import content_hash
from crawler.encoding import decode_html
from crawler.items import FetchedPage
from crawler.urls import article_url

logger = logging.getLogger(__name__)

__all__ = ["CLASSIFIER", "NOT_AN_ARTICLE", "PageResult", "is_not_article", "check_fetch", "content_problem", "load_classifier", "process_page"]

# the error of a page the classifier does not call an article: "not an article: listing"
NOT_AN_ARTICLE = "not an article: "
# the crawl's classifier, by name: resolved in whichever process runs the page function
CLASSIFIER = "crawler.extract:classify_page"
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")

# classify(html, url) -> "article" or the kind of other page ("listing", "section", ...)
Classifier = Callable[[str, str], str]


@dataclass
class PageResult:
    """What one page gave: ``article`` (a record for the archive) or ``error`` (why not).

    ``kind`` is the classifier's verdict when one was given; ``encoding`` the charset the
    body was decoded with (None when it was never decoded).
    """

    article: dict | None = None
    error: str | None = None
    encoding: str | None = None
    kind: str | None = None


def is_not_article(error: str | None) -> bool:
    """Is this the classifier's verdict on a page that is no article (not a failure)?"""
    return bool(error) and error.startswith(NOT_AN_ARTICLE)


def content_problem(body: bytes | None, content_type: str | None) -> str | None:
    """Why a response body cannot hold an article (empty, not HTML), or None."""
    if not body or not body.strip():
        return "empty body"
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime not in _HTML_TYPES:
        return f"not HTML: {mime}"
    return None


def check_fetch(page: FetchedPage) -> str | None:
    """Why a fetched page cannot hold an article, or None if it may (a 304 may)."""
    if page.error:
        return page.error
    if page.not_modified:
        return None
    if page.status is not None and page.status != 200:
        return f"HTTP {page.status}"
    return content_problem(page.body, page.content_type)


@functools.lru_cache(maxsize=None)
def load_classifier(name: str | None) -> Classifier | None:
    """The classifier named ``module:function`` (or ``module.function``); None for none."""
    if not name:
        return None
    return pkgutil.resolve_name(name)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def process_page(body: bytes, headers: Mapping[str, str] | None, url: str,
                 fetched_at: str | datetime | None, profile, *, site: str | None = None,
                 classify: Classifier | str | None = None) -> PageResult:
    """The archive's record of one page (``url`` is the URL it was finally served from).

    ``headers`` are the response headers (``content-type`` and ``content-language`` are
    read); ``profile`` the site's :class:`crawler.profiles.SiteProfile` or None; ``site`` the
    name stored with the record; ``classify`` an optional page classifier (a function or its
    dotted name): a page it does not call ``"article"`` gives no article and the reason
    ``not an article``.
    Never raises for a bad page: every failure comes back as ``error``.
    """
    # Imported here: trafilatura and dateparser take a second or more to import, and the
    # crawl process, whose workers extract, never needs them.
    from crawler.extract import ExtractionError, classify_page, extract_article_tree, parse_page

    content_type = _header(headers, "content-type")
    problem = content_problem(body, content_type)
    if problem:
        return PageResult(error=problem)
    result = PageResult()
    try:
        text, result.encoding = decode_html(body, content_type)
        # One parse serves the classifier and the extraction.
        try:
            tree, unparsed = parse_page(text), None
        except ExtractionError as exc:
            tree, unparsed = None, exc
        if classify is not None:
            if isinstance(classify, str):
                classify = load_classifier(classify)
            # our own classifier reads the shared tree; any other gets the text it is typed for
            shared = tree is not None and classify is classify_page
            result.kind = classify_page(tree, url) if shared else classify(text, url)
            if result.kind != "article":
                result.error = f"{NOT_AN_ARTICLE}{result.kind}"
                return result
        if unparsed is not None:
            raise unparsed
        when = datetime.fromisoformat(fetched_at) if isinstance(fetched_at, str) and fetched_at else fetched_at
        article = extract_article_tree(tree, url, fetched_at=when or None, profile=profile,
                                       content_language=_header(headers, "content-language"))
        record = article.as_dict()
        # The stored url *is* the canonical one.
        record["url"] = article_url(url, record.pop("canonical_url"))
        record["site"] = site
        record["content_hash"] = content_hash(article.text)
        result.article = record
    except ExtractionError as exc:
        result.error = f"extraction: {exc}"
    except Exception as exc:  # a bad page must never stop the crawl
        logger.exception("extraction crashed on %s", url)
        result.error = f"extraction crashed: {type(exc).__name__}: {exc}"
    return result


def process_fetched(page: FetchedPage, profile, classify: Classifier | str | None = None) -> PageResult:
    """:func:`process_page` for a :class:`FetchedPage` (the crawl's item)."""
    headers = dict(page.headers or {})
    if page.content_type is not None:
        headers["content-type"] = page.content_type
    return process_page(page.body, headers,
                        page.final_url or page.url, page.fetched_at, profile, site=page.site,
                        classify=classify)
