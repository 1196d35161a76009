"""Near-duplicate clusters and linked translations, stored in the archive.

The crawler computes a MinHash signature per article (``crawler.neardup``); this module
keeps what is needed to match a new article against *every* earlier one without
recomputing anything:

- ``neardup_signatures``: one row per article that was looked at: the signature (BLOB of
  little-endian uint32 values), the number of distinct shingles and the ``content_hash``
  of the text it was computed from (a later edit makes it stale). ``minhash`` is NULL
  for articles that are not matched (exact duplicates, texts too short to judge).
- ``neardup_bands``: the LSH bands of each signature as (band, hash, article_id); a new
  article's candidates are the articles sharing at least ``min_matches`` of its bands,
  found by index lookups, then verified with the Jaccard similarity estimated from the
  stored signatures.
- ``neardup_config``: the signing parameters the rows were made with, so a change of
  parameters is noticed (and the index rebuilt) instead of silently mixing signatures.

Links: ``articles.near_duplicate_of`` is the id of the cluster's representative, the first
stored article of the cluster (never a chain); NULL for representatives and singletons.
``translations`` holds both directions of every pair of articles that declare each other
as hreflang alternates; such pairs are never near-duplicates of each other.

Pure SQLite + numpy: nothing here imports Scrapy or the crawler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

logger = logging.getLogger(__name__)

__all__ = [
    "Match",
    "NearDupStore",
    "estimated_jaccard",
]

_SIG_DTYPE = np.dtype("<u4")


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """Share of equal MinHash values: the estimate of the Jaccard similarity of two texts."""
    x = np.frombuffer(a, dtype=_SIG_DTYPE)
    y = np.frombuffer(b, dtype=_SIG_DTYPE)
    if x.shape != y.shape or not len(x):
        raise ValueError("signatures of different lengths cannot be compared")
    return float(np.count_nonzero(x == y)) / len(x)


@dataclass
class Match:
    """What indexing one article found."""

    article_id: int
    near_duplicate_of: int | None = None  # the representative it was linked to
    similarity: float | None = None  # estimated Jaccard with the matched article
    matched_id: int | None = None  # the article it matched (may be a member, not the representative)
    candidates: int = 0  # articles sharing enough LSH bands
    translations: list[int] = field(default_factory=list)
    indexed: bool = False  # False for exact duplicates, short texts and missing articles


class NearDupStore:
    """Reads and writes the near-duplicate tables of one archive.

    ``archive`` is an :class:`archive.Archive`; every public write is one transaction
    (a savepoint when the caller already holds one).
    """

    def __init__(self, archive) -> None:
        self.archive = archive
        self.db: sqlite_utils.Database = archive.db

    # -- parameters ----------------------------------------------------------------------

    def config(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM neardup_config"))

    def set_config(self, config: dict[str, object]) -> None:
        with self.archive._write():
            self.db.execute("DELETE FROM neardup_config")
            self.db.conn.executemany(
                "INSERT INTO neardup_config (key, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in sorted(config.items())],
            )

    def reset(self) -> None:
        """Forget every signature, band and near-duplicate link (translations stay)."""
        with self.archive._write():
            self.db.execute("DELETE FROM neardup_bands")
            self.db.execute("DELETE FROM neardup_signatures")
            self.db.execute("DELETE FROM neardup_config")
            self.db.execute(
                "UPDATE articles SET near_duplicate_of = NULL WHERE near_duplicate_of IS NOT NULL"
            )

    # -- what needs work ----------------------------------------------------------------

    def pending(self, after_id: int = 0, limit: int = 500) -> list[int]:
        """Ids (ascending, > after_id) of articles never indexed or whose text changed since."""
        rows = self.db.execute(
            "SELECT a.id FROM articles a LEFT JOIN neardup_signatures s ON s.article_id = a.id "
            "WHERE a.id > ? AND (s.article_id IS NULL OR s.content_hash IS NOT a.content_hash) "
            "ORDER BY a.id LIMIT ?",
            [after_id, limit],
        )
        return [r[0] for r in rows]

    def article(self, article_id: int) -> dict | None:
        """The columns indexing needs: id, url, text, content_hash, language, hreflang,
        duplicate_of, near_duplicate_of."""
        return next(
            iter(
                self.db.query(
                    "SELECT id, url, text, content_hash, language, hreflang, duplicate_of, "
                    "near_duplicate_of FROM articles WHERE id = ?",
                    [article_id],
                )
            ),
            None,
        )

    # -- indexing ------------------------------------------------------------------------

    def index(
        self,
        article_id: int,
        *,
        content_hash: str | None,
        shingles: int,
        signature: bytes | None,
        bands: Sequence[int],
        threshold: float,
        min_matches: int = 1,
        canonical: Callable[[str], str] | None = None,
    ) -> Match:
        """Store one article's signature and bands, link its translations and, unless it
        represents a cluster already, link it to the best matching earlier cluster.

        ``signature=None`` records that the article is not matched (too short); exact
        duplicates (``duplicate_of`` set) are recorded the same way. A re-index (the text
        changed) replaces the old bands. One transaction.
        """
        match = Match(article_id)
        with self.archive._write():
            row = self.article(article_id)
            if row is None:
                return match
            self._drop_bands(article_id)
            match.translations = self._link_translations(row, canonical or (lambda u: u))
            if row["duplicate_of"] is not None:
                signature = None  # the original stands for it
            if signature is not None:
                match.indexed = True
                self._link(row, signature, bands, threshold, min_matches, set(match.translations), match)
            elif not self._is_representative(article_id):
                self._set_link(article_id, None)  # nothing left to match on
            self.db.execute(
                "INSERT OR REPLACE INTO neardup_signatures (article_id, content_hash, shingles, minhash) "
                "VALUES (?, ?, ?, ?)",
                [article_id, content_hash, shingles, signature],
            )
            if signature is not None:
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO neardup_bands (band, hash, article_id) VALUES (?, ?, ?)",
                    [(band, value, article_id) for band, value in enumerate(bands)],
                )
        return match

    def _drop_bands(self, article_id: int) -> None:
        # Bands are keyed (band, hash, article_id) with no index on article_id (it would
        # double the table); the old signature says which rows to delete. The stored bands
        # were made from it, so they are recomputed from it here.
        old = self.db.execute(
            "SELECT minhash FROM neardup_signatures WHERE article_id = ?", [article_id]
        ).fetchone()
        if old is None or old[0] is None:
            return
        rows = int(self.config().get("band_rows", "0"))
        if rows <= 0:
            return
        for band, value in enumerate(bands_of(old[0], rows)):
            self.db.execute(
                "DELETE FROM neardup_bands WHERE band = ? AND hash = ? AND article_id = ?",
                [band, value, article_id],
            )

    def candidates(self, bands: Sequence[int], min_matches: int, exclude_id: int) -> list[tuple[int, int]]:
        """(article_id, shared bands) of indexed articles sharing >= min_matches bands."""
        if not bands:
            return []
        values = ",".join("(?, ?)" for _ in bands)
        params: list[int] = [x for pair in enumerate(bands) for x in pair]
        sql = (
            f"WITH q(band, hash) AS (VALUES {values}) "
            "SELECT b.article_id, count(*) AS n FROM q "
            "JOIN neardup_bands b ON b.band = q.band AND b.hash = q.hash "
            "WHERE b.article_id != ? GROUP BY b.article_id HAVING n >= ? ORDER BY n DESC, b.article_id"
        )
        return [tuple(r) for r in self.db.execute(sql, params + [exclude_id, min_matches])]

    def _link(
        self,
        row: dict,
        signature: bytes,
        bands: Sequence[int],
        threshold: float,
        min_matches: int,
        translations: set[int],
        match: Match,
    ) -> None:
        article_id = row["id"]
        if self._is_representative(article_id):
            # Others point here; it stays their representative (no chains).
            self._set_link(article_id, None)
            return
        found = self.candidates(bands, min_matches, article_id)
        match.candidates = len(found)
        scored = []
        for cand_id, minhash, rep_id in self._signatures([c for c, _ in found]):
            sim = estimated_jaccard(signature, minhash)
            if sim >= threshold:
                scored.append((-sim, rep_id or cand_id, cand_id))
        best = None
        # Most similar first; on a tie, the oldest cluster.
        for neg_sim, rep_id, cand_id in sorted(scored):
            if rep_id == article_id or rep_id in translations or cand_id in translations:
                continue
            best = (rep_id, cand_id, -neg_sim)
            break
        if best is None:
            self._set_link(article_id, None)
            return
        rep_id, cand_id, sim = best
        self._set_link(article_id, rep_id)
        match.near_duplicate_of, match.matched_id, match.similarity = rep_id, cand_id, sim

    def _is_representative(self, article_id: int) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM articles WHERE near_duplicate_of = ? LIMIT 1", [article_id]
            ).fetchone()
            is not None
        )

    def _set_link(self, article_id: int, rep_id: int | None) -> None:
        self.db.execute(
            "UPDATE articles SET near_duplicate_of = ? WHERE id = ? AND near_duplicate_of IS NOT ?",
            [rep_id, article_id, rep_id],
        )

    def _signatures(self, ids: list[int]) -> Iterable[tuple[int, bytes, int | None]]:
        # Chunked: SQLite limits the number of bound parameters.
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(
                f"SELECT s.article_id, s.minhash, a.near_duplicate_of FROM neardup_signatures s "
                f"JOIN articles a ON a.id = s.article_id "
                f"WHERE s.article_id IN ({marks}) AND s.minhash IS NOT NULL",
                chunk,
            )

    # -- translations --------------------------------------------------------------------

    def _link_translations(self, row: dict, canonical: Callable[[str], str]) -> list[int]:
        """Link ``row`` with every stored article it names as an hreflang alternate that
        names it back; both directions. Returns the ids of all its translations."""
        own = canonical(row["url"])
        wanted = {url: lang for url, lang in _alternates(row["hreflang"], canonical).items() if url != own}
        if wanted:
            marks = ",".join("?" * len(wanted))
            others = list(
                self.db.query(
                    f"SELECT id, url, language, hreflang FROM articles WHERE url IN ({marks}) AND id != ?",
                    [*wanted, row["id"]],
                )
            )
            for other in others:
                back = _alternates(other["hreflang"], canonical)
                if own not in back:
                    continue  # one-sided: hreflang only counts when both pages agree
                other_lang = other["language"] or wanted.get(other["url"])
                own_lang = row["language"] or back[own]
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO translations (article_id, translation_id, language) VALUES (?, ?, ?)",
                    [(row["id"], other["id"], other_lang), (other["id"], row["id"], own_lang)],
                )
                # An earlier near-duplicate link between the two (same-language editions)
                # is wrong now that they are known to be editions of each other.
                self.db.execute(
                    "UPDATE articles SET near_duplicate_of = NULL WHERE id IN (?, ?) AND near_duplicate_of IN (?, ?)",
                    [row["id"], other["id"], row["id"], other["id"]],
                )
        return [
            r[0]
            for r in self.db.execute(
                "SELECT translation_id FROM translations WHERE article_id = ? ORDER BY translation_id",
                [row["id"]],
            )
        ]

    # -- reading -------------------------------------------------------------------------

    def cluster(self, article_id: int) -> list[int]:
        """Ids of the near-duplicate cluster containing ``article_id`` (representative first)."""
        found = self.db.execute(
            "SELECT coalesce(near_duplicate_of, id) FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        if found is None:
            raise KeyError(f"no article with id {article_id}")
        rep = found[0]
        members = [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM articles WHERE near_duplicate_of = ? ORDER BY id", [rep]
            )
        ]
        return [rep, *members]


def bands_of(signature: bytes, rows: int) -> list[int]:
    """LSH band keys of a signature: each band of ``rows`` uint32 values as one signed int64.

    With ``rows`` <= 2 the key *is* the band's values (no hashing, no collisions); longer
    bands are folded with a multiply-xor so that keys still fit SQLite's INTEGER.
    """
    values = np.frombuffer(signature, dtype=_SIG_DTYPE).astype(np.uint64)
    if rows <= 0 or len(values) % rows:
        raise ValueError(f"{len(values)} values do not split into bands of {rows}")
    grid = values.reshape(-1, rows)
    keys = grid[:, 0].copy()
    for col in range(1, rows):
        if col == 1:
            keys = (keys << np.uint64(32)) | grid[:, 1]
        else:
            keys = (keys * np.uint64(0x9E3779B97F4A7C15)) ^ grid[:, col]
    return keys.view(np.int64).tolist()


def _alternates(hreflang: str | dict | None, canonical: Callable[[str], str]) -> dict[str, str]:
    """{canonical url: language} of an hreflang JSON object (``ru-KZ`` -> ``ru``), x-default left out."""
    if not hreflang:
        return {}
    data = json.loads(hreflang) if isinstance(hreflang, str) else hreflang
    out: dict[str, str] = {}
    for lang, url in (data or {}).items():
        if not url or not isinstance(url, str) or str(lang).lower() == "x-default":
            continue
        try:
            out.setdefault(canonical(url), str(lang).split("-")[0].lower())
        except Exception:  # noqa: BLE001 - a malformed alternate is skipped, not fatal
            logger.debug("unusable hreflang url %r", url)
    return out
