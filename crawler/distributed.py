"""Distributed mode on a real Redis (docs/distributed.md): one writer beside the SQLite file,
workers on any host.

Redis keys, all under ``PREFIX`` in the database of the ``--redis`` URL:

``run``        hash: the run's id, its targets and options (JSON), ``done`` once finished
``seen``       set: keys of every request ever queued in this run (dedup before queueing)
``tasks``      stream, group ``workers``: the shared frontier. A worker's XREADGROUP is a lease,
               its XACK the end of it; XAUTOCLAIM gives the entries of a worker silent for
               ``FRONTIER_LEASE_SECONDS`` to another one, so ``kill -9`` of a worker loses nothing.
``results``    stream, group ``writer``: fetched pages with their extracted articles. The writer
               acks an entry after its transaction committed; the archive's ``frontier_applied``
               table makes a second delivery a no-op, so a writer killed mid-batch loses and
               doubles nothing.
``slots:D``    sorted set: requests to domain D being downloaded by any worker (score: expiry)
``next:D``     the time before which no new request to D may start (DOWNLOAD_DELAY)

A task is acked when its callback's output has been consumed (what it discovered is in
``tasks`` by then) or, for an article page, when its result is in ``results``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections import deque
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from crawler.crawl_delay import capped_crawl_delay, is_robots_txt, robots_crawl_delay, robots_user_agent
from crawler.incremental import KnownIndex
from crawler.known_urls import KnownUrlMiddleware
from crawler.urls import url_key

logger = logging.getLogger(__name__)

PREFIX = "crawler:"
TASKS, RESULTS = PREFIX + "tasks", PREFIX + "results"
KNOWN, LISTED, SKIPPED = PREFIX + "known", PREFIX + "listed", PREFIX + "skipped"
# Sent by SharedKnownUrlMiddleware, received by RedisScheduler: hash fields for the writer
# (the dates sources list an article URL with; the known URLs not fetched), in Redis before
# the task that found them ends. Keyed by URL, so a task done twice counts once.
shared_fields = object()
WORKERS_GROUP, WRITER_GROUP = "workers", "writer"


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached (a clear one-line message for the CLI)."""


def redis_client(url: str, socket_timeout: float = 10) -> redis.Redis:
    """A client that retries nothing by itself. redis-py's own retries hide an outage from the
    loops here, and a command that Redis ran but whose reply was lost (Redis stopped in
    between: an XREADGROUP that delivered entries to us) would be sent again silently, the
    lost entries left pending forever. Every loop here waits out errors itself and, after
    one, reads its pending entries again."""
    return redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=5,
                                retry=Retry(NoBackoff(), 0))


def connect(url: str) -> redis.Redis:
    conn = redis_client(url)
    try:
        conn.ping()
    except redis.RedisError as exc:
        raise RedisUnavailable(f"cannot reach Redis at {url}: {exc}") from exc
    return conn


def _ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def page_key(url: str) -> str:
    """The task key of an article page (what the writer deduplicates results by)."""
    return url_key(url)


# -- task payloads --------------------------------------------------------------------------

# Most of a pickled request is the same in every task (the dict's keys, the 300 statuses of
# handle_httpstatus_list, the callback names): zlib with that as its preset dictionary keeps
# only what differs. The same project version runs everywhere (pickles: see the docs).
_ZDICT = pickle.dumps([{
    "url": "https://", "callback": "parse_article", "errback": "article_error", "headers": {}, "body": b"",
    "cookies": {}, "meta": {"site": "", "article": True, "via": "sitemap", "lastmod": "", "force": False,
                            "handle_httpstatus_list": [304, *range(400, 600)], "classify": False,
                            "listed": {"lastmod": ""}, "depth": 1, "offer_only": True},
    "encoding": "utf-8", "flags": [], "cb_kwargs": {}, "dont_filter": True, "method": "GET", "priority": 0},
    "parse_sitemap", "discovery_error", "parse_feed", "parse_listing", "parse_candidate"], protocol=4)


def pack_request(request_dict: dict) -> bytes:
    c = zlib.compressobj(6, zdict=_ZDICT)
    return c.compress(pickle.dumps(request_dict, protocol=4)) + c.flush()


def unpack_request(payload: bytes) -> dict:
    d = zlib.decompressobj(zdict=_ZDICT)
    return pickle.loads(d.decompress(payload) + d.flush())


# -- the run record ---------------------------------------------------------------------------

def start_run(client: redis.Redis, targets: list[str], options: dict,
              known: KnownIndex | None = None) -> tuple[str, bool]:
    """``(run id, resumed)``: the unfinished run in this Redis database, or a new one.
    ``known`` (the archive's known URLs) is published for the workers' incremental rules;
    a resumed run keeps the one published when it started."""
    run = client.hgetall(PREFIX + "run")
    if run and not run.get(b"done"):
        return run[b"id"].decode(), True
    pipe = client.pipeline()
    for key in client.scan_iter(PREFIX + "*"):
        pipe.delete(key)
    pipe.execute()
    run_id = uuid.uuid4().hex
    # Everything a worker reads is in place before the run record it waits for.
    _ensure_group(client, TASKS, WORKERS_GROUP)
    _ensure_group(client, RESULTS, WRITER_GROUP)
    if known is not None and len(known):
        client.set(KNOWN, zlib.compress(pickle.dumps(known, protocol=4), 6))
    client.hset(PREFIX + "run", mapping={"id": run_id, "targets": json.dumps(targets),
                                         "options": json.dumps(options), "started": time.time()})
    return run_id, False


