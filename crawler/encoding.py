"""Decode fetched HTML bytes to text the way a browser would, with one safety net.

The order is w3lib's (BOM, HTTP ``Content-Type`` charset, ``<meta>`` / XML declaration,
detection, default).  Kazakhstani and Russian sites still serve windows-1251 pages,
misconfigured servers announce a charset the page does not use, and converted pages keep
their old ``<meta charset>``; so when the chosen charset produces replacement characters or
UTF-8 mojibake, the next candidate that decodes cleanly wins.
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
_ASCII = bytes(range(128))


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _utf8_damage(body: bytes) -> tuple[int, int]:
    """(invalid UTF-8 sequences, non-ASCII bytes) in ``body``."""
    non_ascii = len(body) - len(body.translate(None, _ASCII))
    if not non_ascii:
        return 0, 0
    try:
        body.decode("utf-8")
        return 0, non_ascii
    except UnicodeDecodeError:
        return body.decode("utf-8", errors="replace").count("\ufffd"), non_ascii


def _is_mostly_utf8(body: bytes) -> bool:
    """Non-ASCII bytes that are (nearly all) valid UTF-8.

    One stray byte (a truncated character in a comment, say) does not make a UTF-8 page
    something else; a windows-1251 page read as UTF-8 fails on almost every letter.
    """
    errors, non_ascii = _utf8_damage(body)
    return non_ascii > 0 and errors <= max(2, non_ascii // 1000)


def guess_encoding(body: bytes) -> str | None:
    """Guess the encoding of undeclared HTML bytes; ``None`` when nothing fits.

    (Nearly) valid UTF-8 is taken as UTF-8: single-byte prose is practically never valid
    UTF-8.  Otherwise windows-1251 and KOI8-R are tried: in real Russian/Kazakh prose
    lower-case letters dominate, and reading one encoding as the other flips the case of
    most letters.
    """
    if body.isascii() or _is_mostly_utf8(body):
        return "utf-8"
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
    name = _canonical(enc)
    if name is None:
        return True
    if name in ("utf-8", "utf-8-sig"):
        errors, non_ascii = _utf8_damage(body)
        return errors > max(2, non_ascii // 1000)
    try:
        body.decode(name)
    except UnicodeDecodeError:
        return True
    # Non-ASCII bytes that are valid UTF-8, read as another charset, are the classic
    # «Р В Р’ВµР В»»-style mojibake; genuine text in another charset is never valid UTF-8.
    return _is_mostly_utf8(body)


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode HTML ``body`` to text; return ``(text, encoding name)``.

    ``content_type`` is the HTTP ``Content-Type`` header value (``None`` when absent).
    Browser order via :func:`w3lib.encoding.html_to_unicode` (BOM, header, ``<meta>``,
    detection).  When the encoding so chosen decodes badly (replacement characters or UTF-8
    mojibake), the next candidates that decode cleanly win: the page's ``<meta>``
    declaration (when the header was used), then detection (UTF-8 validity, Cyrillic
    single-byte encodings).  Never raises on undecodable bytes: they become U+FFFD.
    """
    enc, text = html_to_unicode(content_type, body, auto_detect_fun=guess_encoding)
    bom_enc, _ = read_bom(body)
    if bom_enc is not None or not _decodes_badly(body, enc):
        return text, enc
    candidates = []
    if _canonical(http_content_type_encoding(content_type)) == _canonical(enc):
        candidates.append(html_body_declared_encoding(body))
    candidates.append(guess_encoding(body))
    for alt in candidates:
        if alt and _canonical(alt) != _canonical(enc) and not _decodes_badly(body, alt):
            logger.info("charset %s decodes this page badly; using %s", enc, alt)
            used, decoded = html_to_unicode(f"text/html; charset={alt}", body)
            return decoded, used
    return text, enc
