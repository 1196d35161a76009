"""The shared real-world sets, split into a tuning part and a held-out part.

Every set is split the same way, fixed before any tuning: pages in sorted file-name order,
index % 5 == 4 is held out (one page in five). Benchmarks report both parts; nobody looks
at held-out pages one by one, so scripts never print them individually.

``crawl_extract`` is ``extract_article`` exactly as the crawl calls it for a bare homepage
URL: the spider builds a generic profile for the page's host and passes it.

The sets live in ../shared/realworld beside the repository root (dev machines and CI, not a
user's clone); a worktree two levels down finds the same folder; REALWORLD_DIR overrides.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path



def _shared() -> Path:
    """../shared/realworld beside the repository (or beside a folder holding worktrees)."""
    if os.environ.get("REALWORLD_DIR"):
        return Path(os.environ["REALWORLD_DIR"])
    root = Path(__file__).resolve().parents[1]
    for parent in root.parents:
        if (parent / "shared" / "realworld").is_dir():
            return parent / "shared" / "realworld"
    return root.parent / "shared" / "realworld"


SHARED = _shared()
DATES = SHARED / "dates"
AEB = SHARED / "extraction"
WCXB = SHARED / "wcxb-dev"

PARTS = ("tuning", "held-out")


def part_of(index: int) -> str:
    """The part a page belongs to from its index in sorted file-name order."""
    return "held-out" if index % 5 == 4 else "tuning"


@dataclass(frozen=True)
class Page:
    key: str  # file name without extension
    part: str
    url: str
    html: bytes
    truth: dict  # the set's own ground-truth entry


def _split(entries: list[tuple[str, str, dict, Path]]) -> list[Page]:
    entries.sort(key=lambda e: e[0])
    return [Page(key, part_of(i), url, gzip.decompress(path.read_bytes()), truth)
            for i, (key, url, truth, path) in enumerate(entries)]


@lru_cache(maxsize=None)
def dates_pages() -> tuple[Page, ...]:
    """The 195 pages of realworld/dates with a known day (truth["date"] = YYYY-MM-DD)."""
    truth = json.loads((DATES / "truth.json").read_text(encoding="utf-8"))
    entries = []
    for url, entry in truth.items():
        expected = entry.get("date")
        if not isinstance(expected, str) or not expected[:4].isdigit():
            continue  # NaN: no known date
        entries.append((entry["file"], url, entry, DATES / "pages" / f"{entry['file']}.gz"))
    return tuple(_split(entries))


@lru_cache(maxsize=None)
def aeb_pages() -> tuple[Page, ...]:
    """The 181 pages of realworld/extraction (truth["articleBody"])."""
    truth = json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))
    return tuple(_split([(k, v["url"], v, AEB / "html" / f"{k}.html.gz") for k, v in truth.items()]))


@lru_cache(maxsize=None)
def wcxb_pages() -> tuple[Page, ...]:
    """The 1,497 pages of realworld/wcxb-dev (truth: page_type, date, title, text)."""
    truth = json.loads((WCXB / "truth.json").read_text(encoding="utf-8"))
    return tuple(_split([(v["file"].split(".")[0], v["url"], v, WCXB / "pages" / v["file"])
                         for v in truth.values()]))


def available(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.json"))


def crawl_extract(html: bytes | str, url: str):
    """``extract_article`` as the crawl calls it for a bare URL; None when it raises."""
    from crawler.extract import ExtractionError, extract_article
    from crawler.profiles import ProfileError, generic_profile

    try:
        profile = generic_profile(url)
    except ProfileError:  # a saved page with a broken URL: no site, hence no profile
        profile = None
    try:
        return extract_article(html, url, profile=profile)
    except ExtractionError:
        return None


def by_part(values: list[tuple[str, float]]) -> dict[str, tuple[float, int]]:
    """{part: (mean, count)} over (part, value) pairs, plus "all"."""
    out = {}
    for part in (*PARTS, "all"):
        chosen = [v for p, v in values if part == "all" or p == part]
        out[part] = (sum(chosen) / len(chosen) if chosen else float("nan"), len(chosen))
    return out
