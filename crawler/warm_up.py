"""Extraction made warm before the first page: imports trafilatura, htmldate and dateparser,
builds dateparser's Russian, Kazakh and English parsers, the near-duplicate signer and the
zstd compressor. Done lazily, that second or more of CPU falls on the first page, while
the process holds its requests (and, in a distributed worker, its leases and politeness
slots) with the event loop blocked."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_PAGE = """<html lang="ru"><head><title>Проверка</title>
<meta property="article:published_time" content="2024-04-18T10:15:00+05:00"></head>
<body><article><h1>Проверка извлечения</h1><time>18 апреля 2024, 10:15</time>
<p>Первый абзац проверочной страницы, написанный для разогрева процесса.</p>
<p>Второй абзац: ещё немного текста, чтобы извлечение прошло целиком.</p></article></body></html>"""


def warm() -> None:
    """Run the extraction once on a page of our own; a failure only leaves it cold."""
    try:
        from crawler.archive_prep import extract_and_prepare
        from crawler.dates import parse_date_text
        from crawler.items import FetchedPage

        for text, langs in (("18 апреля 2024, 10:15", ("ru",)), ("вчера, 10:15", ("ru",)),
                            ("18 сәуір 2024, 10:15", ("kk",)), ("April 18, 2024 10:15", ("en",)),
                            ("3 сағат бұрын", ("kk", "ru"))):
            parse_date_text(text, languages=langs, timezone="Asia/Almaty")
        page = FetchedPage(url="http://127.0.0.1/warm-up", final_url="http://127.0.0.1/warm-up",
                           site="warm-up", fetched_at="2024-04-18T06:00:00+00:00", status=200,
                           headers={"content-type": "text/html; charset=utf-8"},
                           content_type="text/html; charset=utf-8", body=_PAGE.encode("utf-8"))
        extract_and_prepare(page, None)
    except Exception:  # noqa: BLE001 - a cold start is slower, not wrong
        logger.debug("extraction warm-up failed", exc_info=True)