def read_run(client: redis.Redis) -> dict | None:
    run = client.hgetall(PREFIX + "run")
    if not run:
        return None
    return {"id": run[b"id"].decode(), "targets": json.loads(run[b"targets"]),
            "options": json.loads(run[b"options"]), "done": bool(run.get(b"done"))}


# -- the worker's Scrapy components -------------------------------------------------------------

class RedisScheduler:
    """The shared frontier as a Scrapy scheduler: tasks leased from the ``tasks`` stream."""

    def __init__(self, crawler, url: str, lease: float, batch: int, consumer: str):
        from crawler.frontier import frontier_done, frontier_item
        from scrapy import signals

        self.crawler = crawler
        self.stats = crawler.stats
        self.client = redis_client(url)
        self.lease_ms = int(lease * 1000)
        self.batch = batch
        self.consumer = consumer
        self.spider = None
        self._buffer: deque = deque()
        self._unsent: deque = deque()  # (key, payload) that Redis did not take yet
        self._unacked: deque = deque()
        self._fields: dict[str, dict[str, str]] = {}  # hash -> field -> value, not yet in Redis
        self._items: dict[int, str] = {}
        self._ids: dict[str, bytes] = {}  # task key -> stream entry id, while leased
        self._down_since: float | None = None
        # A command Redis ran whose reply was lost (Redis stopped in between) leaves entries
        # delivered to us that we never saw: after an error our own pending list is read again.
        self._lost_deliveries = False
        self._cursor = "0-0"
        crawler.signals.connect(self._on_done, signal=frontier_done)
        crawler.signals.connect(self._on_item, signal=frontier_item)
        crawler.signals.connect(self._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(self._on_fields, signal=shared_fields)
        # After the last pipeline (ResultPipeline): the page is in the results stream.
        for sig in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_sent, signal=sig)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        # Leases held by one worker (in its buffer, downloading, extracting): more than it can
        # work on would keep them from idle workers, whatever the number of workers.
        leases = s.getint("DISTRIBUTED_LEASES") or 2 * s.getint("CONCURRENT_REQUESTS")
        return cls(crawler, s.get("DISTRIBUTED_REDIS_URL"), s.getfloat("FRONTIER_LEASE_SECONDS", 120),
                   leases, s.get("DISTRIBUTED_CONSUMER") or f"{os.uname().nodename}-{os.getpid()}")

    def open(self, spider):
        self.spider = spider

    def close(self, reason):
        self._retry_redis()
        # Leased and unfinished (stopped by SIGTERM): marked as long idle, so another
        # worker's XAUTOCLAIM takes them at once instead of after the lease time.
        ids = list(self._ids.values())  # every lease not ended by its outcome
        if ids:
            try:
                self.client.xclaim(TASKS, WORKERS_GROUP, self.consumer, 0, ids, idle=self.lease_ms)
                logger.info("%d leased requests handed back to the frontier", len(ids))
            except redis.RedisError as exc:
                logger.warning("could not hand back %d leases (they expire): %s", len(ids), exc)

    def __len__(self):
        return len(self._buffer)

    # Redis errors: said once when it goes away and once when it is back; the work waits.
    def _redis_failed(self, exc: Exception) -> None:
        self._lost_deliveries = True
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.error("Redis unavailable (%s); waiting for it, nothing is lost", exc)
        self.stats.inc_value("distributed/redis_errors")

    def _redis_ok(self) -> None:
        if self._down_since is not None:
            logger.warning("Redis is back after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None

    def _retry_redis(self) -> bool:
        """Send what Redis missed; True when nothing is left over."""
        try:
            while self._unsent:
                key, payload = self._unsent[0]
                self._send_task(key, payload)
                self._unsent.popleft()
            while self._fields:
                name = next(iter(self._fields))
                self.client.hset(name, mapping=self._fields[name])
                del self._fields[name]
            while self._unacked:
                self.client.xack(TASKS, WORKERS_GROUP, self._unacked[0])
                self._unacked.popleft()
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return False
        self._redis_ok()
        return True

    def _send_task(self, key: str, payload: bytes) -> None:
        # SADD and XADD in one transaction: a key is seen exactly when its task exists.
        self.client.eval(_QUEUE_TASK, 2, PREFIX + "seen", TASKS, key, payload)

    def enqueue_request(self, request) -> bool:
        from crawler.frontier import KEY

        key = request.meta.get(KEY)
        retry = key is not None and key in self._ids
        if retry:
            # A retry or a redirect of a leased task: done only when this one is.
            self.stats.inc_value("distributed/requeued")
            self._buffer.append(request)
            return True
        key = page_key(request.url) if request.callback and getattr(
            request.callback, "__name__", "") == "parse_article" else \
            self.crawler.request_fingerprinter.fingerprint(request).hex()
        payload = pack_request(request.to_dict(spider=self.spider))
        if self._unsent:
            self._unsent.append((key, payload))
            return True
        try:
            self._send_task(key, payload)
            self._redis_ok()
        except redis.RedisError as exc:
            self._redis_failed(exc)
            self._unsent.append((key, payload))
        self.stats.inc_value("distributed/enqueued")
        return True

    def has_pending_requests(self) -> bool:
        if self._buffer:
            return True
        self._fill()
        return bool(self._buffer)

    def next_request(self):
        if not self._buffer:
            self._fill()
        return self._buffer.popleft() if self._buffer else None

    def _fill(self) -> None:
        if not self._retry_redis():
            return
        if self._lost_deliveries:
            try:
                self._take(self._own_pending())
                self._lost_deliveries = False
            except redis.RedisError as exc:
                self._redis_failed(exc)
                return
        if len(self._ids) >= self.batch:
            return
        try:
            got = self.client.xreadgroup(WORKERS_GROUP, self.consumer, {TASKS: ">"},
                                         count=self.batch - len(self._ids))
            entries = got[0][1] if got else []
            if not entries and self._pending_count() > len(self._ids) + len(self._unacked):
                entries = self._own_pending()  # delivered to us, the reply lost: ours to do
            if not entries:
                # Leases of silent workers expire back to the frontier.
                # (a cursor: our own long-waiting leases must not hide a dead worker's)
                # (Redis 7 adds a third element, the deleted ids; 6.2 has two)
                claimed = self.client.xautoclaim(TASKS, WORKERS_GROUP, self.consumer, self.lease_ms,
                                                 self._cursor, count=self.batch - len(self._ids))
                self._cursor, entries = claimed[0], claimed[1]
                if entries:
                    self.stats.inc_value("distributed/reclaimed", len(entries))
            self._redis_ok()
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return
        self._take(entries)

    def _pending_count(self) -> int:
        summary = self.client.xpending(TASKS, WORKERS_GROUP)
        name = self.consumer.encode()
        return next((int(c["pending"]) for c in summary.get("consumers") or [] if c["name"] in (name, self.consumer)), 0)

    def _own_pending(self) -> list:
        """Every entry delivered to this consumer and not acked (XREADGROUP from id 0)."""
        entries, last = [], "0"
        while True:
            got = self.client.xreadgroup(WORKERS_GROUP, self.consumer, {TASKS: last}, count=100)
            page = got[0][1] if got else []
            if not page:
                return entries
            entries.extend(page)
            last = page[-1][0]

    def _take(self, entries) -> int:
        from crawler.frontier import KEY
        from scrapy.utils.request import request_from_dict

        taken = 0
        for entry_id, fields in entries:
            if not fields:  # deleted meanwhile
                continue
            key = fields[b"key"].decode()
            if key in self._ids:  # our own lease, reclaimed while it waits here
                continue
            request = request_from_dict(unpack_request(fields[b"request"]), spider=self.spider)
            request.meta[KEY] = key
            self._ids[key] = entry_id
            self._buffer.append(request)
            taken += 1
        return taken

    def _ack(self, key: str) -> None:
        entry_id = self._ids.pop(key, None)
        if entry_id is None:
            return
        # In order: what this task discovered (and the dates it was listed with) reaches
        # Redis before the task is done.
        self._unacked.append(entry_id)
        self._retry_redis()

    def _on_fields(self, name: str, fields: dict) -> None:
        self._fields.setdefault(name, {}).update(fields)

    def _on_done(self, key, error=None):
        self._ack(key)

    def _on_item(self, item, key):
        self._items[id(item)] = key

    def item_sent(self, item, **kwargs) -> None:
        key = self._items.pop(id(item), None)
        if key is not None:
            self._ack(key)

    def _on_idle(self):
        from scrapy.exceptions import DontCloseSpider

        # Lost without an outcome (see FrontierScheduler._on_idle): free the lease.
        from crawler.frontier import KEY

        held = {r.meta.get(KEY) for r in self._buffer} | set(self._items.values())
        for key in [k for k in self._ids if k not in held]:
            self._ack(key)
        if self.crawler.settings.getbool("DISTRIBUTED_EXIT_WHEN_IDLE"):
            try:
                if self._is_finished():
                    return
            except redis.RedisError as exc:
                self._redis_failed(exc)
        elif self._stop_requested():
            return
        raise DontCloseSpider

    def _is_finished(self) -> bool:
        run = self.client.hget(PREFIX + "run", "done")
        return bool(run) and not self._ids and not self._unsent and not self._unacked and not self._fields

    def _stop_requested(self) -> bool:
        try:
            return bool(self.client.hget(PREFIX + "run", "done"))
        except redis.RedisError:
            return False


_QUEUE_TASK = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'key', ARGV[1], 'request', ARGV[2])
  return 1
