"""Per-site health per day, and flags for days far from a site's own recent baseline.

For each site and UTC day (of ``pages.fetched_at`` and ``articles.first_seen_at``):

- ``pages``: pages fetched; ``errors``: of those, with an error, by kind (``HTTP 404``,
  ``empty body``, ...);
- ``new`` / ``updated``: articles first stored / re-written (``updated_at``) that day;
- of the articles first stored that day (``articles``): ``dated`` (share whose date the
  extraction rules found), ``median_length`` (characters of text), ``other_language``
  (share whose language differs from the site's most common one in the period), ``exact_duplicates`` and
  ``near_duplicates`` (counts), and ``boilerplate``: the share of them that contain the
  day's most common sentence of that site (a sentence a template change pasted into
  every article shows as a jump from a few percent to near 1).

A figure is flagged when it is far from the median of the site's previous days (up to
:data:`BASELINE_DAYS` with data, at least :data:`MIN_BASELINE`): a fall in pages or new
articles to under a third, or a rise of a share by more than the metric's margin. Flags
are for a person to look at (a blocked crawler, a template change upstream), not errors.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["DayHealth", "SiteHealth", "site_health"]

BASELINE_DAYS = 7
MIN_BASELINE = 3
# Shares (0-1) that flag when they rise this far above the baseline median.
SHARE_MARGINS = {"error_share": 0.25, "other_language": 0.3, "boilerplate": 0.4}
# Shares that flag when they fall this far below it.
DROP_MARGINS = {"dated": 0.3}
# Counts that flag below this fraction of the baseline median.
COUNT_FLOOR = {"pages": 1 / 3, "new": 1 / 3}

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
# Sentences are counted in at most this many articles per site and day (the first stored).
BOILERPLATE_SAMPLE = 500
_MIN_SENTENCE = 25  # characters: shorter ones ("Фото:") repeat without meaning anything


@dataclass
class DayHealth:
    site: str
    day: str
    pages: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    new: int = 0
    updated: int = 0
    articles: int = 0
    dated: float | None = None
    median_length: float | None = None
    other_language: float | None = None
    exact_duplicates: int = 0
    near_duplicates: int = 0
    boilerplate: float | None = None
    boilerplate_sentence: str | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_share(self) -> float | None:
        return self.error_count / self.pages if self.pages else None


@dataclass
class SiteHealth:
    site: str
    language: str | None
    days: list[DayHealth]

    @property
    def flagged(self) -> list[DayHealth]:
        return [d for d in self.days if d.flags]


def error_kind(error: str) -> str:
    """``HTTP 500 (gave up after 3 attempts)`` -> ``HTTP 500``; ``not HTML: x`` -> ``not HTML``."""
    return re.split(r"[:(]", error, maxsplit=1)[0].strip() or "error"


def sentences(text: str | None) -> set[str]:
    return {s.strip() for s in _SENTENCE_END.split(text or "") if len(s.strip()) >= _MIN_SENTENCE}


def site_health(conn, *, days: int = 30, today: str | None = None) -> list[SiteHealth]:
    """Health of every site over the last ``days`` days with data up to ``today``.

    ``conn`` is a sqlite3 connection (read-only is enough). Sites are those with pages or
    articles in the window, in name order; each site's days are oldest first, and days
    with neither pages nor articles are left out.
    """
    last = today or _last_day(conn)
    if last is None:
        return []
    first = (date.fromisoformat(last) - timedelta(days=days - 1)).isoformat()
    # Baselines need days before the window's first shown day.
    since = (date.fromisoformat(first) - timedelta(days=BASELINE_DAYS * 2)).isoformat()
    until = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    cells: dict[tuple[str, str], DayHealth] = {}

    def cell(site: str, day: str) -> DayHealth:
        key = (site or "", day)
        if key not in cells:
            cells[key] = DayHealth(site or "", day)
        return cells[key]

    for site, day, error, n in conn.execute(
        "SELECT site, substr(fetched_at, 1, 10) AS day, error, count(*) FROM pages "
        "WHERE fetched_at >= ? AND fetched_at < ? GROUP BY site, day, error", [since, until]
    ):
        c = cell(site, day)
        c.pages += n
        if error:
            kind = error_kind(error)
            c.errors[kind] = c.errors.get(kind, 0) + n

    for site, day, n in conn.execute(
        "SELECT site, substr(updated_at, 1, 10) AS day, count(*) FROM articles "
        "WHERE updated_at >= ? AND updated_at < ? GROUP BY site, day", [since, until]
    ):
        cell(site, day).updated += n

    near = _has_column(conn, "articles", "near_duplicate_of")
    near_sql = "near_duplicate_of" if near else "NULL"
    per_day: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT site, substr(first_seen_at, 1, 10) AS day, published_at, length(text), language, "
        f"duplicate_of, {near_sql}, text FROM articles "
        "WHERE first_seen_at >= ? AND first_seen_at < ? ORDER BY id", [since, until]
    ):
        per_day[(row[0] or "", row[1])].append(row[2:])

    # A site's usual language: its most common one over the period read (a whole-archive
    # count would read every row).
    languages: dict[str, Counter[str]] = defaultdict(Counter)
    for (site, _), rows in per_day.items():
        languages[site].update(r[2] for r in rows if r[2])
    site_language = {site: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
                     for site, c in languages.items() if c}

    for (site, day), rows in per_day.items():
        c = cell(site, day)
        n = len(rows)
        c.articles = n
        c.new = sum(1 for r in rows if r[3] is None)
        c.dated = sum(1 for r in rows if r[0]) / n
        c.median_length = statistics.median(r[1] or 0 for r in rows)
        usual = site_language.get(site)
        c.other_language = sum(1 for r in rows if usual and r[2] and r[2] != usual) / n
        c.exact_duplicates = sum(1 for r in rows if r[3] is not None)
        c.near_duplicates = sum(1 for r in rows if r[4] is not None)
        counts: Counter[str] = Counter()
        sample = rows[:BOILERPLATE_SAMPLE]
        for r in sample:
            counts.update(sentences(r[5]))
        if counts and n >= 2:
            sentence, times = counts.most_common(1)[0]
            c.boilerplate = times / len(sample) if times > 1 else 0.0
            c.boilerplate_sentence = sentence if times > 1 else None
        else:
            c.boilerplate = 0.0

    by_site: dict[str, list[DayHealth]] = defaultdict(list)
    for (site, day), c in sorted(cells.items()):
        by_site[site].append(c)
    result = []
    for site, cells_of_site in sorted(by_site.items()):
        _flag(cells_of_site)
        shown = [c for c in cells_of_site if first <= c.day <= last]
        if shown:
            result.append(SiteHealth(site, site_language.get(site), shown))
    return result


def _baseline(before: list[DayHealth], name: str) -> float | None:
    """The median of a share over the days before, when enough of them have it."""
    values = [getattr(d, name) for d in before if getattr(d, name) is not None]
    return statistics.median(values) if len(values) >= MIN_BASELINE else None


def _flag(days: list[DayHealth]) -> None:
    for i, c in enumerate(days):
        before = days[max(0, i - BASELINE_DAYS):i]
        if len(before) < MIN_BASELINE:
            continue
        for name, floor in COUNT_FLOOR.items():
            base = statistics.median(getattr(d, name) for d in before)
            value = getattr(c, name)
            if base >= 3 and value < base * floor:
                c.flags.append(f"{name} {value} (usually {base:g})")
        for name, margin in SHARE_MARGINS.items():
            value, base = getattr(c, name), _baseline(before, name)
            if value is not None and base is not None and value - base > margin:
                c.flags.append(f"{name.replace('_', ' ')} {value:.0%} (usually {base:.0%})")
        for name, margin in DROP_MARGINS.items():
            value, base = getattr(c, name), _baseline(before, name)
            if value is not None and base is not None and base - value > margin:
                c.flags.append(f"{name} {value:.0%} (usually {base:.0%})")
        lengths = [d.median_length for d in before if d.median_length]
        if c.median_length is not None and len(lengths) >= MIN_BASELINE:
            base = statistics.median(lengths)
            if base and not base / 2 <= c.median_length <= base * 2:
                c.flags.append(f"median length {c.median_length:g} (usually {base:g})")


def _last_day(conn) -> str | None:
    row = conn.execute(
        "SELECT max(d) FROM (SELECT max(substr(fetched_at, 1, 10)) AS d FROM pages "
        "UNION ALL SELECT max(substr(first_seen_at, 1, 10)) FROM articles)"
    ).fetchone()
    return row[0] if row else None


def _has_column(conn, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def crawl_overview(conn) -> dict:
    """The last crawl (status, start, duration, counts) and each site's last successful one.

    A site's crawl succeeded when the run finished ``ok`` or ``partial`` and the site is
    not among its ``failed_sites``.
    """
    import json

    rows = conn.execute(
        "SELECT id, started_at, finished_at, status, pages, articles_new, articles_updated, errors, "
        "CAST(round((julianday(finished_at) - julianday(started_at)) * 86400) AS INTEGER), stats "
        "FROM crawls ORDER BY id DESC"
    ).fetchall()
    if not rows:
        return {"last_crawl": None, "last_successful_crawl_by_site": {}}
    last = rows[0]
    by_site: dict[str, str] = {}
    for row in rows:
        if row[3] not in ("ok", "partial"):
            continue
        stats = json.loads(row[9] or "{}")
        failed = set(stats.get("failed_sites") or [])
        for site in stats.get("by_site") or {}:
            if site not in failed and site not in by_site:
                by_site[site] = f"crawl {row[0]} at {row[1]}"
    return {
        "last_crawl": {
            "id": last[0], "status": last[3], "started_at": last[1], "finished_at": last[2],
            "seconds": last[8], "pages": last[4], "articles_new": last[5],
            "articles_updated": last[6], "errors": last[7],
        },
        "last_successful_crawl_by_site": dict(sorted(by_site.items())),
    }
