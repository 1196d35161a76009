"""Exact-duplicate detection: a content hash over normalised article text."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """Text reduced to what makes two copies of a story the same.

    Unicode NFKC, case-folded, ё folded to е, every run of punctuation and white space
    collapsed to one space: copies differing only in quotes, dashes, non-breaking spaces or
    paragraph breaks compare equal.
    """
    text = unicodedata.normalize("NFKC", text or "").casefold().replace("ё", "е")
    return _NON_WORD.sub(" ", text).strip()


def content_hash(text: str) -> str:
    """sha256 (hex) of :func:`normalize_text`; the archive's ``content_hash`` column."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
