"""Article extraction: one fetched news page in, one :class:`Article` out.

The page is decoded (:mod:`crawler.encoding`), parsed once with lxml, given to
:func:`crawler.dates.find_dates` (first: trafilatura may modify trees) and to
trafilatura's ``bare_extraction`` for the main text and metadata (precision mode, widened with
recall mode's paragraphs inside it: :mod:`crawler.text_merge`).  Link-level metadata
(canonical, hreflang) is read from the same tree.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html
from trafilatura import bare_extraction

from crawler.classify import classify_page
from crawler.dates import find_dates
from crawler.encoding import decode_html
from crawler.language import detect_language, normalize_lang
from crawler.profiles import DEFAULT_LANGUAGES, DEFAULT_TIMEZONE
from crawler.text_merge import widen_with_recall

logger = logging.getLogger(__name__)

__all__ = [
    "Article",
    "ExtractionError",
    "classify_page",
    "extract_article",
    "extract_article_tree",
    "parse_html",
    "parse_page",
    "paragraphs_from_text",
    "promote_photo_credits",
]

# Below this many characters a precision-mode text may be a failed extraction ...
SHORT_TEXT_CHARS = 1000
# ... and balanced mode replaces it when it finds this many times more text.
RESCUE_RATIO = 2.0
# An article has at least one paragraph of this many words.
MIN_SENTENCE_WORDS = 6

# trafilatura's date is not used (crawler.dates finds it): skip htmldate's extensive search.
_CHEAP_DATES = {"extensive_search": False, "original_date": True}

# trafilatura's own parser settings, so that our tree is what trafilatura would build.
_PARSER = lxml_html.HTMLParser(
    collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
)

# Signatures of formats that servers sometimes return in place of an article page.
_BINARY_MAGIC = (
    b"%PDF",
    b"PK\x03\x04",
    b"\x89PNG",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",
    b"\x1f\x8b",
    b"BZh",
    b"\x28\xb5\x2f\xfd",  # zstandard
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x00\x00\x00\x18ftyp",
    b"\x00\x00\x00\x20ftyp",
    b"{\\rtf",
    b"\xd0\xcf\x11\xe0",  # old MS Office
)
_TAG_RE = re.compile(r"<\s*[a-zA-Z!/?]")
# Control characters libxml2 rejects (everything below 0x20 but tab, LF, CR).
_INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# Spaces a browser collapses (ASCII whitespace); a no-break space is shown as published,
# so it is kept, as are the other fixed-width spaces.
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
# trafilatura normalises every Unicode space to " " (str.split) and drops unprintable
# characters; no-break spaces travel through it as this rare printable symbol (a page that
# has one keeps trafilatura's spaces: see _mark_nbsp).
_NBSP_MARK = "\u2423"
_TITLE_NORM_RE = re.compile(r"[\W_]+", re.UNICODE)
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_UNSPACED_SCRIPT_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
# Cross-promotion lines that sit inside article bodies on ru/kk/en news sites: «Читайте также:
# <link>», channel subscription calls.  Only short lines are dropped: a long paragraph that
# starts this way is real text.
_PROMO_LINE_RE = re.compile(
    r"^(?:"
    r"(?:также\s+)?(?:читайте|смотрите|читать|смотреть)(?:\s+(?:также|тоже|ещ[её]))?\s*[:.\-—–]"
    r"|(?:читайте|смотрите)\s+(?:также|тоже|ещ[её])\b"
    r"|по\s+теме\s*:"
    r"|(?:тағы\s+)?оқ(?:ы|и)(?:ңыз|\s+отырыңыз)\b"
    r"|тақырыпқа\s+қатысты\s*:"
    r"|(?:read|see)\s+(?:also|more)\s*:"
    r"|related\s*:"
    r"|(?:подписывайтесь|подпишитесь)\b.*(?:telegram|телеграм|instagram|инстаграм|youtube|whatsapp|канал|соцсет)"
    r"|.*(?:telegram|телеграм|instagram|youtube).*жазылыңыз"
    r"|(?:subscribe|follow)\b.*(?:telegram|channel|newsletter)"
    r")",
    re.IGNORECASE,
)
_PROMO_MAX_CHARS = 250
# Photo credits («Фото: пресс-служба ...», «Сурет: ...») belong to the article text, but
# trafilatura drops every <figure>; credits found in captions are moved out as paragraphs.
_CREDIT_RE = re.compile(
    r"^(?:фото(?:\s*(?:и|/)\s*видео)?|фотограф(?:ия)?|сурет(?:ті)?|видео|photo(?:graph)?s?)\s*[:—–-]",
    re.IGNORECASE,
)
_CREDIT_MAX_CHARS = 200


class ExtractionError(ValueError):
    """The page yields no article: empty body, not HTML, or no article text found."""


@dataclass
class Article:
    """One extracted news article.  ``text`` paragraphs are separated by one blank line."""

    url: str
    canonical_url: str | None
    title: str | None
    text: str
    author: str | None = None
    description: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    language: str | None = None
    published_at: str | None = None
    published_raw: str | None = None
    date_source: str | None = None
    # where published_at's offset comes from: offset, page, cctld, profile, none
    tz_source: str | None = None
    modified_at: str | None = None
    hreflang: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict of all fields (lists and dicts copied), e.g. for a Scrapy item."""
        return asdict(self)


