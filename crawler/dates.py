"""Find and parse the publication date of a news page.

Rules are tried from the most to the least trustworthy source: JSON-LD, meta tags,
``<time datetime>``, the site profile's CSS selector, the visible date next to the
headline, the URL, and finally htmldate's own search. Modified/updated dates are
never taken for publication dates; a dateline under the headline that shows an earlier
day than the structured sources wins over them (CMSs re-stamp migrated stories).

Local wall-clock times get the site's zone *with its history* (Asia/Almaty moved
from UTC+6 to UTC+5 on 2024-03-01), explicit offsets in the source are kept. When the
caller knows no zone (``timezone=None``: a site without a profile) the page's own stamps
with offsets give it, else the country-code domain's zone (``.kz`` -> Asia/Almaty, ...);
with neither, a time without a zone keeps only its day. ``DateResult.tz_source`` says
which.
Nothing here raises on bad input: an unparseable date gives ``value=None`` with
the raw string kept.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as dt_timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Callable, Iterable, Iterator, Sequence
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import lxml.html
from lxml import etree

from crawler import kk_latin
from crawler.profiles import DEFAULT_LANGUAGES, DEFAULT_TIMEZONE

logger = logging.getLogger(__name__)

__all__ = ["DateResult", "find_dates", "find_modified_date", "find_published_date", "parse_date_text", "site_zone",
           "to_local"]

# News archives of the target sites start in the late 1990s; anything earlier is
# a birth date, a founding year or a parsing accident.
MIN_DATE = date(1995, 1, 1)


@dataclass(frozen=True)
class DateResult:
    """A publication date and where it came from.

    ``value`` is ISO 8601 with offset ("2020-05-08T12:28:00+06:00"), or "YYYY-MM-DD"
    when only the day is known, or None; ``raw`` is the exact source string (kept
    even when unparseable); ``source`` names the rule that found it.
    """

    value: str | None
    raw: str | None
    source: str | None
    # Where the offset of ``value`` comes from: "offset" (written in the source), "page"
    # (the page's own stamps), "cctld" (the domain's country), "profile" (the caller's
    # zone), "none" (no zone known, or the source gives only a day: ``value`` is a day).
    # (compared apart: two results naming the same instant from the same source are equal)
    tz_source: str | None = field(default=None, compare=False)


# --------------------------------------------------------------------------- zones


class _NoZone(tzinfo):
    """Marks a wall-clock time whose zone nobody knows; only its day is reported."""

    def utcoffset(self, dt):
        return timedelta(0)

    def dst(self, dt):
        return timedelta(0)

    def tzname(self, dt):
        return "unknown"


NO_ZONE = _NoZone()
_FIXED_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo | dt_timezone | _NoZone:
    if not name:
        return NO_ZONE
    fixed = _FIXED_OFFSET.match(name)
    if fixed:
        sign = -1 if fixed.group(1) == "-" else 1
        return dt_timezone(sign * timedelta(hours=int(fixed.group(2)), minutes=int(fixed.group(3))))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        logger.warning("unknown time zone %r, using UTC", name)
        return dt_timezone.utc


def to_local(naive: datetime, timezone: str) -> datetime:
    """Attach ``timezone``'s UTC offset valid at that wall-clock date and time.

    zoneinfo carries the zone's history, so 2020-05-08 12:28 in Asia/Almaty is +06:00
    and 2024-11-05 09:26 is +05:00. An already aware datetime is converted instead.
    During a backward clock change the earlier (pre-change) offset is used.
    """
    zone = _zone(timezone)
    if naive.tzinfo is not None:
        return naive if zone is NO_ZONE else naive.astimezone(zone)
    return naive.replace(tzinfo=zone)


def _reference_now(fetched_at: datetime | None, timezone: str) -> datetime:
    """fetched_at (naive taken as UTC; None = now) as an aware datetime in the site zone."""
    if fetched_at is None:
        fetched_at = datetime.now(dt_timezone.utc)
    elif fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=dt_timezone.utc)
    zone = _zone(timezone)
    return fetched_at.astimezone(dt_timezone.utc if zone is NO_ZONE else zone)


# ----------------------------------------------------------------- text parsing

_WS = re.compile(r"[\s\u00a0\u2009\u202f\u200b]+")
_ISO = re.compile(
    r"(?<!\d)(\d{4})([-/._])(\d{1,2})\2(\d{1,2})"
    r"(?:(?:T|\s+|\s*,\s*)(\d{1,2}):(\d{2})(?::(\d{1,2})(?:[.,]\d+)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?(?!\d)",
    re.IGNORECASE,
)
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])")
_DMY_NUM = re.compile(r"(?<![\d.:/])(\d{1,2})([./])(\d{1,2})\2(\d{4}|\d{2})(?![\d.:/]|\.\d)")
_EPOCH = re.compile(r"^\d{10}(\d{3})?$")

# Kazakh month names, base form and the possessive form used after «жылғы».
_KK_MONTHS = {
    "қаңтар": "қаңтары", "ақпан": "ақпаны", "наурыз": "наурызы", "сәуір": "сәуірі",
    "мамыр": "мамыры", "маусым": "маусымы", "шілде": "шілдесі", "тамыз": "тамызы",
    "қыркүйек": "қыркүйегі", "қазан": "қазаны", "қараша": "қарашасы",
    "желтоқсан": "желтоқсаны",
}
_KK_MONTH_RE = "|".join(
    sorted(list(_KK_MONTHS) + list(_KK_MONTHS.values()), key=len, reverse=True)
)
_KK_POSSESSIVE = {v: k for k, v in _KK_MONTHS.items()}
# «2025 жылғы 12 қыркүйек» / «2025 ж. 12 қыркүйегі»: dateparser 1.5 reads neither,
# so it is rewritten to «12 қыркүйек 2025» before parsing.
_KK_YEAR_FIRST = re.compile(
    rf"(?<!\d)(\d{{4}})\s*(?:жылғы|жылы|ж\.?)\s*(\d{{1,2}})\s*-?\s*({_KK_MONTH_RE})(?![^\W\d_])",
    re.IGNORECASE,
)
_KK_POSSESSIVE_RE = re.compile(
    rf"(?<![^\W\d_])({'|'.join(_KK_POSSESSIVE)})(?![^\W\d_])", re.IGNORECASE
)
# Year suffixes and separators dateparser stumbles on.
_YEAR_WORD = re.compile(r"(?<=\d)\s*(?:г\.|гг\.|года|год|г(?![^\W\d_])|ж\.|жылы|жыл)(?![^\W\d_])",
                        re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*[·•|]\s*")

# Words that flag a date as relative to the fetch time (or year-less).
_RELATIVE_HINT = re.compile(
    r"(?<![^\W\d_])(?:сегодня|вчера|позавчера|назад|бүгін|кеше|бұрын|today|yesterday|ago|"
    r"just now|сейчас|қазір)",
    re.IGNORECASE,
)
_YEAR4 = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")

# Languages whose sites write numeric dates day-first.
_MONTH_FIRST_LANGS = {"en"}


def _normalise_text(text: str) -> str:
    text = kk_latin.dates_to_cyrillic(_WS.sub(" ", text).strip())
    text = _KK_YEAR_FIRST.sub(lambda m: f"{m.group(2)} {m.group(3)} {m.group(1)}", text)
    text = _KK_POSSESSIVE_RE.sub(lambda m: _KK_POSSESSIVE[m.group(1).lower()], text)
    text = _YEAR_WORD.sub("", text)
    text = _SEPARATORS.sub(", ", text)
    return text.strip(" ,")


def _offset(token: str | None) -> dt_timezone | None:
    if not token:
        return None
    token = token.upper()
    if token in ("Z", "UTC", "GMT"):
        return dt_timezone.utc
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return dt_timezone(sign * timedelta(hours=hours, minutes=minutes))


def _with_offset(aware: datetime, timezone: str) -> datetime:
    """Keep a source's own offset, except UTC, which is shown in the site zone.

    "Z" is how CMSs serialise, not where the newsroom is: the instant is the same and
    the day becomes the site's local day.
    """
    zone = _zone(timezone)
    if aware.utcoffset() == timedelta(0) and zone is not NO_ZONE:
        return aware.astimezone(zone)
    return aware


def _parse_iso(text: str, timezone: str) -> datetime | date | None:
    m = _ISO.search(text)
    if not m:
        cjk = _CJK.search(text)
        if cjk:
            try:
                return date(int(cjk.group(1)), int(cjk.group(2)), int(cjk.group(3)))
            except ValueError:
                return None
        return None
    year, month, day = int(m.group(1)), int(m.group(3)), int(m.group(4))
    try:
        if m.group(5) is None:
            return date(year, month, day)
        naive = datetime(year, month, day, int(m.group(5)), int(m.group(6)),
                         int(m.group(7) or 0))
    except ValueError:
        return None
    tz = _offset(m.group(8))
    if tz is None:
        return to_local(naive, timezone)
    return _with_offset(naive.replace(tzinfo=tz), timezone)


def _parse_numeric(text: str, languages: Sequence[str] | None, timezone: str
                   ) -> datetime | date | None:
    """dd.mm.yyyy (and dd/mm/yyyy for day-first languages) with an optional HH:MM."""
    m = _DMY_NUM.search(text)
    if not m:
        return None
    if m.group(2) == "/" and (not languages or languages[0] in _MONTH_FIRST_LANGS):
        return None  # ambiguous: let dateparser apply the locale's order
    day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if year < 100:
        year += 2000 if year < 70 else 1900
    rest = text[: m.start()] + " " + text[m.end():]
    if re.search(r"\d", _TIME.sub(" ", rest)):
        return None  # more numbers than a date and a time: not ours to guess
    t = _TIME.search(rest)
    try:
        if t is None:
            return date(year, month, day)
        naive = datetime(year, month, day, int(t.group(1)), int(t.group(2)), int(t.group(3) or 0))
    except ValueError:
        return None
    return to_local(naive, timezone)


_SUPPORTED_LANGS: frozenset[str] | None = None


def _dateparser_languages(languages: Sequence[str] | None) -> tuple[str, ...] | None:
    """Keep the codes dateparser knows (region suffixes dropped); None means detect."""
    global _SUPPORTED_LANGS
    if not languages:
        return None
    if _SUPPORTED_LANGS is None:
        from dateparser.languages.loader import default_loader

        _SUPPORTED_LANGS = frozenset(default_loader.get_locale_map().keys())
    out: list[str] = []
    for lang in languages:
        code = (lang or "").strip().replace("_", "-")
        for candidate in (code, code.split("-")[0].lower()):
            if candidate in _SUPPORTED_LANGS:
                if candidate not in out:
                    out.append(candidate)
                break
    return tuple(out) or None


@lru_cache(maxsize=16)
def _date_parser(languages: tuple[str, ...] | None, base: datetime | None):
    """One DateDataParser per language set (and relative base): building it is the slow part."""
    from dateparser.date import DateDataParser

    settings = {
        "PREFER_DATES_FROM": "past",
        "RETURN_TIME_AS_PERIOD": True,
        "PARSERS": ["relative-time", "absolute-time", "no-spaces-time"],
    }
    if base is not None:
        settings["RELATIVE_BASE"] = base
    return DateDataParser(languages=list(languages) if languages else None,
                          try_previous_locales=False, settings=settings)


def parse_date_text(
    text: str,
    *,
    languages: Sequence[str] | None = DEFAULT_LANGUAGES,
    timezone: str = DEFAULT_TIMEZONE,
    fetched_at: datetime | None = None,
) -> datetime | date | None:
    """Parse one date string as written on a page.

    Returns an aware datetime when a time is present (the source's own offset, else
    ``timezone`` at that date), a ``date`` when only the day is known, or None.
    Relative dates («Вчера, 10:15», «3 сағат бұрын», «today») are resolved against
    ``fetched_at`` (naive = UTC; None = now) in ``timezone``. ``languages=None``
    lets dateparser detect the language, which is much slower.
    """
    try:
        return _parse_date_text(text, languages, timezone, fetched_at)
    except Exception:  # never let a page break the crawl
        logger.debug("date parsing failed for %r", text, exc_info=True)
        return None


def _parse_date_text(text: str, languages: Sequence[str] | None, timezone: str,
                     fetched_at: datetime | None) -> datetime | date | None:
    if not isinstance(text, str):
        return None
    cleaned = _normalise_text(text)
    if not cleaned or len(cleaned) > 200 or not re.search(r"\d|[^\W\d_]{4,}", cleaned):
        return None
    if not _RELATIVE_HINT.search(cleaned) and not re.search(r"\d", _TIME.sub(" ", cleaned)):
        return None  # «11:12» or a weekday alone says nothing about the day
    if _EPOCH.match(cleaned):
        zone = _zone(timezone)
        return datetime.fromtimestamp(int(cleaned[:10]), dt_timezone.utc if zone is NO_ZONE else zone)
    iso = _parse_iso(cleaned, timezone)
    if iso is not None:
        return iso
    numeric = _parse_numeric(cleaned, languages, timezone)
    if numeric is not None:
        return numeric
    if re.match(r"^[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d", cleaned):
        try:  # RFC 2822, as in some RSS-fed meta tags
            parsed = parsedate_to_datetime(cleaned)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return _with_offset(parsed, timezone) if parsed.tzinfo else to_local(parsed, timezone)

    langs = _dateparser_languages(languages)
    if languages and langs is None:
        return None
    base = None
    if _RELATIVE_HINT.search(cleaned) or not _YEAR4.search(cleaned):
        # Only relative or year-less text depends on the fetch time; keeping the
        # base out of the cache key otherwise lets one parser serve every page.
        base = _reference_now(fetched_at, timezone).replace(tzinfo=None, microsecond=0)
    data = _date_parser(langs, base).get_date_data(cleaned)
    parsed = data.date_obj
    if parsed is None or data.period not in ("day", "time"):
        return None
    if data.period == "day":
        return parsed.date()
    if parsed.tzinfo is not None:
        return _with_offset(parsed, timezone)
    return to_local(parsed, timezone)


def _format(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


# ---------------------------------------------------------------- HTML sources

_MODIFIED_WORDS = re.compile(
    r"modif|updat|edited|revis|lastmod|изменен|обновл|редакт|жаңарт|өзгерт",
    re.IGNORECASE,
)
_PUBLISHED_WORDS = re.compile(r"publi|pubdate|posted|created|issued|опубликов|жарияла",
                              re.IGNORECASE)
# Containers whose dates belong to other articles or to readers.
_BAD_CONTAINER = re.compile(
    r"related|similar|recommend|popular|more-?news|read-?also|readmore|also-|"
    r"comment|sidebar|widget|teaser|advert|promo|breadcrumb|subscribe|"
    r"latest|newsfeed|news-?feed|news-?lenta|lenta-?news|most-?read|trending|partner|"
    r"other-?news|footer|side-?bar|aside|menu|carousel|slider|digest|feed|topbar|top-bar|"
    r"card-list|news-list|list-news|more-|tweet|embed|instagram",
    re.IGNORECASE,
)
# <footer>/<header> count as page furniture only outside the article.
_BAD_TAGS = {"aside", "nav", "footer", "header", "blockquote", "iframe"}
_ARTICLE_PARTS = {"footer", "header"}
_DATE_CUE = re.compile(
    r"date|time|publi|posted|created|meta|byline|info|calendar|clock|stamp|дата",
    re.IGNORECASE,
)


def _attrs_text(el: etree._Element) -> str:
    get = el.get
    return " ".join(filter(None, (get("class"), get("id"), get("itemprop"))))


def _load_tree(doc) -> lxml.html.HtmlElement | None:
    if isinstance(doc, etree._Element):
        return doc
    if isinstance(doc, bytes):
        try:
            doc = doc.decode("utf-8")
        except UnicodeDecodeError:
            pass  # let lxml honour the page's declared charset
    if isinstance(doc, str):
        # lxml refuses str input that carries an XML encoding declaration
        doc = re.sub(r"^\s*<\?xml[^>]*\?>", "", doc, count=1)
    if not doc:
        return None
    try:
        return lxml.html.document_fromstring(doc)
    except (etree.ParserError, ValueError, TypeError):
        logger.debug("unparseable HTML", exc_info=True)
        return None


@dataclass
class _Context:
    tree: lxml.html.HtmlElement
    url: str | None
    languages: Sequence[str] | None
    timezone: str
    fetched_at: datetime | None
    selector: str | None
    latest: date
    headline: etree._Element | None = None
    headline_chain: frozenset | None = None
    layout: tuple[dict, dict] | None = None  # document positions and text sizes, built once
    tz_source: str = "profile"  # where ``timezone`` comes from
    jsonld: "_JsonLd | None" = None  # the page's JSON-LD, parsed once

    def result(self, value: datetime | date, raw: str | None, source: str) -> DateResult:
        """The DateResult of a parsed value, labelled with where its offset comes from."""
        if not isinstance(value, datetime):
            return DateResult(value.isoformat(), raw, source, "none")
        if value.tzinfo is NO_ZONE:
            return DateResult(value.date().isoformat(), raw, source, "none")
        zone = _zone(self.timezone)
        tz = self.tz_source if value.tzinfo is zone else "offset"
        return DateResult(_format(value), raw, source, tz)

    def parse(self, text: str) -> datetime | date | None:
        return parse_date_text(text, languages=self.languages, timezone=self.timezone,
                               fetched_at=self.fetched_at)

    def plausible(self, value: datetime | date) -> bool:
        return MIN_DATE <= _day(value) <= self.latest


def _in_bad_container(el: etree._Element, ctx: _Context) -> bool:
    """True when el is or sits in a related list, comments, page footer, sidebar..."""
    chain = ctx.headline_chain or frozenset()
    ancestors = [a for a in el.iterancestors() if a.tag not in ("body", "html")]
    inside_article = any(a.tag == "article" for a in ancestors)
    for node in [el, *ancestors]:
        if node in chain:
            # a block that also holds the headline is the article itself
            continue
        tag = node.tag if isinstance(node.tag, str) else ""
        # an article's own footer often carries its byline and date
        if tag in _BAD_TAGS and not (tag in _ARTICLE_PARTS and inside_article):
            return True
        m = _BAD_CONTAINER.search(_attrs_text(node))
        if m and not (inside_article and m.group(0).lower() in _ARTICLE_PARTS):
            return True
    return False


def _text_before(el: etree._Element) -> str:
    """The label right before el, e.g. «Обновлено:» in «Обновлено: <time>…»."""
    prev = el.getprevious()
    if prev is None:
        parent = el.getparent()
        return (parent.text or "") if parent is not None else ""
    if (prev.tail or "").strip():
        return prev.tail
    return prev.text_content() if isinstance(prev.tag, str) else ""


def _is_modified(el: etree._Element) -> bool:
    node: etree._Element | None = el
    for _ in range(3):  # the element and its two closest wrappers
        if node is None:
            break
        if _MODIFIED_WORDS.search(_attrs_text(node)):
            return True
        node = node.getparent()
    return bool(_MODIFIED_WORDS.search(_text_before(el)[-30:]))


# JSON-LD ----------------------------------------------------------------------

_ARTICLE_TYPES = re.compile(r"article|posting|report|news|blog", re.IGNORECASE)
_JSON_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{6,40})"')


def _json_objects(data, depth: int = 0) -> Iterator[tuple[dict, int]]:
    if depth > 12:
        return
    if isinstance(data, list):
        for item in data:
            yield from _json_objects(item, depth)
    elif isinstance(data, dict):
        yield data, depth
        for key, value in data.items():
            if key == "@graph":
                yield from _json_objects(value, depth)
            elif isinstance(value, (dict, list)):
                yield from _json_objects(value, depth + 1)


@dataclass
class _JsonLd:
    """The page's JSON-LD blocks parsed once: (object, depth) in document order, and the
    ``datePublished`` strings of blocks too broken to parse."""

    objects: list[tuple[dict, int]]
    broken_published: list[str]


def _parse_jsonld(tree: lxml.html.HtmlElement) -> _JsonLd:
    objects: list[tuple[dict, int]] = []
    broken: list[str] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        text = (script.text or "").strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            # broken JSON is common (trailing commas, raw newlines): take the key anyway
            broken.extend(m.group(1) for m in _JSON_PUBLISHED.finditer(text))
            continue
        objects.extend(_json_objects(data))
    return _JsonLd(objects, broken)


def _jsonld(ctx: _Context) -> _JsonLd:
    if ctx.jsonld is None:
        ctx.jsonld = _parse_jsonld(ctx.tree)
    return ctx.jsonld


def _type_rank(obj: dict, depth: int) -> int:
    """Shallow objects first, and an Article/NewsArticle/... before a WebPage at one depth."""
    types = obj.get("@type")
    types = " ".join(types) if isinstance(types, list) else str(types or "")
    return depth * 2 + (0 if _ARTICLE_TYPES.search(types) else 1)


def _jsonld_candidates(ctx: _Context) -> Iterator[str]:
    found: list[tuple[int, int, str]] = []
    data = _jsonld(ctx)
    for order, (obj, depth) in enumerate(data.objects):
        value = obj.get("datePublished") or obj.get("dateCreated")
        if isinstance(value, list) and value:
            value = value[0]
        if not isinstance(value, str) or not value.strip():
            continue
        rank = _type_rank(obj, depth) + (0 if "datePublished" in obj else 1)
        found.append((rank, order, value.strip()))
    base = len(data.objects)
    found.extend((5, base + i, raw) for i, raw in enumerate(data.broken_published))
    for _, _, value in sorted(found):
        yield value


def _jsonld_modified(ctx: _Context) -> Iterator[str]:
    found = []
    for order, (obj, depth) in enumerate(_jsonld(ctx).objects):
        value = obj.get("dateModified")
        if isinstance(value, str) and value.strip():
            found.append((_type_rank(obj, depth), order, value.strip()))
    for _, _, value in sorted(found):
        yield value


# meta -------------------------------------------------------------------------

# Ordered by how reliably each names the publication date.
_META_KEYS = [
    "article:published_time", "og:article:published_time", "og:published_time",
    "article:published", "og:article:published", "datepublished", "og:pubdate",
    "pubdate", "publishdate", "publish_date", "publish-date", "published_time",
    "published-date", "published_date", "publication_date", "publish_time",
    "article.published", "article:published_date", "article:publicationdate",
    "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
    "dc.date.created", "dc.date.publication", "dcterms.created", "dc.date", "dc:date",
    "dcterms.date", "dc.created", "dc:created", "citation_publication_date",
    "citation_date", "cxenseparse:recs:publishtime", "vr:published_time",
    "mediator_published_time", "og:regdate", "rnews:datepublished", "date_published",
    "originalpublicationdate", "article_date_original", "article.created",
    "datecreated", "date_created", "content_create_date", "dateposted",
    "displaydate", "twt-published-at", "shareaholic:article_published_time",
    "bt:pubdate", "rbpubdate", "article:post_date", "date", "created",
]
_META_RANK = {key: i for i, key in enumerate(_META_KEYS)}


def _meta_candidates(ctx: _Context) -> Iterator[str]:
    found: list[tuple[int, int, str]] = []
    for order, el in enumerate(ctx.tree.iter("meta")):
        content = (el.get("content") or "").strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (el.get(attr) or "").strip().lower()
            if key in _META_RANK and not _in_bad_container(el, ctx):
                found.append((_META_RANK[key], order, content))
                break
    # microdata on ordinary elements: <span itemprop="datePublished" content=…>
    for order, el in enumerate(ctx.tree.xpath(
            "//body//*[@itemprop='datePublished' or @itemprop='dateCreated'][not(self::meta)]")):
        if _in_bad_container(el, ctx):
            continue
        value = el.get("content") or el.get("datetime") or el.text_content()[:200]
        if value and value.strip():
            rank = _META_RANK["datepublished"] + (0 if el.get("itemprop") == "datePublished" else 40)
            found.append((rank, 10_000 + order, value.strip()))
    for _, _, value in sorted(found):
        yield value


# headline and <time> ---------------------------------------------------------

def _norm_title(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def _headline(ctx: _Context) -> etree._Element | None:
    """The article's headline: the heading that best matches the page title (a logo
    in an <h1> matches only a sliver of it), else the first h1 of the article."""
    tree = ctx.tree
    titles = [_norm_title(t) for t in tree.xpath(
        "//meta[@property='og:title' or @name='twitter:title']/@content|//title//text()")]
    titles = [t for t in titles if len(t) >= 10]
    h1s = tree.xpath("//h1")[:20]
    if titles:
        best, best_score = None, 0.3
        others = tree.xpath("//*[@itemprop='headline']|//h2|//h3")[:60]
        for rank, el in enumerate(h1s + others):
            text = _norm_title(el.text_content())
            if len(text) < 10:
                continue
            score = max((len(text) / len(t) if text in t else len(t) / len(text) if t in text
                         else 0.0) for t in titles)
            if rank >= len(h1s):
                score -= 0.1  # an h1 wins a tie
            if score > best_score:
                best, best_score = el, score
        if best is not None:
            return best
    for path in ("//article//h1", "//main//h1", "//h1"):
        for el in tree.xpath(path):
            if len(_norm_title(el.text_content())) >= 10:
                return el
    return h1s[0] if h1s else None


def _header_distance(el: etree._Element, ctx: _Context, max_levels: int = 4) -> int | None:
    """How many levels above the headline the nearest common block is (None if far)."""
    if ctx.headline is None:
        return None
    ancestors = set()
    node = el
    while node is not None:
        ancestors.add(node)
        node = node.getparent()
    node, level = ctx.headline, 0
    while node is not None and level <= max_levels:
        if node in ancestors:
            return level if node.tag not in ("body", "html") else None
        node = node.getparent()
        level += 1
    return None


def _time_candidates(ctx: _Context) -> Iterator[str]:
    found: list[tuple[int, int, str]] = []
    for order, el in enumerate(ctx.tree.iter("time")):
        value = (el.get("datetime") or "").strip()
        if not value or _is_modified(el) or _in_bad_container(el, ctx):
            continue
        marked = bool(_PUBLISHED_WORDS.search(_attrs_text(el))) or el.get("pubdate") is not None
        distance = _header_distance(el, ctx)
        if marked:
            rank = 0
        elif distance is not None:
            rank = 1 + distance
        elif any(a.tag in ("article", "main") for a in el.iterancestors()):
            rank = 10
        else:
            continue  # a bare <time> somewhere on the page says nothing about this article
        found.append((rank, order, value))
    for _, _, value in sorted(found):
        yield value


# profile selector ------------------------------------------------------------

def _selector_candidates(ctx: _Context) -> Iterator[str]:
    if not ctx.selector:
        return
    try:
        elements = ctx.tree.cssselect(ctx.selector)
    except Exception:  # bad selector in a profile must not stop the crawl
        logger.warning("invalid date selector %r", ctx.selector)
        return
    generic = _needs_generic(ctx)
    if len(elements) > 1 and ctx.headline is not None:
        # teasers often share the article's date class: the hit nearest the headline
        # and outside related lists/comments is the article's own
        position, _ = _layout(ctx)
        anchor = position.get(ctx.headline, 0)
        elements.sort(key=lambda el: (_in_bad_container(el, ctx),
                                      abs(position.get(el, anchor) - anchor)))
    for el in elements[:10]:
        for attr in ("datetime", "content", "title"):
            value = (el.get(attr) or "").strip()
            if value:
                yield value
        text = _WS.sub(" ", el.text_content()).strip()[:300]
        # «8 мая 2020 г. 12:28 · Просмотров: 1205»: the date part first, then all of it
        yield from _dates_in(text, generic, _reads_kk(ctx))
        if text:
            yield text


# visible text near the headline -----------------------------------------------

_RU_MONTHS = (r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[йя]|июн[ья]|июл[ья]|август\w*|"
              r"сентябр\w*|октябр\w*|ноябр\w*|декабр\w*|"
              r"янв|фев|мар|апр|июн|июл|авг|сен|сент|окт|ноя|дек")
_EN_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_MONTHS = rf"(?:{_RU_MONTHS}|{_KK_MONTH_RE}|{_EN_MONTHS})\.?"
_CLOCK = r"\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?"
_GLUE = r"(?:\s*[,·|–—/-]?\s*(?:в|at|сағат)?\s*)"
# Date-shaped substrings in ru/kk/en, with an optional time on either side.
_DATE_IN_TEXT = re.compile(
    "|".join([
        # 2024-04-18 (10:35)
        r"(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?",
        # (12:03, ) 20.03.2025 ( · 12:03)
        rf"(?:{_CLOCK}{_GLUE})?(?<![\d.])\d{{1,2}}[./]\d{{1,2}}[./](?:\d{{4}}|\d{{2}})(?![\d.])"
        rf"(?:{_GLUE}{_CLOCK})?",
        # 2025 жылғы 12 қыркүйек (, 14:30)
        rf"(?<!\d)\d{{4}}\s*(?:жылғы|жылы|ж\.?)\s*\d{{1,2}}\s*-?\s*(?:{_KK_MONTH_RE})"
        rf"(?:{_GLUE}{_CLOCK})?",
        # 8 мая 2020 г. 12:28 / 12 қыркүйек 2025, 14:30 / 12 Sep 2025
        rf"(?:{_CLOCK}{_GLUE})?(?<!\d)\d{{1,2}}\s*(?:{_MONTHS})(?![^\W\d_])(?:\s*,?\s*\d{{4}})?"
        rf"(?:\s*(?:г\.|года|ж\.))?(?:{_GLUE}{_CLOCK})?",
        # September 12, 2025 14:30
        rf"(?<![^\W\d_])(?:{_EN_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
        rf"(?:{_GLUE}{_CLOCK})?",
        # Сегодня, 13:02 / кеше / yesterday at 10:15
        rf"(?<![^\W\d_])(?:сегодня|вчера|позавчера|бүгін|кеше|today|yesterday)(?![^\W\d_])"
        rf"(?:{_GLUE}{_CLOCK})?",
        # 2 часа назад / 3 сағат бұрын / 5 minutes ago
        r"(?<!\d)\d{1,3}\s+(?:секунд\w*|минут\w*|час\w*|дн(?:я|ей)|день|сағат|күн|hours?|"
        r"minutes?|mins?|days?)\s+(?:назад|бұрын|ago)",
    ]),
    re.IGNORECASE,
)
_MAX_SNIPPET = 160
_BODY_REACH = 60  # elements, in document order, around a headline placed right in <body>


_INVISIBLE = {"script", "style", "noscript", "template", "svg"}


def _is_foreign(el: etree._Element) -> bool:
    """A block inside a dateline that is not about this publication (update, embed, list)."""
    if el.tag in _BAD_TAGS - _ARTICLE_PARTS:
        return True
    attrs = _attrs_text(el)
    return bool(attrs and (_MODIFIED_WORDS.search(attrs) or _BAD_CONTAINER.search(attrs)))


def _text_sizes(elements: list) -> dict:
    """Visible text length under every element, in one pass (children before parents)."""
    size: dict = {}
    for el in reversed(elements):
        total = len((el.text or "").strip()) if el.tag not in _INVISIBLE else 0
        for child in el:
            total += size.get(child, 0) + len((child.tail or "").strip())
        size[el] = total
    return size


def _visible_text(el: etree._Element, limit: int = _MAX_SNIPPET) -> str | None:
    """Text with a space at every tag boundary («News24<br>13 Jan» stays apart).

    None once it grows past ``limit``: long blocks are article bodies, not datelines.
    """
    parts: list[str] = []
    size = 0
    stack: list = [el]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item.strip())
        else:
            if isinstance(item.tag, str) and item.tag not in _INVISIBLE and (
                    item is el or not _is_foreign(item)):
                if item.text:
                    parts.append(item.text)
                    size += len(item.text.strip())
                children = list(item)
                for child in reversed(children):
                    if child.tail:
                        stack.append(child.tail)
                    stack.append(child)
        if size > limit * 2:
            return None
    text = _WS.sub(" ", " ".join(parts)).strip()
    return None if len(text) > limit else text


# Month-name dates in any language, for pages outside ru/kk/en: the month word is
# checked by dateparser afterwards.
_GENERIC_DATE = re.compile(
    "|".join([
        rf"(?<!\d)\d{{1,2}}\.?\s+(?:de\s+)?[^\W\d_]{{3,12}}\.?,?\s+(?:de\s+)?\d{{4}}(?!\d)(?:{_GLUE}{_CLOCK})?",
        rf"(?<![^\W\d_])[^\W\d_]{{3,12}}\.?\s+\d{{1,2}},?\s+\d{{4}}(?!\d)(?:{_GLUE}{_CLOCK})?",
        r"(?<!\d)\d{4}[./]\d{1,2}[./]\d{1,2}(?!\d)(?:\s+\d{1,2}:\d{2})?",
        r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日",
    ]),
    re.IGNORECASE,
)


# Latin-script Kazakh: any word in the month slot, kept when its skeleton is a month
# (both alphabets spell each month several ways); relative dates by their own words.
_LATIN_WORD = r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*"
_KK_LATIN_DATE = re.compile(
    "|".join([
        rf"(?<!\d)(?:\d{{4}}\s*(?:jylğy|jylgy|jyly|j\.)\s*)?\d{{1,2}}\s*-?\s*(?P<month>{_LATIN_WORD})"
        rf"(?:\s*,?\s*\d{{4}})?(?:\s*(?:j\.|jyl\w*))?(?:{_GLUE}(?:sa\S{{0,2}}at\s*)?{_CLOCK})?",
        rf"(?<![^\W\d_])(?P<day>b[uü]g[iı]n|ke[sş]h?e)(?![^\W\d_])(?:{_GLUE}{_CLOCK})?",
        rf"(?<!\d)\d{{1,3}}\s+(?P<unit>{_LATIN_WORD})\s+buryn(?![^\W\d_])",
    ]),
    re.IGNORECASE,
)
_KK_LATIN_UNITS = {"sagat", "minut", "kun", "sekunt", "apta", "ai"}


def _kk_latin_dates(text: str) -> Iterator[re.Match]:
    for m in _KK_LATIN_DATE.finditer(text):
        if m.group("month") is not None:
            word = kk_latin.skeleton(m.group("month"))
            if kk_latin.dates_to_cyrillic(m.group("month")) == m.group("month") or word in (
                    "sagat", "minut", "kun", "jyl", "jylgy", "jyly", "buryn", "bugin", "kese"):
                continue  # not a month name
        elif m.group("unit") is not None and kk_latin.skeleton(m.group("unit")) not in _KK_LATIN_UNITS:
            continue
        yield m


def _dates_in(text: str, generic: bool, kk: bool = False) -> Iterator[str]:
    patterns = (_DATE_IN_TEXT, _GENERIC_DATE) if generic else (_DATE_IN_TEXT,)
    matches = [m for pattern in patterns for m in pattern.finditer(text)]
    if kk:
        matches.extend(_kk_latin_dates(text))
    for m in matches:
        # «Обновлено 9 мая …» right before the date: an update, not the publication
        if _MODIFIED_WORDS.search(text[max(0, m.start() - 25): m.start()]):
            continue
        yield m.group(0).strip(" ,|·-–—/")


_DATE_ATTRS = ("datetime", "content", "title", "data-time", "data-timestamp", "data-date",
               "data-utime", "data-published", "time", "timestamp")


def _attribute_dates(el: etree._Element) -> list[str]:
    found = []
    for node in itertools.islice(el.iter(), 8):
        if not isinstance(node.tag, str):
            continue
        for attr in _DATE_ATTRS:
            value = (node.get(attr) or "").strip()
            if value and len(value) <= 60 and re.search(r"\d", value):
                found.append(value)
    return found


def _layout(ctx: _Context) -> tuple[dict, dict]:
    """Document positions and visible text sizes of all elements, built once per page."""
    if ctx.layout is None:
        elements = list(ctx.tree.iter())
        ctx.layout = ({el: i for i, el in enumerate(elements)}, _text_sizes(elements))
    return ctx.layout


def _reads_kk(ctx: _Context) -> bool:
    return bool(ctx.languages) and "kk" in ctx.languages


def _needs_generic(ctx: _Context) -> bool:
    """Our month-name patterns cover ru/kk/en; other languages need the generic ones."""
    return not ctx.languages or not set(ctx.languages) <= set(DEFAULT_LANGUAGES)


@dataclass(frozen=True)
class _TextDate:
    """A date written near the headline, with what the reader sees around it."""

    raw: str
    cued: bool  # in a <time> or an element whose class/id names a date
    level: int  # blocks climbed above the headline to reach it
    distance: int  # elements from the headline in document order (above counts double)
    visible: bool  # written in the text (not an attribute stamp)


def _text_candidates(ctx: _Context) -> Iterator[str]:
    """Dates written in short blocks around the headline, closest first."""
    for found in _text_dates(ctx):
        yield found.raw


def _text_dates(ctx: _Context, max_levels: int = 4, reach: int | None = None
                ) -> Iterator[_TextDate]:
    """Dates written in short blocks around the headline, closest first.

    Climbs at most four levels above the headline; at each level, blocks whose
    class/id hint at a date come first, then the others, nearest to the headline
    first. Blocks that contain the headline, sit in related lists/comments/page
    furniture, or are labelled as updates are skipped. ``reach`` (elements, as in
    ``_TextDate.distance``) leaves out everything farther from the headline.
    """
    headline = ctx.headline
    if headline is None:
        return
    generic = _needs_generic(ctx)
    position, size = _layout(ctx)
    anchor = position.get(headline, 0)
    chain = ctx.headline_chain or frozenset()
    seen: set = set(headline.iter())
    emitted: set[str] = set()
    node, level = headline.getparent(), 1
    while node is not None and level <= max_levels and node.tag != "html":
        # the whole page is only searched close to the headline
        limit = _BODY_REACH if node.tag == "body" else None
        if reach is not None:
            limit = reach if limit is None else min(limit, reach)
        found: list[tuple[int, int, _TextDate]] = []
        for el in node.iter():
            if el in seen or el in chain or not isinstance(el.tag, str) or el.tag in _INVISIBLE:
                continue
            seen.add(el)
            gap = position.get(el, anchor) - anchor
            distance = gap if gap > 0 else -2 * gap  # datelines sit below more often
            text_size = size.get(el, 0)
            if limit is not None and distance > limit or text_size > 2 * _MAX_SNIPPET:
                continue
            cued = el.tag == "time" or bool(_DATE_CUE.search(_attrs_text(el)))
            # machine-readable stamps on a dateline: <span class="date"><x time="1593378975">
            matches = [(m, False) for m in _attribute_dates(el)] if cued else []
            text = _visible_text(el) if text_size else None
            if cued and text and not re.search(r"\d", text) and len(text) <= 40 and level == 1:
                # the headline's own date slot with words instead of a date: report it
                # (find_published_date then stops: unknown beats a guess)
                matches.append((text, True))
            elif text and re.search(r"\d", text):
                in_text = list(_dates_in(text, generic, _reads_kk(ctx)))
                if not in_text and generic and len(text) <= 40:
                    in_text = [text]  # unknown language: let dateparser read the whole snippet
                matches.extend((m, True) for m in in_text)
            if not matches or _is_modified(el) or _in_bad_container(el, ctx):
                continue
            for match, visible in matches:
                found.append((0 if cued else 1, distance,
                              _TextDate(match, cued, level, distance, visible)))
        for _, _, item in sorted(found, key=lambda f: (f[0], f[1])):
            if item.raw not in emitted:
                emitted.add(item.raw)
                yield item
        if node.tag == "body":
            break
        node = node.getparent()
        level += 1


# URL --------------------------------------------------------------------------

_URL_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[/_.-](0?[1-9]|1[0-2])[/_.-](0?[1-9]|[12]\d|3[01])(?!\d)"
)


def _url_candidates(ctx: _Context) -> Iterator[str]:
    urls = [ctx.url] if ctx.url else []
    for link in ctx.tree.xpath("//link[@rel='canonical']/@href|//meta[@property='og:url']/@content"):
        if link and link not in urls:
            urls.append(link)
    for url in urls:
        m = _URL_DATE.search(url.split("?")[0])
        if m:
            yield m.group(0)  # "2024/04/18" as written; the ISO reader takes / . _ too


# htmldate ---------------------------------------------------------------------

def _htmldate_candidates(ctx: _Context) -> Iterator[str]:
    try:
        from htmldate import find_date
    except ImportError:  # pragma: no cover - it is a declared dependency
        return
    # find_date copies a tree it is given before pruning it, so ctx.tree stays intact;
    # never hand it a string: it would try to download anything that looks like a URL.
    try:
        found = find_date(ctx.tree, url=ctx.url, original_date=True, extensive_search=True,
                          min_date=MIN_DATE.isoformat(),
                          max_date=ctx.latest.isoformat())
    except Exception:
        logger.debug("htmldate failed", exc_info=True)
        return
    if found and found.endswith("-01-01") and not _shows_new_year(ctx, found[:4]):
        # htmldate turns a bare year (copyright line, archive link) into January 1st
        logger.debug("ignoring htmldate's year-only guess %s", found)
        return
    if found:
        yield found


def _shows_new_year(ctx: _Context, year: str) -> bool:
    html = etree.tostring(ctx.tree, encoding="unicode")
    pattern = rf"{year}[-/.]0?1[-/.]0?1(?!\d)|(?<!\d)0?1[-/.]0?1[-/.]{year}"
    return bool(re.search(pattern, html) or (ctx.url and re.search(pattern, ctx.url)))


_RULES: dict[str, Callable[[_Context], Iterable[str]]] = {
    "json-ld": _jsonld_candidates,
    "meta": _meta_candidates,
    "time": _time_candidates,
    "selector": _selector_candidates,
    "text": _text_candidates,
    "url": _url_candidates,
    "htmldate": _htmldate_candidates,
}
DEFAULT_ORDER = ("json-ld", "meta", "time", "selector", "text", "url", "htmldate")


def _page_languages(tree: lxml.html.HtmlElement, content_language: str | None = None
                    ) -> tuple[str, ...] | None:
    """The page's languages: ``<html lang>``, else its Content-Language / og:locale meta,
    else the HTTP Content-Language header, else the script of its text."""
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        found = tree.xpath("//meta[translate(@http-equiv,'CONTENTLAGU','contentlagu')="
                           "'content-language' or @property='og:locale']/@content")
        lang = found[0] if found else (content_language or "").strip() or None
    guess = _script_language(tree)
    if not lang:
        lang = guess
    if not lang:
        return None
    langs = _dateparser_languages([lang.strip().split(",")[0]])
    if guess == "kk" and langs and "kk" not in langs:
        langs = ("kk",) + langs  # Latin-script Kazakh under a template's lang="en"
    if not langs:
        return None
    return langs + ("en",) if "en" not in langs else langs


def _script_language(tree: lxml.html.HtmlElement) -> str | None:
    """An undeclared page's language from the letters of its title and headings, when the
    script says it (Cyrillic ru/kk/uk, Latin-script Kazakh); else None (dateparser detects)."""
    from crawler.language import script_language

    text = " ".join(t for t in tree.xpath("//title//text()|//h1//text()|//p//text()")[:60]
                    if isinstance(t, str))
    guess = script_language(text)
    return guess if guess in ("ru", "kk", "uk", "be") else None


# Country-code domains and the zone their news sites write in (the capital's, with its
# history); countries spanning several zones are left out except Russia and Canada, whose
# national media (Moscow; Toronto, Ottawa, Montreal) write Moscow and Eastern time.
CCTLD_ZONES = {
    "kz": "Asia/Almaty", "ru": "Europe/Moscow", "su": "Europe/Moscow", "ca": "America/Toronto", "by": "Europe/Minsk",
    "ua": "Europe/Kyiv", "uz": "Asia/Tashkent", "kg": "Asia/Bishkek", "tj": "Asia/Dushanbe",
    "tm": "Asia/Ashgabat", "az": "Asia/Baku", "am": "Asia/Yerevan", "ge": "Asia/Tbilisi",
    "md": "Europe/Chisinau", "lt": "Europe/Vilnius", "lv": "Europe/Riga", "ee": "Europe/Tallinn",
    "pl": "Europe/Warsaw", "de": "Europe/Berlin", "at": "Europe/Vienna", "ch": "Europe/Zurich",
    "fr": "Europe/Paris", "be": "Europe/Brussels", "nl": "Europe/Amsterdam", "lu": "Europe/Luxembourg",
    "it": "Europe/Rome", "es": "Europe/Madrid", "pt": "Europe/Lisbon", "uk": "Europe/London",
    "ie": "Europe/Dublin", "dk": "Europe/Copenhagen", "se": "Europe/Stockholm", "no": "Europe/Oslo",
    "fi": "Europe/Helsinki", "cz": "Europe/Prague", "sk": "Europe/Bratislava", "hu": "Europe/Budapest",
    "ro": "Europe/Bucharest", "bg": "Europe/Sofia", "gr": "Europe/Athens", "rs": "Europe/Belgrade",
    "hr": "Europe/Zagreb", "si": "Europe/Ljubljana", "tr": "Europe/Istanbul", "il": "Asia/Jerusalem",
    "ir": "Asia/Tehran", "ae": "Asia/Dubai", "sa": "Asia/Riyadh", "eg": "Africa/Cairo",
    "in": "Asia/Kolkata", "pk": "Asia/Karachi", "bd": "Asia/Dhaka", "cn": "Asia/Shanghai",
    "hk": "Asia/Hong_Kong", "tw": "Asia/Taipei", "jp": "Asia/Tokyo", "kr": "Asia/Seoul",
    "th": "Asia/Bangkok", "vn": "Asia/Ho_Chi_Minh", "sg": "Asia/Singapore", "my": "Asia/Kuala_Lumpur",
    "ph": "Asia/Manila", "nz": "Pacific/Auckland", "za": "Africa/Johannesburg", "ng": "Africa/Lagos",
    "ke": "Africa/Nairobi", "ar": "America/Argentina/Buenos_Aires", "cl": "America/Santiago",
    "co": "America/Bogota", "pe": "America/Lima", "ve": "America/Caracas", "cu": "America/Havana",
    "mn": "Asia/Ulaanbaatar", "af": "Asia/Kabul", "iq": "Asia/Baghdad",
}
_STAMP_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*([+-]\d{2}:?\d{2})(?!\d)")
# RFC 2822 as feeds and server-side templates write it: «Fri, 01 May 2020 23:00:00 -0400».
_RFC2822_OFFSET = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}(?::\d{2})? ([+-]\d{4})(?!\d)")


def site_zone(tree: lxml.html.HtmlElement, url: str | None) -> tuple[str, str]:
    """(zone, tz_source) for a site nobody configured: the offset its own stamps on this
    page carry ("page"; UTC stamps say nothing about the newsroom), else its country-code
    domain's zone ("cctld"), else ("", "none")."""
    offsets: dict[str, int] = {}
    for el in tree.iter("meta", "time", "script", "abbr", "span"):
        if el.tag == "script":
            # the page's own inline data (JSON-LD, a template's state), not a library
            if el.get("src"):
                continue
            text = el.text or ""
        else:
            text = el.get("content") or el.get("datetime") or el.get("title") or ""
        for pattern in (_STAMP_OFFSET, _RFC2822_OFFSET):
            for m in pattern.finditer(text):
                off = m.group(1).replace(":", "")
                if off[1:] != "0000":
                    key = f"{off[:3]}:{off[3:]}"
                    offsets[key] = offsets.get(key, 0) + 1
    if offsets:
        return max(offsets, key=offsets.get), "page"
    host = (urlsplit(url).hostname or "") if url else ""
    tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
    if tld in CCTLD_ZONES:
        return CCTLD_ZONES[tld], "cctld"
    return "", "none"


