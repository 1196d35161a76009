"""Exit codes of every ``crawler`` command, for cron and scripts (the table is in the README)."""

from __future__ import annotations

EXIT_OK = 0  # done; every target gave articles (single bad pages are recorded, not fatal)
EXIT_NOTHING = 1  # ran, but a crawl target gave nothing, or an export/history selection matched nothing
EXIT_USAGE = 2  # bad options or arguments, unknown profile, invalid profile field (click's own code)
EXIT_CANNOT_RUN = 3  # could not run: archive missing/unreadable/unwritable, disk full, I/O error
EXIT_LOCKED = 4  # another crawl holds this archive
EXIT_INTERRUPTED = 5  # stopped by SIGTERM/SIGINT; the crawl is recorded `interrupted`
EXIT_NOT_ARCHIVE = 6  # the --db file is not an archive of this project (left untouched)

TABLE = (
    (EXIT_OK, "success"),
    (EXIT_NOTHING, "ran, but some target gave nothing / the selection matched nothing"),
    (EXIT_USAGE, "usage error (bad option, unknown profile, invalid profile field, bad --lang)"),
    (EXIT_CANNOT_RUN, "could not run (archive missing or unwritable, disk full, I/O error)"),
    (EXIT_LOCKED, "another crawl is running on this archive"),
    (EXIT_INTERRUPTED, "interrupted by SIGTERM/SIGINT (crawl recorded `interrupted`)"),
    (EXIT_NOT_ARCHIVE, "the --db file is not a news archive (nothing written to it)"),
)