end
return 0
"""

# Per-domain concurrency and delay for all workers together, on Redis's clock (the hosts' clocks
# may differ). Slots expire (a killed worker's
# slots come back after the download timeout). The delay is the larger of the configured one
# and the site's robots.txt Crawl-delay (KEYS[3], set by the worker that read robots.txt).
# Returns 0 when granted, else ms to wait.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nexttime = tonumber(redis.call('GET', KEYS[2]) or '0')
if nexttime > now then return nexttime - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 50 end
local delay = math.max(tonumber(ARGV[5]), tonumber(redis.call('GET', KEYS[3]) or '0'))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', 600000) end
return 0
"""


def _slot(request) -> str:
    """Scrapy's own download slot: the host name unless a request names its slot."""
    return request.meta.get("download_slot") or urlsplit(request.url).hostname or ""


def _slot_keys(slot: str) -> tuple[str, str, str]:
    return PREFIX + "slots:" + slot, PREFIX + "next:" + slot, PREFIX + "crawldelay:" + slot


class SharedPolitenessMiddleware:
    """Downloader middleware: a request starts only with one of its site's shared slots
    (CONCURRENT_REQUESTS_PER_DOMAIN, or the site's DOWNLOAD_SLOTS entry, across all workers)
    and after the delay since the last start by any worker: DOWNLOAD_DELAY (or the site's),
    or the robots.txt Crawl-delay when larger. robots.txt itself is obeyed by each worker's
    RobotsTxtMiddleware; its Crawl-delay is shared here through Redis."""

    def __init__(self, crawler, url: str):
        s = crawler.settings
        self.client = redis_client(url)
        self.acquire = self.client.register_script(_ACQUIRE)
        self.per_domain = max(1, s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        self.delay = s.getfloat("DISTRIBUTED_DOWNLOAD_DELAY", s.getfloat("DOWNLOAD_DELAY"))
        self.slots = s.getdict("DISTRIBUTED_DOWNLOAD_SLOTS") or s.getdict("DOWNLOAD_SLOTS")
        self.ttl_ms = int((s.getfloat("DOWNLOAD_TIMEOUT") + 30) * 1000)
        self.stats = crawler.stats
        self._unreleased: list[tuple[str, str]] = []  # (slots key, token) Redis did not take back
        self._down = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.get("DISTRIBUTED_REDIS_URL"))

    def _limits(self, slot: str) -> tuple[int, int]:
        conf = self.slots.get(slot) or {}
        return (max(1, int(conf.get("concurrency", self.per_domain))),
                int(float(conf.get("delay", self.delay)) * 1000))

    def _failed(self, exc: Exception) -> None:
        self.stats.inc_value("distributed/redis_errors")
        if not self._down:
            self._down = True
            logger.error("Redis unavailable for the politeness slots (%s); waiting", exc)

    def _flush_releases(self) -> None:
        while self._unreleased:
            key, token = self._unreleased[0]
            self.client.zrem(key, token)
            self._unreleased.pop(0)

    async def process_request(self, request):
        token = uuid.uuid4().hex
        slot = _slot(request)
        keys = _slot_keys(slot)
        per_domain, delay_ms = self._limits(slot)
        while True:
            try:
                # A slot not given back during an outage would block its site until it expires.
                self._flush_releases()
                wait = self.acquire(keys=keys, args=[0, token, per_domain, self.ttl_ms, delay_ms])
                self._down = False
            except redis.RedisError as exc:
                self._failed(exc)
                wait = 1000
            if not wait:
                break
            await asyncio.sleep(min(int(wait), 1000) / 1000)
        request.meta["shared_slot"] = token
        return None

    def _release(self, request) -> None:
        token = request.meta.pop("shared_slot", None)
        if token:
            self._unreleased.append((_slot_keys(_slot(request))[0], token))
            try:
                self._flush_releases()
            except redis.RedisError as exc:
                self._failed(exc)  # given back with the next request (or it expires)

    def process_response(self, request, response):
        self._release(request)
        return response

    def process_exception(self, request, exception):
        self._release(request)
        return None


