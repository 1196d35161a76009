"""Word stems for the stemmed full-text index: Snowball Russian/English, Kazakh stripper.

A document is stemmed by its ``language`` (``kk`` with :mod:`archive.kazakh_stem`,
anything else with Snowball Russian; Latin-script words with Snowball English). A query
has no language, so each query word is turned into every stem it could have, joined
with OR: «Мангистауская» and «Мангистауской» both become ``мангистауск``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from . import kazakh_stem

__all__ = ["STEMMER_ID", "query_stems", "stem_query", "stem_text", "stem_word", "words"]

_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH = Stemmer.Stemmer("english")
# What the index was built with: a different value means its tokens must be rebuilt.
STEMMER_ID = f"pystemmer-{Stemmer.version()}+kk-{kazakh_stem.VERSION}"

# Words as FTS5's unicode61 sees them, closely enough: runs of letters and digits.
_WORD = re.compile(r"[^\W_]+")
_LATIN = re.compile(r"[a-z]+")
_KAZAKH_LETTERS = set("әғқңөұүһі")


def _normalise(word: str) -> str:
    # ё is written as е in much of the press: one stem for «ёлка» and «елка».
    return word.lower().replace("ё", "е")


@lru_cache(maxsize=200_000)
def stem_word(word: str, language: str | None) -> str:
    """Stem one word of a document written in ``language``."""
    word = _normalise(word)
    if _LATIN.fullmatch(word):
        return _ENGLISH.stemWord(word)
    if language == "kk":
        return kazakh_stem.stem(word)
    return _RUSSIAN.stemWord(word)


def words(text: str | None) -> list[str]:
    return _WORD.findall(text or "")


def stem_text(text: str | None, language: str | None) -> str:
    """Return the stems of ``text``'s words, space-separated (what the index holds)."""
    return " ".join(stem_word(w, language) for w in _WORD.findall(text or ""))


def query_stems(word: str) -> list[str]:
    """Every stem a query word may have in the index, most likely first."""
    languages = ("kk", "ru") if _KAZAKH_LETTERS & set(word.lower()) else ("ru", "kk")
    stems: list[str] = []
    for language in languages:
        s = stem_word(word, language)
        if s not in stems:
            stems.append(s)
    return stems


# A query: phrases, column filters, words (maybe with a trailing *), operators, the rest.
_QUERY_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"|(?P<column>[^\W_]+):|(?P<word>[^\W_]+)(?P<star>\*?)|(?P<other>.)', re.S)
_OPERATORS = {"AND", "OR", "NOT", "NEAR"}


def stem_query(query: str) -> str:
    """Rewrite an FTS5 query in the README's syntax for the stemmed index.

    Operators (AND, OR, NOT, NEAR), parentheses, column filters (``title:``), phrases
    and trailing ``*`` keep their meaning; each word becomes its stems.
    """
    out: list[str] = []
    for m in _QUERY_TOKEN.finditer(query):
        if m.group("phrase") is not None:
            stems = [query_stems(w)[0] for w in words(m.group("phrase"))]
            out.append('"' + " ".join(stems) + '"')
        elif m.group("column") is not None:
            out.append(m.group("column") + ":")
        elif m.group("word") is not None:
            word, star = m.group("word"), m.group("star")
            if word in _OPERATORS:
                out.append(f" {word} ")
                continue
            if star:
                # A prefix is already a stem: only fold case and ё.
                out.append(_normalise(word) + "*")
                continue
            stems = query_stems(word)
            out.append(stems[0] if len(stems) == 1 else "(" + " OR ".join(stems) + ")")
        else:
            out.append(m.group("other"))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def query_terms(query: str) -> tuple[set[str], tuple[str, ...]]:
    """Stems and prefixes a query looks for, to mark them in a snippet."""
    stems: set[str] = set()
    prefixes: list[str] = []
    for m in _QUERY_TOKEN.finditer(query):
        if m.group("phrase") is not None:
            for w in words(m.group("phrase")):
                stems.update(query_stems(w))
        elif m.group("word") is not None and m.group("word") not in _OPERATORS:
            if m.group("star"):
                prefixes.append(_normalise(m.group("word")))
            else:
                stems.update(query_stems(m.group("word")))
    return stems, tuple(prefixes)
