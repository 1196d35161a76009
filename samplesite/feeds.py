"""robots.txt, sitemaps (index, chunks, Google News) and the RSS feed."""

from __future__ import annotations

from xml.sax.saxutils import escape

from . import textgen, timefmt
from . import vocab_ru as ru
from .catalog import TAG_NAMES, Catalog
from .pages import body_of

RSS_ITEMS = 20
NEWS_ITEMS = 10
_SM_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def robots_txt(base: str) -> str:
    return (f"User-agent: *\nDisallow: /search/\nDisallow: /comments/\nDisallow: /admin/\n\n"
            f"User-agent: GPTBot\nDisallow: /\n\nSitemap: {base}/sitemap.xml\n")


def chunk_name(cat: Catalog, k: int) -> str:
    """File name of sitemap chunk k as the index lists it (one chunk is only served gzipped)."""
    return f"sitemap-{k}.xml.gz" if k == cat.gz_chunk else f"sitemap-{k}.xml"


def _news_entries(cat: Catalog):
    return [e for e in reversed(cat.readable) if e.published is not None][:NEWS_ITEMS]


def sitemap_index(cat: Catalog, base: str) -> str:
    rows = []
    for k in range(1, cat.n_chunks + 1):
        entries = cat.chunk(k)
        lastmod = max(e.lastmod for e in entries if e.lastmod is not None)
        rows.append(f"<sitemap><loc>{base}/{chunk_name(cat, k)}</loc><lastmod>{timefmt.w3c(lastmod)}</lastmod></sitemap>")
    news = _news_entries(cat)
    if news:
        rows.append(f"<sitemap><loc>{base}/sitemap-news.xml</loc>"
                    f"<lastmod>{timefmt.w3c(news[0].lastmod or news[0].when)}</lastmod></sitemap>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="{_SM_NS}">\n' + "\n".join(rows) + "\n</sitemapindex>\n")


def sitemap_chunk(cat: Catalog, base: str, k: int) -> str:
    rows = [f"<url><loc>{escape(base + e.path)}</loc><lastmod>{timefmt.w3c(e.lastmod)}</lastmod></url>"
            for e in cat.chunk(k) if e.lastmod is not None]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="{_SM_NS}">\n' + "\n".join(rows) + "\n</urlset>\n")


def news_sitemap(cat: Catalog, base: str) -> str:
    rows = []
    for e in _news_entries(cat):
        assert e.published is not None
        rows.append(
            f"<url><loc>{escape(base + e.path)}</loc><news:news><news:publication>"
            f"<news:name>{escape(ru.SITE_NAME)}</news:name><news:language>ru</news:language></news:publication>"
            f"<news:publication_date>{timefmt.w3c(e.published)}</news:publication_date>"
            f"<news:title>{escape(e.title or '')}</news:title></news:news></url>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="{_SM_NS}" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            + "\n".join(rows) + "\n</urlset>\n")


def rss(cat: Catalog, base: str) -> str:
    """RSS 2.0 of the latest stories; links carry utm tracking parameters, as real feeds do."""
    items = []
    latest = [e for e in reversed(cat.readable) if e.published is not None][:RSS_ITEMS]
    for e in latest:
        assert e.published is not None
        lead = textgen.lead_sentence(body_of(cat, e).paragraphs)
        cats = "".join(f"<category>{escape(TAG_NAMES[t])}</category>" for t in e.tags)
        items.append(
            f"<item><title>{escape(e.title or '')}</title>"
            f"<link>{escape(base + e.path)}?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">steppravda-{e.slug}</guid>'
            f"<description>{escape(lead)}</description>{cats}"
            f"<pubDate>{timefmt.rfc822(e.published)}</pubDate></item>")
    build = timefmt.rfc822(latest[0].published) if latest and latest[0].published else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            f"<title>{escape(ru.SITE_NAME)}</title>\n<link>{base}/</link>\n"
            f"<description>{escape(ru.SITE_SLOGAN)}</description>\n<language>ru</language>\n"
            f"<lastBuildDate>{build}</lastBuildDate>\n"
            f'<atom:link href="{base}/rss.xml" rel="self" type="application/rss+xml"/>\n'
            + "\n".join(items) + "\n</channel>\n</rss>\n")