class SharedDelaysAddon:
    """Worker add-on, after SiteSlotsAddon: the delays (DOWNLOAD_DELAY and the sites'
    DOWNLOAD_SLOTS delays) move from Scrapy's per-process slots to SharedPolitenessMiddleware.
    A request waits for its shared turn before it enters the local slot; a local delay would
    then hold it longer, and another worker's request could start right after it."""

    def update_settings(self, settings) -> None:
        slots = settings.getdict("DOWNLOAD_SLOTS")
        settings.set("DISTRIBUTED_DOWNLOAD_DELAY", settings.getfloat("DOWNLOAD_DELAY"), priority="cmdline")
        settings.set("DISTRIBUTED_DOWNLOAD_SLOTS", {k: dict(v) for k, v in slots.items()}, priority="cmdline")
        settings.set("DOWNLOAD_SLOTS", {k: {**v, "delay": 0} for k, v in slots.items()}, priority="cmdline")
        settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")


class SharedCrawlDelayMiddleware:
    """Downloader middleware below HttpCompressionMiddleware (it sees robots.txt decompressed):
    a site's robots.txt Crawl-delay goes to Redis, where SharedPolitenessMiddleware's script
    applies it to every worker's requests to that site."""

    def __init__(self, crawler, url: str):
        s = crawler.settings
        self.client = redis_client(url)
        self.user_agent = robots_user_agent(s)
        self.cap = s.getfloat("ROBOTSTXT_CRAWL_DELAY_MAX")
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.get("DISTRIBUTED_REDIS_URL"))

    def process_response(self, request, response):
        if not is_robots_txt(request, response):
            return response
        delay = robots_crawl_delay(response.body, self.user_agent)
        if delay:
            slot = _slot(request)
            delay = capped_crawl_delay(delay, self.cap, slot)
            try:
                self.client.set(_slot_keys(slot)[2], int(delay * 1000), ex=7 * 86400)
                logger.info("robots.txt of %s: Crawl-delay %s s, for all workers", slot, f"{delay:g}")
            except redis.RedisError as exc:
                # every worker reads robots.txt: the next one shares it
                self.stats.inc_value("distributed/redis_errors")
                logger.error("Redis unavailable, Crawl-delay of %s not shared yet (%s)", slot, exc)
        return response


