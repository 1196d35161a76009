"""A light suffix stripper for Kazakh, which Snowball lacks.

Kazakh words are a stem followed by suffixes in a fixed order: plural, possessive, case
(``облыс|ы|нда``, ``тұрғын|дар|мен``). Stripping those three groups from the end, longest
first, maps a noun's forms onto one stem; verbs and derivation are left alone, so this
finds fewer forms than a real stemmer would, but never merges two nouns that differ
before their suffixes. A stem keeps at least :data:`MIN_STEM` letters (``заң``).
"""

from __future__ import annotations

__all__ = ["VERSION", "stem"]

# Part of the stemmed index's identity: bump when a rule changes, so archives rebuild it.
VERSION = "1"

MIN_STEM = 3
_VOWELS = set("аәеёиоөуұүыіэюя")

# Case endings, including the forms used after a possessive (-нда, -нан, -ның).
_CASE = sorted(
    """
    ның нің дың дің тың тің
    ға ге қа ке на не
    ны ні ды ді ты ті
    да де та те нда нде
    дан ден тан тен нан нен
    мен бен пен ымен імен
    """.split(),
    key=len,
    reverse=True,
)
# Possessive endings: -сы/-сі follow a vowel and -ы/-і a consonant («қала» + сы).
_POSSESSIVE = sorted(
    "ымыз іміз мыз міз ыңыз іңіз ңыз ңіз ым ім ың ің сы сі ы і".split(),
    key=len,
    reverse=True,
)
_PLURAL = ("лар", "лер", "дар", "дер", "тар", "тер")


def _strip(word: str, suffixes: tuple[str, ...] | list[str]) -> str:
    for suffix in suffixes:
        if not word.endswith(suffix):
            continue
        rest = word[: -len(suffix)]
        if len(rest) < MIN_STEM:
            continue
        # Stems rarely end in ы/і, so «облысы» reads as «облыс» + ы, not «облы» + сы.
        if suffix in ("сы", "сі") and (rest[-1] not in _VOWELS or rest[-1] in "ыі"):
            continue
        if suffix in ("ы", "і") and rest[-1] in _VOWELS:
            continue
        return rest
    return word


def stem(word: str) -> str:
    """Return the stem of one lower-case Kazakh word."""
    word = _strip(word, _CASE)
    word = _strip(word, _POSSESSIVE)
    return _strip(word, _PLURAL)
