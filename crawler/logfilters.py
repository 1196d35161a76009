"""Expected network failures as one log line each, not a traceback.

Scrapy's robots.txt middleware logs a failed robots.txt download at ERROR with the whole
traceback (60 lines for a refused connection), even under ``--quiet``. A site without a
reachable robots.txt is an ordinary event: the spider's discovery already logs it as one
WARNING. The traceback stays available at ``--log-level DEBUG`` and in ``--log-file``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

ONE_LINE_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt",)


class OneLineFailure(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        if record.exc_info:
            exc = record.exc_info[1]
            record.exc_info = None
            record.exc_text = None
            if exc is not None and type(exc).__name__ not in record.getMessage():
                record.msg = f"{record.msg} ({type(exc).__name__})"
        return True


def install(log_level: str, log_file: str | None) -> None:
    """Make the known noisy loggers one-line unless the user asked for everything."""
    if log_level.upper() == "DEBUG" or log_file:
        return
    for name in ONE_LINE_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, OneLineFailure) for f in log.filters):
            log.addFilter(OneLineFailure())


@contextlib.contextmanager
def only_shown_records() -> Iterator[None]:
    """Within it, log calls below every root handler's level make no record at all.

    Scrapy leaves the root logger at NOTSET and gives its handler the LOG_LEVEL, so each
    debug line (several a page: "Crawled", "Scraped from", "article ... new") is built as a
    record, then dropped by the handler. The root level is raised to the lowest handler
    level; any handler that takes everything (pytest's caplog, say) keeps it at NOTSET.
    """
    root = logging.getLogger()
    before = root.level
    levels = [handler.level for handler in root.handlers]
    if before == logging.NOTSET and levels and min(levels) > logging.NOTSET:
        root.setLevel(min(levels))
    try:
        yield
    finally:
        root.setLevel(before)
