"""Site shapes the main sample site does not have, each served on its own loopback port.

- :class:`ListingSite`: no sitemap, no feed; paginated listings ``/news/?page=N`` (linked by
  «Следующая», ``rel=next`` and page numbers), articles at ``/news/view.php?id=N``, whose
  teasers carry the time of their last edit;
- :class:`PrefixSite`: ``/ru/`` and ``/kz/`` editions on one origin (two start URLs), the Kazakh
  one in Latin script (2021 alphabet), listed with their publication times and in a sitemap
  whose ``lastmod``s are hours behind our clock (the server's clock is wrong, the dates still
  change on every edit, and only there);
- :class:`TreeSite`: a section tree four levels deep and a date archive
  (``/archive/2025/09/12/``); the articles are linked only from the deepest levels.

Two :class:`ListingSite` on two ports are two sites on one host. Every site answers
conditional requests (ETag) with 304, records the requests it served and can edit a story
(:meth:`ShapeSite.edit`), so tests see what a re-crawl fetched. Text comes from the sample
site's own generators (:mod:`samplesite.textgen`).
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import textgen, timefmt

__all__ = ["ListingSite", "PrefixSite", "ShapeSite", "TreeSite", "to_kazakh_latin"]

# Cyrillic Kazakh to the 2021 Latin alphabet
_LATIN_2021 = str.maketrans({
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io",
    "ж": "j", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "ñ", "о": "o", "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū",
    "ү": "ü", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "ş", "щ": "şş", "ъ": "",
    "ы": "y", "і": "ı", "ь": "", "э": "e", "ю": "iu", "я": "ia",
})


def to_kazakh_latin(text: str) -> str:
    """Cyrillic Kazakh in the 2021 Latin alphabet (capitals kept)."""
    out = []
    for ch in text:
        low = ch.lower()
        latin = low.translate(_LATIN_2021)
        out.append(latin.capitalize() if ch != low else latin)
    return "".join(out)


_KK_LATIN_MONTHS = tuple(to_kazakh_latin(m) for m in
                         ("қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
                          "қыркүйек", "қазан", "қараша", "желтоқсан"))


@dataclass
class Piece:
    """One story of a shape site."""

    path: str
    title: str
    paragraphs: list[str]
    published: datetime  # aware, Asia/Almaty
    language: str
    visible_date: str
    edits: int = 0
    # when it last changed, by the site's own clock
    modified: datetime = field(default_factory=lambda: datetime(2025, 9, 12, tzinfo=timezone.utc))


def _stories(seed: str, n: int, language: str, start: datetime) -> list[tuple[str, list[str], datetime]]:
    out = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        story = textgen.make_story(rng, start.year)
        when = timefmt.local(start.replace(tzinfo=None) - timedelta(hours=7 * i, minutes=13 * i))
        if language == "ru":
            title = textgen.ru_title(story, rng)
            paras = textgen.ru_paragraphs(story, rng.randrange(10**9), 7 + i % 4, False)
        else:
            title = textgen.kk_title(story, rng)
            paras = textgen.kk_paragraphs(story, rng.randrange(10**9), 7 + i % 4, False)
        out.append((title, paras, when))
    return out


class ShapeSite:
    """A small news site on its own loopback port (see the module docstring)."""

    name = "shape"
    # teasers show when a story was published (its edits only show in the sitemap), else
    # when it last changed
    listed_as_published = False

    def __init__(self, seed: str = "0"):
        self.seed = seed
        self.pieces: dict[str, Piece] = {}
        self.requests: list[tuple[str, dict]] = []  # (path, headers) of every GET
        self._lock = threading.Lock()
        self._build()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with site._lock:
                    site.requests.append((self.path, dict(self.headers)))
                    status, headers, body = site.respond(self.path, dict(self.headers))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name=f"shape {self.name} {self.url}")
        self._thread.start()

    # -- content -------------------------------------------------------------------------

    def _build(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def start_urls(self) -> list[str]:
        return [self.url + "/"]

    def truth(self) -> list[dict]:
        """Every article: url, title, paragraphs, language, published_at (ISO, with offset)."""
        return [{"url": self.url + p.path, "title": p.title, "paragraphs": list(p.paragraphs),
                 "language": p.language, "published_at": p.published.isoformat(timespec="seconds")}
                for p in self.pieces.values()]

    def edit(self, path: str, when: datetime | None = None) -> None:
        """Change a story's text (one more paragraph) and its modification time."""
        with self._lock:
            piece = self.pieces[path]
            piece.edits += 1
            word = "Дополнено" if piece.language == "ru" else "Tolyqtyryldy"
            piece.paragraphs.append(f"{word} {piece.edits}: {piece.paragraphs[0]}")
            piece.modified = when or datetime.now(timezone.utc).replace(microsecond=0)

    def article_fetches(self) -> list[str]:
        return [p for p, _ in self.requests if urlsplit(p).path + ("?" + urlsplit(p).query if urlsplit(p).query else "") in self.pieces]

    # -- HTTP ----------------------------------------------------------------------------

    def respond(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, self.robots().encode()
        if path in self.pieces:
            return self._article(self.pieces[path], headers)
        page = self.page(path)
        if page is None:
            return 404, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>404</body></html>"
        ctype, body = page
        return 200, {"Content-Type": ctype}, body.encode("utf-8")

    def robots(self) -> str:
        return "User-agent: *\nDisallow: /private/\n"

    def page(self, path: str) -> tuple[str, str] | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _article(self, piece: Piece, headers: dict) -> tuple[int, dict, bytes]:
        body = self.article_html(piece).encode("utf-8")
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": "text/html; charset=utf-8", "ETag": etag}, body

    def layout(self, lang: str, title: str, main: str, og_type: str = "website") -> str:
        nav = "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for href, text in self.nav())
        return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
                f'<meta property="og:type" content="{og_type}"><meta property="og:title" content="{escape(title)}">'
                f'</head><body><header><ul class="menu">{nav}</ul></header><main>{main}</main>'
                f'<footer><a href="/about/">{"О редакции" if lang == "ru" else "Redaksia"}</a> '
                f'<a href="/contacts/">Контакты</a> © 2025</footer></body></html>')

    def nav(self) -> list[tuple[str, str]]:
        return [("/", "Главная")]

    def article_html(self, piece: Piece) -> str:
        paras = "".join(f"<p>{escape(p)}</p>" for p in piece.paragraphs)
        main = (f'<article><h1>{escape(piece.title)}</h1><div class="meta"><time class="date" '
                f'datetime="{piece.published.isoformat(timespec="seconds")}">'
                f'{escape(piece.visible_date)}</time></div><div class="text">{paras}</div></article>'
                f'<aside><h3>{"Другие новости" if piece.language == "ru" else "Basqa jañalyqtar"}</h3>'
                f'{self.teasers(list(self.pieces.values())[:3], short=True)}</aside>')
        return self.layout(piece.language, piece.title, main, og_type="article")

    def teasers(self, pieces: list[Piece], short: bool = False) -> str:
        items = []
        for p in pieces:
            stamp = (p.published if self.listed_as_published else p.modified).isoformat(timespec="seconds")
            when = "" if short else f' <time datetime="{stamp}">{escape(p.visible_date)}</time>'
            items.append(f'<li><a href="{escape(p.path)}">{escape(p.title)}</a>{when}</li>')
        return f'<ul class="news-list">{"".join(items)}</ul>'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ListingSite(ShapeSite):
    """No sitemap, no feed: ``/news/?page=N`` listings of ``/news/view.php?id=N`` articles."""

    name = "listing"
    per_page = 4

    def __init__(self, seed: str = "listing", n: int = 10, first_id: int = 1099):
        self.n, self.first_id = n, first_id
        super().__init__(seed)

    def _build(self) -> None:
        start = datetime(2025, 9, 12, 18, 40)
        for i, (title, paras, when) in enumerate(_stories(self.seed, self.n, "ru", start)):
            path = f"/news/view.php?id={self.first_id - i}"
            if i == self.n - 1:
                # the oldest story is a one-sentence brief: too little text for the page
                # classifier, taken by its URL's shape like the site's confirmed articles
                paras = [paras[0].split(". ")[0].rstrip(".") + "."]
            self.pieces[path] = Piece(path, title, paras, when, "ru", timefmt.ru_visible(when),
                                      modified=when.astimezone(timezone.utc))

    def nav(self):
        return [("/", "Главная"), ("/news/", "Новости"), ("/help.php?topic=ads", "Реклама на сайте")]

    def _pages(self) -> int:
        return -(-len(self.pieces) // self.per_page)

    def page(self, path):
        parts = urlsplit(path)
        html = "text/html; charset=utf-8"
        if parts.path == "/sitemap.xml" or parts.path.endswith((".rss", ".xml")):
            return None
        if path == "/":
            main = f'<h2>Главное</h2>{self.teasers(list(self.pieces.values())[:2])}'
            return html, self.layout("ru", "Степной вестник", main)
        if parts.path == "/news/":
            n = int(parse_qs(parts.query).get("page", ["1"])[0])
            if not 1 <= n <= self._pages():
                return None
            pieces = list(self.pieces.values())[(n - 1) * self.per_page: n * self.per_page]
            numbers = " ".join(f'<a href="/news/?page={k}">{k}</a>' if k != n else f"<b>{k}</b>"
                               for k in range(1, self._pages() + 1))
            if n < self._pages():
                # page 1 says «Следующая» in words only; later pages also say rel=next
                rel = ' rel="next"' if n > 1 else ""
                numbers += f' <a class="more"{rel} href="/news/?page={n + 1}">Следующая</a>'
            main = f'<h1>Новости, страница {n}</h1>{self.teasers(pieces)}<div class="pager">{numbers}</div>'
            return html, self.layout("ru", f"Новости — страница {n}", main)
        if path == "/help.php?topic=ads":
            main = ('<h1>Реклама на сайте</h1><p>Размещение баннеров и спецпроектов: напишите нам.</p>'
                    '<p>Прайс-лист высылаем по запросу.</p>')
            return html, self.layout("ru", "Реклама", main)
        if path in ("/about/", "/contacts/"):
            return html, self.layout("ru", "О редакции", "<h1>О редакции</h1><p>Степной вестник, с 2003 года.</p>")
        return None


class PrefixSite(ShapeSite):
    """``/ru/`` and ``/kz/`` (Latin script) on one origin, with a sitemap whose dates are
    ``clock_skew`` behind the real time of each change."""

    name = "prefix"
    listed_as_published = True

    def __init__(self, seed: str = "prefix", n: int = 4, clock_skew: timedelta = timedelta(hours=-7)):
        self.n, self.clock_skew = n, clock_skew
        super().__init__(seed)

    def start_urls(self):
        return [self.url + "/ru/", self.url + "/kz/"]

    def _build(self) -> None:
        start = datetime(2025, 9, 12, 14, 5)
        for i, (title, paras, when) in enumerate(_stories(self.seed + ":ru", self.n, "ru", start)):
            path = f"/ru/news/{20250 + i}-{textgen.slugify(title, 60)}/"
            self.pieces[path] = Piece(path, title, paras, when, "ru", timefmt.ru_visible(when),
                                      modified=when.astimezone(timezone.utc))
        for i, (title, paras, when) in enumerate(_stories(self.seed + ":kk", self.n, "kk", start)):
            title, paras = to_kazakh_latin(title), [to_kazakh_latin(p) for p in paras]
            visible = f"{when.day} {_KK_LATIN_MONTHS[when.month - 1]} {when.year}, {when.hour:02d}:{when.minute:02d}"
            path = f"/kz/news/{30250 + i}-{textgen.slugify(title, 60)}/"
            self.pieces[path] = Piece(path, title, paras, when, "kk", visible,
                                      modified=when.astimezone(timezone.utc))

    def edit(self, path: str, when: datetime | None = None) -> None:
        # the server's clock is off: the sitemap says the edit happened hours ago
        super().edit(path, when or datetime.now(timezone.utc).replace(microsecond=0) + self.clock_skew)

    def robots(self):
        return super().robots() + f"Sitemap: {self.url}/sitemap.xml\n"

    def page(self, path):
        html = "text/html; charset=utf-8"
        if path == "/sitemap.xml":
            rows = "".join(f"<url><loc>{self.url}{p.path}</loc><lastmod>{p.modified.isoformat()}</lastmod></url>"
                           for p in self.pieces.values())
            return "application/xml", ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                                       f'schemas/sitemap/0.9">{rows}</urlset>')
        for prefix, lang, title in (("/ru/", "ru", "Новости"), ("/kz/", "kk", "Jañalyqtar")):
            if path == prefix:
                pieces = [p for p in self.pieces.values() if p.path.startswith(prefix)]
                return html, self.layout(lang, title, f"<h1>{title}</h1>{self.teasers(pieces)}")
        if path == "/":
            return html, self.layout("ru", "Портал", '<a href="/ru/">Русский</a> <a href="/kz/">Qazaqşa</a>')
        if path in ("/about/", "/contacts/"):
            return html, self.layout("ru", "О редакции", "<h1>О редакции</h1><p>Портал двух редакций.</p>")
        return None


