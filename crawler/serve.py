"""``crawler serve``: Datasette on 127.0.0.1 with the metadata this project ships.

The archive is opened the way Datasette opens a mutable file, ``mode=ro``: nothing is
written, and a crawl may keep writing meanwhile (``immutable=1`` would let SQLite assume
the file never changes, which a crawl into it breaks).
"""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path

from archive.search import RANK_CANDIDATES

logger = logging.getLogger(__name__)

__all__ = ["build_metadata", "canned_queries", "make_datasette", "serve"]

ROOT = Path(__file__).resolve().parent.parent
QUERIES_MD = ROOT / "docs" / "queries.md"
TEMPLATES = Path(__file__).resolve().parent / "datasette_templates"

# Tables only the crawler reads: hidden from the listing (still reachable by URL).
INTERNAL_TABLES = ("neardup_signatures", "neardup_bands", "neardup_config",
                   "articles_stem_log", "stem_config", "articles_stem_fts")

def stemmed_search_sql(candidates: int = RANK_CANDIDATES) -> str:
    """The stemmed-search canned query, ranking at most the newest ``candidates`` matches."""
    return f"""select a.id, substr(a.published_at, 1, 10) as day, a.site, a.title, a.url,
  stem_snippet(a.text, a.language, :q) as excerpt
from (select rowid as id, bm25(articles_stem_fts) as rank from articles_stem_fts
      where articles_stem_fts match stem_query(:q)
        -- as archive.search: with more matches, rank only the newest {candidates:,}
        and rowid >= coalesce((select rowid from articles_stem_fts
          where articles_stem_fts match stem_query(:q) order by rowid desc limit 1
          offset {candidates - 1}), 0)
      order by rank, rowid limit 50) as top
join articles a on a.id = top.id
order by top.rank, a.id"""


STEMMED_SEARCH_SQL = stemmed_search_sql()


def canned_queries(path: Path = QUERIES_MD) -> dict[str, dict]:
    """The SQL queries of docs/queries.md (``<!-- query: name -->`` blocks) as canned queries.

    Blocks that are ``sqlite-utils search`` commands rather than SQL are left out: the
    articles table's search box does the same.
    """
    if not path.exists():
        logger.warning("%s not found: serving without the documented queries", path)
        return {}
    text = path.read_text(encoding="utf-8")
    queries = {}
    for name, block in re.findall(r"<!-- query: (\S+) -->\s*```sh\n(.*?)```", text, flags=re.S):
        args = shlex.split(block)
        if len(args) < 3 or args[0] != "sqlite-utils" or args[1] != "archive.db":
            continue
        queries[name] = {"sql": args[2], "title": name.replace("-", " ")}
    return queries


def build_metadata(database: str, rank_candidates: int = RANK_CANDIDATES) -> dict:
    """Datasette metadata for an archive served under the name ``database``.

    ``rank_candidates``: the stemmed search ranks only the newest this many matches of a
    query with more, and its page says so (crawler/datasette_plugin.py)."""
    tables = {name: {"hidden": True} for name in INTERNAL_TABLES}
    tables["articles"] = {
        "description": "One row per story. The search box takes the README's syntax "
                       "(форум*, \"a phrase\", OR, NOT); for every word form use the box above or the "
                       "'stemmed search' query.",
        "label_column": "title",
        "fts_table": "articles_fts",
        "fts_pk": "id",
        "searchmode": "raw",
        "facets": ["site", "language", "date_source"],
        "sort_desc": "published_at",
    }
    tables["article_days"] = {
        "description": "Articles with their publication day (the publisher's local day).",
        "facets": ["site", "language", "day"],
    }
    tables["pages"] = {"description": "Every fetch; the body column links to the decoded page.",
                       "facets": ["site", "status"]}
    tables["crawls"] = {"sort_desc": "id"}
    queries = {
        "stemmed_search": {
            "title": "stemmed search (every word form)",
            "description": "A bare Russian or Kazakh word finds its forms: «Мангистауская» "
                           "finds «Мангистауской области». Same syntax as the search box.",
            "sql": stemmed_search_sql(rank_candidates),
        },
    }
    queries.update(canned_queries())
    links = (
        '<a href="/{db}/articles?_col=published_at&_col=site&_col=language&_col=title&_col=text">'
        "Articles</a> · "
        '<a href="/{db}/stemmed_search">Search every word form</a> · '
        '<a href="/{db}/article_days">Articles by day</a> · '
        '<a href="/-/health">Site health</a>'
    ).format(db=database)
    return {
        "title": "News archive",
        "description_html": links,
        "databases": {database: {"tables": tables, "queries": queries, "description_html": links}},
        "plugins": {"crawler": {"rank_candidates": rank_candidates}},
    }


SETTINGS = {
    # Long texts cut in lists; the row page shows them whole.
    "truncate_cells_html": 200,
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 1000,
    "default_page_size": 50,
}


def make_datasette(db_path: str, rank_candidates: int = RANK_CANDIDATES):
    from datasette.app import Datasette
    from datasette.plugins import pm

    from crawler import datasette_plugin

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="crawler")
    name = Path(db_path).stem
    return Datasette(files=[db_path], metadata=build_metadata(name, rank_candidates), settings=SETTINGS,
                     template_dir=str(TEMPLATES))


def serve(db_path: str, port: int) -> None:
    """Serve until interrupted, on 127.0.0.1 only."""
    import uvicorn

    ds = make_datasette(db_path)
    logger.info("serving %s at http://127.0.0.1:%d/", db_path, port)
    uvicorn.run(ds.app(), host="127.0.0.1", port=port, log_level="warning")
