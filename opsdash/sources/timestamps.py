"""The RFC 3339 times the JSON APIs send ("2026-12-02T16:05:05.598324Z"), read
leniently: a map function would rather show a run without a time than fail
the poll over one field. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def rfc3339(value: Any) -> datetime | None:
    """An aware datetime (UTC when the text has no offset); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
