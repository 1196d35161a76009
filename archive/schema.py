"""Schema of the archive and its migrations.

The schema version lives in ``PRAGMA user_version``: migration N brings a database from
version N-1 to N. Each migration runs in one ``BEGIN IMMEDIATE`` transaction together
with the version bump, so two processes opening a fresh file at once cannot both apply it
and a failed migration leaves the file as it was. docs/archive-schema.md documents every
column; keep the two in step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlite_utils

logger = logging.getLogger(__name__)

__all__ = ["FTS_TOKENIZE", "SCHEMA_VERSION", "configure", "migrate", "schema_version"]

# Chosen by measurement (docs/archive-schema.md, "Full-text search"): unicode61 folds
# case and diacritics, so «ёлка» and «елка» match; Russian endings are reached with
# prefix queries ('форум*').
FTS_TOKENIZE = "unicode61 remove_diacritics 2"

# How long a writer waits for another connection's lock before failing: long enough for
# a datasette reader or a second crawler process, short enough to surface a stuck lock.
BUSY_TIMEOUT_MS = 10_000


def configure(db: sqlite_utils.Database) -> None:
    """Apply the per-connection settings every archive connection needs."""
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # WAL lets researchers read (datasette, sqlite-utils) while a crawl writes.
    db.enable_wal()
    # NORMAL is durable across application crashes in WAL mode; only an OS crash can
    # lose the last transactions, which a re-crawl recovers.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["crawls"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "targets": str,
            "settings": str,
            "status": str,
            "pages": int,
            "articles_new": int,
            "articles_updated": int,
            "articles_unchanged": int,
            "duplicates": int,
            "errors": int,
            "stats": str,
        },
        pk="id",
        not_null={"started_at", "status"},
    )
    db["pages"].create(
        {
            "id": int,
            "crawl_id": int,
            "site": str,
            "url": str,
            "final_url": str,
            "status": int,
            "content_type": str,
            "headers": str,
            "encoding": str,
            "fetched_at": str,
            "body": bytes,
            "body_size": int,
            "error": str,
            "article_id": int,
        },
        pk="id",
        not_null={"url", "fetched_at"},
        foreign_keys=[("crawl_id", "crawls", "id")],
    )
    db["articles"].create(
        {
            "id": int,
            "url": str,
            "site": str,
            "title": str,
            "text": str,
            "author": str,
            "published_at": str,
            "published_raw": str,
            "date_source": str,
            "language": str,
            "description": str,
            "categories": str,
            "tags": str,
            "image": str,
            "hreflang": str,
            "content_hash": str,
            "duplicate_of": int,
            "first_seen_at": str,
            "last_seen_at": str,
            "updated_at": str,
            "page_id": int,
            "crawl_id": int,
        },
        pk="id",
        not_null={"url", "first_seen_at", "last_seen_at"},
        foreign_keys=[
            ("duplicate_of", "articles", "id"),
            ("page_id", "pages", "id"),
            ("crawl_id", "crawls", "id"),
        ],
    )
    # pages is created before articles, so its reference to articles is added now.
    db["pages"].add_foreign_key("article_id", "articles", "id")

    articles = db["articles"]
    articles.create_index(["url"], index_name="idx_articles_url", unique=True)
    for column in ("site", "published_at", "content_hash", "duplicate_of"):
        articles.create_index([column], index_name=f"idx_articles_{column}")
    pages = db["pages"]
    pages.create_index(["url"], index_name="idx_pages_url")
    pages.create_index(["crawl_id"], index_name="idx_pages_crawl_id")

    articles.enable_fts(["title", "text"], create_triggers=True, tokenize=FTS_TOKENIZE)
    _narrow_fts_update_trigger(db)


def _narrow_fts_update_trigger(db: sqlite_utils.Database) -> None:
    """Re-index only when title or text change.

    sqlite-utils' update trigger fires on any UPDATE, so every re-crawl of an unchanged
    article (last_seen_at, page_id) would delete and re-tokenise its whole text in the
    index. Same trigger name and body, only ``UPDATE OF title, text``, so sqlite-utils
    still recognises it (enable_fts(replace=True), rebuild_fts).
    """
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        """
        CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
          INSERT INTO articles_fts (articles_fts, rowid, title, text)
            VALUES('delete', old.rowid, old.title, old.text);
          INSERT INTO articles_fts (rowid, title, text)
            VALUES (new.rowid, new.title, new.text);
        END
        """
    )


def _m002_versions_and_run_counts(db: sqlite_utils.Database) -> None:
    # Every earlier state of an edited article: the current one stays in `articles`.
    # Raw SQL for ON DELETE CASCADE: deleting an article deletes its history too.
    db.execute(
        """
        CREATE TABLE article_versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            title TEXT,
            text TEXT,
            content_hash TEXT,
            fetched_at TEXT NOT NULL,
            last_seen_at TEXT,
            page_id INTEGER REFERENCES pages(id)
        )
        """
    )
    db["article_versions"].create_index(
        ["article_id", "version"], index_name="idx_article_versions_article", unique=True
    )
    # What an incremental run did besides storing: found, skipped as known, 304s.
    for column in ("discovered", "skipped_known", "not_modified"):
        db["crawls"].add_column(column, int)


def _m003_near_duplicates_and_translations(db: sqlite_utils.Database) -> None:
    # Raw SQL: ADD COLUMN with REFERENCES is allowed for a NULL default, and sqlite-utils'
    # add_column(fk=...) would rewrite sqlite_master.
    db.execute("ALTER TABLE articles ADD COLUMN near_duplicate_of INTEGER REFERENCES articles(id)")
    db["articles"].create_index(["near_duplicate_of"], index_name="idx_articles_near_duplicate_of")
    db.execute(
        """
        CREATE TABLE translations (
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            translation_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            language TEXT,
            PRIMARY KEY (article_id, translation_id)
        )
        """
    )
    # Both directions are stored, so this index also serves ON DELETE CASCADE lookups.
    db["translations"].create_index(["translation_id"], index_name="idx_translations_translation_id")
    # MinHash signature per matched article (archive/neardup.py); NULL minhash = not matched.
    db.execute(
        """
        CREATE TABLE neardup_signatures (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            content_hash TEXT,
            shingles INTEGER NOT NULL,
            minhash BLOB
        )
        """
    )
    # LSH bands, looked up by (band, hash). WITHOUT ROWID: the key is the whole row, so the
    # table is its own index. No article_id index (it would double the table): rows of one
    # article are found again from its stored signature.
    db.execute(
        """
        CREATE TABLE neardup_bands (
            band INTEGER NOT NULL,
            hash INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            PRIMARY KEY (band, hash, article_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE TABLE neardup_config (key TEXT PRIMARY KEY, value TEXT)")


def _m004_stemmed_search(db: sqlite_utils.Database) -> None:
    # Word forms: a second, contentless FTS5 index over stems (archive/search.py), built
    # here for the articles already stored.
    from .search import create_stem_index

    create_stem_index(db)


def _m005_health_indexes(db: sqlite_utils.Database) -> None:
    # Per-site health reads the last days by these times (archive/health.py); without an
    # index each report scanned every row, text overflow pages included.
    db["articles"].create_index(["first_seen_at"], index_name="idx_articles_first_seen_at")
    db["articles"].create_index(["updated_at"], index_name="idx_articles_updated_at")
    db["pages"].create_index(["fetched_at"], index_name="idx_pages_fetched_at")


def _m006_warc_records_and_imports(db: sqlite_utils.Database) -> None:
    # Where a page's response record is in a WARC file (crawl --warc or crawler import),
    # so that an export can copy the record as it came off the wire.
    for column, kind in (("warc_file", "TEXT"), ("warc_offset", "INTEGER"), ("warc_length", "INTEGER")):
        db.execute(f"ALTER TABLE pages ADD COLUMN {column} {kind}")
    # crawler import: how far each WARC file was read (a killed import resumes after the
    # last record it finished) and every record it skipped, with the reason.
    db.execute(
        """
        CREATE TABLE warc_imports (
            path TEXT PRIMARY KEY,
            size INTEGER,
            next_offset INTEGER NOT NULL DEFAULT 0,
            records INTEGER NOT NULL DEFAULT 0,
            finished_at TEXT,
            crawl_id INTEGER REFERENCES crawls(id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE warc_skips (
            id INTEGER PRIMARY KEY,
            crawl_id INTEGER REFERENCES crawls(id),
            path TEXT NOT NULL,
            offset INTEGER,
            url TEXT,
            reason TEXT NOT NULL
        )
        """
    )


def _m007_crawl_profiles(db: sqlite_utils.Database) -> None:
    # The site profiles a crawl ran with, so re-extraction uses the same ones, .toml files
    # given by path included.
    db["crawls"].add_column("profiles", str)


def _m008_page_lastmods(db: sqlite_utils.Database) -> None:
    # The sitemap lastmod or feed date that listed a URL when it was fetched: an edit shows
    # as a different value next time, whatever the site's clock says against ours.
    db["pages"].add_column("lastmod", str)


def _m009_withdrawn_at(db: sqlite_utils.Database) -> None:
    # When a re-fetch answered 410 Gone: the article is kept, only marked.
    db.execute("ALTER TABLE articles ADD COLUMN withdrawn_at TEXT")


def _m010_article_tz_source_and_modified_at(db: sqlite_utils.Database) -> None:
    # Where published_at's offset comes from (the source, the page, the domain's country, the
    # profile, or none: a day only), and the article's own dateModified.
    db["articles"].add_column("tz_source", str)
    db["articles"].add_column("modified_at", str)


def _m011_frontier(db: sqlite_utils.Database) -> None:
    # The persistent frontier (archive/frontier.py): requests discovered and not yet done.
    # One row per request key; a site's session number says which crawl a row belongs to,
    # so a killed crawl resumes its own rows and the next crawl re-queues old ones.
    db.execute(
        """
        CREATE TABLE frontier (
            key TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            site TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            session INTEGER NOT NULL,
            discovered_from TEXT,
            discovered_at TEXT,
            lastmod TEXT,
            tries INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            updated_at TEXT,
            request BLOB
        )
        """
    )
    db.execute("CREATE INDEX idx_frontier_queue ON frontier (site, state, kind, priority DESC, seq)")
    db.execute(
        "CREATE TABLE frontier_sessions (site TEXT PRIMARY KEY, session INTEGER NOT NULL, "
        "open INTEGER NOT NULL, started_at TEXT, finished_at TEXT)"
    )
    # Distributed mode (crawler/distributed.py): results already written, per run of the shared
    # frontier, so a result delivered twice (writer killed before its XACK) is written once.
    db.execute("CREATE TABLE frontier_applied (run TEXT NOT NULL, key TEXT NOT NULL, "
               "PRIMARY KEY (run, key)) WITHOUT ROWID")


def _m012_listed_dates(db: sqlite_utils.Database) -> None:
    # The dates each source listed a URL with at the last visit (sitemap lastmod, feed date,
    # listing date), also when it was not fetched: any one differing next time is an edit,
    # whatever the site's clock says against ours.
    db.execute("CREATE TABLE listed_dates (url_key TEXT PRIMARY KEY, lastmod TEXT, feed_date TEXT, "
               "listing_date TEXT, seen_at TEXT)")


def _m013_fts_prefix_indexes(db: sqlite_utils.Database) -> None:
    # Prefix queries (форум*) at a million articles: without a prefix index FTS5 merges
    # every matching term's doclist per query (archive/fts_prefix.py). Both indexes are
    # rebuilt once; _m004 on an older archive already creates the stemmed one this way.
    from .fts_prefix import use_prefix_indexes

    use_prefix_indexes(db, FTS_TOKENIZE)


# Append only: a released migration never changes, a new one goes at the end.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m001_initial,
    _m002_versions_and_run_counts,
    _m003_near_duplicates_and_translations,
    _m004_stemmed_search,
    _m005_health_indexes,
    _m006_warc_records_and_imports,
    _m007_crawl_profiles,
    _m008_page_lastmods,
    _m009_withdrawn_at,
    _m010_article_tz_source_and_modified_at,
    _m011_frontier,
    _m012_listed_dates,
    _m013_fts_prefix_indexes,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    """Return the archive schema version stored in ``PRAGMA user_version``."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the database up to :data:`SCHEMA_VERSION`; a no-op when it is current.

    Returns the version the database had before.
    """
    before = schema_version(db)
    if before > SCHEMA_VERSION:
        raise RuntimeError(
            f"archive schema version {before} is newer than this code knows "
            f"({SCHEMA_VERSION}); upgrade the archive package"
        )
    if before == SCHEMA_VERSION:
        return before
    for number in range(before + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if schema_version(db) >= number:
                db.execute("COMMIT")
                continue
            MIGRATIONS[number - 1](db)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
        logger.info("archive schema migrated to version %d", number)
    return before
