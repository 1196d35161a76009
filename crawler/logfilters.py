"""Expected network failures as one log line each, not a traceback.

Scrapy's robots.txt middleware logs a failed robots.txt download at ERROR with the whole
traceback (60 lines for a refused connection), even under ``--quiet``. A site without a
reachable robots.txt is an ordinary event: the spider's discovery already logs it as one
WARNING. The traceback stays available at ``--log-level DEBUG`` and in ``--log-file``.
"""

from __future__ import annotations

import logging

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
