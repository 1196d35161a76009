"""Checks that replace per-page work the crawl process no longer does."""

from __future__ import annotations

import inspect
import re

from scrapy.utils.misc import is_generator_with_return_value

from crawler.neardup import _canonical
from crawler.run import build_settings
from crawler.urls import normalize_url
from spiders import news


def _callbacks() -> set[str]:
    source = inspect.getsource(news)
    return set(re.findall(r"(?:callback|errback)=self\.(\w+)", source))


def test_no_spider_callback_is_a_generator_returning_a_value():
    # Scrapy's own per-response check of this is switched off (WARN_ON_GENERATOR_RETURN_VALUE)
    assert build_settings(["http://127.0.0.1/"], "x.db").getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False
    names = _callbacks()
    assert {"parse_article", "parse_sitemap", "article_error"} <= names
    for name in names:
        method = getattr(news.NewsSpider, name)
        assert not is_generator_with_return_value(method), name


def test_the_check_finds_a_generator_that_returns_a_value():
    def callback(response):
        yield 1
        return 2

    assert is_generator_with_return_value(callback)


def test_cached_canonical_urls_are_the_normalised_ones():
    urls = ["HTTP://Example.KZ:80/ru/news/1/?utm_source=x&b=2&a=1#top", "https://example.kz/kk/news/1/",
            "not a url at all", "http://[bad"]
    for _ in range(2):
        for url in urls:
            try:
                expected = normalize_url(url)
            except Exception:  # noqa: BLE001
                expected = url
            assert _canonical(url) == expected
