"""Scrapy settings for the news archive crawler.

Polite by default: robots.txt obeyed, AutoThrottle on, a few concurrent requests per
domain, an honest User-Agent.  Everything here can be overridden per run
(``crawler crawl --set KEY=VALUE``) or per site profile (its ``[settings]`` table).
"""

from crawler import __version__
from crawler.neardup import DEFAULT_THRESHOLD

BOT_NAME = "news-archive-crawler"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
# The spider `crawler crawl` runs, by name (found in SPIDER_MODULES).
CRAWL_SPIDER = "news"

USER_AGENT = (
    f"news-archive-crawler/{__version__} (research archive; "
    "+https://example.org/news-archive-crawler; contact: crawler-admin@example.org)"
)
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"
# robots.txt Crawl-delay is honoured (crawler/crawl_delay.py) up to this many seconds (0: no cap).
ROBOTSTXT_CRAWL_DELAY_MAX = 30.0

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# A sitemap index's sitemaps are fetched one at a time per site, the next one when fewer than
# this many of the site's article requests wait in the scheduler: memory then holds about one
# sitemap's worth of requests, not a whole large site's. 0: every sitemap at once.
SITEMAP_NEXT_BELOW = 32

# The persistent frontier (crawler/frontier.py), on by default: discovered requests wait in the
# archive file, FRONTIER_BUFFER of them in memory; a killed crawl resumes from it. False:
# Scrapy's own in-memory queues, with the sitemaps of an index paced by SITEMAP_NEXT_BELOW.
FRONTIER_ENABLED = True
FRONTIER_BUFFER = 64
FRONTIER_DISCOVERY_INFLIGHT = 1  # sitemaps, feeds and listings being fetched at once
FRONTIER_MAX_OUT = 64  # requests leased and not yet done (downloading, extracting, storing)
# Distributed mode (crawler/distributed.py): a worker silent this long loses its leases.
FRONTIER_LEASE_SECONDS = 120

DOWNLOAD_TIMEOUT = 30
# Pages larger than this are not news articles; the cap protects memory.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
# Retries wait: Retry-After on 429/503 (up to RETRY_AFTER_MAX s, beyond it the page is given up),
# otherwise exponential backoff RETRY_BACKOFF_BASE * 2**(n-1) s, at most RETRY_BACKOFF_MAX s.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.PoliteRetryMiddleware": 550,
    # Only http(s), and redirects stay on the site's allowed domains (before robots.txt, 100).
    "crawler.scope.ScopeMiddleware": 50,
    # robots.txt Crawl-delay holds the site's download slot (below HttpCompressionMiddleware).
    "crawler.crawl_delay.CrawlDelayMiddleware": 90,
    # Above every response-side middleware: sees bodies before decompression (see the module).
    "crawler.warc_capture.WarcCaptureMiddleware": 890,
    # Scrapy's, reading a page's first 16 KB for its meta refresh instead of decoding it all.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.meta_refresh.HeadMetaRefreshMiddleware": 580,
}
# The profiles' DOWNLOAD_DELAY / CONCURRENT_REQUESTS_PER_DOMAIN become DOWNLOAD_SLOTS entries.
ADDONS = {
    "crawler.site_settings.SiteSlotsAddon": 0,
    # FRONTIER_ENABLED switches the persistent frontier's scheduler and middlewares on.
    "crawler.frontier.FrontierAddon": 0,
    # Scrapy components switched off here are not even imported (a faster start).
    "crawler.lean_start.LeanStartAddon": 0,
}
# Sitemaps and feeds are checked before parsing: gzip bombs refused, entities/invalid XML reported.
SPIDER_MIDDLEWARES = {
    "crawler.middlewares.DiscoveryCheckMiddleware": 60,
    "crawler.warc_capture.WarcLinkMiddleware": 70,
    # Article requests leaving the spider: known and unchanged URLs dropped, then --limit.
    "crawler.known_urls.KnownUrlMiddleware": 920,
    "crawler.known_urls.SiteLimitMiddleware": 910,
}
# The spider logs every page given up as one WARNING with its reason (and pages.error has
# it): Scrapy's own "Gave up retrying" line would repeat it at ERROR, even under --quiet.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
RETRY_AFTER_MAX = 300
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 60

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# Per-site progress (crawler/progress.py): a live table on a terminal, else a log line
# every PROGRESS_INTERVAL seconds. PROGRESS_LIVE None: live when stderr is a terminal.
EXTENSIONS = {"crawler.progress.CrawlProgress": 500}
# Scrapy's remote control runs code sent over HTTP and writes a job file in the user's home:
# not for a cron job (crawler/lean_start.py also skips importing it).
REMOTE_CONTROL_ENABLED = False
PROGRESS_ENABLED = True
PROGRESS_INTERVAL = 30
PROGRESS_LIVE = None

