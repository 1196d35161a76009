"""The ``crawler`` command: a thin click layer over the crawler and archive libraries."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from datetime import date

import click

from crawler import __version__
# Exit codes, for cron: one table for every command (README, crawler/exitcodes.py).
from crawler.exitcodes import (
    EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_NOT_ARCHIVE, EXIT_NOTHING, EXIT_OK,
    EXIT_USAGE,
)

DB_OPTION = click.option(
    "--db", "db_path", envvar="CRAWLER_DB", default="archive.db", show_default=True,
    type=click.Path(dir_okay=False), help="SQLite archive file (env CRAWLER_DB).",
)
PROGRESS_INTERVAL_OPTION = click.option(
    "--progress-interval", type=click.FloatRange(min=0), default=30.0, show_default=True,
    help="Not on a terminal: seconds between status lines (done/total, rate, ETA) on stderr.",
)


class CommandFailed(click.ClickException):
    """One line on stderr and an exit code from crawler/exitcodes.py."""

    def __init__(self, message: str, code: int = EXIT_CANNOT_RUN) -> None:
        super().__init__(message)
        self.exit_code = code


def _iso_date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}")


def _open_archive(db_path: str, must_exist: bool = True):
    """Open for writing (reextract): creates/migrates only an archive or an empty file."""
    import sqlite3

    from archive import Archive
    from archive.guard import NotAnArchive

    if must_exist and not os.path.exists(db_path):
        raise CommandFailed(f"archive not found: {db_path}")
    try:
        return Archive(db_path)
    except NotAnArchive as exc:
        raise CommandFailed(str(exc), EXIT_NOT_ARCHIVE) from exc
    except (sqlite3.Error, OSError) as exc:  # unreadable, read-only, disk full
        from archive.guard import read_only_reason

        why = read_only_reason(db_path)
        raise CommandFailed(f"cannot open archive {db_path}: {exc}" + (f" ({why})" if why else "")) from exc


def _open_readonly(db_path: str):
    """Open for reading only: never creates, migrates or switches the file to WAL."""
    import sqlite3

    from archive import Archive
    from archive.guard import NotAnArchive

    try:
        return Archive(db_path, readonly=True)
    except FileNotFoundError:
        raise CommandFailed(f"archive not found: {db_path}") from None
    except NotAnArchive as exc:
        raise CommandFailed(str(exc), EXIT_NOT_ARCHIVE) from None
    except (sqlite3.Error, OSError) as exc:
        raise CommandFailed(f"cannot open archive {db_path}: {exc}") from None


def _what_archive_holds(archive) -> str:
    sites = [s for (s,) in archive.db.execute(
        "SELECT DISTINCT site FROM articles WHERE site IS NOT NULL ORDER BY site")]
    langs = [lang for (lang,) in archive.db.execute(
        "SELECT DISTINCT language FROM articles WHERE language IS NOT NULL ORDER BY language")]
    return (f"the archive has sites: {', '.join(sites) or '(none)'}; "
            f"languages: {', '.join(langs) or '(none)'}")


def _stored_site(archive, site: str | None) -> str | None:
    """The site as the archive spells it: names match case-insensitively."""
    if site is None:
        return None
    found = archive.db.execute(
        "SELECT DISTINCT site FROM articles WHERE site = ? COLLATE NOCASE ORDER BY site = ? DESC",
        [site, site]).fetchone()
    return found[0] if found else site


@contextlib.contextmanager
def _exit_codes(*rules: tuple[type | tuple[type, ...], int, str]):
    """Expected failures as one ``crawler: ...`` line on stderr and the code of the exit
    table: the first rule ``(exception types, code, prefix)`` that matches wins."""
    try:
        yield
    except Exception as exc:
        for types, code, prefix in rules:
            if isinstance(exc, types):
                if types is Exception:  # the unexpected: its name, its traceback in the debug log
                    logging.getLogger(__name__).debug("command crashed", exc_info=True)
                    prefix += f"{type(exc).__name__}: "
                click.echo(f"crawler: {prefix}{exc}", err=True)
                sys.exit(code)
        raise


@click.group()
@click.version_option(__version__, prog_name="crawler")
def cli():
    """Crawl news sites into a SQLite archive, then query and export it."""


def _distributed_crawl(targets, db_path, redis_url, local_workers, *, settings, since, limit,
                       base_url, refresh, recheck_days, log_level, log_file) -> None:
    """``crawl --redis``: this process seeds the shared frontier and writes the archive."""
    from crawler.distributed import RedisUnavailable, run_writer
    from crawler.lock import ArchiveLocked

    logging.basicConfig(level=log_level.upper(), filename=log_file,
                        format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    options = {"since": since, "limit": limit, "base_url": base_url, "refresh": refresh,
               "recheck_days": recheck_days, "settings": settings}
    with _exit_codes((RedisUnavailable, EXIT_CANNOT_RUN, ""), (ArchiveLocked, EXIT_LOCKED, "")):
        summary = run_writer(targets, db_path, redis_url, local_workers=local_workers, options=options,
                             log_level=log_level)
    click.echo(summary["line"])
    if summary["status"] == "interrupted":
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_NOTHING if summary["failed_sites"] else EXIT_OK)


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@DB_OPTION
@click.option("--since", callback=_iso_date, help="Skip sitemap/feed entries older than this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most N article pages per site (0: no limit).")
@click.option("--base-url", help="Crawl a profile against another host: a mirror or a local copy.")
@click.option("--refresh", is_flag=True, help="Re-fetch known articles too (conditionally: 304s are counted).")
@click.option("--recheck-days", type=click.IntRange(min=0), default=0,
              help="Re-fetch known articles published in the last N days (news gets edited).")
@click.option("--neardup-threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Similarity (0-1] at which two texts are near-duplicates (default: the "
                   "NEARDUP_THRESHOLD setting).")
@click.option("--warc", "warc_dir", type=click.Path(file_okay=False),
              help="Also write every HTTP exchange, as received, into gzip'd WARC files in this directory.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a Scrapy setting (repeatable).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Lowest level of log messages written (to stderr or --log-file).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the log to this file.")
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only; print just the summary line.")
@click.option("--redis", "redis_url", metavar="redis://HOST:PORT/N",
              help="Distributed mode: share the frontier through this Redis; this process only "
                   "writes the archive (docs/distributed.md).")
@click.option("--local-workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="With --redis: workers to run on this host besides the writer.")
def crawl(targets, db_path, since, limit, base_url, refresh, recheck_days, neardup_threshold, warc_dir, overrides,
          log_level, log_file, quiet, redis_url, local_workers):
    """Crawl TARGETS into the archive.

    A TARGET is a site profile name (see `crawler profiles`), a profile .toml file, or a
    site's homepage URL (generic discovery: robots.txt sitemaps, feeds, listings).
    """
    from archive.guard import NotAnArchive
    from crawler.lock import ArchiveLocked
    from crawler.profiles import ProfileError, resolve_targets
    from crawler.run import CrawlFailed, CrawlInterrupted, check_overrides, run_crawl

    try:
        resolve_targets(targets, base_url)
    except ProfileError as exc:
        raise CommandFailed(str(exc), EXIT_USAGE)
    settings = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        settings[key.strip()] = value
    try:
        check_overrides(settings)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--set")
    if neardup_threshold is not None:
        settings["NEARDUP_THRESHOLD"] = neardup_threshold
    if warc_dir:
        settings["WARC_DIR"] = os.path.abspath(warc_dir)
    if log_file and not os.path.isdir(os.path.dirname(os.path.abspath(log_file))):
        raise CommandFailed(f"directory of the log file does not exist: {log_file}")
    if redis_url:
        _distributed_crawl(list(targets), db_path, redis_url, local_workers, settings=settings,
                           since=since, limit=limit, base_url=base_url, refresh=refresh,
                           recheck_days=recheck_days, log_level="WARNING" if quiet else log_level, log_file=log_file)
    with _exit_codes((ArchiveLocked, EXIT_LOCKED, ""), (NotAnArchive, EXIT_NOT_ARCHIVE, ""),
                     (CrawlInterrupted, EXIT_INTERRUPTED, ""),
                     ((CrawlFailed, OSError), EXIT_CANNOT_RUN, "could not run: "),
                     (Exception, EXIT_CANNOT_RUN, "could not run: ")):
        summary = run_crawl(list(targets), db_path, since=since, limit=limit, base_url=base_url,
                            refresh=refresh, recheck_days=recheck_days, settings=settings,
                            log_level="WARNING" if quiet else log_level, log_file=log_file)
    click.echo(summary["line"])
    if summary.get("status") == "interrupted":
        click.echo(f"crawler: crawl {summary['id']} {summary.get('failure', 'interrupted')}; "
                   "recorded as interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_NOTHING if summary.get("failed_sites") else EXIT_OK)


@cli.command()
@click.option("--redis", "redis_url", required=True, metavar="redis://HOST:PORT/N",
              help="The Redis of the distributed crawl (docs/distributed.md).")
@click.option("--exit-when-idle", is_flag=True, help="Exit once the crawl's frontier is drained.")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def worker(redis_url, exit_when_idle, log_level):
    """Fetch and extract pages of a distributed crawl; never opens the archive.

    Stops on SIGTERM after finishing what it holds.
    """
    from crawler.distributed import RedisUnavailable, run_worker

    with _exit_codes((RedisUnavailable, EXIT_CANNOT_RUN, "")):
        summary = run_worker(redis_url, exit_when_idle=exit_when_idle, log_level=log_level)
    click.echo(f"worker: {summary['results_sent']} results sent, {summary['redis_errors']} Redis errors "
               f"({summary['reason']})")
    sys.exit(EXIT_OK if summary["reason"] in ("finished", "shutdown") else EXIT_NOTHING)


@cli.command()
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet", "txt", "warc", "wacz"]),
              required=True,
              help="Output format: jsonl (one JSON object per line), csv, parquet, txt (the plain-text corpus), warc or wacz (web archives).")
@click.option("--out", required=True,
              help="Output file, - for stdout, or (txt) a directory ending in / for one file per article.")
@click.option("--per-article", is_flag=True, help="txt: one file per article in the --out directory.")
@click.option("--site", help="Only this site.")
@click.option("--from", "date_from", callback=_iso_date, help="Published on or after this day (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=_iso_date, help="Published on or before this day (YYYY-MM-DD).")
@click.option("--lang", "language", help="Only this language (ISO 639-1: ru, kk, en).")
@click.option("--query", help="Full-text query on title and text (FTS5 syntax: 'форум*', '\"two words\"').")
@click.option("--dedup", type=click.Choice(["all", "exact", "near"]), default="all", show_default=True,
              help="all: every row; exact: one per identical text; near: one per near-duplicate cluster.")
@click.option("--withdrawn", type=click.Choice(["include", "exclude", "only"]), default="include",
              show_default=True,
              help="Articles whose page later answered 410 Gone (articles.withdrawn_at): keep them "
                   "(they were published), leave them out, or export only them.")
@click.option("--manifest", "manifest_out", type=click.Path(dir_okay=False),
              help="Write the manifest here (default: <out>.manifest.json; for stdout only when given).")
@click.option("--workers", type=click.IntRange(min=0),
              help="Processes reading rows besides this one (default: 2 for archives of 50,000+ "
                   "articles, else 0; 0 on a busy machine). The output is the same either way.")
@PROGRESS_INTERVAL_OPTION
def export(db_path, fmt, out, per_article, site, date_from, date_to, language, query, dedup, withdrawn,
           manifest_out, workers, progress_interval):
    """Export articles as JSON lines, CSV, Parquet or the plain-text corpus format.

    Writes a manifest beside the output (filters, row counts, sha256 of the files,
    last crawl, software versions); the same export of the same archive is byte-identical.
    """
    import sqlite3

    from archive.export import count_articles, export_corpus
    from archive.guard import OutputRefused, refuse_output
    from crawler.langcodes import check_language
    from crawler.progress import work_progress

    to_stdout = out == "-"
    per_article = per_article or (not to_stdout and (out.endswith(("/", os.sep)) or os.path.isdir(out)))
    if per_article and fmt != "txt":
        raise click.UsageError("one file per article (a directory --out) is for --format txt only")
    if per_article and to_stdout:
        raise click.UsageError("--per-article needs a directory --out, not -")
    if language is not None:
        try:
            language = check_language(language)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--lang")
    # Nothing is written before these checks: a slip like `--out archive.db` must not
    # destroy the archive.
    try:
        refuse_output(out, db_path)
        if manifest_out:
            refuse_output(manifest_out, db_path)
        elif not to_stdout:
            refuse_output(out.rstrip("/" + os.sep) + ".manifest.json", db_path)
    except OutputRefused as exc:
        raise CommandFailed(str(exc), EXIT_USAGE)
    for path in (out if not to_stdout and not per_article else None, manifest_out):
        parent = os.path.dirname(os.path.abspath(path)) if path else None
        if parent and not os.path.isdir(parent):
            raise CommandFailed(f"output directory does not exist: {parent}")
    # A bar only for a person watching: not in cron logs, not over data sent to a terminal.
    progress = sys.stderr.isatty() and not (to_stdout and sys.stdout.isatty())
    archive = _open_readonly(db_path)
    if archive.immutable:
        workers = 0  # helper processes open the file in mode=ro, which needs a -shm
    filters = dict(site=site, language=language, date_from=date_from, date_to=date_to, query=query,
                   dedup=dedup, **({"withdrawn": withdrawn} if withdrawn != "include" else {}))
    export_fn = export_corpus
    if fmt in ("warc", "wacz"):  # the pages' HTTP records, not article rows
        from archive.warc_export import export_warc as export_fn
    try:
        filters["site"] = site = _stored_site(archive, site)
        # An empty selection writes nothing: an earlier corpus at --out stays as it was.
        selected = count_articles(archive, **filters)
        if selected == 0:
            given = [f"{k} {v}" for k, v in (
                ("--site", site), ("--lang", language), ("--from", date_from), ("--to", date_to),
                ("--query", query), ("--withdrawn", None if withdrawn == "include" else withdrawn))
                if v is not None]
            raise CommandFailed(f"no article matches {' '.join(given) or 'this export'}; "
                                f"nothing written; {_what_archive_holds(archive)}", EXIT_NOTHING)
        # Not on a terminal: a timestamped status line (done/total, rate, ETA) every
        # --progress-interval seconds on stderr instead.
        with work_progress("exporting", selected, live=False, interval=progress_interval) as advance:
            result = export_fn(
                archive, fmt, sys.stdout if to_stdout else out, per_article=per_article,
                manifest=manifest_out or True, progress=progress or advance, workers=workers, **filters)
    except (ValueError, FileExistsError) as exc:
        raise CommandFailed(str(exc), EXIT_USAGE)
    except OSError as exc:  # disk full, permissions: the partial output is already removed
        raise CommandFailed(f"export to {out} failed: {exc.strerror or exc}"
                            f"{' (' + exc.filename + ')' if getattr(exc, 'filename', None) else ''}; "
                            "nothing was replaced")
    except sqlite3.Error as exc:
        raise CommandFailed(f"cannot read archive {db_path}: {exc}")
    finally:
        archive.close()
    where = "stdout" if to_stdout else out
    note = f" (manifest {result.manifest})" if result.manifest else ""
    click.echo(f"exported {result.rows} articles to {where}{note}", err=to_stdout)


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@DB_OPTION
@click.option("--site", help="Keep only pages of this site (a profile name or a host).")
@click.option("--from", "date_from", callback=_iso_date, help="Keep articles published on or after this day.")
@click.option("--to", "date_to", callback=_iso_date, help="Keep articles published on or before this day.")
@click.option("--workers", type=click.IntRange(min=0), help="Extraction processes (default: one per core).")
def import_(files, db_path, site, date_from, date_to, workers):
    """Build or update the archive from WARC FILES (.warc.gz or .warc), resumably."""
    from crawler.lock import ArchiveLocked
    from crawler.warc_import import WarcImportError, import_warcs

    try:
        result = import_warcs(list(files), db_path, site=site, date_from=date_from, date_to=date_to,
                              workers=workers)
    except ArchiveLocked as exc:
        click.echo(f"crawler: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except WarcImportError as exc:
        raise click.ClickException(str(exc))
    except Exception as exc:  # the archive unusable, a disk full, ...: the crawls row says interrupted
        click.echo(f"crawler: could not run: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    skipped = sum(result["skipped"].values())
    click.echo(f"import {result['crawl_id']} {result['status']}: {result['pages']} pages, "
               f"{result['articles_new']} new, {result['articles_updated']} updated, "
               f"{result['articles_unchanged']} unchanged, {result['duplicates']} duplicates, "
               f"{result['errors']} errors, {skipped} records skipped -> {db_path}")
    if result["files"].get("unreadable"):
        click.echo(f"crawler: {result['files']['unreadable']} file(s) held no usable WARC record", err=True)
        sys.exit(EXIT_NOTHING)


@cli.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def summary(db_path, as_json):
    """Counts of what the archive holds."""
    from archive.health import crawl_overview

    archive = _open_readonly(db_path)
    try:
        data = archive.summary()
        data.update(crawl_overview(archive.db.conn))
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    for key, value in data.items():
        if value is None:
            click.echo(f"{key}: none")
        elif isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


@cli.command()
@DB_OPTION
@click.option("--site", help="Only pages of this site.")
@PROGRESS_INTERVAL_OPTION
def reextract(db_path, site, progress_interval):
    """Re-run extraction on the stored pages, without fetching anything."""
    from crawler.progress import work_progress
    from crawler.reextract import reextract_archive

    import sqlite3

    archive = _open_archive(db_path)
    try:
        site = _stored_site(archive, site)
        total = archive.db.execute("SELECT count(*) FROM pages WHERE site = ? OR ? IS NULL",
                                   [site, site]).fetchone()[0]
        with work_progress("re-extracting", total, interval=progress_interval) as advance:
            counts = reextract_archive(archive, site=site, progress=advance)
    except (sqlite3.OperationalError, OSError) as exc:
        # Each article is its own transaction: what was re-extracted before stays.
        raise CommandFailed(f"reextract stopped: could not write to {db_path}: {exc}")
    finally:
        try:
            archive.close()
        except Exception:  # noqa: BLE001 - closing on a broken disk
            pass
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@cli.command()
@click.argument("url")
@DB_OPTION
def history(url, db_path):
    """Every stored version of the article at URL, with a diff of each change."""
    from crawler.history import render_history
    from crawler.urls import normalize_url

    archive = _open_readonly(db_path)
    try:
        try:
            versions = archive.versions(url)
        except KeyError:
            try:
                versions = archive.versions(normalize_url(url))
            except KeyError:
                raise CommandFailed(f"no article with url {url} in {db_path}", EXIT_NOTHING)
    finally:
        archive.close()
    click.echo(render_history(url, versions), nl=False)


@cli.command()
def profiles():
    """List the bundled site profiles."""
    from crawler.profiles import bundled_profiles

    for name, profile in sorted(bundled_profiles().items()):
        click.echo(f"{name}\t{profile.start_urls[0]}\t{','.join(profile.languages)}\t{profile.timezone}")


# Read-only views of an archive live in their own module.
from crawler import cli_view  # noqa: E402

for _command in (cli_view.search, cli_view.serve, cli_view.report):
    cli.add_command(_command)


def main():
    cli(prog_name="crawler")


if __name__ == "__main__":
    main()