def find_modified_date(doc, url: str | None = None, *,
                       languages: Sequence[str] | None = DEFAULT_LANGUAGES,
                       timezone: str | None = DEFAULT_TIMEZONE) -> str | None:
    """The JSON-LD ``dateModified`` of the page's article (ISO 8601 as written, the zone
    rules of :func:`find_published_date` for a time without offset), or None."""
    return find_dates(doc, url, languages=languages, timezone=timezone)[1]


def find_dates(
    doc,
    url: str | None = None,
    *,
    languages: Sequence[str] | None = DEFAULT_LANGUAGES,
    timezone: str | None = DEFAULT_TIMEZONE,
    selector: str | None = None,
    fetched_at: datetime | None = None,
    content_language: str | None = None,
) -> tuple[DateResult, str | None]:
    """:func:`find_published_date` and :func:`find_modified_date` of one page in one pass
    (the page's language, zone and JSON-LD are read once). ``content_language`` is the
    response's Content-Language header, read when ``languages=None`` and the page declares
    no language itself. Never raises."""
    try:
        ctx = _context(doc, url, languages, timezone, selector, fetched_at, content_language)
    except Exception:
        logger.exception("date finding failed for %s", url)
        return DateResult(None, None, None), None
    if ctx is None:
        return DateResult(None, None, None), None
    try:
        published = _find(ctx, DEFAULT_ORDER)
    except Exception:  # the modified date is found apart: one failure does not lose both
        logger.exception("date finding failed for %s", url)
        published = DateResult(None, None, None)
    try:
        return published, _modified(ctx)
    except Exception:
        logger.exception("modified-date finding failed for %s", url)
        return published, None


