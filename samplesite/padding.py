"""Grow article pages to a target size the way real news pages are heavy.

Real article pages are 80-200 KB mostly because of inline CSS, hydration state for the
front-end framework and mega-menus, not because of the text. The padding imitates those
three, identically on every page (as a site template would be), so benchmarks measure
parsing and boilerplate removal at realistic sizes. Deterministic: no randomness at all.
"""

from __future__ import annotations

import bisect
from functools import lru_cache
from itertools import accumulate

from .vocab_ru import TAGS

CSS_MARK = "<!--pad:css-->"
MENU_MARK = "<!--pad:menu-->"
JS_MARK = "<!--pad:js-->"
_MAX_UNITS = 12000  # enough for ~1 MB of padding per kind


@lru_cache(maxsize=8)
def _units(kind: str, encoding: str) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """All units of a kind joined, with cumulative byte sizes and character offsets."""
    if kind == "css":
        units = [
            f".c{i:05d}{{margin:{i % 7}px {i % 5}px;padding:{i % 3}px;color:#{(i * 2654435761) & 0xFFFFFF:06x}}}\n"
            for i in range(_MAX_UNITS)
        ]
    elif kind == "js":
        units = [
            f'{{"id":{i},"slot":"banner-{i % 17}","w":{300 + i % 5 * 10},"h":{250 - i % 3 * 10},"lazy":true}},'
            for i in range(_MAX_UNITS)
        ]
    else:
        units = [
            f'<li class="megamenu__item"><a href="/tags/{TAGS[i % len(TAGS)][0]}/">{TAGS[i % len(TAGS)][1]}</a></li>\n'
            for i in range(_MAX_UNITS)
        ]
    sizes = tuple(accumulate(len(u.encode(encoding, "xmlcharrefreplace")) for u in units))
    offsets = tuple(accumulate(len(u) for u in units))
    return "".join(units), sizes, offsets


_WRAPPERS = {
    "css": ('<style id="theme-css">\n', "</style>\n"),
    "js": ('<script id="app-state">window.__APP_STATE__={"ads":[', '{}]};</script>\n'),
    "menu": ('<nav class="megamenu" hidden><ul>\n', "</ul></nav>\n"),
}


def _fill(kind: str, budget: int, encoding: str) -> str:
    """Whole units up to ``budget`` bytes, topped up with whitespace to hit it exactly."""
    head, tail = _WRAPPERS[kind]
    budget -= len(head) + len(tail)
    if budget <= 0:
        return ""
    joined, sizes, offsets = _units(kind, encoding)
    n = bisect.bisect_right(sizes, budget)
    used, chars = (sizes[n - 1], offsets[n - 1]) if n else (0, 0)
    return head + joined[:chars] + " " * (budget - used) + tail


def apply(html: str, page_kb: int, encoding: str = "utf-8") -> str:
    """Replace the padding markers so the encoded page is about ``page_kb`` KB (0: remove them)."""
    # Split the small unpadded page once, join once: replacing inside a 150 KB string three
    # times cost more than rendering the page.
    a, _, rest = html.partition(CSS_MARK)
    b, _, rest = rest.partition(MENU_MARK)
    c, _, d = rest.partition(JS_MARK)
    if page_kb <= 0:
        return a + b + c + d
    need = page_kb * 1024 - sum(len(x.encode(encoding, "xmlcharrefreplace")) for x in (a, b, c, d))
    if need <= 0:
        return a + b + c + d
    menu = need // 10
    css = (need - menu) // 2
    js = need - menu - css
    return "".join((a, _fill("css", css, encoding), b, _fill("menu", menu, encoding), c,
                    _fill("js", js, encoding), d))