ITEM_PIPELINES = {
    "crawler.pipelines.extraction.ExtractionPipeline": 300,
    "crawler.pipelines.storage.ArchivePipeline": 800,
}

# Project settings (read through crawler.settings / from_crawler, never imported directly).
ARCHIVE_PATH = "archive.db"
# Store each fetched page body (zstd-compressed) so `crawler reextract` can work offline.
ARCHIVE_STORE_BODIES = True
# Pages are stored in batches, one transaction each: this many pages, or what arrived within
# this many seconds. A crawl killed with kill -9 loses at most that batch (fetched again by
# the next run); never half a page.
ARCHIVE_BATCH_SIZE = 32
ARCHIVE_BATCH_SECONDS = 1.0
CRAWL_TARGETS = []  # set by the CLI: list of profile names, profile files or URLs
CRAWL_BASE_URL = None  # crawl profiles against a mirror / local copy
CRAWL_SINCE = None  # ISO date: skip sitemap/feed entries older than this
CRAWL_LIMIT = 0  # article pages per site, 0 = no limit
CRAWL_REFRESH = False  # re-fetch known articles even when nothing says they changed
CRAWL_RECHECK_DAYS = 0  # re-fetch known articles published in the last N days
# Discovery by content on sites without an article URL pattern (crawler/discovery.py): how
# many links away from a start page candidates are fetched (0 turns it off), and at most
# how many candidate pages per site.
DISCOVERY_DEPTH = 5
DISCOVERY_MAX_PAGES = 1000
# Near-duplicates (crawler/neardup.py): estimated Jaccard similarity of word 5-gram shingles a
# pair needs to be linked through articles.near_duplicate_of (measured: bench/README-neardup.md).
NEARDUP_ENABLED = True
NEARDUP_THRESHOLD = DEFAULT_THRESHOLD

# Scrapy starts this many asyncio tasks for every response's output, and an article response
# yields one item: Scrapy's default of 100 costs crawl-process CPU for nothing
# (bench/README-crawl.md).
CONCURRENT_ITEMS = 4
# Scrapy's check of callbacks for generators that return a value caches by bound method,
# which is made anew for every response: it read the callback's source and parsed it again
# on every page. tests/test_crawl_overhead.py makes the same check on the spider once.
WARN_ON_GENERATOR_RETURN_VALUE = False

# Extraction runs in worker processes so it neither blocks the reactor nor stays on one core.
EXTRACTION_WORKERS = None  # None: one per usable core; 0: extract in the crawl process
EXTRACTION_TIMEOUT = 120  # seconds one page may take before its worker is killed (0: no limit)
EXTRACTION_MAX_PENDING = 0  # pages handed to the pool at once; 0: 2 per worker
EXTRACTION_MAX_TASKS = 1000  # pages per worker process before it is replaced (0: never)

# WARC capture (crawler/warc_capture.py): a directory turns it on (crawler crawl --warc DIR);
# a file is closed and the next one started once it passes WARC_MAX_SIZE bytes.
WARC_DIR = None
WARC_MAX_SIZE = 1_000_000_000
