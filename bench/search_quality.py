"""Word forms found by a bare word: plain index, prefix queries and the stemmed index.

Corpus: tests/data/fts_corpus.txt (own sentences, one document per line), each document's
language from its letters as the crawl detects it (crawler.language.script_language).
Labels: FORMS below, written by hand: for each word, every form of it that occurs in the
corpus. A document is *relevant* to a word when it contains one of the forms; a document
found that contains none of them is a *false match*.

For each word and each of its forms, the form alone is the query (a bare word, as a user
types it): recall is the share of the word's relevant documents found, over all
(form, document) pairs. The prefix row uses the hand-cut stems of docs/archive-schema.md.

    python -m bench.search_quality [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

from archive import Archive, utc_now
from archive.search import search
from crawler.language import script_language

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "fts_corpus.txt"

# word -> (its forms in the corpus, the prefix a user would type on the plain index)
FORMS: dict[str, tuple[list[str], str]] = {
    "форум": (["форум", "форума", "форуме", "форумом", "форумы", "форумов", "форумах",
               "форумға", "форумында"], "форум*"),
    "закон": (["закон", "закона", "законе", "законом", "законы", "законов"], "закон*"),
    "Мангистау": (["Мангистау"], "Мангистау*"),
    "Мангистауская": (["Мангистауской"], "Мангистауск*"),
    "область": (["область", "области", "областью", "областях", "областей"], "област*"),
    "ёлка": (["ёлку", "ёлка", "ёлок", "елка", "елку"], "ёлк* OR елк*"),
    "район": (["район", "районе", "района", "районы"], "район*"),
    "выборы": (["выборы", "выборах", "выборов"], "выбор*"),
    "учитель": (["учитель", "учителя", "учителям"], "учител*"),
    "урожай": (["урожай"], "урожа*"),
    "заң": (["заң", "заңды", "заңға"], "заң*"),
    "облыс": (["облыс", "облысында"], "облыс*"),
}


def load_corpus() -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def _relevant(docs: list[str], forms: list[str]) -> set[int]:
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, forms)) + r")(?!\w)", re.I)
    return {n for n, doc in enumerate(docs) if pattern.search(doc)}


def measure(arc: Archive, docs: list[str]) -> dict:
    ids = {row[0]: n for n, row in enumerate(arc.db.execute("SELECT id FROM articles ORDER BY id"))}

    def found(query: str, stemmed: bool) -> set[int]:
        return {ids[h.id] for h in search(arc.db, query, stemmed=stemmed, limit=1000)}

    results = {}
    for name, stemmed, by_prefix in (("plain, bare word", False, False),
                                     ("plain, stem + * (hand-cut)", False, True),
                                     ("stemmed, bare word", True, False)):
        hit = total = false = 0
        per_word = {}
        for word, (forms, prefix) in FORMS.items():
            relevant = _relevant(docs, forms)
            queries = [prefix] if by_prefix else forms
            word_hit = word_total = word_false = 0
            for query in queries:
                got = found(query, stemmed)
                word_hit += len(got & relevant)
                word_total += len(relevant)
                word_false += len(got - relevant)
            per_word[word] = {"recall": round(word_hit / word_total, 3), "false": word_false,
                              "queries": len(queries)}
            hit, total, false = hit + word_hit, total + word_total, false + word_false
        results[name] = {"recall": round(hit / total, 3), "false_matches": false,
                         "queries": sum(v["queries"] for v in per_word.values()),
                         "per_word": per_word}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    docs = load_corpus()
    with tempfile.TemporaryDirectory() as tmp:
        arc = Archive(Path(tmp) / "q.db")
        for n, doc in enumerate(docs):
            arc.store_article({"url": f"https://example.kz/{n}", "site": "example.kz", "title": "",
                               "text": doc, "language": script_language(doc) or "ru",
                               "content_hash": f"h{n}"},
                              page_id=None, crawl_id=None, seen_at=utc_now())
        results = measure(arc, docs)
        arc.close()
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return
    print(f"{len(docs)} documents, {len(FORMS)} words")
    for name, r in results.items():
        print(f"{name:32} recall {r['recall']:.3f} over {r['queries']} queries, "
              f"{r['false_matches']} false matches")
        for word, w in r["per_word"].items():
            if w["recall"] < 1 or w["false"]:
                print(f"    {word}: recall {w['recall']}, false {w['false']}")


if __name__ == "__main__":
    main()
