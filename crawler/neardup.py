"""Near-duplicate detection: MinHash over word shingles of the normalised text, LSH in SQLite.

Two texts are near-duplicates when the Jaccard similarity of their sets of word
``SHINGLE_WORDS``-grams (after :func:`crawler.dedup.normalize_text`) reaches the threshold
(setting ``NEARDUP_THRESHOLD``). Each article gets a ``NUM_PERM``-value MinHash
(datasketch's "affine32" scheme, computed here with numpy and checked bit for bit against
datasketch by tests/test_neardup.py); its values, two at a time, form ``NUM_PERM / BAND_ROWS`` LSH bands stored in
the archive (:mod:`archive.neardup`). A new article is compared only with the articles
that share at least :func:`min_band_matches` of its bands (an index lookup) and then
verified on the estimated Jaccard similarity, so every article is matched against all
earlier ones, across sites and runs, without recomputing anything.

Why these numbers (bench/README-neardup.md): two-value bands make the candidate search
sensitive enough for thresholds down to 0.3; requiring several shared bands, as many as
the threshold allows while losing under 1 % of true matches, keeps unrelated articles
that merely share templates out of the verification step.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from dataclasses import dataclass

import numpy as np

from archive.neardup import Match, NearDupStore, bands_of
from crawler.dedup import normalize_text
from crawler.urls import normalize_url

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLD",
    "NearDupIndexer",
    "Signature",
    "Signer",
    "min_band_matches",
    "shingles",
]

# Jaccard similarity of 5-word shingles at or above which two texts are the same story.
DEFAULT_THRESHOLD = 0.4
SHINGLE_WORDS = 5
NUM_PERM = 128
BAND_ROWS = 2
SEED = 1
SCHEME = "affine32"
# Texts with fewer distinct shingles are not matched: a one-line note shares too large a
# share of its words with any other note of the same template.
MIN_SHINGLES = 15
# Target share of true matches (Jaccard exactly at the threshold) the band filter keeps.
_BAND_RECALL = 0.99
_PROBE = "Проверочный текст для подписи: если он даёт другие значения, параметры изменились."


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """Distinct word k-grams of the normalised text (the whole text when shorter than k)."""
    words = normalize_text(text).split()
    if len(words) <= k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


@dataclass(frozen=True)
class Signature:
    shingles: int  # number of distinct shingles
    minhash: bytes | None  # NUM_PERM little-endian uint32; None when the text is too short
    bands: list[int]


class Signer:
    """Computes signatures; one instance reuses the MinHash permutations.

    The values are exactly datasketch's ``MinHash(num_perm, seed, scheme="affine32")``
    after ``update_batch`` of the UTF-8 shingles. The arithmetic is redone here because
    importing datasketch imports scipy into every crawl process for one small function
    (its cost: bench/README-crawl.md).
    """

    def __init__(self, num_perm: int = NUM_PERM, band_rows: int = BAND_ROWS, k: int = SHINGLE_WORDS,
                 seed: int = SEED, min_shingles: int = MIN_SHINGLES):
        if num_perm % band_rows:
            raise ValueError("num_perm must be a multiple of band_rows")
        self.num_perm, self.band_rows, self.k, self.seed = num_perm, band_rows, k, seed
        self.min_shingles = min_shingles
        # datasketch's affine32 permutations: h -> a*h + b mod 2**32 with odd a, drawn in
        # this order from RandomState(seed).
        gen = np.random.RandomState(seed)
        self._a = (gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1))
        self._b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)

    @property
    def bands(self) -> int:
        return self.num_perm // self.band_rows

    def hashvalues(self, items: list[bytes]) -> np.ndarray:
        """The MinHash of a set of byte strings: num_perm uint32 values."""
        if not items:
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        # sha1_hash32: the first 4 bytes of SHA-1, little-endian.
        digests = b"".join(hashlib.sha1(item).digest()[:4] for item in items)
        hv = np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 1)
        hv = _fmix32(hv)
        return (hv * self._a + self._b).min(axis=0)

    def sign(self, text: str) -> Signature:
        grams = shingles(text, self.k)
        if len(grams) < self.min_shingles:
            return Signature(len(grams), None, [])
        blob = self.hashvalues([g.encode("utf-8") for g in grams]).astype("<u4").tobytes()
        return Signature(len(grams), blob, bands_of(blob, self.band_rows))

    def config(self) -> dict[str, object]:
        """The parameters stored in the archive; signatures made otherwise do not compare."""
        values = self.hashvalues([w.encode("utf-8") for w in normalize_text(_PROBE).split()])
        # The probe catches a change of hashing with the same parameters.
        probe = int(np.asarray(values[:4], dtype=np.uint64).sum())
        return {"method": "minhash-words", "scheme": SCHEME, "num_perm": self.num_perm,
                "band_rows": self.band_rows, "shingle_words": self.k, "seed": self.seed,
                "min_shingles": self.min_shingles, "probe": probe}


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch pre-mixes every input hash with it)."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def _binom_tail(n: int, p: float, m: int) -> float:
    """P(X >= m) for X ~ Binomial(n, p)."""
    return 1.0 - sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(m))


def min_band_matches(threshold: float, bands: int = NUM_PERM // BAND_ROWS, rows: int = BAND_ROWS,
                     recall: float = _BAND_RECALL) -> int:
    """The most shared bands a candidate may be required to have while a pair whose
    Jaccard similarity equals ``threshold`` still passes with probability >= ``recall``.

    A band matches with probability J**rows, independently per band, so the number of
    shared bands is Binomial(bands, J**rows).
    """
    p = max(0.0, min(1.0, threshold)) ** rows
    m = 1
    while m < bands and _binom_tail(bands, p, m + 1) >= recall:
        m += 1
    return m


class NearDupIndexer:
    """Indexes articles of one open archive as they are stored.

    ``index(article_id)`` after each store (new or updated article); ``catch_up()`` once
    per run for what an earlier run, an interrupted one or another writer (re-extraction)
    left unindexed. ``threshold`` is the Jaccard similarity (0-1) a pair needs.
    """

    def __init__(self, archive, threshold: float = DEFAULT_THRESHOLD, *, signer: Signer | None = None):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], not {threshold}")
        self.store = NearDupStore(archive)
        self.signer = signer or Signer()
        self.threshold = threshold
        self.min_matches = min_band_matches(threshold, self.signer.bands, self.signer.band_rows)
        self._check_config()

    def _check_config(self) -> None:
        wanted = {k: str(v) for k, v in self.signer.config().items()}
        stored = self.store.config()
        if stored == wanted:
            return
        if stored:
            # Signatures made with other parameters cannot be compared: start over (the
            # next catch_up() re-signs every article, oldest first).
            logger.warning("near-duplicate parameters changed (%s -> %s): rebuilding the index", stored, wanted)
            self.store.reset()
        self.store.set_config(wanted)

    def index(self, article_id: int, signed: tuple[str | None, Signature] | None = None) -> Match:
        """Sign one stored article, link its translations and its near-duplicate cluster.

        ``signed``: ``(content_hash, signature)`` made elsewhere with this indexer's signer
        parameters (the crawl's extraction workers); used when the stored text has that hash.
        """
        row = self.store.article(article_id)
        if row is None:
            return Match(article_id)
        if signed is not None and signed[0] is not None and signed[0] == row["content_hash"]:
            sig = signed[1]
        else:
            sig = self.signer.sign(row["text"] or "")
        return self.store.index(
            article_id, content_hash=row["content_hash"], shingles=sig.shingles, signature=sig.minhash,
            bands=sig.bands, threshold=self.threshold, min_matches=self.min_matches, canonical=_canonical,
        )

    def catch_up(self, batch: int = 500) -> int:
        """Index every article not indexed yet or changed since, oldest first; return how many."""
        done, last = 0, 0
        while True:
            ids = self.store.pending(after_id=last, limit=batch)
            if not ids:
                break
            for article_id in ids:
                self.index(article_id)
            done += len(ids)
            last = ids[-1]
        if done:
            logger.info("near-duplicate index: %d articles indexed", done)
        return done


@functools.lru_cache(maxsize=4096)
def _canonical(url: str) -> str:
    # hreflang hrefs are written by hand in templates: tracking parameters, upper-case hosts.
    # Cached: each page of a set of editions names all of them, and is itself named.
    try:
        return normalize_url(url)
    except Exception:  # noqa: BLE001 - an unparseable alternate simply does not match
        return url
