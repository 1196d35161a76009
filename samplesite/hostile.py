"""A hostile news site on loopback: every article link misbehaves in its own way.

``serve_hostile()`` starts a small threaded HTTP server on 127.0.0.1 (port 0 by default) whose
robots.txt, sitemaps and feeds list article URLs that match the generic article heuristic
(``/n/three-word-slug/``) and each answer with one fault: 404, 410, 500, 503 with and without
Retry-After, 429, a hang, a connection reset mid-body, a redirect loop, a 50 MB page, a lying
charset header, a windows-1251 page declared only in a meta tag, an empty 200, a PDF, an
unparseable date.  A few good articles (own Russian text) show that the crawl goes on.  The
discovery documents are hostile too: a gzip-bomb sitemap (~0.5 MB inflating to 512 MB), XML
external entities pointing at ``file:///etc/passwd`` and at an external DTD, billion laughs,
invalid XML.

``server.hostile = False`` turns it into a calm site: the fault URLs answer with ordinary
articles and discovery lists only the plain sitemap, so a first crawl can fill an archive that a
later hostile crawl must not damage.

Every request is recorded in ``server.hits`` (path, monotonic arrival time, headers), so tests
measure politeness on the server side.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .server import SiteServer

logger = logging.getLogger(__name__)

MB = 1024 * 1024
HUGE_SIZE = 50 * MB
BOMB_INFLATED_MB = 512


# -- the catalogue ----------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    path: str
    kind: str
    what: str
    # also listed (as a good article) by the calm site
    calm: bool = True


REDIRECT_FIRST_HOP = "/n/redirect-loop-first-hop/"
REDIRECT_SECOND_HOP = "/n/redirect-loop-second-hop/"
GOOD = (
    Fault("/n/v-karagande-otkryli-detskuyu-biblioteku/", "good", "a good article"),
    Fault("/n/na-ozere-balkhash-nachalsya-sezon-rybalki/", "good", "a good article"),
    Fault("/n/v-aktau-postroyat-novuyu-naberezhnuyu/", "good", "a good article", calm=False),
    Fault("/n/studenty-iz-kostanaya-vyigrali-olimpiadu/", "good", "a good article", calm=False),
)
FAULTS = (
    Fault("/n/page-not-found-404/", "404", "404 Not Found"),
    Fault("/n/page-gone-for-good-410/", "410", "410 Gone"),
    Fault("/n/server-error-500-always/", "500", "500 on every request"),
    Fault("/n/unavailable-503-without-retry-after/", "503", "503 without Retry-After, every time"),
    Fault("/n/unavailable-503-retry-after-then-ok/", "503-retry-after",
          "503 with Retry-After: 1 once, then the article", calm=False),
    Fault("/n/too-many-requests-429-then-ok/", "429-retry-after",
          "429 with Retry-After: 1 once, then the article", calm=False),
    Fault("/n/too-many-requests-retry-after-hour/", "429-retry-after-hour",
          "429 with Retry-After: 3600 (over the cap)"),
    Fault("/n/slow-answer-times-out/", "timeout", "no answer before the download timeout"),
    Fault("/n/connection-reset-mid-body/", "reset", "TCP reset after part of the body"),
    Fault(REDIRECT_FIRST_HOP, "redirect-loop", "302 to a page that 302s back"),
    Fault("/n/fifty-megabyte-page-with-length/", "huge", "50 MB body, Content-Length given"),
    Fault("/n/fifty-megabyte-page-streamed/", "huge-streamed",
          "50 MB body, no Content-Length (read until close)"),
    Fault("/n/charset-header-contradicts-page/", "charset-conflict",
          "header says windows-1251, the page is UTF-8 (meta utf-8)"),
    Fault("/n/windows-1251-declared-in-meta/", "cp1251-meta",
          "windows-1251 body, charset only in a meta tag"),
    Fault("/n/empty-body-with-200/", "empty", "200 with an empty body"),
    Fault("/n/pdf-behind-article-link/", "pdf", "application/pdf behind an article link"),
    Fault("/n/date-that-cannot-be-parsed/", "bad-date", "an article whose date is nonsense",
          calm=False),
)
# Listed only in /sitemap-politeness.xml and /sitemap-flaky.xml, faulty in both modes: for
# measuring on the server side how the crawler waits.
POLITENESS = (
    Fault("/n/rate-limited-429-then-ok/", "429-retry-after",
          "429 with Retry-After: N seconds once, then the article", calm=False),
    Fault("/n/rate-limited-http-date-then-ok/", "429-retry-after-date",
          "429 with Retry-After as an HTTP-date N+1 s ahead once, then the article", calm=False),
    Fault("/n/polite-article-about-steppe-birds/", "good", "a good article", calm=False),
)
FLAKY = Fault("/n/flaky-server-error-then-ok/", "flaky",
              "500 for the first few requests, then the article", calm=False)
# In the sitemap but disallowed by robots.txt: a polite crawler never asks for it.
DISALLOWED = "/private/n/secret-draft-not-for-robots/"
# Linked only from the hostile sitemaps and feeds.
DISCOVERY_ONLY = "/n/found-only-in-the-feed/"
SITEMAPS = ("/sitemap-bomb.xml.gz", "/sitemap-bomb-encoded.xml", "/sitemap-xxe.xml",
            "/sitemap-laughs.xml", "/sitemap-invalid.xml")
FEEDS = ("/feed.xml", "/feed-xxe.xml", "/feed-laughs.xml", "/feed-invalid.xml")
EXTERNAL_DTD = "/evil.dtd"
SECRET_FILE = "/etc/passwd"

_BY_PATH = {f.path: f for f in GOOD + FAULTS + POLITENESS + (FLAKY,)}
_ALWAYS_FAULTY = {f.path for f in POLITENESS + (FLAKY,)}

_TITLES = {
    "/n/v-karagande-otkryli-detskuyu-biblioteku/": "В Караганде открыли детскую библиотеку",
    "/n/na-ozere-balkhash-nachalsya-sezon-rybalki/": "На озере Балхаш начался сезон рыбалки",
    "/n/v-aktau-postroyat-novuyu-naberezhnuyu/": "В Актау построят новую набережную",
    "/n/studenty-iz-kostanaya-vyigrali-olimpiadu/": "Студенты из Костаная выиграли олимпиаду",
    DISCOVERY_ONLY: "Жители Петропавловска посадили аллею клёнов",
}
# Sentences written for this module; articles take a few each, starting at different places.
_SENTENCES = (
    "Работы начались ранней весной и шли без перерыва до конца лета.",
    "Местные жители давно просили городские власти обратить внимание на этот вопрос.",
    "По словам организаторов, в первую неделю пришло больше трёхсот человек.",
    "Деньги на проект выделили из областного бюджета, часть средств добавили предприниматели.",
    "Специалисты обещают, что к осени здесь появятся новые скамейки и освещение.",
    "Школьники помогали взрослым и рассказывали о проекте в своих классах.",
    "В акимате отметили, что опыт могут перенять и другие районы области.",
    "Пенсионеры, которые живут по соседству, говорят, что стало заметно спокойнее.",
    "Следующий этап планируют завершить до начала отопительного сезона.",
    "Волонтёры собирали подписи и сами нашли подрядчика для первых работ.",
    "На открытии выступил детский хор, а после концерта гостей угостили чаем.",
    "Журналисты районной газеты вели дневник стройки и публиковали фотографии каждую неделю.",
    "Инженеры проверили грунт и решили сохранить старые деревья у входа.",
    "Для людей с колясками сделали пологие пандусы и широкие дорожки.",
    "Городской совет обещает отчитаться о расходах на открытом собрании в декабре.",
    "Многие участники признались, что впервые занимались таким делом.",
)


def title_of(path: str) -> str:
    if path in _TITLES:
        return _TITLES[path]
    slug = path.strip("/").split("/")[-1]
    return "Новость о том, как " + " ".join(slug.split("-")[:4]) + " стала примером для района"


def paragraphs_of(path: str) -> list[str]:
    """Three paragraphs of own Russian text, different for every path."""
    start = sum(path.encode()) % len(_SENTENCES)
    picked = [_SENTENCES[(start + 5 * i) % len(_SENTENCES)] for i in range(9)]
    first = f"{title_of(path)}: об этом сообщили в пресс-службе местного акимата."
    return [" ".join([first, *picked[0:2]]), " ".join(picked[2:5]), " ".join(picked[5:9])]


def published_of(path: str) -> str:
    day = 1 + sum(path.encode()) % 28
    return f"2025-09-{day:02d}T10:30:00+05:00"


def article_html(path: str, charset: str = "utf-8", date: str | None = None,
                 meta_charset: str | None = None) -> str:
    title = title_of(path)
    date = date or published_of(path)
    meta = meta_charset or charset
    if meta.lower() == "utf-8":
        charset_tag = '<meta charset="utf-8">'
    else:  # the old http-equiv form, as on sites still serving windows-1251
        charset_tag = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">'
    paras = "\n".join(f"<p>{p}</p>" for p in paragraphs_of(path))
    return f"""<!DOCTYPE html>
