"""SQLite archive of crawled news: schema, writes, queries and exports.

Usable on its own (no Scrapy, no crawler code)::

    from archive import Archive
    from archive.export import export_corpus

    with Archive("archive.db", create=False) as arc:
        export_corpus(arc, "txt", "corpus.txt", site="kazpravda.kz", date_from="2025-09-01")
"""

from .core import Archive, StoreResult, decode_article, select_headers
from .schema import SCHEMA_VERSION
from .times import to_utc_iso, utc_now

__all__ = [
    "Archive",
    "SCHEMA_VERSION",
    "StoreResult",
    "decode_article",
    "select_headers",
    "to_utc_iso",
    "utc_now",
]
