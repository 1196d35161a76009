"""URL canonicalisation: one key per story whatever link led to it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

# Parameters that say where a click came from, never which page it is.
_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|yclid|ysclid|mc_cid|mc_eid|_ga|_gl|"
    r"igshid|ref|ref_src|from|share|amp|output|outputtype|rss|feed|s_src|spm|cmpid|"
    r"_openstat|utm)$",
    re.IGNORECASE,
)


def normalize_url(url: str) -> str:
    """Normalise a URL the way the archive stores it.

    Lower-cases scheme and host, drops the default port, the fragment and tracking
    parameters (utm_*, fbclid, ...), sorts the remaining query (w3lib's canonicalize_url),
    and percent-encodes consistently.  The path is left as the site wrote it (a trailing
    slash can matter to a server); :func:`url_key` ignores it for matching.
    """
    url = safe_url_string(url.strip())
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    cleaned = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))
    return canonicalize_url(cleaned, keep_fragments=False)


# A URL that normalisation leaves alone apart from the case of scheme and host, a default
# port and a trailing dot in the host: plain ASCII, no query, no fragment, no percent
# escapes, no ";" parameters, no dot segments.  Sitemaps list tens of thousands of these and
# an incremental run keys every one of them (tests/test_urls.py checks the shortcut gives
# exactly the full normalisation's key).
_PLAIN = re.compile(r"(?i)(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*\.?)(?::(\d{1,5}))?(/[A-Za-z0-9_~!$&'()*+,=:@/.-]*)?")


def _plain_key(url: str) -> str | None:
    m = _PLAIN.fullmatch(url)
    if m is None:
        return None
    scheme, host, port, path = m.groups()
    path = path or "/"
    if "/." in path:
        return None
    scheme, host = scheme.lower(), host.lower().rstrip(".")
    if port is not None:
        number = int(port)
        if number == 0 or number > 65535:  # the full path drops or rejects these
            return None
        if not ((scheme == "http" and number == 80) or (scheme == "https" and number == 443)):
            host = f"{host}:{number}"
    if host.startswith("www."):
        host = host[4:]
    return host + (path.rstrip("/") or "/")


def url_key(url: str) -> str:
    """Matching key: the normalised URL without a trailing slash and without ``www.``."""
    key = _plain_key(url.strip())
    if key is not None:
        return key
    parts = urlsplit(normalize_url(url))
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, parts.query, ""))[2:]


def same_site(a: str, b: str) -> bool:
    """Both URLs on the same registrable host (ignoring ``www.`` and subdomains of b)."""
    ha = (urlsplit(a).hostname or "").lower().removeprefix("www.")
    hb = (urlsplit(b).hostname or "").lower().removeprefix("www.")
    return ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha)


def article_url(fetched_url: str, canonical: str | None) -> str:
    """The URL an article is stored under.

    A page's own rel=canonical wins (it is how AMP pages, print versions and syndicated
    copies point at the original) unless it points to another site or to the site's root,
    which some CMSs emit on every page by mistake.
    """
    if canonical:
        absolute = urljoin(fetched_url, canonical.strip())
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and same_site(absolute, fetched_url) and parts.path not in ("", "/"):
            return normalize_url(absolute)
    return normalize_url(fetched_url)
