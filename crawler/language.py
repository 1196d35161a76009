"""Language of a news page: declared markup first, a script heuristic on the text second.

Codes are ISO 639-1 ("ru", "kk", "en", ...).  Kazakhstani sites often write "kz" for Kazakh
and many templates ship a site-wide ``lang`` that is wrong on the other-language edition,
so a declaration whose script clearly contradicts a long text is not trusted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from lxml import html as lxml_html

from crawler.kk_latin import is_kazakh_latin

logger = logging.getLogger(__name__)

__all__ = [
    "normalize_lang",
    "declared_languages",
    "script_language",
    "detect_language",
]

# Letters that Kazakh uses and Russian does not.  "і" is shared with Ukrainian, so it only
# counts when no Ukrainian-only letter appears.
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
_UKRAINIAN_ONLY = frozenset("їєґЇЄҐ")

# Non-ISO codes seen in the wild, and ISO 639-2/3 codes, mapped to ISO 639-1.
_ALIASES = {
    "kz": "kk",
    "kaz": "kk",
    "qaz": "kk",
    "rus": "ru",
    "eng": "en",
    "ua": "uk",
    "ukr": "uk",
    "uzb": "uz",
    "kir": "ky",
    "kgz": "ky",
    "deu": "de",
    "ger": "de",
    "fra": "fr",
    "fre": "fr",
    "tur": "tr",
    "chi": "zh",
    "zho": "zh",
}

# Languages written in Cyrillic (those relevant here); everything else is assumed Latin
# unless it is unknown, in which case no script check is done.
_CYRILLIC_LANGS = frozenset({"ru", "kk", "uk", "be", "bg", "sr", "mk", "ky", "tg", "mn", "tt", "ba"})
_LATIN_LANGS = frozenset({"en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "cs", "sv", "da",
                          "no", "fi", "ro", "hu", "lt", "lv", "et", "id", "ms", "vi"})

_CODE_RE = re.compile(r"^[a-z]{2,3}$")

# Below this many letters the script heuristic is too noisy to overrule a declaration.
_MIN_LETTERS_TO_OVERRULE = 200
# Share of Kazakh-specific letters among Cyrillic letters that marks Kazakh prose
# (10-15 % in running Kazakh text, ~0 % in Russian, a few % in a short Russian text quoting
# a Kazakh name).
_KK_SHARE = 0.04


def normalize_lang(value: str | None) -> str | None:
    """Normalise a language tag ("kk-KZ", "ru_RU", "kz", "RUS") to ISO 639-1, or ``None``."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    # Content-Language may list several languages: the first one is the page's.
    tag = tag.split(",")[0].strip()
    primary = tag.split("-")[0]
    primary = _ALIASES.get(primary, primary)
    if not _CODE_RE.match(primary) or primary in ("x", "xx", "und", "mul", "zxx"):
        return None
    return primary