def _modified(ctx: _Context) -> str | None:
    languages = ctx.languages or ("en",)
    for raw in _jsonld_modified(ctx):
        value = parse_date_text(raw, languages=languages, timezone=ctx.timezone)
        if isinstance(value, datetime) and value.tzinfo is NO_ZONE:
            return value.date().isoformat()
        if value is not None:
            return _format(value)
    return None


def find_published_date(
    doc,
    url: str | None = None,
    *,
    languages: Sequence[str] | None = DEFAULT_LANGUAGES,
    timezone: str | None = DEFAULT_TIMEZONE,
    selector: str | None = None,
    fetched_at: datetime | None = None,
    order: Sequence[str] = DEFAULT_ORDER,
) -> DateResult:
    """Find the publication date of one page.

    ``doc`` is HTML (str/bytes) or an lxml.html element, which is only read, never
    changed. ``languages=None`` reads the page's ``<html lang>`` (else Content-Language /
    og:locale, else the script of its headings, else dateparser's language detection).
    ``timezone=None`` means the site's zone is unknown: see :func:`site_zone`; a time with
    no zone at all keeps only its day. ``selector`` is the site profile's CSS selector
    for the date element. ``fetched_at`` resolves relative dates and bounds the
    result (not later than a day after it). ``order`` lists the rules to try, first
    to last, among "json-ld", "meta", "time", "selector", "text", "url", "htmldate";
    the default is the measured best. A UTC stamp ("Z") is shown in ``timezone``; if
    the page's own dateline or URL shows the neighbouring day, the page wins (the zone
    was wrong). Never raises: unparseable sources give value=None with raw kept.
    """
    try:
        ctx = _context(doc, url, languages, timezone, selector, fetched_at)
        return _find(ctx, order) if ctx is not None else DateResult(None, None, None)
    except Exception:
        logger.exception("date finding failed for %s", url)
        return DateResult(None, None, None)


