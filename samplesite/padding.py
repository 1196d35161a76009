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
def _units(kind: str, encoding: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if kind == "css":
        units = tuple(
            f".c{i:05d}{{margin:{i % 7}px {i % 5}px;padding:{i % 3}px;color:#{(i * 2654435761) & 0xFFFFFF:06x}}}\n"
            for i in range(_MAX_UNITS)
        )
    elif kind == "js":
        units = tuple(
            f'{{"id":{i},"slot":"banner-{i % 17}","w":{300 + i % 5 * 10},"h":{250 - i % 3 * 10},"lazy":true}},'
            for i in range(_MAX_UNITS)
        )
    else:
        units = tuple(
            f'<li class="megamenu__item"><a href="/tags/{TAGS[i % len(TAGS)][0]}/">{TAGS[i % len(TAGS)][1]}</a></li>\n'
            for i in range(_MAX_UNITS)
        )
    sizes = tuple(accumulate(len(u.encode(encoding, "xmlcharrefreplace")) for u in units))
    return units, sizes


def _fill(kind: str, budget: int, encoding: str) -> str:
    """Whole units up to ``budget`` bytes, topped up with whitespace to hit it exactly."""
    wrappers = {
        "css": ('<style id="theme-css">\n', "</style>\n"),
        "js": ('<script id="app-state">window.__APP_STATE__={"ads":[', '{}]};</script>\n'),
        "menu": ('<nav class="megamenu" hidden><ul>\n', "</ul></nav>\n"),
    }
    head, tail = wrappers[kind]
    budget -= len(head) + len(tail)
    if budget <= 0:
        return ""
    units, sizes = _units(kind, encoding)
    n = bisect.bisect_right(sizes, budget)
    used = sizes[n - 1] if n else 0
    return head + "".join(units[:n]) + " " * (budget - used) + tail


def apply(html: str, page_kb: int, encoding: str = "utf-8") -> str:
    """Replace the padding markers so the encoded page is about ``page_kb`` KB (0: remove them)."""
    bare = html.replace(CSS_MARK, "").replace(MENU_MARK, "").replace(JS_MARK, "")
    if page_kb <= 0:
        return bare
    need = page_kb * 1024 - len(bare.encode(encoding, "xmlcharrefreplace"))
    if need <= 0:
        return bare
    menu = need // 10
    css = (need - menu) // 2
    js = need - menu - css
    return (html.replace(CSS_MARK, _fill("css", css, encoding))
            .replace(MENU_MARK, _fill("menu", menu, encoding))
            .replace(JS_MARK, _fill("js", js, encoding)))