class SeedMiddleware:
    """Spider middleware: once this worker's start requests are all in ``tasks`` (deduplicated
    with the other workers'), say so; the writer does not call the frontier drained before."""

    def __init__(self, crawler, url: str):
        self.client = redis_client(url)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.get("DISTRIBUTED_REDIS_URL"))

    async def process_start(self, start):
        async for item_or_request in start:
            yield item_or_request
        while True:
            try:
                self.client.hincrby(PREFIX + "run", "seeded", 1)
                return
            except redis.RedisError as exc:
                logger.error("Redis unavailable (%s); waiting to record the seeds", exc)
                await asyncio.sleep(1)


class SharedKnownUrlMiddleware(KnownUrlMiddleware):
    """The one-machine incremental rules in a worker: the writer's KnownIndex of the archive
    (published in ``known`` when the run started) decides which article requests go out, and
    the dates the sources list URLs with reach the writer through ``listed``."""

    @classmethod
    def from_crawler(cls, crawler):
        conn = redis_client(crawler.settings.get("DISTRIBUTED_REDIS_URL"), socket_timeout=30)
        blob = _with_redis(lambda: conn.get(KNOWN), "to read the known URLs")
        known = pickle.loads(zlib.decompress(blob)) if blob else KnownIndex()
        logger.info("%d known article URLs from the writer", len(known))
        return cls(crawler, known, crawler.settings.getbool("CRAWL_REFRESH"))

    def filter(self, request):
        key = url_key(request.url)
        listed = {k: v for k, v in (request.meta.get("listed") or {}).items() if v}
        if listed:
            self._send(LISTED, {f"{key}\t{source}": day for source, day in listed.items()})
        site = request.meta.get("site")
        stat = f"discovery/site/{site}/skipped_known"
        before = self.stats.get_value(stat, 0)
        passed = super().filter(request)
        if self.stats.get_value(stat, 0) != before:
            self._send(SKIPPED, {key: site or ""})
        return passed

    def _send(self, name: str, fields: dict) -> None:
        self.crawler.signals.send_catch_log(shared_fields, name=name, fields=fields)


class ResultPipeline:
    """Last worker pipeline, after the one-machine ExtractionPipeline: the page goes to the
    ``results`` stream."""

    def __init__(self, crawler, url: str, max_len: int):
        self.crawler = crawler
        self.client = redis_client(url)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.get("DISTRIBUTED_REDIS_URL"), 0)

    async def process_item(self, item):
        from crawler.items import FetchedPage

        if not isinstance(item, FetchedPage):
            return item
        key = page_key(item.url)
        payload = pickle.dumps(item, protocol=4)
        said = False
        while True:
            try:
                self.client.xadd(RESULTS, {"key": key, "page": payload})
                break
            except redis.RedisError as exc:
                if not said:
                    logger.error("Redis unavailable, result of %s waits (%s)", item.url, exc)
                    said = True
                self.stats.inc_value("distributed/redis_errors")
                await asyncio.sleep(1)
        self.stats.inc_value("distributed/results_sent")
        item.body = None
        item.article = None
        return item


# -- the worker process -------------------------------------------------------------------------

