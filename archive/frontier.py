"""The persistent frontier: requests discovered and not yet done, kept in the archive file.

One row per request key (``frontier`` table, docs/archive-schema.md). Each site has a session
(``frontier_sessions``): a crawl opens the site's session, or resumes it when the last crawl
of that site did not finish; rows of an older session are queued again when rediscovered, rows
of the current one are not (a resumed crawl does not redo what it had done). Writes are
buffered and flushed in order in one transaction, so a process killed at any point leaves a
consistent frontier: a request marked done after its discoveries were stored, never before.

Rows carry per-URL state for the incremental rules: where the URL was found, the last
``lastmod`` seen, how often it was tried and the last error.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlite_utils

from archive.schema import configure, migrate

logger = logging.getLogger(__name__)

QUEUED, LEASED, DONE, LOST = "queued", "leased", "done", "lost"

_UPSERT = """
INSERT INTO frontier (key, seq, site, url, kind, priority, state, session, discovered_from,
                      discovered_at, lastmod, tries, updated_at, request)
VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, 0, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    seq = excluded.seq, state = 'queued', session = excluded.session, tries = 0,
    priority = excluded.priority, request = excluded.request, updated_at = excluded.updated_at,
    discovered_from = COALESCE(excluded.discovered_from, discovered_from),
    lastmod = COALESCE(excluded.lastmod, lastmod)
WHERE frontier.session < excluded.session
"""
# A retry or a redirect of a leased request: the same row, queued again at the back.
_REQUEUE = """
UPDATE frontier SET state = 'queued', seq = ?, tries = tries + ?, request = ?, updated_at = ?,
    last_error = COALESCE(?, last_error)
WHERE key = ?
"""
# Taken back: not done after all (its page could not be stored); queued with its request.
_RELEASE = """
UPDATE frontier SET state = 'queued', tries = tries + 1, last_error = ?, updated_at = ?
WHERE key = ?
"""
_FINISH = """
UPDATE frontier SET state = ?, tries = tries + 1, last_error = ?, updated_at = ?, request = NULL
WHERE key = ?
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FrontierStore:
    """The frontier of the archive at ``path``; one writer (the crawl holding the lock)."""

    def __init__(self, path: str, flush_every: int = 2000):
        self.db = sqlite_utils.Database(path)
        configure(self.db)
        migrate(self.db)
        self.conn = self.db.conn
        self.flush_every = flush_every
        self._ops: list[tuple[str, tuple]] = []
        self.seq = (self.conn.execute("SELECT MAX(seq) FROM frontier").fetchone()[0] or 0)
        self.sessions: dict[str, int] = {}

    # -- sessions ----------------------------------------------------------------------

    def open_session(self, site: str) -> tuple[int, bool]:
        """``(session, resumed)`` for ``site``: its unfinished session, or a new one."""
        row = self.conn.execute("SELECT session, open FROM frontier_sessions WHERE site = ?",
                                (site,)).fetchone()
        with self.conn:
            if row and row[1]:
                session, resumed = row[0], True
                # One crawl per archive at a time (the crawl lock): whatever was leased is ours
                # and was lost with the killed process.
                self.conn.execute("UPDATE frontier SET state = 'queued' WHERE site = ? AND state = 'leased'",
                                  (site,))
            else:
                session, resumed = (row[0] + 1 if row else 1), False
                self.conn.execute(
                    "INSERT INTO frontier_sessions (site, session, open, started_at) VALUES (?, ?, 1, ?) "
                    "ON CONFLICT (site) DO UPDATE SET session = excluded.session, open = 1, "
                    "started_at = excluded.started_at, finished_at = NULL", (site, session, _now()))
        self.sessions[site] = session
        return session, resumed

    def close_session(self, site: str, lost_error: str = "never answered") -> bool:
        """End ``site``'s session if nothing of it is queued; what is still leased is lost."""
        self.flush()
        if self.conn.execute("SELECT 1 FROM frontier WHERE site = ? AND state = 'queued' LIMIT 1",
                             (site,)).fetchone():
            return False
        with self.conn:
            self.conn.execute("UPDATE frontier SET state = 'lost', last_error = ?, request = NULL "
                              "WHERE site = ? AND state = 'leased'", (lost_error, site))
            self.conn.execute("UPDATE frontier_sessions SET open = 0, finished_at = ? WHERE site = ?",
                              (_now(), site))
        return True

    # -- writes (buffered) -------------------------------------------------------------

    def put(self, key: str, site: str, url: str, kind: str, priority: int, request: bytes, *,
            discovered_from: str | None = None, lastmod: str | None = None) -> None:
        self.seq += 1
        now = _now()
        self._ops.append((_UPSERT, (key, self.seq, site, url, kind, priority, self.sessions[site],
                                    discovered_from, now, lastmod, now, request)))
        self._maybe_flush()

    def requeue(self, key: str, request: bytes, *, retry: bool, error: str | None = None) -> None:
        self.seq += 1
        self._ops.append((_REQUEUE, (self.seq, int(retry), request, _now(), error, key)))
        self._maybe_flush()

    def finish(self, key: str, error: str | None = None, state: str = DONE) -> None:
        self._ops.append((_FINISH, (state, error, _now(), key)))
        self._maybe_flush()

    def release(self, key: str, error: str | None = None) -> None:
        """Queue a leased request again as it is (its outcome was lost, e.g. not stored)."""
        self._ops.append((_RELEASE, (error, _now(), key)))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._ops) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered operations, in their order, in one transaction."""
        if not self._ops:
            return
        ops, self._ops = self._ops, []
        with self.conn:
            start = 0
            while start < len(ops):
                sql = ops[start][0]
                end = start
                while end < len(ops) and ops[end][0] is sql:
                    end += 1
                self.conn.executemany(sql, [params for _, params in ops[start:end]])
                start = end

    # -- reads -------------------------------------------------------------------------

    def lease(self, site: str, kind: str, n: int) -> list[tuple[str, bytes]]:
        """Up to ``n`` queued requests of ``site`` of ``kind``, marked leased: ``(key, request)``."""
        if n <= 0:
            return []
        self.flush()
        rows = self.conn.execute(
            "SELECT key, request FROM frontier WHERE site = ? AND state = 'queued' AND kind = ? "
            "ORDER BY priority DESC, seq LIMIT ?", (site, kind, n)).fetchall()
        if rows:
            with self.conn:
                self.conn.executemany("UPDATE frontier SET state = 'leased' WHERE key = ?",
                                      [(key,) for key, _ in rows])
        return rows

    def counts(self, site: str | None = None) -> dict[str, int]:
        self.flush()
        where, params = ("WHERE site = ?", (site,)) if site else ("", ())
        return dict(self.conn.execute(f"SELECT state, COUNT(*) FROM frontier {where} GROUP BY state",
                                      params).fetchall())

    def close(self) -> None:
        self.flush()
        self.db.close()