<html lang="ru"><head>{charset_tag}
<title>{title} | Враждебные новости</title>
<meta property="article:published_time" content="{date}">
<meta property="og:title" content="{title}">
</head><body>
<header><a href="/">Враждебные новости</a></header>
<main><article><h1>{title}</h1>
<div class="meta"><time class="date">{date}</time></div>
{paras}
</article></main>
<footer>© Враждебные новости, пример для тестов</footer>
</body></html>"""


# -- hostile documents ------------------------------------------------------------------

def _urlset(base: str, paths, doctype: str = "", extra: str = "") -> bytes:
    urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{extra}{urls}</urlset>'
            ).encode()


def _rss(base: str, paths, doctype: str = "", extra: str = "") -> bytes:
    items = "".join(f"<item><title>{title_of(p)}</title><link>{base}{p}</link>"
                    f"<pubDate>Mon, 15 Sep 2025 10:00:00 +0500</pubDate></item>" for p in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<rss version="2.0"><channel>'
            f"<title>Враждебные новости</title><link>{base}/</link>{extra}{items}</channel></rss>"
            ).encode()


def _xxe_doctype(root: str, base: str) -> str:
    # A local file and an external DTD on this very server: a parser that resolves either would
    # leak the file into the archive or show up in ``hits``.
    return (f'<!DOCTYPE {root} SYSTEM "{base}{EXTERNAL_DTD}" [\n'
            f'  <!ENTITY xxe SYSTEM "file://{SECRET_FILE}">\n'
            f'  <!ENTITY remote SYSTEM "{base}{EXTERNAL_DTD}?entity">\n]>\n')


def _laughs_doctype(root: str) -> str:
    lines = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        lines.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    return f"<!DOCTYPE {root} [\n  " + "\n  ".join(lines) + "\n]>\n"


def gzip_bomb(head: bytes, pad_mb: int, tail: bytes) -> bytes:
    """A valid gzip member of ``head + pad_mb MiB of spaces + tail``, built without inflating.

    After a full flush deflate starts afresh, so one compressed MiB of spaces can be repeated.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b" " * MB
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(pad_mb):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + pad_mb * MB + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + first + middle * pad_mb + last + struct.pack("<II", crc, size & 0xFFFFFFFF)