def worker_settings(run: dict, redis_url: str, exit_when_idle: bool, log_level: str = "INFO"):
    from crawler.run import build_settings

    o = run["options"]
    s = build_settings(run["targets"], "", since=o.get("since"), limit=o.get("limit", 0),
                       base_url=o.get("base_url"), refresh=o.get("refresh", False),
                       recheck_days=o.get("recheck_days", 0), settings=o.get("settings") or {},
                       log_level=log_level)
    s.set("DISTRIBUTED_REDIS_URL", redis_url, priority="cmdline")
    s.set("DISTRIBUTED_EXIT_WHEN_IDLE", exit_when_idle, priority="cmdline")
    s.set("FRONTIER_ENABLED", False, priority="cmdline")
    # AutoThrottle's delay is per process (and held after the shared turn): the shared
    # delay, Crawl-delay and slots are what holds across workers.
    s.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
    s.set("ADDONS", {**s.getdict("ADDONS"), "crawler.distributed.SharedDelaysAddon": 100}, priority="cmdline")
    # Every sitemap of an index goes to the shared frontier at once: one held in a worker's
    # memory (the one-machine pacing) would be lost with that worker.
    s.set("SITEMAP_NEXT_BELOW", 0, priority="cmdline")
    s.set("SCHEDULER", "crawler.distributed.RedisScheduler", priority="cmdline")
    # Extraction as on one machine (the classifier for discovery-by-content candidates, the
    # URL shapes learned in this worker and stored in the archive); storing is the writer's.
    s.set("ITEM_PIPELINES", {"crawler.pipelines.extraction.ExtractionPipeline": 300,
                             "crawler.distributed.ResultPipeline": 800}, priority="cmdline")
    spider_mw = dict(s.getdict("SPIDER_MIDDLEWARES"))
    spider_mw["crawler.frontier.FrontierSpiderMiddleware"] = 1
    spider_mw["crawler.distributed.SeedMiddleware"] = 2
    # The archive's known URLs come from the writer through Redis (workers never open it).
    position = spider_mw.pop("crawler.known_urls.KnownUrlMiddleware", 920)
    spider_mw["crawler.distributed.SharedKnownUrlMiddleware"] = position
    s.set("SPIDER_MIDDLEWARES", spider_mw, priority="cmdline")
    dl_mw = dict(s.getdict("DOWNLOADER_MIDDLEWARES"))
    dl_mw["crawler.frontier.FrontierDownloaderMiddleware"] = 50
    dl_mw["crawler.distributed.SharedPolitenessMiddleware"] = 950
    # The one-machine Crawl-delay would hold each worker's own slot after the shared turn.
    dl_mw["crawler.crawl_delay.CrawlDelayMiddleware"] = None
    dl_mw["crawler.distributed.SharedCrawlDelayMiddleware"] = 90
    s.set("DOWNLOADER_MIDDLEWARES", dl_mw, priority="cmdline")
    return s


def run_worker(redis_url: str, *, exit_when_idle: bool = False, log_level: str = "INFO") -> dict:
    """Take tasks from the shared frontier until SIGTERM (or, with ``exit_when_idle``, until
    the writer says the run is finished); never opens the archive."""
    from scrapy.crawler import CrawlerProcess

    client = connect(redis_url)
    deadline = time.monotonic() + 60
    run = read_run(client)
    while run is None or run["done"]:  # started before its writer, or after the last run ended
        if time.monotonic() > deadline:
            raise RedisUnavailable(f"no unfinished crawl run in Redis at {redis_url}: "
                                   "start `crawler crawl --redis` first")
        time.sleep(0.5)
        try:
            run = read_run(client)
        except redis.RedisError as exc:
            raise RedisUnavailable(f"Redis at {redis_url} went away: {exc}") from exc
    settings = worker_settings(run, redis_url, exit_when_idle, log_level)
    if settings.get("EXTRACTION_WORKERS") not in (None, "") and settings.getint("EXTRACTION_WORKERS") == 0:
        # Extracting in this process: warm before the first lease, not on the first page
        # with leases, slots and the event loop held (a pool warms in its fork server).
        from crawler.warm_up import warm

        warm()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(settings.get("CRAWL_SPIDER"))
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    return {"results_sent": int(stats.get("distributed/results_sent", 0)),
            "redis_errors": int(stats.get("distributed/redis_errors", 0)),
            "reason": stats.get("finish_reason")}


# -- the writer ---------------------------------------------------------------------------------

