"""SampleSite: a deterministic kazpravda-like news site rendered on request.

``SampleSite(n_articles, seed, page_kb)`` builds a small index of its URLs; ``render()``
turns a request path into a :class:`Response` (never raising); ``truth()`` says what a
correct crawler should store for every URL the sitemaps list.
"""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from . import feeds, pages, syndicate, timefmt
from .catalog import TAG_NAMES, Catalog, Entry

logger = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"

# A tiny but well-formed-looking PDF: what a CMS serves when an attachment takes an article URL.
_PDF = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


@dataclass
class Response:
    """What the site answers: status, headers (no Content-Length; the server adds it), body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _text(status: int, text: str, content_type: str = HTML) -> Response:
    return Response(status, {"Content-Type": content_type}, text.encode("utf-8"))


def _redirect(base: str, location: str) -> Response:
    return Response(301, {"Location": f"{base}{location}", "Content-Type": HTML},
                    f'<a href="{base}{location}">Moved Permanently</a>\n'.encode())


class SampleSite:
    """A deterministic sample news site: same seed and size give byte-identical pages."""

    def __init__(self, n_articles: int = 60, seed: int = 0, page_kb: int = 0, syndicated: int = 0,
                 source: SampleSite | None = None):
        """``syndicated=K`` adds K edited republications of stories of ``source`` (another
        SampleSite, the original outlet; this site itself when None) and K hard negatives,
        labelled by :meth:`syndication_truth` (see :mod:`samplesite.syndicate`)."""
        if page_kb < 0:
            raise ValueError("page_kb must be >= 0")
        self.n_articles = n_articles
        self.seed = seed
        self.page_kb = page_kb
        self.catalog = Catalog(n_articles, seed, syndicated, source.catalog if source is not None else None)

    # -- requests --------------------------------------------------------------------------

    def render(self, path_with_query: str, base_url: str) -> Response:
        """Answer one GET for ``path_with_query``; absolute links use ``base_url``. Never raises."""
        base = base_url.rstrip("/")
        try:
            return self._route(path_with_query, base)
        except Exception:  # a test server must answer, whatever the request
            logger.exception("render failed for %r", path_with_query)
            return _text(500, pages.server_error_page())

    def _route(self, target: str, base: str) -> Response:
        parts = urlsplit(target)
        path = unquote(parts.path or "/")
        if not path.startswith("/"):
            path = "/" + path
        query = parse_qs(parts.query)
        cat = self.catalog

        if path == "/":
            return _text(200, pages.home_page(cat, base))
        if path == "/robots.txt":
            return _text(200, feeds.robots_txt(base), "text/plain; charset=utf-8")
        if path == "/sitemap.xml":
            return _text(200, feeds.sitemap_index(cat, base), XML)
        if path == "/sitemap-news.xml":
            return _text(200, feeds.news_sitemap(cat, base), XML)
        if path == "/rss.xml":
            return _text(200, feeds.rss(cat, base), "application/rss+xml; charset=utf-8")
        m = re.fullmatch(r"/sitemap-(\d{1,6})\.xml(\.gz)?", path)
        if m:
            k, gz = int(m.group(1)), bool(m.group(2))
            if 1 <= k <= cat.n_chunks and gz == (k == cat.gz_chunk):
                xml = feeds.sitemap_chunk(cat, base, k).encode("utf-8")
                if gz:
                    # mtime=0 keeps the gzip header, hence the bytes, deterministic
                    return Response(200, {"Content-Type": "application/x-gzip"}, gzip.compress(xml, mtime=0))
                return Response(200, {"Content-Type": XML}, xml)
            return self._not_found()
        if path in ("/news", "/about", "/contacts", "/kz", "/search"):
            return _redirect(base, path + "/" + (f"?{parts.query}" if parts.query else ""))
        if path == "/news/":
            try:
                page = int(query.get("page", ["1"])[0])
            except ValueError:
                page = 0
            html = pages.listing_page(cat, base, page)
            return _text(200, html) if html else self._not_found()
        if path == "/kz/":
            return _text(200, pages.kk_listing_page(cat, base))
        if path == "/about/":
            return _text(200, pages.about_page(base))
        if path == "/contacts/":
            return _text(200, pages.contacts_page(base))
        if path == "/search/":
            return _text(200, pages.search_page(cat, base, query.get("q", [""])[0]))
        m = re.fullmatch(r"/tags/([a-z0-9-]+)(/?)", path)
        if m and m.group(1) in TAG_NAMES:
            if not m.group(2):
                return _redirect(base, path + "/")
            html = pages.tag_page(cat, base, m.group(1))
            return _text(200, html) if html else self._not_found()
        m = re.fullmatch(r"/amp(/n/[A-Za-z0-9-]+)(/?)", path)
        if m:
            entry = cat.by_path.get(m.group(1) + "/")
            if not (entry and entry.lang == "ru" and entry.has_text):
                return self._not_found()
            if not m.group(2):
                return _redirect(base, path + "/")
            return _text(200, pages.amp_page(cat, entry, base))
        m = re.fullmatch(r"(/(?:kz/)?n/[A-Za-z0-9-]+)(/?)", path)
        if m:
            slash_path = m.group(1) + "/"
            if slash_path not in cat.by_path:
                return self._not_found()
            if not m.group(2):
                # Like most CMSs: the slash-less form redirects to the canonical one.
                return _redirect(base, slash_path + (f"?{parts.query}" if parts.query else ""))
            return self._article(cat.by_path[slash_path], base)
        return self._not_found()

    def _not_found(self) -> Response:
        return _text(404, pages.not_found_page())

    def _article(self, e: Entry, base: str) -> Response:
        if e.kind == "nonarticle":
            return self._not_found()
        if e.bad == "empty":
            return Response(200, {"Content-Type": HTML}, b"")
        if e.bad == "pdf":
            return Response(200, {"Content-Type": "application/pdf"}, _PDF)
        if e.bad == "404":
            return self._not_found()
        if e.bad == "500":
            return _text(500, pages.server_error_page())
        if e.kind == "syndicated":
            variant = self.catalog.syndication.variants[e.path]
            return _text(200, syndicate.article_page(e, variant, base))
        if e.bad == "cp1251":
            html = pages.article_page(self.catalog, e, base, self.page_kb, encoding="cp1251")
            # The HTTP header names no charset: only the <meta http-equiv> inside says windows-1251.
            return Response(200, {"Content-Type": "text/html"}, html.encode("cp1251", "xmlcharrefreplace"))
        return _text(200, pages.article_page(self.catalog, e, base, self.page_kb))

    # -- ground truth ------------------------------------------------------------------------

    def _body(self, e: Entry) -> pages.Body:
        if e.kind == "syndicated":
            return pages.Body(syndicate.variant_paragraphs(self.catalog.syndication.variants[e.path]))
        return pages.body_of(self.catalog, e)

    def syndication_truth(self) -> list[dict]:
        """Labels of the syndicated pages: which are copies of which original, which are
        hard negatives (see :meth:`samplesite.syndicate.Syndication.labels`); empty unless
        the site was built with ``syndicated=K``."""
        return self.catalog.syndication.labels()

    def truth(self) -> list[dict]:
        """One dict per URL the sitemaps list: what a correct crawl stores (or refuses) there.

        Keys: path, kind, title, published_at (ISO with offset), published_raw, language,
        paragraphs (real text paragraphs, photo credits included as the corpus keeps them),
        boilerplate (in-body paragraphs that are not text, e.g. «Читайте также: ...»),
        duplicate_of, translation_of, expected (stored|error|skipped), error, note, author, tags.
        """
        out = []
        for e in self.catalog.entries:
            stored = e.expected == "stored"
            body = self._body(e) if stored and e.has_text else None
            out.append({
                "path": e.path,
                "kind": e.kind,
                "title": e.title if stored and e.kind != "nonarticle" else None,
                "published_at": timefmt.w3c(e.published) if stored and e.published is not None else None,
                "published_raw": e.published_raw if stored else None,
                "language": e.lang,
                "paragraphs": list(body.paragraphs) if body else [],
                "boilerplate": [body.teaser_text] if body and body.teaser_text else [],
                "duplicate_of": e.duplicate_of,
                "translation_of": e.translation_of,
                "expected": e.expected,
                "error": e.error,
                "note": e.note,
                "author": e.author if stored and e.kind != "nonarticle" else None,
                "tags": [TAG_NAMES[t] for t in e.tags] if stored else [],
            })
        return out
