"""Build the synthetic archive of bench/archive_scale.py in bulk, and check it matches.

``Archive.store_fetch`` one article at a time spends most of a million-article build in
FTS5 segment merges: each index's pending postings are flushed every 1 MB (FTS5's default
``hashsize``) and automerge rewrites the small segments again and again. This builder
writes exactly the rows store_fetch writes for these articles, with:

- the texts, and their stems, made in a process pool (``article_for`` and
  :func:`archive.stemming.stem_text`, as the store path computes them);
- pages and articles inserted with ``executemany``, ``--batch`` articles per transaction,
  duplicates found by the same content-hash rule as ``store_article``;
- the plain index ``articles_fts`` filled by the project's own triggers, the stemmed
  index by the project's own :func:`archive.search.sync_stem_index` (fed the stems the
  pool made, as the crawl's ``offer_stems`` does), in the same transaction, so every
  commit leaves both indexes in step: the build can be stopped at any point and resumed;
- during the build, each index keeps a whole transaction's postings in memory
  (``hashsize``) and does not merge segments (``automerge`` 0, ``crisismerge`` high): the
  segments are merged once by ``optimize`` afterwards. Those settings are removed again
  when the run ends (finished or stopped), so the ``*_config`` tables hold what the
  store path leaves.

``check`` builds the same articles both ways and compares every row of pages and
articles, the crawl's counts, both FTS indexes' config, the match sets of
``archive_scale.QUERIES`` on both indexes, and that ``Archive`` opens the result without
migrating.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# Per index, while building: big enough for one transaction's postings (about 10 KB per
# article in each index's hash with the prefix indexes).
BULK_HASHSIZE = 1 << 30
_FTS_TABLES = ("articles_fts", "articles_stem_fts")
_BULK_CONFIG = {"hashsize": BULK_HASHSIZE, "automerge": 0, "crisismerge": 1999}
_PAGE_COLUMNS = ("id", "crawl_id", "site", "url", "final_url", "status", "content_type", "headers",
                 "encoding", "fetched_at", "body", "body_size", "error", "lastmod", "article_id")


def _make(first: int, last: int) -> list[tuple]:
    """Rows for articles first..last-1: (page row, article fields, seen, stems)."""
    from archive.core import ARTICLE_FIELDS, ARTICLE_JSON_FIELDS, _dump_json, _plain, select_headers
    from archive.stemming import stem_text
    from archive.times import to_utc_iso
    from bench.archive_scale import article_for

    out = []
    for i in range(first, last):
        page, article = article_for(i)
        # What record_page stores (the bench's pages have no body: NULL, NULL).
        page_row = (page.get("site"), page["url"], page.get("final_url"), page.get("status"),
                    page.get("content_type"), _dump_json(select_headers(page.get("headers"))),
                    page.get("encoding"), to_utc_iso(page["fetched_at"]), None, None,
                    page.get("error"), page.get("lastmod"))
        assert page.get("body") is None
        new = {field: _plain(article.get(field)) for field in ARTICLE_FIELDS}
        for field in ARTICLE_JSON_FIELDS:
            new[field] = _dump_json(new[field])
        language = new["language"]
        stems = {(new["title"], language): stem_text(new["title"], language),
                 (new["text"], language): stem_text(new["text"], language)}
        out.append((page_row, tuple(new[f] for f in ARTICLE_FIELDS), to_utc_iso(page["fetched_at"]), stems))
    return out


def _set_fts_config(conn: sqlite3.Connection, values: dict) -> None:
    for table in _FTS_TABLES:
        for key, value in values.items():
            conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES (?, ?)", [key, value])


def _restore_fts_config(conn: sqlite3.Connection) -> None:
    """Put the FTS5 defaults back through FTS5 itself (so open handles see the change),
    then drop the rows, leaving ``*_config`` as the store path does."""
    conn.execute("BEGIN IMMEDIATE")
    _set_fts_config(conn, {"hashsize": 1024 * 1024, "automerge": 4, "crisismerge": 16})
    for table in _FTS_TABLES:
        conn.execute(f"DELETE FROM {table}_config WHERE k IN ({','.join('?' * len(_BULK_CONFIG))})",
                     list(_BULK_CONFIG))
    conn.execute("COMMIT")


def build_bulk(db: Path, n: int, *, batch: int = 20_000, chunk: int = 250, workers: int | None = None,
               time_limit: float | None = None, report_every: int = 50_000, quiet: bool = False) -> dict:
    """Build (or continue) the archive to ``n`` articles; see the module docstring."""
    from archive import Archive
    from archive.core import ARTICLE_FIELDS
    from archive.search import sync_stem_index

    db.parent.mkdir(parents=True, exist_ok=True)
    arc = Archive(db)
    conn = arc.db.conn
    have = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    crawl = arc.start_crawl(["bench/archive_scale"])
    workers = workers or os.cpu_count() or 1
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    say(f"{db}: {have} articles; bulk-building to {n}, {batch} per transaction, {workers} generating processes")
    conn.execute("PRAGMA cache_size = -1000000")  # this connection only: 1 GB for the merges
    conn.execute("BEGIN IMMEDIATE")
    _set_fts_config(conn, _BULK_CONFIG)
    conn.execute("COMMIT")

    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append("SIGTERM"))
    start = time.perf_counter()
    cpu0 = time.process_time()
    deadline = start + time_limit if time_limit else None
    last_t, last_i, rates = start, have, []
    new_count = dup_count = 0
    article_cols = ARTICLE_FIELDS + ("id", "duplicate_of", "first_seen_at", "last_seen_at", "page_id", "crawl_id")
    insert_article = (f"INSERT INTO articles ({', '.join(article_cols)}) "
                      f"VALUES ({', '.join('?' * len(article_cols))})")
    insert_page = f"INSERT INTO pages ({', '.join(_PAGE_COLUMNS)}) VALUES ({', '.join('?' * len(_PAGE_COLUMNS))})"
    hash_at = ARTICLE_FIELDS.index("content_hash")
    title_at, text_at, id_at = ARTICLE_FIELDS.index("title"), ARTICLE_FIELDS.index("text"), len(ARTICLE_FIELDS)
    plain_trigger = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'articles_ai'"
                                 ).fetchone()[0]
    i = have
    try:
        with ProcessPoolExecutor(workers) as pool:
            pending = []
            next_chunk = have

            def top_up():
                nonlocal next_chunk
                # A whole batch ahead: the pool keeps generating while this process writes.
                while len(pending) < batch // chunk + 2 * workers and next_chunk < n:
                    last = min(next_chunk + chunk, n)
                    pending.append(pool.submit(_make, next_chunk, last))
                    next_chunk = last

            top_up()
            while i < n and not stop:
                if deadline and time.perf_counter() > deadline:
                    stop.append("time limit")
                    break
                end = min(i + batch, n)
                conn.execute("BEGIN IMMEDIATE")
                page_id = conn.execute("SELECT coalesce(max(id), 0) FROM pages").fetchone()[0]
                article_id = conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
                originals: dict[str, int] = {}
                stems: dict = {}
                batch_new = batch_dup = 0
                pages, articles, links = [], [], []
                got = i
                while got < end:
                    rows = pending.pop(0).result()
                    top_up()
                    for page_row, fields, seen, article_stems in rows:
                        page_id += 1
                        article_id += 1
                        content_hash = fields[hash_at]
                        # store_article's rule: the lowest-id original with the same hash.
                        original = originals.get(content_hash) if content_hash else None
                        if original is None and content_hash:
                            found = conn.execute(
                                "SELECT id FROM articles WHERE content_hash = ? AND duplicate_of IS NULL "
                                "ORDER BY id LIMIT 1", [content_hash]).fetchone()
                            original = found[0] if found else None
                        if original is None:
                            batch_new += 1
                            if content_hash:
                                originals[content_hash] = article_id
                        else:
                            batch_dup += 1
                        pages.append((page_id, crawl) + page_row + (None,))
                        links.append((article_id, page_id))
                        articles.append(fields + (article_id, original, seen, seen, page_id, crawl))
                        stems.update(article_stems)
                    got += len(rows)
                # As store_fetch: the page without its article, the article, then the link
                # (a deferred foreign key left open makes SQLite scan on every insert).
                conn.executemany(insert_page, pages)
                # The plain index's insert trigger, run inside each INSERT's statement
                # savepoint, makes FTS5 flush its pending postings every few rows (a
                # segment each); the same rows written in one statement are flushed once.
                # Dropped and created again inside this transaction: every commit has it.
                conn.execute("DROP TRIGGER articles_ai")
                conn.executemany(insert_article, articles)
                conn.executemany("INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                                 [(row[id_at], row[title_at], row[text_at])
                                  for row in articles])
                conn.execute(plain_trigger)
                conn.executemany("UPDATE pages SET article_id = ? WHERE id = ?", links)
                sync_stem_index(arc.db, stems)
                conn.execute("COMMIT")
                i = end
                new_count, dup_count = new_count + batch_new, dup_count + batch_dup
                if (i - have) % report_every < batch or i == n:
                    now = time.perf_counter()
                    rate = (i - last_i) / (now - last_t)
                    size = os.path.getsize(db) / 2**20
                    rates.append({"articles": i, "rate": rate, "db_mb": size, "loadavg": os.getloadavg()[0]})
                    say(f"  {i:>9} articles  {rate:7.0f}/s  file {size:8.0f} MB  load {os.getloadavg()[0]:.1f}")
                    last_t, last_i = now, i
            for future in pending:
                future.cancel()
    except KeyboardInterrupt:
        stop.append("interrupted")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    done = i == n
    _restore_fts_config(conn)
    arc.finish_crawl(crawl, {"articles_new": new_count, "duplicates": dup_count,
                             "articles_updated": 0, "articles_unchanged": 0},
                     "ok" if done else "partial")
    arc.close()
    wall = time.perf_counter() - start
    if not done:
        say(f"stopped ({stop[0] if stop else 'unknown'}) at {i} articles; run build --bulk again to continue")
    return {"built": i - have, "articles": i, "complete": done, "wall": wall,
            "cpu_main": time.process_time() - cpu0, "rate": (i - have) / wall if wall else 0,
            "progress": rates, "stopped": stop[0] if stop else None}


# -- equivalence -----------------------------------------------------------------------

def _rows(con: sqlite3.Connection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two archives built from the same synthetic articles."""
    from archive.search import STEM_FTS
    from archive.stemming import stem_query
    from bench.archive_scale import QUERIES, STEMMED_EXTRA

    problems = []
    ca = sqlite3.connect(f"file:{a}?mode=ro", uri=True)
    cb = sqlite3.connect(f"file:{b}?mode=ro", uri=True)
    for table in ("pages", "articles", "article_versions", "articles_stem_log"):
        ra, rb = _rows(ca, table), _rows(cb, table)
        if ra != rb:
            diff = next((k for k, (x, y) in enumerate(zip(ra, rb)) if x != y), min(len(ra), len(rb)))
            problems.append(f"{table}: {len(ra)} vs {len(rb)} rows, first difference at row {diff}")
    crawl_cols = "id, targets, settings, status, pages, articles_new, articles_updated, " \
                 "articles_unchanged, duplicates, errors, stats"
    qa = ca.execute(f"SELECT {crawl_cols} FROM crawls ORDER BY id").fetchall()
    qb = cb.execute(f"SELECT {crawl_cols} FROM crawls ORDER BY id").fetchall()
    if qa != qb:
        problems.append(f"crawls differ: {qa} vs {qb}")
    for sql in ("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
                "PRAGMA user_version", "SELECT * FROM stem_config ORDER BY key",
                "SELECT * FROM articles_fts_config ORDER BY k", f"SELECT * FROM {STEM_FTS}_config ORDER BY k"):
        if ca.execute(sql).fetchall() != cb.execute(sql).fetchall():
            problems.append(f"differs: {sql}")
    for table, queries, rewrite in (("articles_fts", QUERIES, lambda q: q),
                                    (STEM_FTS, QUERIES + STEMMED_EXTRA, stem_query)):
        for q in queries:
            sql = f"SELECT count(*), total(rowid) FROM {table} WHERE {table} MATCH ?"
            ma, mb = ca.execute(sql, [rewrite(q)]).fetchone(), cb.execute(sql, [rewrite(q)]).fetchone()
            if ma != mb or ma[0] == 0 and q not in ("облысы",):
                problems.append(f"{table} MATCH {q!r}: {ma} vs {mb}")
    ca.close()
    cb.close()
    for path in (a, b):
        con = sqlite3.connect(path, isolation_level=None)
        for table in _FTS_TABLES:
            try:
                con.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems.append(f"{path}: {table} integrity-check: {exc}")
        con.close()
    return problems