def apply_batch(archive, crawl_id: int, run_id: str, entries, store_bodies: bool = True,
                neardup=None) -> list[tuple[str, str]]:
    """Write a batch of results in one transaction; ``(site, outcome)`` of each entry.
    A result already applied in this run (delivered again after a crash) is skipped.
    As the one-machine ArchivePipeline does: a 410 marks the article withdrawn, and a new,
    updated or duplicate article is linked to its near-duplicates (``neardup``)."""
    from crawler.page import is_not_article
    from crawler.pipelines.storage import is_storage_failure

    db = archive.db
    outcomes = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for _, fields in entries:
            key = fields[b"key"].decode()
            page = pickle.loads(fields[b"page"])
            if db.execute("SELECT 1 FROM frontier_applied WHERE run = ? AND key = ?", (run_id, key)).fetchone():
                outcomes.append((page.site, "already"))
                continue
            row = {"site": page.site, "url": page.url, "final_url": page.final_url, "status": page.status,
                   "content_type": page.content_type, "headers": page.headers, "encoding": page.encoding,
                   "fetched_at": page.fetched_at, "body": page.body if store_bodies else None, "error": page.error,
                   "lastmod": page.lastmod}
            if page.not_modified and page.known_article_url and not page.error:
                _, result = archive.touch_article(page.known_article_url, row, crawl_id=crawl_id,
                                                  seen_at=page.fetched_at)
            else:
                _, result = archive.store_fetch(row, page.article if not page.error else None,
                                                crawl_id=crawl_id, seen_at=page.fetched_at)
            if page.status == 410 and not page.not_modified:
                for url in dict.fromkeys(u for u in (page.known_article_url, page.url, page.final_url) if u):
                    if archive.mark_withdrawn(url, page.fetched_at):
                        logger.info("article %s is gone (410): marked withdrawn", url)
                        break
            if neardup is not None and result is not None and result.status in ("new", "updated", "duplicate"):
                try:  # in a savepoint: a failed link loses no article, the next catch_up() retries
                    neardup.index(result.id)
                except Exception as exc:
                    if is_storage_failure(exc):
                        raise
                    logger.exception("near-duplicate indexing failed for %s", page.url)
            db.execute("INSERT INTO frontier_applied (run, key) VALUES (?, ?)", (run_id, key))
            outcomes.append((page.site, result.status if result else
                             ("not_article" if is_not_article(page.error) else "errors")))
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return outcomes


def _drained(client: redis.Redis) -> bool:
    """Nothing undelivered and nothing leased in ``tasks``, nothing pending in ``results``."""
    if not client.xlen(TASKS) or not client.hget(PREFIX + "run", "seeded"):
        return False
    for stream, group in ((TASKS, WORKERS_GROUP), (RESULTS, WRITER_GROUP)):
        info = {g["name"]: g for g in client.xinfo_groups(stream)}.get(group.encode()) or \
            {g["name"]: g for g in client.xinfo_groups(stream)}.get(group)
        if info is None or info["pending"]:
            return False
        last = client.xinfo_stream(stream)["last-generated-id"]
        if info["last-delivered-id"] != last and client.xlen(stream):
            return False
    return True


def _with_redis(action, what: str, patience: float = 120):
    """``action()``, waiting out a Redis outage of up to ``patience`` seconds (one line)."""
    deadline = time.monotonic() + patience
    said = False
    while True:
        try:
            return action()
        except redis.RedisError as exc:
            if time.monotonic() > deadline:
                raise RedisUnavailable(f"Redis unavailable {what}: {exc}") from exc
            if not said:
                logger.error("Redis unavailable (%s); waiting %s", exc, what)
                said = True
            time.sleep(1)


def _record_listed(client: redis.Redis, archive) -> None:
    """The dates the workers saw sources list article URLs with (``listed``), into the
    archive, as the one-machine crawl records them when it closes."""
    from datetime import datetime, timezone

    rows: dict[str, dict] = {}
    for field, day in client.hscan_iter(LISTED, count=1000):
        key, source = field.decode().split("\t", 1)
        rows.setdefault(key, {"url_key": key})[source] = day.decode()
    if rows:
        n = archive.record_listed_dates(rows.values(), datetime.now(timezone.utc).isoformat(timespec="seconds"))
        logger.info("recorded the listed dates of %d URLs", n)


