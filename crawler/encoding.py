"""Decode fetched HTML bytes to text the way a browser would, with one safety net.

The order is w3lib's (BOM, HTTP ``Content-Type`` charset, ``<meta>`` / XML declaration,
detection, default).  Kazakhstani and Russian sites still serve windows-1251 pages and
misconfigured servers announce a charset the page does not use, so when the header charset
produces replacement characters or UTF-8 mojibake while the page's own declaration decodes
cleanly, the page's declaration wins.
"""

from __future__ import annotations

import codecs
import logging

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
)

logger = logging.getLogger(__name__)

__all__ = ["decode_html", "guess_encoding"]

# Single-byte Cyrillic encodings still seen on .kz/.ru sites, most common first.
_CYRILLIC_CANDIDATES = ("cp1251", "koi8-r")


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def guess_encoding(body: bytes) -> str | None:
    """Guess the encoding of undeclared HTML bytes; ``None`` when nothing fits.

    Valid UTF-8 is taken as UTF-8 (random single-byte text is almost never valid UTF-8).
    Otherwise windows-1251 and KOI8-R are tried: in real Russian/Kazakh prose lower-case
    letters dominate, and reading one encoding as the other flips the case of most letters.
    """
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    sample = body[:65536]
    best: tuple[float, str] | None = None
    for enc in _CYRILLIC_CANDIDATES:
        text = sample.decode(enc, errors="replace")
        non_ascii = [c for c in text if ord(c) > 127 and c.isalpha()]
        if not non_ascii:
            continue
        cyr = [c for c in non_ascii if _is_cyrillic(c)]
        if len(cyr) < 0.8 * len(non_ascii):
            continue
        lower_share = sum(c.islower() for c in cyr) / len(cyr)
        if best is None or lower_share > best[0]:
            best = (lower_share, enc)
    if best is not None and best[0] > 0.5:
        return best[1]
    return None


def _canonical(enc: str | None) -> str | None:
    if not enc:
        return None
    try:
        return codecs.lookup(enc).name
    except LookupError:
        return None


def _decodes_badly(body: bytes, enc: str) -> bool:
    """True when ``body`` read as ``enc`` gives replacement characters or UTF-8 mojibake."""
    try:
        body.decode(enc)
    except (UnicodeDecodeError, LookupError):
        return True
    if _canonical(enc) in ("utf-8", "utf-8-sig"):
        return False
    # Bytes with non-ASCII content that are valid UTF-8 read as a single-byte charset are
    # the classic «Р В Р’ВµР В»»-style mojibake; genuine single-byte prose is never valid UTF-8.
    if any(b > 127 for b in body):
        try:
            body.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False
    return False


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode HTML ``body`` to text; return ``(text, encoding name)``.

    ``content_type`` is the HTTP ``Content-Type`` header value (``None`` when absent).
    Browser order via :func:`w3lib.encoding.html_to_unicode`; but when the header charset
    contradicts the page's ``<meta>`` declaration and decodes badly while the declared one
    decodes cleanly, the declared one is used.  Never raises on undecodable bytes:
    unmappable bytes become U+FFFD.
    """
    enc, text = html_to_unicode(content_type, body, auto_detect_fun=guess_encoding)
    header_enc = _canonical(http_content_type_encoding(content_type))
    bom_enc, _ = read_bom(body)
    if header_enc and bom_enc is None and _canonical(enc) == header_enc:
        declared = _canonical(html_body_declared_encoding(body))
        if declared and declared != header_enc:
            if _decodes_badly(body, header_enc) and not _decodes_badly(body, declared):
                logger.info(
                    "header charset %s contradicts page charset %s and decodes badly; using %s",
                    header_enc, declared, declared,
                )
                enc, text = html_to_unicode(None, body, auto_detect_fun=guess_encoding)
    return text, enc
