"""Checks that replace per-page work the crawl process no longer does."""

from __future__ import annotations

import inspect
import logging
import re

import pytest
from scrapy.utils.misc import is_generator_with_return_value

from crawler.logfilters import only_shown_records
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


@pytest.fixture
def root_at_notset():
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.NOTSET)  # as Scrapy leaves it
    yield root
    root.setLevel(old)


def test_log_records_below_every_handler_are_not_made(monkeypatch, root_at_notset):
    root = root_at_notset
    shown = logging.StreamHandler()
    shown.setLevel(logging.INFO)
    monkeypatch.setattr(root, "handlers", [shown])
    made = []
    factory = logging.getLogRecordFactory()
    monkeypatch.setattr(logging, "_logRecordFactory",
                        lambda *a, **kw: made.append(a[1]) or factory(*a, **kw))
    log = logging.getLogger("crawler.test_overhead")
    with only_shown_records():
        log.debug("not shown: no record")
        log.warning("shown")
    assert made == [logging.WARNING]
    assert root.level == logging.NOTSET
    log.debug("made again once the crawl is over")
    assert made == [logging.WARNING, logging.DEBUG]


def test_a_handler_that_takes_everything_keeps_every_record(monkeypatch, root_at_notset):
    root = root_at_notset
    everything = logging.StreamHandler()
    shown = logging.StreamHandler()
    shown.setLevel(logging.INFO)
    monkeypatch.setattr(root, "handlers", [shown, everything])
    with only_shown_records():
        assert logging.getLogger("crawler.test_overhead").isEnabledFor(logging.DEBUG)
