"""Site-local times and the date formats the sample site prints.

Times are local to Asia/Almaty, whose offset changed from +06:00 to +05:00 on 2024-03-01;
the zone database does the arithmetic so the ground truth carries the right offset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from . import vocab_kk

TZ = ZoneInfo("Asia/Almaty")

RU_MONTHS_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                 "октября", "ноября", "декабря")


def local(naive: datetime) -> datetime:
    """Attach the site zone, moving out of the hour that occurred twice on 2024-02-29.

    A visible date with no offset cannot say which of the two 23:xx it means, so the sample
    site never publishes inside that hour; the truth stays unambiguous.
    """
    dt = naive.replace(tzinfo=TZ, fold=0)
    if dt.utcoffset() != dt.replace(fold=1).utcoffset():
        dt = (naive - timedelta(hours=1)).replace(tzinfo=TZ, fold=0)
    return dt


def ru_visible(dt: datetime) -> str:
    """kazpravda style: «8 мая 2020 г. 12:28» (day and hour without leading zero)."""
    return f"{dt.day} {RU_MONTHS_GEN[dt.month - 1]} {dt.year} г. {dt.hour}:{dt.minute:02d}"


def kk_visible(dt: datetime) -> str:
    """Kazakh edition style: «12 қыркүйек 2025, 14:30»."""
    return f"{dt.day} {vocab_kk.MONTHS[dt.month - 1]} {dt.year}, {dt.hour:02d}:{dt.minute:02d}"


def numeric(dt: datetime) -> str:
    """Comment timestamps: «13.09.2025 10:12»."""
    return dt.strftime("%d.%m.%Y %H:%M")


def w3c(dt: datetime) -> str:
    """Sitemap lastmod / JSON-LD value with offset: 2025-09-12T14:05:00+05:00."""
    return dt.isoformat(timespec="seconds")


def rfc822(dt: datetime) -> str:
    """RSS pubDate: «Fri, 12 Sep 2025 14:05:00 +0500»."""
    return format_datetime(dt)