# -- the server -------------------------------------------------------------------------

@dataclass
class Hit:
    path: str
    at: float  # time.monotonic() when the request line arrived
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HostileSite/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    server: "_Server"

    def do_GET(self) -> None:
        path = self.path.split("#")[0]
        self.server.record(Hit(path, time.monotonic(), {k.lower(): v for k, v in self.headers.items()}))
        base = self.server.url
        route = path.split("?")[0]
        try:
            self._route(route, base)
        except (BrokenPipeError, ConnectionResetError):
            # The crawler hung up (size cap, timeout): expected for several faults.
            self.close_connection = True

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
              headers: dict | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _article(self, path: str, **kw) -> None:
        self._send(200, article_html(path, **kw).encode(kw.get("charset", "utf-8")))

    def _route(self, path: str, base: str) -> None:
        srv = self.server
        if path == "/robots.txt":
            lines = ["User-agent: *", "Disallow: /private/", f"Sitemap: {base}/sitemap.xml"]
            if srv.hostile:
                lines += [f"Sitemap: {base}{s}" for s in SITEMAPS]
            return self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain")
        if path == "/sitemap.xml":
            return self._send(200, _urlset(base, srv.listed_paths()), "application/xml")
        if path == "/sitemap-politeness.xml":
            paths = [f.path for f in POLITENESS] + [DISALLOWED]
            return self._send(200, _urlset(base, paths), "application/xml")
        if path == "/sitemap-flaky.xml":
            return self._send(200, _urlset(base, [FLAKY.path]), "application/xml")
        if path == "/":
            feeds = "".join(f'<link rel="alternate" type="application/rss+xml" href="{f}">'
                            for f in (FEEDS if srv.hostile else ()))
            return self._send(200, (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{feeds}"
                                    "<title>Враждебные новости</title></head><body>"
                                    "<h1>Враждебные новости</h1></body></html>").encode())
        if srv.hostile and path in SITEMAPS + FEEDS:
            return self._discovery(path, base)
        if path == EXTERNAL_DTD:
            return self._send(200, b'<!ENTITY leak "external-dtd-was-loaded">', "application/xml-dtd")
        if path == DISCOVERY_ONLY or path == DISALLOWED:
            return self._article(path)
        fault = _BY_PATH.get(path)
        if path == REDIRECT_SECOND_HOP and srv.hostile:
            return self._send(302, b"", None, {"Location": f"{base}{REDIRECT_FIRST_HOP}"})
        if path in _ALWAYS_FAULTY:
            return self._fault(fault, path, base)
        if fault is None or (not srv.hostile and not fault.calm):
            return self._send(404, b"<html><body>not found</body></html>")
        if not srv.hostile or fault.kind == "good":
            return self._article(path)
        self._fault(fault, path, base)

    def _fault(self, fault: Fault, path: str, base: str) -> None:
        kind = fault.kind
        srv = self.server
        if kind in ("404", "410", "500", "503"):
            return self._send(int(kind), f"<html><body>error {kind}</body></html>".encode())
        if kind in ("503-retry-after", "429-retry-after"):
            if srv.count(path) == 1:
                return self._send(int(kind[:3]), b"<html><body>later</body></html>",
                                  headers={"Retry-After": str(srv.retry_after)})
            return self._article(path)
        if kind == "429-retry-after-date":
            if srv.count(path) == 1:
                # HTTP-dates have whole seconds: one more than asked, so the wait is >= retry_after
                when = formatdate(time.time() + srv.retry_after + 1, usegmt=True)
                return self._send(429, b"<html><body>later</body></html>", headers={"Retry-After": when})
            return self._article(path)
        if kind == "flaky":
            if srv.count(path) <= srv.flaky_failures:
                return self._send(500, b"<html><body>try again</body></html>")
            return self._article(path)
        if kind == "good":
            return self._article(path)
        if kind == "429-retry-after-hour":
            return self._send(429, b"<html><body>much later</body></html>",
                              headers={"Retry-After": "3600"})
        if kind == "timeout":
            srv.closing.wait(srv.hang_seconds)
            self.close_connection = True
            return self._article(path)
        if kind == "reset":
            body = article_html(path).encode() * 50
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            # SO_LINGER 0: close() sends RST instead of FIN, the crawler sees a reset mid-body.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if kind == "redirect-loop":
            return self._send(302, b"", None, {"Location": f"{base}{REDIRECT_SECOND_HOP}"})
        if kind in ("huge", "huge-streamed"):
            return self._huge(path, with_length=kind == "huge")
        if kind == "charset-conflict":
            body = article_html(path, charset="utf-8").encode("utf-8")
            return self._send(200, body, "text/html; charset=windows-1251")
        if kind == "cp1251-meta":
            body = article_html(path, charset="windows-1251").encode("cp1251")
            return self._send(200, body, "text/html")
        if kind == "empty":
            return self._send(200, b"")
        if kind == "pdf":
            pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
                   b"%%EOF\n")
            return self._send(200, pdf, "application/pdf")
        if kind == "bad-date":
            return self._article(path, date="тридцать второе мартобря, после дождичка в четверг")
        raise AssertionError(f"unknown fault {kind}")

    def _huge(self, path: str, with_length: bool) -> None:
        head = article_html(path).encode()[:-len(b"</body></html>")]
        chunk = (b"<p>" + "Очень длинная страница. ".encode() * 2700 + b"</p>\n")[:64 * 1024]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if with_length:
            self.send_header("Content-Length", str(HUGE_SIZE))
        else:  # the body ends when the connection closes
            self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = len(head)
        self.wfile.write(head)
        while sent < HUGE_SIZE and not self.server.closing.is_set():
            piece = chunk[: HUGE_SIZE - sent]
            self.wfile.write(piece)
            sent += len(piece)

    def _discovery(self, path: str, base: str) -> None:
        good = [GOOD[0].path, DISCOVERY_ONLY]
        if path == "/sitemap-bomb.xml.gz":
            return self._send(200, self.server.bomb(base), "application/x-gzip")
        if path == "/sitemap-bomb-encoded.xml":
            return self._send(200, self.server.bomb(base), "application/xml",
                              {"Content-Encoding": "gzip"})
        if path == "/sitemap-xxe.xml":
            body = _urlset(base, good, _xxe_doctype("urlset", base),
                           "<url><loc>&xxe;</loc></url><url><loc>&remote;</loc></url>"
                           f"<url><loc>{base}/n/xxe-entity-in-url-&xxe;-end/</loc></url>")
            return self._send(200, body, "application/xml")
        if path == "/sitemap-laughs.xml":
            body = _urlset(base, good, _laughs_doctype("urlset"),
                           f"<url><loc>{base}/n/billion-laughs-here-&lol9;/</loc></url>")
            return self._send(200, body, "application/xml")
        if path == "/sitemap-invalid.xml":
            body = (f'<?xml version="1.0"?><urlset><url><loc>{base}{DISCOVERY_ONLY}</loc></url>'
                    "<url><loc>unclosed <<< & </urlset").encode()
            return self._send(200, body, "application/xml")
        if path == "/feed.xml":
            return self._send(200, _rss(base, [GOOD[3].path]), "application/rss+xml")
        if path == "/feed-xxe.xml":
            body = _rss(base, [DISCOVERY_ONLY], _xxe_doctype("rss", base),
                        "<item><title>&xxe;</title><description>&xxe;&remote;</description>"
                        f"<link>{base}/n/xxe-entity-in-feed-&xxe;-end/</link></item>")
            return self._send(200, body, "application/rss+xml")
        if path == "/feed-laughs.xml":
            body = _rss(base, [DISCOVERY_ONLY], _laughs_doctype("rss"),
                        "<item><title>&lol9;</title>"
                        f"<link>{base}/n/billion-laughs-in-feed-&lol9;/</link></item>")
            return self._send(200, body, "application/rss+xml")
        if path == "/feed-invalid.xml":
            body = (f'<?xml version="1.0"?><rss><channel><item><link>{base}{DISCOVERY_ONLY}</link>'
                    "</item><item><title>broken & <unclosed></channel>").encode()
            return self._send(200, body, "application/rss+xml")
        raise AssertionError(path)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("%s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, hang_seconds: float, retry_after: int, flaky_failures: int):
        super().__init__(addr, _Handler)
        self.flaky_failures = flaky_failures
        self.url = f"http://{self.server_address[0]}:{self.server_address[1]}"
        self.hostile = True
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.closing = threading.Event()
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._bomb: bytes | None = None

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for h in self.hits if h.path.split("?")[0] == path)

    def listed_paths(self) -> list[str]:
        faults = [f.path for f in GOOD + FAULTS if self.hostile or f.calm]
        return faults + [DISALLOWED]

    def bomb(self, base: str) -> bytes:
        with self._lock:
            if self._bomb is None:
                head = _urlset(base, [GOOD[1].path])[:-len(b"</urlset>")] + b"<!-- "
                self._bomb = gzip_bomb(head, BOMB_INFLATED_MB, b" --></urlset>")
            return self._bomb

    def handle_error(self, request, client_address) -> None:
        # Resets and hang-ups are this server's job; keep stderr quiet.
        logger.debug("connection error from %s", client_address, exc_info=True)


