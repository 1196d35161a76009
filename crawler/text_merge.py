"""Widening trafilatura's precision-mode text with what its recall mode finds.

Precision mode keeps the least boilerplate but drops parts of the body it is unsure of
(lists, sections in ``<div>``s without ``<p>``, short paragraphs between longer ones); recall
mode keeps them, and also keeps what surrounds the article (related links, galleries, bylines,
comments), which sits before the first or after the last paragraph of the body.  So the
recall text is taken from the first to the last paragraph that precision mode also found:
what recall adds *inside* the article is kept, what it adds around it is not.  When recall
mode finds more than twice as much text in all, precision mode has most likely missed the
article (trafilatura's own rescue of short results works the same way) and recall wins.
Figures: bench/README-extraction.md.
"""

from __future__ import annotations

# Recall text replaces the merged text when it is this many times longer.
RECALL_RESCUE_RATIO = 2.0


def _length(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs) + max(0, len(paragraphs) - 1)


def inner_recall(precise: list[str], recall: list[str]) -> list[str]:
    """The recall paragraphs from the first to the last one that ``precise`` also holds.

    ``precise`` comes back unchanged when one of its paragraphs is not in ``recall``
    (the two runs then disagree on the page's structure, and nothing is merged).
    """
    if not precise or not recall:
        return precise
    found = set(recall)
    if any(p not in found for p in precise):
        return precise
    kept = set(precise)
    inside = [i for i, p in enumerate(recall) if p in kept]
    return recall[inside[0] : inside[-1] + 1]


def widen_with_recall(precise: list[str], recall: list[str]) -> list[str]:
    """Article paragraphs from a precision-mode and a recall-mode run (module docstring)."""
    merged = inner_recall(precise, recall)
    if _length(recall) > RECALL_RESCUE_RATIO * _length(merged):
        return recall
    return merged
