"""Timestamp helpers: every stored instant is an ISO 8601 UTC string with seconds precision.

One textual form ("2025-09-12T09:05:00+00:00") everywhere lets SQLite compare and sort
timestamps as plain strings (``MIN``/``MAX``, ``ORDER BY``) without date functions.
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["utc_now", "to_utc_iso"]


def utc_now() -> str:
    """Return the current time as ``YYYY-MM-DDTHH:MM:SS+00:00``."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def to_utc_iso(value: str | datetime) -> str:
    """Normalise an instant to ``YYYY-MM-DDTHH:MM:SS+00:00``.

    Accepts an ISO 8601 string (``Z`` and any offset allowed) or a ``datetime``.
    Values without an offset are taken as UTC: fetch and crawl times come from the
    crawler's clock, which the project treats as UTC.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from exc
    else:
        raise TypeError(f"expected str or datetime, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()
