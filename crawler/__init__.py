"""News archive crawler: Scrapy spiders + trafilatura extraction + a SQLite archive."""

__version__ = "0.1.0"