def _first(tree: lxml_html.HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def declared_languages(
    tree: lxml_html.HtmlElement,
    url: str | None = None,
    hreflang: dict[str, str] | None = None,
) -> list[str]:
    """Languages declared in markup, in trust order, normalised, without duplicates.

    Order: ``<html lang>`` (or ``xml:lang``), ``og:locale``, ``<meta http-equiv=content-language>``
    (or ``<meta name=language>``), then the hreflang entry pointing at ``url`` itself.
    """
    root = tree.getroottree().getroot()
    raw: list[str | None] = [
        root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or root.get("xml:lang"),
        _first(tree, '//meta[@property="og:locale" or @name="og:locale"]/@content'),
        _first(
            tree,
            '//meta[translate(@http-equiv, "CONTENTLAGU", "contentlagu")="content-language"]/@content'
            ' | //meta[translate(@name, "LANGUE", "langue")="language"]/@content',
        ),
    ]
    if url and hreflang:
        own = url.rstrip("/")
        for code, href in hreflang.items():
            if href.rstrip("/") == own:
                raw.append(code)
    out: list[str] = []
    for value in raw:
        code = normalize_lang(value)
        if code and code not in out:
            out.append(code)
    return out


def _letter_counts(text: str) -> tuple[int, int, int, int]:
    """(Cyrillic, Kazakh-specific, Ukrainian-only, Latin) letter counts in ``text``."""
    cyr = kk = i_dotted = uk = lat = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if "\u0400" <= ch <= "\u04ff":
            cyr += 1
            if ch in "іІ":
                i_dotted += 1
            elif ch in KAZAKH_LETTERS:
                kk += 1
            elif ch in _UKRAINIAN_ONLY:
                uk += 1
        elif ch < "\u0250":
            lat += 1
    if not uk:
        kk += i_dotted
    return cyr, kk, uk, lat


def script_language(text: str) -> str | None:
    """Guess ru/kk/en from the letters of ``text``; ``None`` when it has no letters.

    Cyrillic-majority text is "kk" when Kazakh-specific letters (әғқңөұүһі) make up a
    noticeable share of it, "uk" when Ukrainian-only letters (їєґ) outnumber them, else
    "ru"; Latin-majority text is "kk" when it reads as Latin-script Kazakh
    (:func:`crawler.kk_latin.is_kazakh_latin`), else "en".
    """
    cyr, kk, uk, lat = _letter_counts(text)
    if cyr == 0 and lat == 0:
        return None
    if cyr >= lat:
        if uk > kk and uk >= max(1, _KK_SHARE / 4 * cyr):
            return "uk"
        return "kk" if kk >= max(1, _KK_SHARE * cyr) else "ru"
    return "kk" if is_kazakh_latin(text) else "en"


def _contradicts(declared: str, text: str) -> str | None:
    """The script-based language when a long ``text`` clearly contradicts ``declared``."""
    cyr, kk, _uk, lat = _letter_counts(text)
    if cyr + lat < _MIN_LETTERS_TO_OVERRULE:
        return None
    guess = script_language(text)
    if declared in _CYRILLIC_LANGS and lat > 3 * cyr:
        return guess
    if declared in _LATIN_LANGS and cyr > 3 * lat:
        return guess
    if declared in _LATIN_LANGS and guess == "kk":
        return "kk"  # Latin-script Kazakh under a template's lang="en"
    # ru <-> kk: a Kazakh edition served with the Russian template's lang="ru", or back.
    if declared == "ru" and guess == "kk" and kk >= 2 * _KK_SHARE * cyr:
        return "kk"
    if declared == "kk" and cyr > 3 * lat and kk == 0:
        return "ru"
    return None


def detect_language(
    tree: lxml_html.HtmlElement | None,
    text: str,
    url: str | None = None,
    *,
    allowed: Sequence[str] | None = None,
    hreflang: dict[str, str] | None = None,
) -> str | None:
    """Language of a page as ISO 639-1.

    Declared markup (see :func:`declared_languages`) is used first, unless its script is
    clearly contradicted by a long ``text``; otherwise :func:`script_language` on ``text``.
    With ``allowed`` (a site profile's languages, first = main) only those codes are
    returned; when nothing fits, the main language is returned.
    """
    allowed_set = {c for c in (normalize_lang(a) for a in allowed or ()) if c}
    main = normalize_lang(allowed[0]) if allowed else None

    def fits(code: str | None) -> bool:
        return code is not None and (not allowed_set or code in allowed_set)

    candidates: Iterable[str] = declared_languages(tree, url, hreflang) if tree is not None else []
    for code in candidates:
        if not fits(code):
            continue
        override = _contradicts(code, text)
        if override and fits(override):
            logger.debug("declared language %s contradicted by text; using %s", code, override)
            return override
        if override is None:
            return code
        # Contradicted but the override is not allowed: try the next declaration.
    guess = script_language(text)
    if fits(guess):
        return guess
    return main if allowed_set else guess
