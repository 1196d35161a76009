"""The read-only commands that look at an archive: ``search``, ``serve`` and ``report``.

Kept apart from crawler/cli.py (which registers them) so they can grow without touching
the crawl and export commands. None of them writes to the archive.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import click

from crawler.exitcodes import EXIT_CANNOT_RUN, EXIT_NOT_ARCHIVE, EXIT_USAGE

DB_OPTION = click.option(
    "--db", "db_path", envvar="CRAWLER_DB", default="archive.db", show_default=True,
    type=click.Path(dir_okay=False), help="SQLite archive file (env CRAWLER_DB).",
)


def open_readonly(db_path: str) -> sqlite3.Connection:
    """Open the archive for reading only (``mode=ro``, ``immutable`` on a read-only mount):
    these commands never write; a missing or foreign file is one line and its exit code."""
    from archive.guard import NotAnArchive
    from archive.guard import open_readonly as open_archive_readonly

    try:
        db, _ = open_archive_readonly(db_path)
    except FileNotFoundError:
        raise _Failed(f"archive not found: {db_path}", EXIT_CANNOT_RUN) from None
    except NotAnArchive as exc:
        raise _Failed(str(exc), EXIT_NOT_ARCHIVE) from None
    except sqlite3.DatabaseError as exc:
        raise _Failed(f"cannot open archive {db_path}: {exc}", EXIT_CANNOT_RUN) from None
    conn = db.conn
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


class _Failed(click.ClickException):
    """One line on stderr and the exit code of crawler/exitcodes.py."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [name]).fetchone() is not None


@click.command()
@click.argument("query")
@DB_OPTION
@click.option("--plain", is_flag=True,
              help="Search the plain word index (exact forms, 'форум*' prefixes) instead of stems.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
@click.option("--rank-newest", type=click.IntRange(min=1), metavar="N",
              help="Rank only the newest N matches (by when stored) of a query with more "
                   "[default: archive.search.RANK_CANDIDATES].")
@click.option("--rank-all", is_flag=True, help="Rank every match (slower on common words in a big archive).")
def search(query, db_path, plain, limit, as_json, rank_newest, rank_all):
    """Articles matching QUERY, best first, with an excerpt.

    A bare word finds its Russian and Kazakh word forms («Мангистауская» finds
    «Мангистауской области»); the README's syntax works too: "a phrase", OR, NOT, форум*.
    With more matches than --rank-newest, the best of the newest ones are shown.
    """
    from archive.search import RANK_CANDIDATES, STEM_FTS, pending_changes, search as run_search

    if rank_all and rank_newest:
        raise click.UsageError("--rank-all and --rank-newest exclude each other")
    candidates = None if rank_all else (rank_newest or RANK_CANDIDATES)

    conn = open_readonly(db_path)
    try:
        stemmed = not plain
        if stemmed and not _has_table(conn, STEM_FTS):
            raise _Failed(
                f"{db_path} has no stemmed index yet: open it once with a crawler command that "
                "writes (crawl, reextract) to build it, or use --plain", EXIT_CANNOT_RUN)
        if stemmed and (waiting := pending_changes(conn)):
            click.echo(f"crawler: {waiting} article changes made by other tools are not in the "
                       "stemmed index yet (the next crawl applies them)", err=True)
        try:
            hits = run_search(conn, query, stemmed=stemmed, limit=limit, candidates=candidates)
        except ValueError as exc:  # a bad query: the user's words, like a bad --query in export
            raise _Failed(str(exc), EXIT_USAGE)
    finally:
        conn.close()
    for hit in hits:
        if as_json:
            click.echo(json.dumps(hit.__dict__, ensure_ascii=False))
        else:
            day = (hit.published_at or "")[:10] or "----------"
            click.echo(f"{hit.id}\t{day}\t{hit.site}\t{hit.title}\n  {hit.url}\n  {hit.snippet}")
    if not as_json:
        click.echo(f"{len(hits)} articles" + (" (more with --limit)" if len(hits) == limit else ""),
                   err=True)
    if hits.bounded:  # never silently: the order is not over every match
        click.echo(f"crawler: more than {candidates:,} matches: these are the best of the newest "
                   f"{candidates:,}; --rank-all ranks every match", err=True)


@click.command()
@DB_OPTION
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
def serve(db_path, port):
    """Browse the archive in Datasette at http://127.0.0.1:PORT/ (read-only).

    Articles first, internal tables hidden, raw pages decoded, facets on site, language
    and day, the documented queries, a stemmed search, and a per-site health page.
    """
    from crawler.serve import serve as run_serve

    import socket

    open_readonly(db_path).close()  # one clear line for a missing or foreign file
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise _Failed(f"cannot serve on 127.0.0.1:{port}: {exc.strerror}", EXIT_CANNOT_RUN)
    click.echo(f"serving {db_path} read-only at http://127.0.0.1:{port}/ (Ctrl-C stops)", err=True)
    try:
        run_serve(db_path, port)
    except OSError as exc:
        raise _Failed(f"cannot serve on 127.0.0.1:{port}: {exc}", EXIT_CANNOT_RUN)


@click.command()
@DB_OPTION
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="How many days, up to the last day with data.")
def report(db_path, out, days):
    """Write per-site health (figures, flags, plots) as one self-contained HTML file."""
    from crawler.report import render_health_page

    conn = open_readonly(db_path)
    try:
        page = render_health_page(conn, days=days)
    except sqlite3.DatabaseError as exc:
        raise _Failed(f"cannot read {db_path}: {exc}", EXIT_CANNOT_RUN)
    finally:
        conn.close()
    part = out + ".part"
    try:
        with open(part, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(part, out)
    except OSError as exc:
        raise _Failed(f"cannot write {out}: {exc}", EXIT_CANNOT_RUN)
    click.echo(f"wrote {out} ({len(page.encode()):,} bytes)")
