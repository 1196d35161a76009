"""What the archive computes from one page, done beside its extraction in a worker process.

Storing a page costs the crawl process a zstd compression of the raw body, the stems of the
article for the search index and its near-duplicate signature (MinHash). The crawl process
runs on the same cores as the extraction workers and is one process, so that work is done
where the page was just extracted, and the archive takes the results as they are:
:class:`archive.bodies.Compressed` bodies, :meth:`archive.Archive.offer_stems`, and
:meth:`crawler.neardup.NearDupIndexer.index` with a signature. Each result is what the
archive would have computed itself, byte for byte (tests/test_archive_prep.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from archive.bodies import BodyCodec, Compressed
from archive.stemming import stem_text
from crawler.items import FetchedPage
from crawler.page import PageResult, process_fetched

__all__ = ["Prepared", "extract_and_prepare", "prepare"]


@dataclass
class Prepared:
    """``body``: the compressed raw body (None: none to store); ``stems``:
    ``(text, language) -> stems`` of the article's title and text; ``signed``:
    ``(content_hash, signature)`` for the near-duplicate index, or None."""

    body: Compressed | None = None
    stems: dict[tuple[str | None, str | None], str] = field(default_factory=dict)
    signed: tuple | None = None


@functools.lru_cache(maxsize=1)
def _codec() -> BodyCodec:
    return BodyCodec()


@functools.lru_cache(maxsize=1)
def _signer():
    from crawler.neardup import Signer

    return Signer()


def prepare(page: FetchedPage, result: PageResult, *, store_body: bool = True,
            sign: bool = True) -> Prepared:
    """The archive's per-page work for ``page`` and its extraction ``result``."""
    prepared = Prepared()
    if store_body and page.body is not None:
        prepared.body = Compressed(*_codec().compress(page.body))
    article = result.article
    if article is not None and not result.error:
        language = article.get("language")
        for text in (article.get("title"), article.get("text")):
            prepared.stems[(text, language)] = stem_text(text, language)
        if sign:
            prepared.signed = (article.get("content_hash"), _signer().sign(article.get("text") or ""))
    return prepared


def extract_and_prepare(page: FetchedPage, profile, classify=None, store_body: bool = True,
                        sign: bool = True) -> tuple[PageResult, Prepared]:
    """:func:`crawler.page.process_fetched`, then :func:`prepare`: one task of the crawl's
    worker pool."""
    result = process_fetched(page, profile, classify)
    return result, prepare(page, result, store_body=store_body, sign=sign)