def run_writer(targets: list[str], db_path: str, redis_url: str, *, local_workers: int = 1,
               options: dict | None = None, log_level: str = "INFO", batch: int = 100) -> dict:
    """Seed the shared frontier, write every result into the archive (the only writer),
    run ``local_workers`` workers here, and return when the frontier is drained."""
    from archive import Archive
    from archive.manifest import software_versions
    from crawler.lock import CrawlLock
    from crawler.neardup import DEFAULT_THRESHOLD, NearDupIndexer
    from crawler.pipelines.storage import failed_sites
    from crawler.profiles import crawl_profile_records
    from crawler.run import build_settings

    options = dict(options or {})
    settings = build_settings(targets, db_path, settings=options.get("settings") or {})
    client = connect(redis_url)
    with CrawlLock(db_path):
        # The workers apply the incremental rules with the archive's known URLs, read here
        # once per run (the writer is the only process that opens the archive).
        run = read_run(client)
        known = None if run and not run["done"] else KnownIndex.load(db_path)
        run_id, resumed = start_run(client, targets, options, known)
        logger.info("distributed run %s %s on %s", run_id, "resumed" if resumed else "started", redis_url)
        archive = Archive(db_path)
        crawl_id = archive.start_crawl(targets, {**{k: v for k, v in options.items() if k != "settings"},
                                                 "distributed": run_id, "versions": software_versions()},
                                       profiles=crawl_profile_records(settings))
        neardup = None
        if settings.getbool("NEARDUP_ENABLED", True):
            try:  # as ArchivePipeline: the crawl does not depend on it
                neardup = NearDupIndexer(archive, settings.getfloat("NEARDUP_THRESHOLD", DEFAULT_THRESHOLD))
                neardup.catch_up()
            except Exception:
                logger.exception("near-duplicate index unavailable for this crawl")
                neardup = None
        store_bodies = settings.getbool("ARCHIVE_STORE_BODIES")
        workers = [subprocess.Popen([sys.executable, "-m", "crawler", "worker", "--redis", redis_url,
                                     "--exit-when-idle", "--log-level", log_level])
                   for _ in range(local_workers)]
        counts: dict[str, dict[str, int]] = {}
        totals = {"pages": 0, "errors": 0, "new": 0, "updated": 0, "unchanged": 0, "duplicate": 0, "already": 0}
        down_since = None
        idle_checks = 0
        pending_first = True  # after a restart: what was delivered to us before, not acked
        stopping = {"flag": False}
        signal.signal(signal.SIGTERM, lambda *a: stopping.update(flag=True))
        try:
            while not stopping["flag"]:
                try:
                    got = client.xreadgroup(WRITER_GROUP, "writer", {RESULTS: "0" if pending_first else ">"},
                                            count=batch, block=None if pending_first else 1000)
                    delivered = got[0][1] if got else []
                    entries = [e for e in delivered if e[1]]
                    gone = [e[0] for e in delivered if not e[1]]  # deleted from the stream: nothing to write
                    if gone:
                        client.xack(RESULTS, WRITER_GROUP, *gone)
                    if pending_first and not delivered:
                        pending_first = False
                        continue
                    if entries:
                        idle_checks = 0
                        for site, outcome in apply_batch(archive, crawl_id, run_id, entries, store_bodies, neardup):
                            c = counts.setdefault(site, {})
                            c[outcome] = c.get(outcome, 0) + 1
                            totals[outcome] = totals.get(outcome, 0) + 1
                            if outcome != "already":
                                totals["pages"] += 1
                        client.xack(RESULTS, WRITER_GROUP, *[e[0] for e in entries])
                    elif client.xpending(RESULTS, WRITER_GROUP)["pending"]:
                        # Everything read is acked before the next read: what is pending now
                        # was delivered to us by a command whose reply was lost.
                        pending_first = True
                    elif _drained(client):
                        idle_checks += 1
                        if idle_checks >= 3:
                            break
                    if down_since is not None:
                        logger.warning("Redis is back after %.0f s", time.monotonic() - down_since)
                        down_since = None
                except redis.RedisError as exc:
                    # An XREADGROUP that Redis ran but whose reply was lost left entries pending
                    # for us that we never saw: read our pending list again once it is back.
                    pending_first = True
                    if down_since is None:
                        down_since = time.monotonic()
                        logger.error("Redis unavailable (%s); waiting for it, nothing is lost", exc)
                    time.sleep(1)
            finished = not stopping["flag"]
            if finished:
                _with_redis(lambda: _record_listed(client, archive), "to record the listed dates")
                for site in _with_redis(lambda: [v.decode() for v in client.hvals(SKIPPED)], "to count known URLs"):
                    c = counts.setdefault(site, {})
                    c["skipped_known"] = c.get("skipped_known", 0) + 1
                _with_redis(lambda: client.hset(PREFIX + "run", "done", "1"), "to end the run")
            for proc in workers:
                if not finished:
                    proc.send_signal(signal.SIGTERM)
                proc.wait()
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        by_site = {site: {"new": c.get("new", 0), "updated": c.get("updated", 0), "unchanged": c.get("unchanged", 0),
                          "duplicate": c.get("duplicate", 0), "errors": c.get("errors", 0),
                          "skipped_known": c.get("skipped_known", 0)}
                   for site, c in counts.items()}
        from crawler.profiles import resolve_target
        names = [resolve_target(t, options.get("base_url")).name for t in targets]
        failed = failed_sites(names, by_site)
        errors = totals.get("errors", 0)
        status = "failed" if failed and len(failed) == len(names) else ("partial" if errors or failed else "ok")
        if not finished:
            status = "interrupted"
        row = {"pages": totals["pages"], "errors": errors, "articles_new": totals.get("new", 0),
               "articles_updated": totals.get("updated", 0), "articles_unchanged": totals.get("unchanged", 0),
               "duplicates": totals.get("duplicate", 0), "by_site": by_site, "failed_sites": failed,
               "skipped_known": sum(c["skipped_known"] for c in by_site.values()),
               "delivered_again": totals.get("already", 0)}
        archive.finish_crawl(crawl_id, row, status)
        archive.close()
    line = (f"crawl {crawl_id} {status} (distributed run {run_id[:8]}): {row['pages']} fetched, "
            f"{row['articles_new']} new, {row['articles_updated']} updated, {row['articles_unchanged']} unchanged, "
            f"{row['duplicates']} duplicates, {errors} errors"
            + (f", failed: {', '.join(failed)}" if failed else "") + f" -> {db_path}")
    return {**row, "status": status, "crawl_id": crawl_id, "line": line}
