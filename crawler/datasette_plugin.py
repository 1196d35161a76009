"""Datasette hooks for ``crawler serve``: stemmed search functions, decoded page bodies,
the per-site health page.

Registered by crawler/serve.py on the Datasette it starts (not as an entry point, so a
plain ``datasette`` elsewhere in this environment is unchanged).
"""

from __future__ import annotations

import html
import sqlite3

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from archive.bodies import BodyCodec
from archive.search import RANK_CANDIDATES, STEM_FTS, snippet
from archive.stemming import stem_query


def _stem_query(query):
    # The page first opens with an empty box: an empty phrase matches nothing, quietly.
    return (stem_query(query) if query and query.strip() else "") or '""'


def _stem_snippet(text, language, query):
    return snippet(text, language, query or "", width=24)


@hookimpl
def prepare_connection(conn):
    # For the stemmed-search canned query: SQL cannot stem, so the query and the excerpt
    # are computed by Python functions on each read connection.
    conn.create_function("stem_query", 1, _stem_query, deterministic=True)
    conn.create_function("stem_snippet", 3, _stem_snippet, deterministic=True)


@hookimpl
def extra_template_vars(request, database, datasette):
    """``ranking_bounded`` on the stemmed-search page: the bound when the query has more
    matches than it ranks (only the newest are ranked, as ``crawler search`` says too)."""
    if request is None or request.path.rstrip("/").rsplit("/", 1)[-1] != "stemmed_search":
        return {}
    query = request.args.get("q")
    if not query or not query.strip():
        return {}
    candidates = (datasette.plugin_config("crawler") or {}).get("rank_candidates", RANK_CANDIDATES)

    def more_matches(conn: sqlite3.Connection) -> bool:
        try:
            return conn.execute(
                f"SELECT 1 FROM {STEM_FTS} WHERE {STEM_FTS} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                [_stem_query(query), candidates]).fetchone() is not None
        except sqlite3.Error:  # a malformed query: the page shows the query's own error
            return False

    async def inner():
        bounded = await datasette.get_database(database).execute_fn(more_matches)
        return {"ranking_bounded": candidates if bounded else None}

    return inner


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if table == "pages" and column == "body" and value is not None:
        try:
            page_id = row["id"]
        except (IndexError, KeyError):
            return None
        size = row["body_size"] if "body_size" in row.keys() else None
        label = f"decoded page ({size:,} bytes)" if size else "decoded page"
        return Markup(f'<a href="/-/page-body/{int(page_id)}">{html.escape(label)}</a>')
    return None


async def _page_body(request, datasette):
    page_id = int(request.url_vars["page_id"])
    db = datasette.get_database()

    def read(conn: sqlite3.Connection):
        return conn.execute("SELECT body, encoding FROM pages WHERE id = ?", [page_id]).fetchone()

    found = await db.execute_fn(read)
    if found is None:
        return Response.text(f"no page {page_id}", status=404)
    body = BodyCodec().decompress(found[0]) or b""
    encoding = found[1] or "utf-8"
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    # As text, never as HTML: the page is shown, not run (no scripts, no requests out).
    return Response.text(text, headers={"X-Content-Type-Options": "nosniff"})


async def _health(request, datasette):
    from crawler.report import render_health_page

    db = datasette.get_database()
    page = await db.execute_fn(lambda conn: render_health_page(conn, standalone=False))
    return Response.html(page)


@hookimpl
def register_routes():
    return [
        (r"^/-/page-body/(?P<page_id>\d+)$", _page_body),
        (r"^/-/health$", _health),
    ]
