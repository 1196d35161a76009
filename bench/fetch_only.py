"""The fetching limit: a Scrapy spider that reads a site's sitemaps and downloads every page
they list, with the same concurrency as the benchmark crawl, and does nothing else.

    python -m bench.fetch_only http://127.0.0.1:PORT [--concurrency 16]

Prints one JSON line: pages downloaded and bytes received.
"""

from __future__ import annotations

import argparse
import json
import sys

from scrapy.crawler import CrawlerProcess
from scrapy.spiders import SitemapSpider


class FetchOnlySpider(SitemapSpider):
    name = "fetch_only"
    sitemap_rules = [("", "parse_page")]

    def parse_page(self, response):
        self.crawler.stats.inc_value("bench/pages")
        self.crawler.stats.inc_value("bench/bytes", len(response.body))
        return ()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fetch_only", description=__doc__)
    parser.add_argument("url", help="site root, e.g. http://127.0.0.1:8000")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    process = CrawlerProcess({
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "CONCURRENT_ITEMS": 4,  # as the project sets it (crawler/settings.py)
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    })
    crawler = process.create_crawler(FetchOnlySpider)
    process.crawl(crawler, sitemap_urls=[args.url.rstrip("/") + "/robots.txt"])
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({"pages": stats.get("bench/pages", 0), "bytes": stats.get("bench/bytes", 0),
                      "responses": stats.get("response_received_count", 0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