_STRUCTURED = {"json-ld", "meta", "time"}
_DATE_SLOT_RULES = {"selector", "text"}
_MAX_WEST = timedelta(hours=10)
_MIN_EAST = timedelta(hours=10)
_UTC_RAW = re.compile(r"(?:Z|UTC|GMT|[+-]00:?00)\s*$", re.IGNORECASE)


def _context(doc, url, languages, timezone, selector, fetched_at,
             content_language: str | None = None) -> _Context | None:
    """The page with its languages and zone, as every rule reads it."""
    tree = _load_tree(doc)
    if tree is None:
        return None
    if languages is None:
        languages = _page_languages(tree, content_language)
    tz_source = "profile"
    if timezone is None:
        timezone, tz_source = site_zone(tree, url)
    latest = (_reference_now(fetched_at, timezone) + timedelta(days=1)).date()
    return _Context(tree=tree, url=url, languages=tuple(languages) if languages else None,
                    timezone=timezone, fetched_at=fetched_at, selector=selector, latest=latest,
                    tz_source=tz_source)


def _find(ctx: _Context, order: Sequence[str]) -> DateResult:
    ctx.headline = _headline(ctx)
    if ctx.headline is not None:
        ctx.headline_chain = frozenset(ctx.headline.iterancestors())
    first_unparsed: DateResult | None = None
    for name in order:
        rule = _RULES.get(name)
        if rule is None:
            logger.warning("unknown date rule %r", name)
            continue
        for raw in rule(ctx):
            value = ctx.parse(raw)
            if value is not None and ctx.plausible(value):
                logger.debug("date %s from %s (%r)", value, name, raw)
                if name in _STRUCTURED:
                    earlier = _earlier_dateline(ctx, value)
                    if earlier is not None:
                        return earlier
                if name in _STRUCTURED and isinstance(value, datetime) and _UTC_RAW.search(raw):
                    return _local_day(ctx, value, raw, name)
                return ctx.result(value, raw, name)
            if first_unparsed is None:
                first_unparsed = DateResult(None, raw, name)
        if (first_unparsed is not None and first_unparsed.source in _DATE_SLOT_RULES
                and not any(ch.isdigit() for ch in first_unparsed.raw or "")):
            # The page's date slot says in words that there is no date («дата
            # уточняется»): unknown beats a guess from the URL or a related-links list.
            # (A bare time such as «16:45» is only part of a date: keep looking.)
            return first_unparsed
    return first_unparsed or DateResult(None, None, None)


