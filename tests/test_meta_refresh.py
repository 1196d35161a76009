"""The meta-refresh middleware that reads a page's head only gives Scrapy's own answers."""

from __future__ import annotations

import codecs

import pytest
import sqlite_utils
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from conftest import FAST, run_cli
from crawler.meta_refresh import HEAD_BYTES, HeadMetaRefreshMiddleware
from crawler.run import build_settings
from mutable_site import MutableSite, Story

URL = "http://127.0.0.1:8000/news/1/"
FILLER = "<p>Қазақстан жаңалықтары: ауа райы, экономика және спорт туралы қысқаша шолу.</p>\n"


def _page(refresh_at: int, *, size: int = 140_000, charset_meta: str = "",
          target: str = "/news/moved/") -> str:
    """An HTML page of about ``size`` characters with a refresh tag after ``refresh_at`` of them."""
    head = f"<html><head>{charset_meta}<title>Тест</title>"
    tag = f'<meta http-equiv="refresh" content="0; url={target}">'
    prefix = head + (FILLER * (refresh_at // len(FILLER) + 1))[: max(0, refresh_at - len(head))]
    body = prefix + tag + "</head><body>"
    return body + FILLER * max(1, (size - len(body)) // len(FILLER)) + "</body></html>"


def _cases():
    for at in (100, 3_000, 4_000, 4_040, 4_090, 4_100, 5_000, 20_000):
        text = _page(at)
        yield f"utf-8 header, tag at {at}", text.encode("utf-8"), "text/html; charset=utf-8"
        yield f"no charset, tag at {at}", text.encode("utf-8"), "text/html"
        yield (f"cp1251 meta, tag at {at}",
               _page(at, charset_meta='<meta charset="windows-1251">').replace("Қ", "К").replace("қ", "к")
               .replace("ә", "а").replace("ұ", "у").replace("ү", "у").replace("ң", "н").replace("ө", "о")
               .encode("cp1251"), "text/html")
        yield f"utf-16 BOM, tag at {at}", codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "text/html"
        yield f"utf-32 header, tag at {at}", text.encode("utf-32"), "text/html; charset=utf-32"
        yield f"utf-7 header, tag at {at}", text.encode("utf-7"), "text/html; charset=utf-7"
    # a multi-byte character cut by the head's end
    text = "<html><head>" + "ж" * (HEAD_BYTES // 2 - 8) + '<meta http-equiv="refresh" content="0; url=/x/">'
    yield "cut inside a character", (text + FILLER * 50).encode("utf-8"), "text/html; charset=utf-8"
    yield "small page", _page(50, size=2_000).encode("utf-8"), "text/html; charset=utf-8"
    yield "no refresh", (FILLER * 2_000).encode("utf-8"), "text/html; charset=utf-8"
    yield "invalid bytes", b"<html><head>" + b"\xff\xfe\x80" * 10_000 + b"</head></html>", "text/html; charset=utf-8"


def _answer(middleware, body: bytes, content_type: str):
    request = Request(URL)
    response = HtmlResponse(URL, body=body, headers={"Content-Type": content_type}, request=request)
    result = middleware.process_response(request, response)
    if result is response:
        return "response"
    return result.url, result.meta.get("redirect_reasons"), result.meta.get("redirect_urls")


@pytest.fixture(scope="module")
def middlewares():
    crawler = get_crawler()
    return MetaRefreshMiddleware.from_crawler(crawler), HeadMetaRefreshMiddleware.from_crawler(crawler)


@pytest.mark.parametrize("name,body,content_type", list(_cases()), ids=[c[0] for c in _cases()])
def test_same_answer_as_scrapy(middlewares, name, body, content_type):
    scrapy_mw, head_mw = middlewares
    expected = _answer(scrapy_mw, body, content_type)
    assert _answer(head_mw, body, content_type) == expected


def test_cases_cover_both_answers(middlewares):
    scrapy_mw, _ = middlewares
    answers = [_answer(scrapy_mw, body, ct) for _, body, ct in _cases()]
    assert "response" in answers
    assert any(a != "response" and a[0] == "http://127.0.0.1:8000/news/moved/" for a in answers)


def test_large_page_is_not_decoded_whole(middlewares):
    _, head_mw = middlewares
    body = _page(100).encode("utf-8")
    request = Request(URL)
    response = HtmlResponse(URL, body=body, headers={"Content-Type": "text/html; charset=utf-8"},
                            request=request)
    result = head_mw.process_response(request, response)
    assert result.url == "http://127.0.0.1:8000/news/moved/"
    # Scrapy keeps a decoded body on the response once anything asks for its text
    assert response._cached_ubody is None


def test_crawl_settings_use_it_in_scrapys_place():
    mws = build_settings(["http://127.0.0.1/"], "x.db").getdict("DOWNLOADER_MIDDLEWARES")
    assert mws["scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware"] is None
    assert mws["crawler.meta_refresh.HeadMetaRefreshMiddleware"] == 580


class _RefreshingSite(MutableSite):
    """The first story's page is 140 KB whose head refreshes to the second story."""

    def respond_article(self, path, headers=None):
        first, second = list(self.stories)[:2]
        if path == f"/n/{first}/":
            tag = f'<meta http-equiv="refresh" content="0; url={self.url}/n/{second}/">'
            html = f"<html><head><title>moved</title>{tag}</head><body>{FILLER * 1_700}</body></html>"
            return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode("utf-8")
        return super().respond_article(path, headers)


def test_crawl_follows_a_refresh_in_a_large_page(tmp_path):
    paragraphs = ["Жаңа мектеп ашылды, онда мың оқушы білім алады деп хабарлады әкімдік.",
                  "Құрылыс екі жылға созылды, ғимаратта спорт залы мен кітапхана бар.",
                  "Ата-аналар жаңа мектептің үйге жақын орналасқанына қуанышты."]
    site = _RefreshingSite([Story("moved-page", "Ескі мекенжай", paragraphs, "5 ноября 2024 г. 9:26"),
                            Story("new-school", "Жаңа мектеп ашылды", paragraphs, "6 ноября 2024 г. 10:00")])
    try:
        db = tmp_path / "a.db"
        result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST)
        assert result.returncode == 0, result.stderr[-3000:]
        rows = {r["url"]: r for r in sqlite_utils.Database(db).query("SELECT url, final_url, status FROM pages")}
        moved = rows[f"{site.url}/n/moved-page/"]
        assert moved["final_url"] == f"{site.url}/n/new-school/"
        assert moved["status"] == 200
    finally:
        site.close()
