"""Site profiles: what the crawler knows about one news site.

A profile is a small TOML file (see ``crawler/site_profiles/``).  A bare homepage URL given on the
command line gets a generic profile built on the fly, so every site is crawled through the same
code path.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

# What a page is read as when nothing else says: its languages and the zone of its times.
DEFAULT_LANGUAGES = ("ru", "kk", "en")
DEFAULT_TIMEZONE = "Asia/Almaty"

# Paths that are navigation, never articles, on practically every news site.
_NON_ARTICLE = re.compile(
    r"/(?:tags?|category|categories|rubric|section|authors?|search|page|login|register|"
    r"about|contacts?|advert\w*|rss|feed|sitemap|amp/?$)(?:/|$|\?)",
    re.IGNORECASE,
)
_STATIC = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|css|js|ico|woff2?|ttf|mp[34]|zip|xml|json)$", re.I)
# A slug of three or more words, a long numeric id, or a date in the path.
_ARTICLE_HINT = re.compile(
    r"(?:[\w%]+[-_]){2,}[\w%]+|\d{5,}|/(?:19|20)\d\d[/-]\d\d?(?:[/-]\d\d?)?(?:/|$)",
    re.IGNORECASE,
)


class ProfileError(ValueError):
    """A profile file is missing, unreadable or has invalid fields."""


@dataclass(frozen=True)
class SiteProfile:
    name: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    article_url_pattern: str | None = None
    date_selector: str | None = None
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    timezone: str = DEFAULT_TIMEZONE
    # How many listing pages (?page=N, /page/N/) discovery may follow per site.
    max_listing_pages: int = 5
    settings: dict = field(default_factory=dict, compare=False, hash=False)
    generic: bool = False
    # When set, only URLs on these ports belong to the site (two sites on one host).
    ports: tuple[int, ...] = ()

    @property
    def root(self) -> str:
        parts = urlsplit(self.start_urls[0])
        return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))

    def owns(self, url: str) -> bool:
        """True when ``url`` is on one of the profile's domains (or a subdomain)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if self.ports and _port(parts) not in self.ports:
            return False
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def is_article_url(self, url: str) -> bool:
        """Does ``url`` look like an article of this site (before fetching it)?"""
        if not self.owns(url):
            return False
        parts = urlsplit(url)
        path = parts.path or "/"
        if _STATIC.search(path):
            return False
        if self.article_url_pattern:
            return re.search(self.article_url_pattern, path) is not None
        if path == "/" or _NON_ARTICLE.search(path):
            return False
        return _ARTICLE_HINT.search(path) is not None

    def rebased(self, base_url: str) -> "SiteProfile":
        """The same profile pointed at another host: a mirror, an archived or a local copy."""
        new = urlsplit(base_url.rstrip("/") + "/")
        old_root = self.root

        def move(u: str) -> str:
            return new.scheme + "://" + new.netloc + "/" + u[len(old_root):] if u.startswith(old_root) else u

        return replace(
            self,
            start_urls=tuple(move(u) for u in self.start_urls),
            sitemaps=tuple(move(u) for u in self.sitemaps),
            feeds=tuple(move(u) for u in self.feeds),
            allowed_domains=(new.hostname or "",),
        )


def _port(parts) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None


