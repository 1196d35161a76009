"""Precision text widened with what recall mode finds inside it (crawler.text_merge)."""

from __future__ import annotations

from crawler.extract import extract_article
from crawler.text_merge import inner_recall, widen_with_recall

URL = "https://gazette.example.kz/news/library-reopens"
BODY = [
    "The regional library in the old town reopened on Monday after two years of building work on its roof.",
    "Visitors found a new children's corner on the ground floor and longer opening hours on weekdays.",
    "The director said the collection of local newspapers had been scanned during the closure.",
    "Readers can now search those pages from home, and the originals are kept in the basement.",
    "The city council paid for most of the work, and volunteers raised money for new furniture.",
]
NOTE = "Entry stays free for every reader, including visitors from other towns."


def _page(middle: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in BODY[:3]) + middle + "".join(f"<p>{p}</p>" for p in BODY[3:])
    return (
        '<html lang="en"><head><title>Library reopens after repairs</title></head><body>'
        '<div class="menu"><a href="/">Home</a> <a href="/news/">News</a> <a href="/sport/">Sport</a></div>'
        f'<div class="wrap"><h1>Library reopens after repairs</h1><div class="text">{paras}</div></div>'
        '<div class="footer">All rights reserved. Example Gazette, 2025.</div></body></html>'
    )


def test_sentence_in_a_div_between_paragraphs_is_kept():
    # trafilatura's precision mode drops the <div> without <p>; its recall mode keeps it.
    art = extract_article(_page(f'<div class="note">{NOTE}</div>'), URL)
    paras = art.text.split("\n\n")
    assert NOTE in paras
    assert paras.index(NOTE) == 3  # where the page has it, between the third and fourth paragraph
    assert all(p in paras for p in BODY)
    for junk in ("Home", "Sport", "All rights reserved"):
        assert junk not in art.text


def test_recall_paragraphs_around_the_article_are_not_taken():
    precise = ["First paragraph of the story.", "Last paragraph of the story."]
    recall = ["Photo gallery: eight pictures", "First paragraph of the story.", "A list item inside.",
              "Last paragraph of the story.", "Related: another story", "Comments (3)"]
    assert widen_with_recall(precise, recall) == [
        "First paragraph of the story.", "A list item inside.", "Last paragraph of the story."]


def test_no_merge_when_recall_lacks_a_precision_paragraph():
    precise = ["First paragraph.", "A paragraph only precision mode has.", "Last paragraph."]
    recall = ["First paragraph.", "Something else.", "Last paragraph."]
    assert inner_recall(precise, recall) == precise
    assert widen_with_recall(precise, recall) == precise


def test_much_longer_recall_text_replaces_a_short_precision_text():
    precise = ["Only the lead paragraph came through in precision mode."]
    recall = [precise[0]] + [f"Body paragraph number {i} of the article, with some words." for i in range(4)]
    assert widen_with_recall(precise, recall) == recall
    assert widen_with_recall([], recall) == recall


def test_empty_recall_keeps_precision_text():
    precise = ["One paragraph."]
    assert widen_with_recall(precise, []) == precise
