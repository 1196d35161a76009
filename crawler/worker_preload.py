"""Imported once by the extraction pool's fork server, before any worker is forked.

Importing trafilatura, htmldate and dateparser and building dateparser's Russian, Kazakh
and English parsers take about a second and tens of megabytes per process.  Done here,
every worker (and every replacement, see EXTRACTION_MAX_TASKS) starts warm in
milliseconds and shares those pages with its siblings instead of holding its own copy.
"""

from __future__ import annotations

import logging
import os

from crawler.archive_prep import extract_and_prepare
from crawler.dates import parse_date_text
from crawler.items import FetchedPage

logger = logging.getLogger(__name__)

# The fork server leaves the crawl's process group for the reason its workers do
# (crawler/workers.py): a group-wide SIGTERM must not take it down while the crawl drains.
os.setpgrp()

_PAGE = """<html lang="ru"><head><title>Проверка</title>
<meta property="article:published_time" content="2024-04-18T10:15:00+05:00"></head>
<body><article><h1>Проверка извлечения</h1><time>18 апреля 2024, 10:15</time>
<p>Первый абзац проверочной страницы, написанный для разогрева процесса.</p>
<p>Второй абзац: ещё немного текста, чтобы извлечение прошло целиком.</p></article></body></html>"""


def _warm() -> None:
    for text, langs in (("18 апреля 2024, 10:15", ("ru",)), ("вчера, 10:15", ("ru",)),
                        ("18 сәуір 2024, 10:15", ("kk",)), ("April 18, 2024 10:15", ("en",)),
                        ("3 сағат бұрын", ("kk", "ru"))):
        parse_date_text(text, languages=langs, timezone="Asia/Almaty")
    page = FetchedPage(url="http://127.0.0.1/warm-up", final_url="http://127.0.0.1/warm-up",
                       site="warm-up", fetched_at="2024-04-18T06:00:00+00:00", status=200,
                       headers={"content-type": "text/html; charset=utf-8"},
                       content_type="text/html; charset=utf-8", body=_PAGE.encode("utf-8"))
    # also builds the near-duplicate signer and the zstd compressor, once for all workers
    extract_and_prepare(page, None)


try:
    _warm()
except Exception:  # noqa: BLE001 - a cold start is slower, not wrong
    logger.debug("extraction warm-up failed", exc_info=True)