# --------------------------------------------------------------------------- input checks


def _looks_binary(data: bytes) -> bool:
    head = data.lstrip()[:16]
    if any(head.startswith(sig) for sig in _BINARY_MAGIC):
        return True
    sample = data[:2048]
    # UTF-16/32 text legitimately contains NULs; its BOM is handled by the decoder.
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > 0.05 * len(sample)


def _to_text(html: str | bytes, encoding: str | None) -> str:
    if html is None:
        raise ExtractionError("empty body: no content")
    if isinstance(html, (bytes, bytearray, memoryview)):
        data = bytes(html)
        if not data.strip():
            raise ExtractionError("empty body: no content")
        if _looks_binary(data):
            raise ExtractionError(f"not HTML: body starts with {data[:8]!r}")
        content_type = f"text/html; charset={encoding}" if encoding else None
        text, used = decode_html(data, content_type)
        logger.debug("decoded page as %s", used)
    elif isinstance(html, str):
        text = html
        if text.lstrip().startswith("%PDF"):
            raise ExtractionError("not HTML: body is a PDF document")
    else:
        raise ExtractionError(f"not HTML: unsupported input type {type(html).__name__}")
    if not text.strip():
        raise ExtractionError("empty body: no content")
    if not _TAG_RE.search(text[:65536]):
        raise ExtractionError("not HTML: no markup found")
    return text


def parse_html(text: str) -> lxml_html.HtmlElement:
    """Parse decoded HTML text into a full lxml document (root ``<html>``), tolerating broken markup.

    Raises :class:`ExtractionError` when lxml builds nothing.
    """
    text = _INVALID_XML_CHARS.sub("", _XML_DECL_RE.sub("", text, count=1))
    try:
        tree = lxml_html.document_fromstring(text, parser=_PARSER)
    except ValueError:
        # "Unicode strings with encoding declaration are not supported" (e.g. a <meta> inside
        # an XML-ish prolog): the bytes route lets libxml2 handle it.
        try:
            tree = lxml_html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=_PARSER)
        except (ValueError, etree.ParserError) as err:
            raise ExtractionError(f"not HTML: lxml could not parse the page ({err})") from err
    except etree.ParserError as err:
        raise ExtractionError(f"empty body: lxml found no document ({err})") from err
    if tree is None:
        raise ExtractionError("empty body: lxml found no document")
    return tree


# --------------------------------------------------------------------------- link metadata


