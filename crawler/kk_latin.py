"""Kazakh written in Latin script: recognising it, and its date words.

Two Latin alphabets are in use beside Cyrillic: the 2017/2018 ones (apostrophes, «s'», «a'»,
or acutes, «á», «ǵ», «ń», «ý») and the 2021 one (ä ğ ı ñ ö ū ü ş). Words are compared by a
skeleton that folds all of them onto plain letters, so «qañtar», «qan'tar» and «qańtar» are
the same month. Date words are rewritten in Cyrillic, which dateparser's ``kk`` locale reads.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["dates_to_cyrillic", "is_kazakh_latin", "skeleton"]

# Letters and marks each alphabet adds to the plain Latin ones.
_FOLD = str.maketrans({
    "ä": "a", "á": "a", "ğ": "g", "ǵ": "g", "ı": "i", "i": "i", "ñ": "n", "ń": "n", "ö": "o",
    "ó": "o", "ū": "u", "ú": "u", "ü": "u", "ý": "u", "ş": "s", "ç": "c", "w": "u",
})
_APOSTROPHES = "'’ʼ`"

# skeleton -> Cyrillic, for the month names (base and «-ı/-sı» possessive forms) and the
# relative-date words.
_WORDS = {
    "qantar": "қаңтар", "aqpan": "ақпан", "nauryz": "наурыз", "sauir": "сәуір",
    "mamyr": "мамыр", "mausym": "маусым", "silde": "шілде", "tamyz": "тамыз",
    "qyrkuiek": "қыркүйек", "qyrkuyek": "қыркүйек", "qazan": "қазан", "qarasa": "қараша",
    "jeltoqsan": "желтоқсан",
    "bugin": "бүгін", "kese": "кеше", "sagat": "сағат", "minut": "минут", "kun": "күн",
    "buryn": "бұрын", "jyl": "жыл", "jylgy": "жылғы", "jyly": "жылы",
}
_POSSESSIVE = {"qantary": "qantar", "aqpany": "aqpan", "nauryzy": "nauryz", "sauiri": "sauir",
               "mamyry": "mamyr", "mausymy": "mausym", "sildesi": "silde", "tamyzy": "tamyz",
               "qyrkuiegi": "qyrkuiek", "qyrkuyegi": "qyrkuiek", "qazany": "qazan",
               "qarasasy": "qarasa", "jeltoqsany": "jeltoqsan"}
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’ʼ`][^\W\d_]+)*")
_MONTHS = set(list(_WORDS)[:13]) | set(_POSSESSIVE)
# The 2021 letters no other Latin-script language of the region uses together with «q».
_KK_2021 = re.compile(r"[ñūğıäşöü]", re.IGNORECASE)
_KK_2018 = re.compile(r"[áǵńóúý]|[agnousc]['’ʼ]", re.IGNORECASE)
_LATIN = re.compile(r"[a-zA-Z]")
_Q_NOT_U = re.compile(r"q(?!u)", re.IGNORECASE)


def skeleton(word: str) -> str:
    """«Qyrküiek», «qyrku'iek», «qyrkúıek» -> "qyrkuiek"; «şılde», «s'i'lde», «shilde» -> "silde"."""
    w = unicodedata.normalize("NFC", word).lower()
    for a in _APOSTROPHES[1:]:
        w = w.replace(a, "'")
    # the 2017 apostrophe alphabet: «y'» is ұ/ү, «s'» ш, «c'» ч; other apostrophes only mark
    w = w.replace("y'", "u").replace("s'", "s").replace("c'", "c").replace("'", "")
    w = w.translate(_FOLD)
    return w.replace("sh", "s").replace("ch", "c")


def dates_to_cyrillic(text: str) -> str:
    """Rewrite Latin-script Kazakh month names and relative-date words in Cyrillic.

    «12 qyrküiek 2025, 14:05» -> «12 қыркүйек 2025, 14:05»; «3 sağat buryn» -> «3 сағат бұрын».
    Other words are left as written.
    """
    if not _LATIN.search(text):
        return text

    def swap(m: re.Match) -> str:
        sk = skeleton(m.group(0))
        return _WORDS.get(_POSSESSIVE.get(sk, sk), m.group(0))
    return _WORD_RE.sub(swap, text)


def is_kazakh_latin(text: str, min_letters: int = 40) -> bool:
    """Does Latin-script ``text`` read as Kazakh (either alphabet)?

    Kazakh Latin writes «q» without «u» a few times in every hundred letters (English,
    German, French almost never do) and uses the alphabet's own letters (ñ ū ğ ı ä ş ...)
    or apostrophes.
    """
    letters = sum(1 for ch in text if ch.isalpha() and ch < "\u0250")
    if letters < min_letters:
        return False
    q = len(_Q_NOT_U.findall(text))
    marks = len(_KK_2021.findall(text)) + len(_KK_2018.findall(text))
    return q >= max(2, 0.008 * letters) and marks >= max(2, 0.01 * letters)
