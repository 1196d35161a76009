"""The one real-looking example article, read from samplesite/data/ at run time."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

EXAMPLE_FILE = "kazpravda-2025-09-12-civil-forum.txt"
EXAMPLE_SLUG = "xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau"


class ExampleArticle(NamedTuple):
    title: str
    day: str  # YYYY-MM-DD
    paragraphs: tuple[str, ...]


def parse_corpus_txt(text: str) -> ExampleArticle:
    """Parse the corpus ``txt`` layout: `` date YYYY-MM-DD Headline``, blank line, paragraphs.

    Paragraphs are split on blank lines only; their inner whitespace (runs of no-break
    spaces and spaces copied from the original page) is kept byte for byte.
    """
    head, _, rest = text.partition("\n")
    m = re.fullmatch(r" date (\d{4}-\d{2}-\d{2}) (.+)", head.rstrip("\r"))
    if not m:
        raise ValueError(f"not a corpus txt header: {head!r}")
    paragraphs = tuple(p.strip("\r\n") for p in re.split(r"\n[ \t]*\n", rest) if p.strip())
    return ExampleArticle(m.group(2), m.group(1), paragraphs)


@lru_cache(maxsize=1)
def load_example() -> ExampleArticle:
    """The example article shipped in samplesite/data/."""
    text = resources.files("samplesite").joinpath("data", EXAMPLE_FILE).read_text(encoding="utf-8")
    return parse_corpus_txt(text)