# A dateline that can overrule metadata: written out with a month name and a four-digit
# year, in a short block right at the headline.
_DATELINE_REACH = 15
_DATELINE_LEVELS = 3
_MONTH_WORD = re.compile(r"[^\W\d_]{3,}")
_MACHINE_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T")


def _earlier_dateline(ctx: _Context, value: datetime | date) -> DateResult | None:
    """The headline's own dateline when it shows an earlier day than the metadata.

    CMSs rewrite ``datePublished`` when a story is migrated, re-published or re-saved,
    while the dateline the reader sees keeps the original day; a publication cannot be
    later than the day the page itself shows under its headline. A later dateline is
    left alone: it is usually an unlabelled update. One or two days apart is a zone
    question (see :func:`_local_day`), not a different publication.
    """
    for found in _text_dates(ctx, _DATELINE_LEVELS, _DATELINE_REACH):
        if not found.visible:
            continue
        raw = found.raw
        if (_RELATIVE_HINT.search(raw) or not _YEAR4.search(raw) or not _MONTH_WORD.search(raw)
                or _MACHINE_STAMP.search(raw)):
            continue
        shown = ctx.parse(raw)
        if shown is None or not ctx.plausible(shown):
            continue
        if (_day(shown) - _day(value)).days <= -2:
            return ctx.result(shown, raw, "text")
        return None
    return None