class HostileServer(SiteServer):
    """A running hostile site; ``url`` is ``http://127.0.0.1:PORT`` (no trailing slash)."""

    @property
    def hostile(self) -> bool:
        return self._httpd.hostile

    @hostile.setter
    def hostile(self, value: bool) -> None:
        self._httpd.hostile = value

    @property
    def hits(self) -> list[Hit]:
        with self._httpd._lock:
            return list(self._httpd.hits)

    def hits_of(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path.split("?")[0] == path]

    def clear_hits(self) -> None:
        with self._httpd._lock:
            self._httpd.hits.clear()

    def close(self) -> None:
        # wake the pages that keep a client waiting, then stop like any sample site
        self._httpd.closing.set()
        super().close()


def serve_hostile(host: str = "127.0.0.1", port: int = 0, *, hang_seconds: float = 10.0,
                  retry_after: int = 1, flaky_failures: int = 3) -> HostileServer:
    """Start the hostile site on host:port (port 0: a free one) in a daemon thread.

    ``hang_seconds``: how long the timeout page keeps the client waiting (set it above the
    crawl's DOWNLOAD_TIMEOUT); ``retry_after``: the Retry-After of the 429/503-then-ok pages;
    ``flaky_failures``: how many 500s the flaky page gives before it answers.
    """
    return HostileServer(_Server((host, port), hang_seconds, retry_after, flaky_failures))
