"""Re-run extraction over the raw pages stored in the archive, without re-crawling.

Useful after an extractor upgrade or a date-rule fix: every stored page body is decoded and
extracted again, and its article row updated (or created, for pages that failed before).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timezone

from crawler.items import FetchedPage
from crawler.neardup import DEFAULT_THRESHOLD, NearDupIndexer
from crawler.page import CLASSIFIER, NOT_AN_ARTICLE, check_fetch, process_fetched
from crawler.profiles import SiteProfile, bundled_profiles, generic_profile, profile_from_record

logger = logging.getLogger(__name__)


def reextract_archive(archive, *, site: str | None = None,
                      neardup_threshold: float | None = DEFAULT_THRESHOLD,
                      progress=None) -> dict[str, int]:
    """Extract every stored page again; return counts by outcome.

    ``progress``: called with 1 after each page (crawler.progress.work_progress).
    Changed texts are re-indexed for near-duplicates at once (threshold None: leave it to
    the next crawl's catch-up).
    """
    bundled = bundled_profiles()
    by_crawl: dict[int | None, dict[str, SiteProfile]] = {}
    neardup = NearDupIndexer(archive, neardup_threshold) if neardup_threshold else None
    counts: Counter[str] = Counter()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # iter_pages reads in batches and keeps no cursor open, so writing while iterating is fine.
    for row in archive.iter_pages(with_errors=True, site=site):
        if progress is not None:
            progress(1)
        body = row["body"]
        if body is None:
            counts["no body"] += 1
            continue
        page_site = row["site"]
        url = row.get("final_url") or row["url"]
        crawl_id = row.get("crawl_id")
        if crawl_id not in by_crawl:
            by_crawl[crawl_id] = _crawl_profiles(archive, crawl_id)
        # The profile the page was crawled with; for crawls that recorded none (archives
        # older than crawls.profiles), the bundled one of that name.
        profile = (by_crawl[crawl_id].get(page_site) or bundled.get(page_site)) if page_site else None
        if profile is None:
            profile = generic_profile(url)
        page = FetchedPage(url=row["url"], final_url=url, site=page_site or profile.name,
                           fetched_at=row["fetched_at"], status=row["status"],
                           content_type=row.get("content_type"), body=body)
        problem = check_fetch(page)
        if problem:
            counts["skipped"] += 1
            continue
        # A candidate of discovery by content that the classifier called no article is
        # judged again, never stored as an article unasked.
        was_not_article = (row.get("error") or "").startswith(NOT_AN_ARTICLE)
        outcome = process_fetched(page, profile, CLASSIFIER if was_not_article else None)
        if was_not_article and outcome.article is None and outcome.kind not in (None, "article"):
            counts["not articles"] += 1
            continue
        if outcome.article is None:
            counts["failed"] += 1
            logger.warning("re-extraction failed for %s: %s", url, outcome.error)
            continue
        result = archive.store_article(outcome.article, page_id=row["id"], crawl_id=row.get("crawl_id"), seen_at=now)
        counts[result.status] += 1
        if neardup and result.status in ("new", "updated", "duplicate"):
            neardup.index(result.id)
    return dict(counts)


def _crawl_profiles(archive, crawl_id: int | None) -> dict[str, SiteProfile]:
    profiles = {}
    for name, record in archive.crawl_profiles(crawl_id).items():
        try:
            profiles[name] = profile_from_record(record)
        except (KeyError, TypeError) as exc:  # a record this code cannot read: say so, go on
            logger.warning("crawl %s: profile %s unreadable (%s); using the bundled or generic one",
                           crawl_id, name, exc)
    return profiles
