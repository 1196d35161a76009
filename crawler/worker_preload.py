"""Imported once by the extraction pool's fork server, before any worker is forked.

Warmed here (crawler/warm_up.py: about a second and tens of megabytes per process), every
worker (and every replacement, see EXTRACTION_MAX_TASKS) starts warm in milliseconds and
shares those pages with its siblings instead of holding its own copy.
"""

from __future__ import annotations

import os

from crawler.archive_prep import extract_and_prepare  # noqa: F401 - what the workers run
from crawler.warm_up import warm

# The fork server leaves the crawl's process group for the reason its workers do
# (crawler/workers.py): a group-wide SIGTERM must not take it down while the crawl drains.
os.setpgrp()

warm()
