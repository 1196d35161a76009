"""A tiny news site whose articles can be edited between crawls (for incremental tests).

It serves robots.txt, a sitemap with lastmod, and article pages with ETag and
Last-Modified, and answers conditional requests with 304 like a real server would.
"""

from __future__ import annotations

import hashlib
import threading
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
    def __init__(self, stories: list[Story]):
        self.stories = {s.slug: s for s in stories}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers)
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with site._lock:
                    site.requests.append(("GET", self.path, dict(self.headers)))
                    status, headers, body = site.respond(self.path, dict(self.headers))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        base = self.url
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode()
        if path == "/sitemap.xml":
            urls = "".join(
                f"<url><loc>{base}/n/{s.slug}/</loc><lastmod>{s.modified.isoformat()}</lastmod></url>"
                for s in self.stories.values())
            xml = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            return 200, {"Content-Type": "application/xml"}, xml.encode()
        if path.startswith("/n/"):
            story = self.stories.get(path.strip("/").split("/")[-1])
            if story is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
            etag = story.etag(base)
            if headers.get("If-None-Match") == etag:
                return 304, {"ETag": etag}, b""
            return 200, {"Content-Type": "text/html; charset=utf-8", "ETag": etag,
                         "Last-Modified": format_datetime(story.modified, usegmt=True)}, story.html(base)
        return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body><a href='/about/'>about</a></body></html>"

    def article_fetches(self) -> list[tuple[str, dict]]:
        return [(p, h) for m, p, h in self.requests if p.startswith("/n/")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
