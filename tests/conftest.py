"""Shared fixtures: a sample news site on loopback, and one real crawl of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import samplesite
from samplesite import SampleSite, serve
from samplesite.example import EXAMPLE_FILE

DATA = Path(__file__).parent / "data"
# The example article is the sample site's own data file.
EXAMPLE_TXT = Path(samplesite.__file__).parent / "data" / EXAMPLE_FILE
EXAMPLE_PATH = "/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/"
# Politeness limits are for other people's servers; ours is on loopback.
FAST = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0",
        "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "--set", "RETRY_TIMES=1"]


def run_cli(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """The real `crawler` command in a child process (Twisted's reactor runs once per process)."""
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def sample_site():
    return SampleSite(n_articles=60)


@pytest.fixture(scope="session")
def site_server(sample_site):
    with serve(sample_site) as server:
        yield server


@pytest.fixture(scope="session")
def crawled(site_server, tmp_path_factory):
    """One crawl of the sample site into a fresh archive, shared by the end-to-end tests."""
    work = tmp_path_factory.mktemp("crawl")
    db = work / "archive.db"
    log = work / "crawl.log"
    result = run_cli("crawl", site_server.url + "/", "--db", str(db), "--log-file", str(log), *FAST)
    return {"db": db, "log": log, "result": result, "url": site_server.url}


@pytest.fixture
def redis_server(tmp_path):
    """A fresh real redis-server (AOF on) on a free loopback port; stopped after the test."""
    from redis_server import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.kill()
