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


def _profile_from_toml(text: str, source: str) -> SiteProfile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: invalid TOML: {exc}") from exc
    try:
        name = data["name"]
        start_urls = tuple(data["start_urls"])
    except KeyError as exc:
        raise ProfileError(f"{source}: missing required field {exc.args[0]!r}") from exc
    if not start_urls:
        raise ProfileError(f"{source}: start_urls is empty")
    allowed = tuple(data.get("allowed_domains") or [urlsplit(start_urls[0]).hostname])
    pattern = data.get("article_url_pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProfileError(f"{source}: bad article_url_pattern: {exc}") from exc
    known = {
        "name", "start_urls", "allowed_domains", "sitemaps", "feeds", "article_url_pattern",
        "date_selector", "languages", "timezone", "max_listing_pages", "settings",
    }
    unknown = set(data) - known
    if unknown:
        raise ProfileError(f"{source}: unknown fields {sorted(unknown)}")
    return SiteProfile(
        name=name,
        start_urls=start_urls,
        allowed_domains=allowed,
        sitemaps=tuple(data.get("sitemaps", ())),
        feeds=tuple(data.get("feeds", ())),
        article_url_pattern=pattern,
        date_selector=data.get("date_selector"),
        languages=tuple(data.get("languages", DEFAULT_LANGUAGES)),
        timezone=data.get("timezone", DEFAULT_TIMEZONE),
        max_listing_pages=int(data.get("max_listing_pages", 5)),
        settings=dict(data.get("settings", {})),
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
        profile = _profile_from_toml(path.read_text(encoding="utf-8"), target)
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
