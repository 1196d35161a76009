"""The ``crawler`` command: a thin click layer over the crawler and archive libraries."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date

import click

from crawler import __version__

DB_OPTION = click.option(
    "--db", "db_path", envvar="CRAWLER_DB", default="archive.db", show_default=True,
    type=click.Path(dir_okay=False), help="SQLite archive file (env CRAWLER_DB).",
)

# Exit codes, for cron (documented in the README).
EXIT_OK = 0  # every target gave articles (bad pages are recorded, not fatal)
EXIT_TARGETS_FAILED = 1  # the crawl ran, but at least one target gave nothing
EXIT_USAGE = 2  # click's own code for bad options
EXIT_CANNOT_RUN = 3  # could not run at all (archive unreadable, crawl crashed, ...)
EXIT_LOCKED = 4  # another crawl is running on this archive


def _iso_date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}")


def _open_archive(db_path: str, must_exist: bool = True):
    from archive import Archive

    if must_exist and not os.path.exists(db_path):
        raise click.ClickException(f"archive not found: {db_path}")
    try:
        return Archive(db_path)
    except Exception as exc:  # a corrupt or foreign file
        raise click.ClickException(f"cannot open archive {db_path}: {exc}") from exc


@click.group()
@click.version_option(__version__, prog_name="crawler")
def cli():
    """Crawl news sites into a SQLite archive, then query and export it."""


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
              help="Similarity (0-1] at which two texts are near-duplicates (default 0.4).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a Scrapy setting (repeatable).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the log to this file.")
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only; print just the summary line.")
def crawl(targets, db_path, since, limit, base_url, refresh, recheck_days, neardup_threshold, overrides,
          log_level, log_file, quiet):
    """Crawl TARGETS into the archive.

    A TARGET is a site profile name (see `crawler profiles`), a profile .toml file, or a
    site's homepage URL (generic discovery: robots.txt sitemaps, feeds, listings).
    """
    from crawler.lock import ArchiveLocked
    from crawler.profiles import ProfileError, resolve_target
    from crawler.run import run_crawl

    try:
        for target in targets:
            resolve_target(target, base_url)
    except ProfileError as exc:
        raise click.ClickException(str(exc))
    settings = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        settings[key.strip()] = value
    if neardup_threshold is not None:
        settings["NEARDUP_THRESHOLD"] = neardup_threshold
    try:
        summary = run_crawl(list(targets), db_path, since=since, limit=limit, base_url=base_url,
                            refresh=refresh, recheck_days=recheck_days, settings=settings,
                            log_level="WARNING" if quiet else log_level, log_file=log_file)
    except ArchiveLocked as exc:
        click.echo(f"crawler: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except Exception as exc:
        click.echo(f"crawler: could not run: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    click.echo(summary["line"])
    sys.exit(EXIT_TARGETS_FAILED if summary.get("failed_sites") else EXIT_OK)


@cli.command()
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet", "txt"]), required=True)
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
@click.option("--manifest", "manifest_out", type=click.Path(dir_okay=False),
              help="Write the manifest here (default: <out>.manifest.json; for stdout only when given).")
@click.option("--workers", type=click.IntRange(min=0),
              help="Processes reading rows besides this one (default: 2 for archives of 50,000+ "
                   "articles, else 0; 0 on a busy machine). The output is the same either way.")
def export(db_path, fmt, out, per_article, site, date_from, date_to, language, query, dedup, manifest_out,
           workers):
    """Export articles as JSON lines, CSV, Parquet or the plain-text corpus format.

    Writes a manifest beside the output (filters, row counts, sha256 of the files,
    last crawl, software versions); the same export of the same archive is byte-identical.
    """
    from archive.export import export_corpus

    to_stdout = out == "-"
    per_article = per_article or (not to_stdout and (out.endswith(("/", os.sep)) or os.path.isdir(out)))
    if per_article and fmt != "txt":
        raise click.UsageError("one file per article (a directory --out) is for --format txt only")
    if per_article and to_stdout:
        raise click.UsageError("--per-article needs a directory --out, not -")
    # A bar only for a person watching: not in cron logs, not over data sent to a terminal.
    progress = sys.stderr.isatty() and not (to_stdout and sys.stdout.isatty())
    archive = _open_archive(db_path)
    try:
        result = export_corpus(
            archive, fmt, sys.stdout if to_stdout else out, per_article=per_article,
            manifest=manifest_out or True, progress=progress, site=site, language=language,
            date_from=date_from, date_to=date_to, query=query, dedup=dedup, workers=workers)
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc))
    finally:
        archive.close()
    where = "stdout" if to_stdout else out
    note = f" (manifest {result.manifest})" if result.manifest else ""
    click.echo(f"exported {result.rows} articles to {where}{note}", err=to_stdout)


@cli.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def summary(db_path, as_json):
    """Counts of what the archive holds."""
    archive = _open_archive(db_path)
    try:
        data = archive.summary()
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


@cli.command()
@DB_OPTION
@click.option("--site", help="Only pages of this site.")
def reextract(db_path, site):
    """Re-run extraction on the stored pages, without fetching anything."""
    from crawler.reextract import reextract_archive

    archive = _open_archive(db_path)
    try:
        counts = reextract_archive(archive, site=site)
    finally:
        archive.close()
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@cli.command()
@click.argument("url")
@DB_OPTION
def history(url, db_path):
    """Every stored version of the article at URL, with a diff of each change."""
    from crawler.history import render_history
    from crawler.urls import normalize_url

    archive = _open_archive(db_path)
    try:
        try:
            versions = archive.versions(url)
        except KeyError:
            try:
                versions = archive.versions(normalize_url(url))
            except KeyError:
                raise click.ClickException(f"no article with url {url} in {db_path}")
    finally:
        archive.close()
    click.echo(render_history(url, versions), nl=False)


@cli.command()
def profiles():
    """List the bundled site profiles."""
    from crawler.profiles import bundled_profiles

    for name, profile in sorted(bundled_profiles().items()):
        click.echo(f"{name}\t{profile.start_urls[0]}\t{','.join(profile.languages)}\t{profile.timezone}")


def main():
    cli(prog_name="crawler")


if __name__ == "__main__":
    main()
