"""A small archive with three sites over ten days, built through the library, for the
health, report and browser tests. Own sample text.

- ``a.kz``: steady; on the last day a template change pastes one sentence into every
  article (the boilerplate signal) and dates stop being found.
- ``b.kz``: steady, then on the last day most fetches fail (a blocked crawler).
- ``c.kz``: Kazakh, steady, with one article edited (an update) and one exact copy.
"""

from __future__ import annotations

from datetime import date, timedelta

from archive import Archive

DAYS = 10
FIRST = date(2025, 9, 1)
LAST_DAY = (FIRST + timedelta(days=DAYS - 1)).isoformat()
SITES = ("a.kz", "b.kz", "c.kz")
EXAMPLE_TEXT = ("Аким Мангистауской области встретился с жителями Жанаозена. "
                "Обсуждали ремонт дорог и новую школу.")
BOILERPLATE = "Подпишитесь на наш канал, чтобы первыми узнавать главные новости региона."

_WORDS_RU = ("форум", "школа", "дорога", "урожай", "выборы", "больница", "театр", "парк")
_WORDS_KK = ("мектеп", "жол", "егін", "сайлау", "аурухана", "театр", "саябақ", "қала")


def _text(site: str, day: int, n: int) -> str:
    words = _WORDS_KK if site == "c.kz" else _WORDS_RU
    body = " ".join(f"{words[(day + n + k) % len(words)]}{k}" for k in range(40 + 5 * n))
    return f"Новость номер {n} дня {day} на сайте {site}. {body}."


def build(path) -> dict:
    """Build the archive at ``path``; returns facts the tests check against."""
    facts = {"example_url": "https://a.kz/news/mangistau"}
    with Archive(path) as arc:
        for day in range(DAYS):
            when = (FIRST + timedelta(days=day)).isoformat()
            last = day == DAYS - 1
            for site in SITES:
                count = 6
                for n in range(count):
                    url = f"https://{site}/news/{day}-{n}"
                    failed = site == "b.kz" and last and n > 0
                    page_id = arc.record_page({
                        "site": site, "url": url, "final_url": url, "status": 503 if failed else 200,
                        "content_type": "text/html; charset=utf-8", "encoding": "utf-8",
                        "fetched_at": f"{when}T0{n}:00:00+00:00",
                        "body": f"<html><body><p>{site} {day} {n}</p></body></html>".encode(),
                        "error": "HTTP 503 (gave up after 3 attempts)" if failed else None,
                    })
                    if failed:
                        continue
                    text = _text(site, day, n)
                    if site == "a.kz" and last:
                        text += " " + BOILERPLATE
                    article = {
                        "url": url, "site": site, "title": f"{site} {when} {n}", "text": text,
                        "language": "kk" if site == "c.kz" else "ru",
                        "published_at": None if (site == "a.kz" and last) else f"{when}T1{n}:00:00+05:00",
                        "content_hash": f"{site}-{day}-{n}",
                    }
                    arc.store_article(article, page_id=page_id, crawl_id=None,
                                      seen_at=f"{when}T0{n}:00:01+00:00")
        when = FIRST + timedelta(days=DAYS - 1)
        arc.store_article({"url": facts["example_url"], "site": "a.kz", "title": "Встреча с жителями",
                           "text": EXAMPLE_TEXT, "language": "ru", "published_at": f"{when}T09:00:00+05:00",
                           "content_hash": "example"},
                          page_id=None, crawl_id=None, seen_at=f"{when}T09:00:00+00:00")
        # c.kz: an edit of an earlier article on the last day, and an exact copy.
        arc.store_article({"url": "https://c.kz/news/0-0", "site": "c.kz", "title": "өзгерді",
                           "text": "Мәтін өзгерді.", "language": "kk", "content_hash": "edited"},
                          page_id=None, crawl_id=None, seen_at=f"{LAST_DAY}T10:00:00+00:00")
        arc.store_article({"url": "https://c.kz/copy", "site": "c.kz", "title": "көшірме",
                           "text": _text("c.kz", 9, 0), "language": "kk", "content_hash": "c.kz-9-0"},
                          page_id=None, crawl_id=None, seen_at=f"{LAST_DAY}T11:00:00+00:00")
    return facts
