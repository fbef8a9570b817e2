"""Deployment frequency: deploys per calendar day, week and month, and the panel's
per-day bars.

Days are local calendar dates in the caller's zone (a DST day is still one
day); the Four Keys bucket comes from the median week and month.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from opsdash.dora.levels import MONTH_DAYS, NO_DATA, frequency_level
from opsdash.dora.records import Deploy, as_utc, calendar_dates, local_date, median, zone

BUCKETS = ("daily", "weekly", "monthly", "yearly")  # Four Keys deployment frequency


@dataclass(frozen=True, slots=True)
class Frequency:
    """Deployment frequency over the calendar dates `first`..`last` (inclusive).

    `bucket` is the Four Keys answer (daily, weekly, monthly, yearly); `level`
    the DORA 2024 level from the average rate. Without a deploy both are unknown
    (None, "no data"): zero deploys seen cannot tell a service that never ships
    from one whose deploys opsdash is not told about.
    """

    first: date
    last: date
    days: int
    deploys: int
    deploy_days: int
    per_day: float
    per_week: float
    per_month: float
    bucket: str | None
    level: str


def _periods(dates: list[date], key, length) -> list[object]:
    """The weeks or months to take the median over: those with more than half
    their days in the window (a window cut mid-week keeps the larger piece); if
    none has, every one it touches."""
    inside: dict[object, int] = defaultdict(int)
    for d in dates:
        inside[key(d)] += 1
    chosen = [p for p, n in inside.items() if 2 * n > length(p)]
    return chosen or list(inside)


def _week(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _month(d: date) -> tuple[int, int]:
    return (d.year, d.month)


def _month_length(month: tuple[int, int]) -> int:
    return calendar.monthrange(*month)[1]


def deployment_frequency(
    deploys: Iterable[Deploy], start: date, end: date, tz: tzinfo = UTC
) -> Frequency:
    """Deploys on the local calendar dates `start`..`end` (both included) in `tz`.

    Every deploy counts, whatever its result: DORA counts deployments to
    production, and the change failure rate divides by the same number.
    per_day is deploys / calendar days (a DST day is still one day); per_week
    is 7 x per_day and per_month 30 x per_day.

    Four Keys bucket: "daily" if the median week (Monday to Sunday in `tz`) has
    a deploy on >= 3 days, "weekly" if the median week has >= 1 deploy,
    "monthly" if the median calendar month has >= 1, else "yearly". Only weeks
    and months with more than half their days in the window take part, so a
    partial week at an edge does not drag the median down; a window holding no
    such week (or month) uses all the ones it touches.
    """
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    dates = calendar_dates(start, end)
    on: dict[date, int] = defaultdict(int)
    for d in deploys:
        day = local_date(d.at, tz)
        if start <= day <= end:
            on[day] += 1
    count = sum(on.values())
    per_day = count / len(dates)
    bucket = None
    if count:
        weeks = _periods(dates, _week, lambda _w: 7)
        days_in_week = [sum(1 for day in on if _week(day) == w) for w in weeks]
        deploys_in_week = [sum(n for day, n in on.items() if _week(day) == w) for w in weeks]
        months = _periods(dates, _month, _month_length)
        deploys_in_month = [sum(n for day, n in on.items() if _month(day) == m) for m in months]
        if median(days_in_week) >= 3:
            bucket = "daily"
        elif median(deploys_in_week) >= 1:
            bucket = "weekly"
        elif median(deploys_in_month) >= 1:
            bucket = "monthly"
        else:
            bucket = "yearly"
    return Frequency(
        first=start,
        last=end,
        days=len(dates),
        deploys=count,
        deploy_days=len(on),
        per_day=per_day,
        per_week=7 * per_day,
        per_month=MONTH_DAYS * per_day,
        bucket=bucket,
        level=frequency_level(per_day) if count else NO_DATA,
    )


def deploys_per_day(
    deploys: Iterable[Deploy], now: datetime, days: int = 30, tz: tzinfo | None = None
) -> list[tuple[date, int]]:
    """(date, deploys) for the `days` local dates ending today, oldest first, for
    the panel's bar chart; dates without a deploy are there with 0. Deploys
    after `now` are not known yet. `tz` defaults to now's."""
    if days < 1:
        raise ValueError(f"a chart needs at least one day: {days}")
    tz = zone(now, tz)
    now = as_utc(now, "now")
    today = local_date(now, tz)
    first = today - timedelta(days=days - 1)
    counts = dict.fromkeys(calendar_dates(first, today), 0)
    for d in deploys:
        day = local_date(d.at, tz)
        if d.at <= now and day in counts:
            counts[day] += 1
    return list(counts.items())
