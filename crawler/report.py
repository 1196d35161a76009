"""The per-site health report as one self-contained HTML page (inline CSS and SVG).

Written by ``crawler report`` and served at ``/-/health`` by ``crawler serve``. Nothing
is loaded at view time: no scripts, fonts or images from anywhere.
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timezone

from archive.health import DayHealth, SiteHealth, site_health

__all__ = ["render_health_page", "render_report"]

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.flag td{background:#fff0f0}
.flags{color:#b00}.plots{display:flex;flex-wrap:wrap;gap:12px}
svg text{font:10px sans-serif;fill:#444}.muted{color:#777}
"""
_SERIES = (
    ("pages", "pages fetched", "#1f77b4", False),
    ("new", "new articles", "#2ca02c", False),
    ("error_count", "errors", "#d62728", False),
    ("dated", "dated share", "#9467bd", True),
    ("boilerplate", "boilerplate share", "#8c564b", True),
    ("median_length", "median text length", "#ff7f0e", False),
)


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def time_series(site: SiteHealth, key: str, label: str, colour: str, share: bool) -> str:
    """A small line plot of one figure over the site's days, one circle per day."""
    width, height, pad = 260, 110, 28
    days = site.days
    values = [getattr(d, key) for d in days]
    known = [v for v in values if v is not None]
    top = 1.0 if share else max(known or [1]) or 1
    n = max(len(days) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - pad - 8) * (i / n if len(days) > 1 else 0.5)
        y = height - 18 - (height - 32) * (v / top)
        return round(x, 1), round(y, 1)

    points = [(i, v) for i, v in enumerate(values) if v is not None]
    coords = [xy(i, v) for i, v in points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    circles = "".join(
        f'<circle class="point" cx="{x}" cy="{y}" r="2.5" fill="{colour}">'
        f"<title>{_e(days[i].day)}: {_e(_pct(v) if share else f'{v:g}')}</title></circle>"
        for (i, v), (x, y) in zip(points, coords)
    )
    top_label = "100%" if share else f"{top:g}"
    return (
        f'<svg class="series" data-site="{_e(site.site)}" data-series="{key}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>'
        f'<text x="{pad}" y="11">{_e(label)}</text>'
        f'<text x="2" y="{18 + 4}">{top_label}</text><text x="2" y="{height - 16}">0</text>'
        f'<line x1="{pad}" y1="{height - 18}" x2="{width - 8}" y2="{height - 18}" stroke="#bbb"/>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{line}"/>{circles}'
        f'<text x="{pad}" y="{height - 4}">{_e(days[0].day)}</text>'
        f'<text x="{width - 70}" y="{height - 4}">{_e(days[-1].day)}</text></svg>'
    )


def heatmap(sites: list[SiteHealth]) -> str:
    """Sites × days, shaded by new articles (log scale); a red frame marks a flagged day."""
    days = sorted({d.day for s in sites for d in s.days})
    if not days:
        return ""
    cell, left, top = 16, 150, 60
    width = left + cell * len(days) + 60  # room for the last rotated day label
    height = top + cell * len(sites) + 10
    peak = max((d.new for s in sites for d in s.days), default=1) or 1
    parts = [f'<svg class="heatmap" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'role="img" aria-label="new articles per site and day">']
    for j, day in enumerate(days):
        if j % max(1, len(days) // 10) == 0:
            x = left + j * cell + cell / 2
            parts.append(f'<text transform="translate({x},{top - 4}) rotate(-60)">{_e(day)}</text>')
    for i, site in enumerate(sites):
        y = top + i * cell
        parts.append(f'<text x="{left - 4}" y="{y + 12}" text-anchor="end">{_e(site.site[:24])}</text>')
        by_day = {d.day: d for d in site.days}
        for j, day in enumerate(days):
            d = by_day.get(day)
            x = left + j * cell
            if d is None:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="#f4f4f4"/>')
                continue
            level = math.log1p(d.new) / math.log1p(peak)
            shade = int(235 - 200 * level)
            stroke = ' stroke="#d00" stroke-width="2"' if d.flags else ""
            tip = f"{site.site} {day}: {d.new} new, {d.pages} pages, {d.error_count} errors"
            if d.flags:
                tip += "; " + "; ".join(d.flags)
            parts.append(
                f'<rect class="cell" data-site="{_e(site.site)}" data-day="{day}" data-new="{d.new}" '
                f'x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="rgb({shade},{shade + 10 if shade < 245 else 245},255)"{stroke}>'
                f"<title>{_e(tip)}</title></rect>")
    parts.append("</svg>")
    return "".join(parts)


def _day_row(d: DayHealth) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in sorted(d.errors.items())) or "–"
    return (
        f'<tr class="{"flag" if d.flags else ""}"><td class="l">{_e(d.day)}</td><td>{d.pages}</td>'
        f'<td class="l">{_e(errors)}</td><td>{d.new}</td><td>{d.updated}</td><td>{_pct(d.dated)}</td>'
        f'<td>{"–" if d.median_length is None else f"{d.median_length:g}"}</td>'
        f"<td>{_pct(d.other_language)}</td><td>{d.exact_duplicates}</td><td>{d.near_duplicates}</td>"
        f'<td title="{_e(d.boilerplate_sentence or "")}">{_pct(d.boilerplate)}</td>'
        f'<td class="l flags">{_e("; ".join(d.flags))}</td></tr>'
    )


def render_report(sites: list[SiteHealth], *, title: str, note: str = "", back_link: str = "") -> str:
    flagged = [(s, d) for s in sites for d in s.days if d.flags]
    out = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        back_link,
        f"<h1>{_e(title)}</h1><p class=\"muted\">{_e(note)}</p>",
    ]
    if not sites:
        out.append("<p>No pages or articles in this period.</p></body></html>")
        return "".join(out)
    out.append('<h2 id="sites">Sites</h2><table class="sites"><tr><th class="l">site</th><th>language</th>'
               "<th>days</th><th>pages</th><th>errors</th><th>new</th><th>updated</th><th>flagged days</th></tr>")
    for s in sites:
        out.append(
            f'<tr class="site" data-site="{_e(s.site)}"><td class="l"><a href="#site-{_e(s.site)}">'
            f"{_e(s.site)}</a></td><td>{_e(s.language or '–')}</td><td>{len(s.days)}</td>"
            f"<td>{sum(d.pages for d in s.days)}</td><td>{sum(d.error_count for d in s.days)}</td>"
            f"<td>{sum(d.new for d in s.days)}</td><td>{sum(d.updated for d in s.days)}</td>"
            f"<td>{len(s.flagged)}</td></tr>")
    out.append("</table>")
    out.append('<h2 id="flags">Flagged days</h2>')
    if flagged:
        out.append("<ul>" + "".join(
            f"<li><b>{_e(s.site)}</b> {_e(d.day)}: <span class=\"flags\">{_e('; '.join(d.flags))}</span></li>"
            for s, d in flagged) + "</ul>")
    else:
        out.append("<p>None: every site is close to its own recent days.</p>")
    out.append('<h2 id="heatmap">New articles per site and day</h2>' + heatmap(sites))
    for s in sites:
        out.append(f'<h2 id="site-{_e(s.site)}">{_e(s.site)}</h2><div class="plots">')
        out.extend(time_series(s, *series) for series in _SERIES)
        out.append("</div><table><tr><th class=\"l\">day</th><th>pages</th><th class=\"l\">errors</th>"
                   "<th>new</th><th>updated</th><th>dated</th><th>median length</th><th>other language</th>"
                   "<th>exact dup.</th><th>near dup.</th><th>boilerplate</th><th class=\"l\">flags</th></tr>")
        out.extend(_day_row(d) for d in reversed(s.days))
        out.append("</table>")
    out.append("</body></html>")
    return "".join(out)


def render_health_page(conn, *, days: int = 30, standalone: bool = True) -> str:
    """The health report of the archive open on ``conn`` (read-only is enough)."""
    sites = site_health(conn, days=days)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = (f"Last {days} days with data, UTC days; made {now}. A day is flagged when a figure "
            "is far from the site's previous 7 days (docs/health.md).")
    back = "" if standalone else '<p><a href="/">← archive</a></p>'
    return render_report(sites, title="Site health", note=note, back_link=back)