def generic_profile(url: str) -> SiteProfile:
    """A profile for a bare homepage URL: generic discovery and article heuristics."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"not a site profile name nor an http(s) URL: {url!r}")
    host = parts.hostname.lower()
    start = urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))
    name = host[4:] if host.startswith("www.") else host
    domain = name
    return SiteProfile(name=name, start_urls=(start,), allowed_domains=(domain,), generic=True)


# Per-site settings a profile may give (crawler/middlewares.py applies them): type, minimum.
_SETTING_TYPES = {
    "DOWNLOAD_DELAY": (float, 0), "CONCURRENT_REQUESTS_PER_DOMAIN": (int, 1), "RETRY_TIMES": (int, 0),
    "RETRY_AFTER_MAX": (float, 0), "RETRY_BACKOFF_BASE": (float, 0),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAX_LISTING_PAGES = 10_000


def _string(data: dict, key: str, source: str, default=None) -> str | None:
    value = data.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ProfileError(f"{source}: {key}: expected a non-empty string, got {value!r}")
    return value


def _strings(data: dict, key: str, source: str, default=()) -> tuple[str, ...]:
    value = data.get(key, default)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ProfileError(f"{source}: {key}: expected a list of strings, got {value!r}")
    return tuple(value)


def _urls(data: dict, key: str, source: str) -> tuple[str, ...]:
    urls = _strings(data, key, source)
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProfileError(f"{source}: {key}: only http(s) URLs are crawled, got {url!r}")
    return urls


def _profile_from_toml(text: str, source: str) -> SiteProfile:
    """A profile from TOML, every field checked by type and range (one line per error,
    naming the file and the field)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from crawler.langcodes import check_language

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: invalid TOML: {exc}") from exc
    for key in ("name", "start_urls"):
        if key not in data:
            raise ProfileError(f"{source}: missing required field {key!r}")
    known = {
        "name", "start_urls", "allowed_domains", "sitemaps", "feeds", "article_url_pattern",
        "date_selector", "languages", "timezone", "max_listing_pages", "settings",
    }
    unknown = set(data) - known
    if unknown:
        raise ProfileError(f"{source}: unknown fields {sorted(unknown)}")
    name = _string(data, "name", source)
    if not _NAME.match(name):
        raise ProfileError(f"{source}: name: letters, digits, '.', '_' and '-' only, got {name!r}")
    start_urls = _urls(data, "start_urls", source)
    if not start_urls:
        raise ProfileError(f"{source}: start_urls is empty")
    allowed = _strings(data, "allowed_domains", source) or (urlsplit(start_urls[0]).hostname,)
    pattern = _string(data, "article_url_pattern", source)
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProfileError(f"{source}: bad article_url_pattern: {exc}") from exc
    languages = _strings(data, "languages", source, DEFAULT_LANGUAGES)
    try:
        languages = tuple(check_language(v) for v in languages)
    except ValueError as exc:
        raise ProfileError(f"{source}: languages: {exc}") from exc
    timezone = _string(data, "timezone", source, DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProfileError(f"{source}: timezone: unknown time zone {timezone!r}") from exc
    pages = data.get("max_listing_pages", 5)
    if isinstance(pages, bool) or not isinstance(pages, int) or not 0 <= pages <= _MAX_LISTING_PAGES:
        raise ProfileError(f"{source}: max_listing_pages: expected a whole number from 0 to "
                           f"{_MAX_LISTING_PAGES}, got {pages!r}")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ProfileError(f"{source}: settings: expected a table ([settings]), got {settings!r}")
    for key, value in settings.items():
        kind, minimum = _SETTING_TYPES.get(key, (None, None))
        if kind is None:
            continue  # not applied per site; the crawl log says so
        ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
        if not ok or value < minimum:
            what = "a number" if kind is float else "a whole number"
            raise ProfileError(f"{source}: settings.{key}: expected {what} >= {minimum}, got {value!r}")
    return SiteProfile(
        name=name,
        start_urls=start_urls,
        allowed_domains=tuple(d.lower() for d in allowed),
        sitemaps=_urls(data, "sitemaps", source),
        feeds=_urls(data, "feeds", source),
        article_url_pattern=pattern,
        date_selector=_string(data, "date_selector", source),
        languages=languages,
        timezone=timezone,
        max_listing_pages=pages,
        settings=dict(settings),
    )


def bundled_profiles() -> dict[str, SiteProfile]:
    """The profiles shipped in ``crawler/site_profiles``, by name."""
    out = {}
    for entry in resources.files("crawler").joinpath("site_profiles").iterdir():
        if entry.name.endswith(".toml"):
            profile = _profile_from_toml(entry.read_text(encoding="utf-8"), entry.name)
            out[profile.name] = profile
    return out


def resolve_target(target: str, base_url: str | None = None) -> SiteProfile:
    """Turn a command-line TARGET (profile name, profile file or URL) into a profile."""
    profiles = bundled_profiles()
    if target in profiles:
        profile = profiles[target]
    elif target.endswith(".toml"):
        path = Path(target)
        if not path.is_file():
            raise ProfileError(f"profile file not found: {target}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{target}: cannot read the profile: {exc}") from exc
        profile = _profile_from_toml(text, target)
    elif "://" in target or "." in target:
        profile = generic_profile(target)
    else:
        raise ProfileError(
            f"unknown site profile {target!r}; known: {', '.join(sorted(profiles))} "
            "(or give a homepage URL)"
        )
    return profile.rebased(base_url) if base_url else profile


def profile_record(profile: SiteProfile, target: str | None = None) -> dict:
    """What the archive keeps of a crawl's profile (crawls.profiles): the TARGET it came
    from, every resolved field, and for a .toml file its text as it was."""
    record: dict = {"target": target, "fields": asdict(profile)}
    if target and target.endswith(".toml") and Path(target).is_file():
        record["toml"] = Path(target).read_text(encoding="utf-8")
    return record


def profile_from_record(record: dict) -> SiteProfile:
    """The profile a crawl ran with, from its :func:`profile_record`."""
    known = {f.name for f in fields(SiteProfile)}
    values = {k: v for k, v in record["fields"].items() if k in known}
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return SiteProfile(**values)


def crawl_profile_records(settings) -> dict[str, dict]:
    """:func:`profile_record` of every profile of the crawl configured by ``settings``."""
    resolved = _resolve_all(settings.getlist("CRAWL_TARGETS"), settings.get("CRAWL_BASE_URL"))
    return {name: profile_record(profile, ", ".join(targets)) for name, (profile, targets) in resolved.items()}


def _origin_name(profile: SiteProfile) -> str:
    """``host``, or ``host:port`` for a port other than the scheme's default."""
    port = _port(urlsplit(profile.start_urls[0]))
    return profile.name if port in (80, 443) else f"{profile.name}:{port}"


def _resolve_all(targets, base_url: str | None) -> dict[str, tuple[SiteProfile, list[str]]]:
    """Site name -> (profile, the TARGETs it came from).

    A site is its profile, or for a bare URL its origin: several URLs of one origin are one
    site with several start URLs; URLs on one host with other ports are other sites, named
    ``host:port``. A repeated target is reported; two different profiles of one name are an
    error, never one silently replacing the other.
    """
    resolved = [(target, resolve_target(target, base_url)) for target in targets]
    names_by_host: dict[str, set[str]] = {}
    for _, profile in resolved:
        if profile.generic:
            names_by_host.setdefault(profile.name, set()).add(_origin_name(profile))
    out: dict[str, tuple[SiteProfile, list[str]]] = {}
    for target, profile in resolved:
        if profile.generic and len(names_by_host[profile.name]) > 1:
            port = _port(urlsplit(profile.start_urls[0]))
            profile = replace(profile, name=_origin_name(profile),
                              ports=(80, 443) if port in (80, 443) else (port,))
        if profile.name not in out:
            out[profile.name] = (profile, [target])
            continue
        known, sources = out[profile.name]
        sources.append(target)
        if known.generic and profile.generic:
            starts = known.start_urls + tuple(u for u in profile.start_urls if u not in known.start_urls)
            if starts == known.start_urls:
                logger.warning("target %s is given more than once; crawled once", target)
            out[profile.name] = (replace(known, start_urls=starts), sources)
        elif known == profile:
            logger.warning("target %s is given more than once; crawled once", target)
        else:
            raise ProfileError(f"two different profiles are named {profile.name!r}: "
                               f"{sources[0]} and {target}")
    return out


def resolve_targets(targets, base_url: str | None = None) -> dict[str, SiteProfile]:
    """The profiles of a crawl's TARGETs, by site name (see :func:`_resolve_all`)."""
    return {name: profile for name, (profile, _) in _resolve_all(targets, base_url).items()}


def crawl_profiles(settings) -> dict[str, SiteProfile]:
    """The profiles of the crawl configured by Scrapy ``settings`` (CRAWL_TARGETS,
    CRAWL_BASE_URL): every component resolves them from there, none asks the spider."""
    return resolve_targets(settings.getlist("CRAWL_TARGETS"), settings.get("CRAWL_BASE_URL"))
