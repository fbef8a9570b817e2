"""Human-readable numbers shared by the CLI tables and the widgets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def human_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}TiB"


def human_duration(seconds: float | None) -> str:
    """Compact durations: 45s, 12m, 3h05m, 2d04h."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


_shown_moment: datetime | None = None  # set while replaying: the recorded time on screen


def shown_now() -> datetime:
    """What "now" is on screen: the replayed moment while replaying (so "3m ago"
    is counted from the time shown, as live showed it), else the clock."""
    return _shown_moment or datetime.now().astimezone()


def show_moment(at: datetime | None) -> None:
    """Replay sets the moment it shows (None: back to live)."""
    global _shown_moment
    _shown_moment = at


def age(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "-"
    now = now or shown_now()
    return human_duration((now - moment).total_seconds())


def _step(seconds: float) -> int:
    """The granularity `human_duration` shows `seconds` at."""
    if seconds < 3600:
        return 1 if seconds < 60 else 60
    return 60 if seconds < 86400 else 3600


def next_age_change(moments: Iterable[datetime | None], now: datetime) -> datetime | None:
    """The soonest instant after `now` at which `age(moment)` of any of `moments`
    reads differently; None without a moment.

    Why: a panel whose cells show ages need not redraw them every second, only
    when one of them changes at the granularity it is shown at ("45s", then
    "12m" once a minute, "2d04h" once an hour)."""
    soonest: datetime | None = None
    for moment in moments:
        if moment is None:
            continue
        seconds = (now - moment).total_seconds()
        if seconds < 0:  # not yet: reads "0s" until then
            due = moment + timedelta(seconds=1)
        else:
            step = _step(seconds)
            due = moment + timedelta(seconds=(int(seconds) // step + 1) * step)
        if soonest is None or due < soonest:
            soonest = due
    return soonest


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 12) -> str:
    """The last `width` values as block characters, scaled to their own range."""
    points = [v for v in values if v == v][-width:]  # drop NaN
    if not points:
        return ""
    low, high = min(points), max(points)
    span = high - low
    if span == 0:
        return SPARK_BLOCKS[3] * len(points)
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - low) / span * top)] for v in points)


def metric_value(value: float | None) -> str:
    """Metric values: 4 significant digits, `-` when missing or NaN."""
    if value is None or value != value:
        return "-"
    return f"{value:.4g}"
