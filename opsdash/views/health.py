"""The health bar's per-source badge.

It names the states by their values (HealthState is a StrEnum) and imports
opsdash.model only for the checkers: the health bar is drawn in the first
frame, before any source has a health, and opsdash.model (every snapshot
dataclass) costs about 15 ms of CPU to import (issue 14).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from opsdash.formatting import human_duration
from opsdash.safetext import literal

if TYPE_CHECKING:
    from opsdash.model import SourceHealth

SOURCE_STYLE = {  # by HealthState's values
    "ok": "green",
    "pending": "cyan",
    "stale": "yellow",
    "error": "red bold",
}


def health_badge(health: SourceHealth, now: datetime, refresh: float | None = None) -> Text:
    """`docker:local ok 2s`: the word says the state, colour only repeats it (NO_COLOR)."""
    text = Text()
    text.append(strip_label(health.label))
    text.append(" ")
    text.append(health.state.value, style=SOURCE_STYLE[health.state])
    if health.state == "ok" and health.message:
        text.append(f" {strip_label(health.message)}", style="dim")  # e.g. rate limit left
    if health.last_ok is not None and refresh is not None:
        # Fresh data needs no age; it appears once a poll is late, so an idle
        # screen stays still (no redraw every second). The next poll ends about
        # `refresh` + its latency after the last one did: a source whose polls
        # take a second (MLflow, 50 models) is not late then, and its age would
        # flash on and off the header at every poll.
        seconds = (now - health.last_ok).total_seconds()
        if seconds > refresh + 1 + 2 * (health.latency_s or 0.0):
            text.append(f" {human_duration(seconds)} ago", style="dim")
    if health.state == "error" and health.next_retry is not None:
        wait = max(0.0, (health.next_retry - now).total_seconds())
        text.append(f" retry {human_duration(wait)}", style="dim")
    return text


def strip_label(value: str) -> str:
    return literal(value).plain