def _local_day(ctx: _Context, value: datetime, raw: str, source: str) -> DateResult:
    """Check a UTC timestamp against the day the page itself shows.

    A UTC stamp converted to a wrong site zone lands on the neighbouring day for
    late/early hours. When the dateline near the headline (or the URL) shows a day
    one off, the page is right: with a visible time the offset it implies is used,
    else only the day is kept.
    """
    utc = value.astimezone(dt_timezone.utc)
    # The same instant written with a local offset elsewhere in the markup says it all.
    for name in ("json-ld", "meta", "time"):
        for other_raw in _RULES[name](ctx):
            if _UTC_RAW.search(other_raw):
                continue
            other = ctx.parse(other_raw)
            if (isinstance(other, datetime) and other.utcoffset()
                    and abs(other - utc) <= timedelta(minutes=5)):
                return ctx.result(other, other_raw, name)
    for name in ("text", "url"):
        for evidence_raw in _RULES[name](ctx):
            evidence = ctx.parse(evidence_raw)
            if evidence is None or not ctx.plausible(evidence):
                continue
            gap = (_day(evidence) - _day(utc)).days
            if gap == 0 or abs(gap) > 1:
                break  # agrees, or too far off to be the same article's day
            since_midnight = utc - utc.replace(hour=0, minute=0, second=0, microsecond=0)
            # newsrooms sit between UTC-10 and UTC+14: the day before needs an early
            # UTC hour, the day after a late one
            if gap == -1 and since_midnight >= _MAX_WEST or gap == 1 and since_midnight < _MIN_EAST:
                break
            if isinstance(evidence, datetime):
                implied = evidence.replace(tzinfo=None) - utc.replace(tzinfo=None)
                quarter = timedelta(minutes=15)
                rounded = quarter * round(implied / quarter)
                if abs(implied - rounded) <= timedelta(minutes=5) and abs(rounded) <= timedelta(hours=14):
                    local = utc.astimezone(dt_timezone(rounded))
                    return DateResult(_format(local), raw, source, "page")
            return DateResult(_day(evidence).isoformat(), evidence_raw, name, "none")
    return ctx.result(value, raw, source)