class TreeSite(ShapeSite):
    """Sections four levels deep and a date archive; articles linked only from the leaves."""

    name = "tree"
    tree = ("/world/", "/world/asia/", "/world/asia/central/", "/world/asia/central/almaty/",
            "/world/europe/", "/world/europe/east/")

    def __init__(self, seed: str = "tree", n: int = 8):
        self.n = n
        super().__init__(seed)

    def _build(self) -> None:
        start = datetime(2025, 9, 12, 11, 20)
        leaves = ("/world/asia/central/almaty/", "/world/europe/east/")
        for i, (title, paras, when) in enumerate(_stories(self.seed, self.n, "ru", start)):
            path = f"{leaves[i % 2]}n{4500 + i}.html"
            self.pieces[path] = Piece(path, title, paras, when, "ru", timefmt.ru_visible(when),
                                      modified=when.astimezone(timezone.utc))

    def nav(self):
        return [("/", "Главная"), ("/world/", "В мире"), ("/archive/2025/09/12/", "Архив")]

    def page(self, path):
        html = "text/html; charset=utf-8"
        if path == "/":
            return html, self.layout("ru", "Мировое обозрение", "<h1>Мировое обозрение</h1><p>Разделы слева.</p>")
        if path in self.tree:
            children = [t for t in self.tree if t.startswith(path) and t != path
                        and t[len(path):].count("/") == 1]
            links = "".join(f'<li><a href="{c}">{c.strip("/").split("/")[-1].capitalize()}</a></li>' for c in children)
            pieces = [p for p in self.pieces.values() if p.path.rsplit("/", 1)[0] + "/" == path]
            main = f'<h1>Раздел {path}</h1><ul class="sub">{links}</ul>{self.teasers(pieces)}'
            return html, self.layout("ru", f"Раздел {path}", main)
        if path.startswith("/archive/2025/09/"):
            day = path.removeprefix("/archive/2025/09/").strip("/")
            if not day.isdigit():
                return None
            pieces = [p for p in self.pieces.values() if p.published.day == int(day)]
            prev = f'<a href="/archive/2025/09/{int(day) - 1:02d}/">Предыдущий день</a>' if int(day) > 10 else ""
            main = f"<h1>Архив за {day}.09.2025</h1>{self.teasers(pieces)}{prev}"
            return html, self.layout("ru", f"Архив {day}.09.2025", main)
        if path in ("/about/", "/contacts/"):
            return html, self.layout("ru", "О редакции", "<h1>О редакции</h1><p>Мировое обозрение.</p>")
        return None
