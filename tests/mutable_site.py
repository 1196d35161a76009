"""A tiny news site whose articles can be edited between crawls (for incremental tests).

It serves robots.txt, a sitemap with lastmod, and article pages with ETag and
Last-Modified, and answers conditional requests with 304 like a real server would.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Story:
    slug: str
    title: str
    paragraphs: list[str]
    published: str  # visible date text, e.g. «8 мая 2020 г. 12:28»
    modified: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))

    def html(self, base: str) -> bytes:
        body = "".join(f"<p>{p}</p>" for p in self.paragraphs)
        return (
            f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{self.title}</title>'
            f'<link rel="canonical" href="{base}/n/{self.slug}/"></head><body>'
            f'<nav><a href="/">Главная</a> <a href="/about/">О нас</a></nav>'
            f'<article><h1>{self.title}</h1><time class="article__date">{self.published}</time>'
            f'<div class="article__body">{body}</div></article>'
            f"<footer>© Тестовая газета</footer></body></html>"
        ).encode("utf-8")

    def etag(self, base: str) -> str:
        return '"' + hashlib.sha1(self.html(base)).hexdigest()[:16] + '"'


class MutableSite:
    def __init__(self, stories: list[Story], *, sitemap: bool = True, chunk: int = 0,
                 redirects: dict[str, str] | None = None, article_delay: float = 0.0,
                 host: str = "127.0.0.1", crawl_delay: float = 0.0):
        """chunk > 0: /sitemap.xml is an index of sitemaps of that many stories each.
        redirects: path -> path answered with a 301. article_delay: seconds before each
        article page is answered (a slower server than the sitemaps' CDN). host: another
        loopback address makes another site (targets are named by host). crawl_delay: a
        Crawl-delay line in robots.txt."""
        self.stories = {s.slug: s for s in stories}
        self.sitemap = sitemap
        self.chunk = chunk
        self.redirects = dict(redirects or {})
        self.article_delay = article_delay
        self.crawl_delay = crawl_delay
        self.started: list[tuple[float, str]] = []  # (time.monotonic() on arrival, path)
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers)
        self.active = 0  # requests being answered now, and the most at once
        self.max_active = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with site._lock:
                    site.started.append((time.monotonic(), self.path))
                    site.active += 1
                    site.max_active = max(site.max_active, site.active)
                try:
                    self._get()
                finally:
                    with site._lock:
                        site.active -= 1

            def _get(self):
                if site.article_delay and self.path.startswith("/n/"):
                    time.sleep(site.article_delay)
                with site._lock:
                    site.requests.append(("GET", self.path, dict(self.headers)))
                    status, headers, body = site.respond(self.path, dict(self.headers))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        base = self.url
        if path in self.redirects:
            return 301, {"Location": base + self.redirects[path]}, b""
        if path == "/robots.txt":
            line = f"Sitemap: {base}/sitemap.xml\n" if self.sitemap else ""
            if self.crawl_delay:
                line = f"Crawl-delay: {self.crawl_delay:g}\n" + line
            return 200, {"Content-Type": "text/plain"}, f"User-agent: *\nDisallow: /private/\n{line}".encode()
        if not self.sitemap and path == "/sitemap.xml":
            return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
        if not self.sitemap:
            return self._without_sitemap(path)
        stories = list(self.stories.values())
        if path == "/sitemap.xml" and self.chunk:
            n = -(-len(stories) // self.chunk)
            rows = "".join(f"<sitemap><loc>{base}/sitemap-{k}.xml</loc></sitemap>" for k in range(1, n + 1))
            xml = f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</sitemapindex>'
            return 200, {"Content-Type": "application/xml"}, xml.encode()
        if path.startswith("/sitemap-") and self.chunk:
            k = int(path.removeprefix("/sitemap-").removesuffix(".xml"))
            stories = stories[(k - 1) * self.chunk: k * self.chunk]
            path = "/sitemap.xml"
        if path == "/sitemap.xml":
            urls = "".join(
                f"<url><loc>{base}/n/{s.slug}/</loc><lastmod>{s.modified.isoformat()}</lastmod></url>"
                for s in stories)
            xml = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            return 200, {"Content-Type": "application/xml"}, xml.encode()
        if path.startswith("/n/"):
            return self.respond_article(path, headers)
        return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body><a href='/about/'>about</a></body></html>"

    def respond_article(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        base = self.url
        headers = headers or {}
        story = self.stories.get(path.split("?")[0].strip("/").split("/")[-1])
        if story is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
        etag = story.etag(base)
        if headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": "text/html; charset=utf-8", "ETag": etag,
                     "Last-Modified": format_datetime(story.modified, usegmt=True)}, story.html(base)

    def _without_sitemap(self, path: str) -> tuple[int, dict, bytes]:
        """Discovery by feed and paginated listing only: the first story is only in the
        feed, the others only on listing pages 1 and 2."""
        base = self.url
        if path.startswith("/n/"):
            return self.respond_article(path)
        stories = list(self.stories.values())
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/":
            return 200, html, (
                '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.rss"></head>'
                '<body><a href="/news/">Новости</a> <a href="/about/">О нас</a>'
                '<a href="/private/secret-page-for-staff-only/">x</a></body></html>').encode()
        if path == "/feed.rss":
            s = stories[0]
            xml = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
                   f'<title>{s.title}</title><link>{base}/n/{s.slug}/?utm_source=rss</link>'
                   f'<pubDate>Tue, 05 Nov 2024 04:26:00 +0000</pubDate></item></channel></rss>')
            return 200, {"Content-Type": "application/rss+xml"}, xml.encode()
        if path in ("/news/", "/news/?page=2"):
            page = 2 if "page=2" in path else 1
            chunk = stories[1:2] if page == 1 else stories[2:]
            links = "".join(f'<li><a href="/n/{s.slug}/">{s.title}</a></li>' for s in chunk)
            more = '<a rel="next" href="/news/?page=2">Следующая</a>' if page == 1 else ""
            return 200, html, f"<html><body><ul>{links}</ul>{more}</body></html>".encode()
        return 200, html, b"<html><body><p>about us</p></body></html>"

    def article_fetches(self) -> list[tuple[str, dict]]:
        return [(p, h) for m, p, h in self.requests if p.startswith("/n/")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
