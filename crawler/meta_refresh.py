"""Scrapy's meta-refresh redirects, without decoding every page whole in the crawl process.

Scrapy's ``MetaRefreshMiddleware`` looks for ``<meta http-equiv="refresh">`` in the first
4,096 characters of a page, but gets them as ``response.text[0:4096]``: the whole body is
decoded to find them. The crawl process never needs an article's text (its extraction
workers decode the raw bytes themselves), so that decoding is spent on every page for a
few kilobytes of it. This subclass hands Scrapy's own code a copy of the response that
holds only the body's first :data:`HEAD_BYTES` bytes, with the encoding of the whole
response, and follows what Scrapy finds there.

The answer is the same as Scrapy's: 4,096 characters take at most 16,384 bytes in every
encoding a web page is served in (UTF-8, UTF-16 and UTF-32 included), and the copy decodes
to the same first characters as the whole body, since the encoding is the response's own
and a BOM, if any, is kept. Should a copy give too few characters (a stateful encoding such
as UTF-7), the whole response is used, as Scrapy does.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse

__all__ = ["HEAD_BYTES", "HeadMetaRefreshMiddleware"]

# Scrapy's get_meta_refresh reads text[0:4096]
_HEAD_CHARS = 4096
HEAD_BYTES = 4 * _HEAD_CHARS
# a cut inside a character decodes to a few replacement characters at the copy's end
_CUT_MARGIN = 8


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """``MetaRefreshMiddleware`` reading only the head of a large HTML body."""

    def process_response(self, request, response):
        if not isinstance(response, HtmlResponse) or len(response.body) <= HEAD_BYTES:
            return super().process_response(request, response)
        # the whole body's encoding: declared ones cost a look at the headers and the first
        # kilobytes; an undeclared one is inferred from the whole body, as Scrapy would
        head = response.replace(body=response.body[:HEAD_BYTES], encoding=response.encoding)
        if len(head.text) < _HEAD_CHARS + _CUT_MARGIN:
            return super().process_response(request, response)
        result = super().process_response(request, head)
        return response if result is head else result