def opens_without_migrating(path: Path) -> list[str]:
    """Open ``path`` as the project does (Archive, then `crawler search`); what changed."""
    import subprocess
    import sys

    from archive import Archive
    from archive.schema import SCHEMA_VERSION

    problems = []
    con = sqlite3.connect(path)
    if con.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        problems.append("schema version is not SCHEMA_VERSION")
    before = con.execute("SELECT * FROM sqlite_master").fetchall()
    con.close()
    with Archive(path) as arc:
        if arc.db.execute("SELECT count(*) FROM articles_stem_log").fetchone()[0]:
            problems.append("stemmed index changes pending")
    run = subprocess.run([sys.executable, "-m", "crawler", "search", "Мангистауская", "--db", str(path)],
                         capture_output=True, text=True)
    if run.returncode != 0 or "Мангистау" not in run.stdout or "migrat" in run.stderr.lower():
        problems.append(f"crawler search: exit {run.returncode}: {run.stderr.strip()[-300:]}")
    con = sqlite3.connect(path)
    if con.execute("SELECT * FROM sqlite_master").fetchall() != before:
        problems.append("opening changed the schema")
    con.close()
    return problems


def check(n: int, work: Path, *, batch: int = 500) -> list[str]:
    """Build ``n`` articles with store_fetch and in bulk; return the differences.

    Each is built in two runs (half, then the rest) so the bulk resume is compared too."""
    from bench.archive_scale import build

    work.mkdir(parents=True, exist_ok=True)
    slow, fast = work / "check-store.db", work / "check-bulk.db"
    for path in (slow, fast):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    for target in (n // 2, n):
        build(slow, target, min(batch, n), report_every=10**9, quiet=True)
        build_bulk(fast, target, batch=batch, chunk=100, workers=2, quiet=True)
    problems = compare(slow, fast)
    problems += opens_without_migrating(fast)
    return problems