def _abs_url(base: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    try:
        absolute = urljoin(base, href.strip())
    except ValueError:
        return None
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return absolute


def _base_url(tree: lxml_html.HtmlElement, url: str) -> str:
    for href in tree.xpath("//head/base/@href"):
        resolved = _abs_url(url, href)
        if resolved:
            return resolved
    return url


def _rel_links(tree: lxml_html.HtmlElement, rel: str) -> list[lxml_html.HtmlElement]:
    # rel is a space-separated token list, e.g. rel="alternate nofollow".
    return tree.xpath(
        f'//link[contains(concat(" ", normalize-space(translate(@rel, "ABCDEFGHIJKLMNOPQRSTUVWXYZ",'
        f' "abcdefghijklmnopqrstuvwxyz")), " "), " {rel} ")]'
    )


def _canonical_url(tree: lxml_html.HtmlElement, base: str) -> str | None:
    for link in _rel_links(tree, "canonical"):
        found = _abs_url(base, link.get("href"))
        if found:
            return found
    for content in tree.xpath('//meta[@property="og:url" or @name="og:url"]/@content'):
        found = _abs_url(base, content)
        if found:
            return found
    return None


def _hreflang(tree: lxml_html.HtmlElement, base: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for link in _rel_links(tree, "alternate"):
        raw = (link.get("hreflang") or "").strip()
        href = _abs_url(base, link.get("href"))
        if not raw or not href:
            continue
        code = "x-default" if raw.lower() == "x-default" else normalize_lang(raw)
        # Regional variants (en-US, en-GB) share one key: the first listed wins.
        if code and code not in out:
            out[code] = href
    return out


# --------------------------------------------------------------------------- text


def _clean_line(line: str) -> str:
    line = _SPACES_RE.sub(" ", line).strip(" ")
    return line if line.strip() else ""


def _mark_nbsp(tree: lxml_html.HtmlElement) -> bool:
    """Replace no-break spaces in the tree's text by _NBSP_MARK (see there); False when the
    page already holds the mark (then nothing is replaced)."""
    pieces = [t for el in tree.iter() for t in (el.text, el.tail) if t]
    if any(_NBSP_MARK in t for t in pieces):
        return False  # the page writes the symbol itself: it must stay what it is
    for el in tree.iter():
        if el.text and "\u00a0" in el.text:
            el.text = el.text.replace("\u00a0", _NBSP_MARK)
        if el.tail and "\u00a0" in el.tail:
            el.tail = el.tail.replace("\u00a0", _NBSP_MARK)
    return True


def _unmark(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_NBSP_MARK, "\u00a0")
    if isinstance(value, list):
        return [_unmark(v) for v in value]
    return value


def _comparable(s: str) -> str:
    return _TITLE_NORM_RE.sub(" ", unicodedata.normalize("NFKC", s).casefold()).strip()


def paragraphs_from_text(raw: str, title: str | None = None) -> list[str]:
    """Split trafilatura's line-per-block text into paragraphs.

    Drops short cross-promotion lines («Читайте также: ...», «Подписывайтесь на наш
    Telegram-канал») and a first paragraph repeating ``title``.
    """
    paras = [p for p in (_clean_line(line) for line in raw.splitlines()) if p]
    paras = [p for p in paras if not (len(p) <= _PROMO_MAX_CHARS and _PROMO_LINE_RE.match(p))]
    if title:
        # The <h1> and a bold copy of it in the body can both come through.
        while paras and _comparable(paras[0]) == _comparable(title):
            paras = paras[1:]
    return paras


def _reads_like_sentence(paragraph: str) -> bool:
    if len(_WORD_RE.findall(paragraph)) >= MIN_SENTENCE_WORDS:
        return True
    # Japanese, Chinese, Thai... are written without spaces between words.
    return len(_UNSPACED_SCRIPT_RE.findall(paragraph)) >= 3 * MIN_SENTENCE_WORDS


def _clean_meta(value: Any) -> str | None:
    if value is None:
        return None
    text = _clean_line(str(value))
    return text or None


def _clean_list(values: Any) -> list[str]:
    # <meta name="keywords"> arrives as one comma-separated string.
    out: list[str] = []
    for v in values or []:
        for part in re.split(r"[,;]", str(v)):
            c = _clean_meta(part)
            if c and c not in out:
                out.append(c)
    return out


def promote_photo_credits(tree: lxml_html.HtmlElement) -> int:
    """Turn ``<figcaption>`` photo credits into paragraphs placed after their figure.

    Modifies ``tree``; returns how many credits were moved.
    """
    moved = 0
    for caption in list(tree.iter("figcaption")):
        text = _clean_line(caption.text_content())
        if not text or len(text) > _CREDIT_MAX_CHARS or not _CREDIT_RE.match(text):
            continue
        para = lxml_html.Element("p")
        para.text = text
        figure = next((a for a in caption.iterancestors("figure")), None)
        if figure is not None:
            figure.addnext(para)
        else:
            caption.addprevious(para)
        caption.drop_tree()
        moved += 1
    return moved


# --------------------------------------------------------------------------- main


def _profile_settings(profile: Any) -> tuple[tuple[str, ...] | None, str | None, str | None]:
    """(languages, time zone, date selector); None = read from the page itself.

    A site without a profile (``None``, or the generic one the spider builds for a bare
    URL) is read in its own language and zone (crawler.dates.site_zone)."""
    if profile is None or getattr(profile, "generic", False):
        return None, None, None
    languages = tuple(getattr(profile, "languages", None) or DEFAULT_LANGUAGES)
    timezone = getattr(profile, "timezone", None) or DEFAULT_TIMEZONE
    return languages, timezone, getattr(profile, "date_selector", None)


def _find_dates(tree, url, languages, timezone, selector, fetched_at, content_language):
    """(publication DateResult or None, JSON-LD dateModified or None), from one reading."""
    try:
        return find_dates(
            tree, url, languages=languages, timezone=timezone, selector=selector, fetched_at=fetched_at,
            content_language=content_language,
        )
    except Exception:  # noqa: BLE001 - a date bug must not lose the article text
        logger.exception("date finding failed for %s", url)
        return None, None


def _bare(tree: lxml_html.HtmlElement, url: str, **options: Any):
    try:
        return bare_extraction(tree, url=url, include_comments=False, **options)
    except Exception as err:  # noqa: BLE001 - trafilatura failures become one clear error
        raise ExtractionError(f"no article text: trafilatura failed ({err})") from err


def _main_text(tree: lxml_html.HtmlElement, url: str):
    """trafilatura's document (for metadata), the article text and recall mode's text.

    Precision mode measured best on the real-page benchmark (bench/README-extraction.md), but
    it skips trafilatura's own rescue of short results; so a short precision result is
    checked against balanced mode and replaced when balanced finds much more text.  Recall
    mode (fast: no external fallbacks, no metadata) runs too, for crawler.text_merge.
    """
    doc = _bare(tree, url, with_metadata=True, favor_precision=True, date_extraction_params=_CHEAP_DATES)
    text = (doc.text or "").strip() if doc is not None else ""
    if len(text) < SHORT_TEXT_CHARS:
        balanced = _bare(tree, url, with_metadata=doc is None, date_extraction_params=_CHEAP_DATES)
        balanced_text = (balanced.text or "").strip() if balanced is not None else ""
        if len(balanced_text) > RESCUE_RATIO * len(text):
            logger.debug("precision text %d chars, balanced %d: using balanced", len(text), len(balanced_text))
            text = balanced_text
            doc = doc if doc is not None else balanced
    try:
        recall = _bare(tree, url, with_metadata=False, favor_recall=True, fast=True)
    except ExtractionError as err:  # the precision text stands on its own
        logger.debug("recall-mode run failed for %s: %s", url, err)
        recall = None
    recall_text = (recall.text or "").strip() if recall is not None else ""
    if doc is None or not (text or recall_text):
        raise ExtractionError("no article text found")
    return doc, text, recall_text


def extract_article(
    html: str | bytes,
    url: str,
    fetched_at: datetime | None = None,
    profile=None,
    *,
    encoding: str | None = None,
    content_language: str | None = None,
) -> Article:
    """Extract the article of one news page.

    ``html`` is the page as text or as the raw response bytes; for bytes, ``encoding`` is the
    charset announced by the server (treated like the HTTP header: the page's own declaration
    wins when the announced charset decodes badly).  ``profile`` (a site profile, or ``None``
    for a generic site) supplies languages, time zone and a date selector. ``content_language``
    is the response's Content-Language header: a page without a profile that declares no
    language itself has its dates read in that one.

    Raises :class:`ExtractionError` (only) for empty bodies, non-HTML content and pages
    without article text.
    """
    return _guarded(url, lambda: _extract_tree(parse_page(html, encoding=encoding), url, fetched_at, profile,
                                               content_language))


def parse_page(html: str | bytes, *, encoding: str | None = None) -> lxml_html.HtmlElement:
    """The page as :func:`extract_article` reads it: checked, decoded and parsed once, so that
    :func:`classify_page` and :func:`extract_article_tree` can share the one tree.

    Raises :class:`ExtractionError` for empty bodies and non-HTML content.
    """
    return parse_html(_to_text(html, encoding))


def extract_article_tree(tree: lxml_html.HtmlElement, url: str, fetched_at: datetime | None = None,
                         profile=None, *, content_language: str | None = None) -> Article:
    """:func:`extract_article` on a tree from :func:`parse_page`; the tree is changed (photo
    credits, no-break spaces), so classify it first and do not extract it twice."""
    return _guarded(url, lambda: _extract_tree(tree, url, fetched_at, profile, content_language))


def _guarded(url: str, work) -> Article:
    try:
        return work()
    except ExtractionError:
        raise
    except Exception as err:  # noqa: BLE001 - callers handle exactly one exception type
        logger.exception("unexpected extraction failure for %s", url)
        raise ExtractionError(f"extraction failed: {type(err).__name__}: {err}") from err


def _extract_tree(tree, url: str, fetched_at: datetime | None, profile,
                  content_language: str | None = None) -> Article:
    if not "".join(tree.itertext()).strip():
        raise ExtractionError("empty body: the page has no text")
    languages, timezone, selector = _profile_settings(profile)
    base = _base_url(tree, url)

    # Dates first: trafilatura works on a copy, but the date finder must see the page as served
    # (before the no-break-space marking below rewrites its text, JSON-LD included).
    date, modified_at = _find_dates(tree, url, languages, timezone, selector, fetched_at,
                                    content_language)

    promote_photo_credits(tree)
    marked = _mark_nbsp(tree)
    doc, main_text, recall_text = _main_text(tree, url)
    if marked:
        main_text = _unmark(main_text)
        recall_text = _unmark(recall_text)
        for name in ("title", "author", "description", "categories", "tags"):
            if hasattr(doc, name):
                setattr(doc, name, _unmark(getattr(doc, name)))
    title = _clean_meta(doc.title)
    paras = widen_with_recall(paragraphs_from_text(main_text, title), paragraphs_from_text(recall_text, title))
    if not paras:
        raise ExtractionError("no article text found besides the title")
    if not any(_reads_like_sentence(p) for p in paras):
        # Menus, tag clouds and link lists come through as rows of two-word "paragraphs".
        raise ExtractionError("no article text found: no paragraph reads like a sentence")
    body = "\n\n".join(paras)

    hreflang = _hreflang(tree, base)
    canonical = _canonical_url(tree, base)
    language = detect_language(
        tree, body, canonical or url, allowed=languages if profile is not None else None, hreflang=hreflang
    )

    return Article(
        url=url,
        canonical_url=canonical,
        title=title,
        text=body,
        author=_clean_meta(doc.author),
        description=_clean_meta(doc.description),
        categories=_clean_list(doc.categories),
        tags=_clean_list(doc.tags),
        image=_abs_url(base, doc.image),
        language=language,
        published_at=getattr(date, "value", None),
        published_raw=getattr(date, "raw", None),
        date_source=getattr(date, "source", None),
        tz_source=getattr(date, "tz_source", None) if getattr(date, "value", None) else None,
        modified_at=modified_at,
        hreflang=hreflang,
    )
