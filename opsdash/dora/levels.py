"""The DORA 2024 levels (Accelerate State of DevOps Report 2024) of each key's value.

A value gets the best level whose bound it meets; the bands are data, the
functions say where the published clusters overlap and what follows.
"""

from __future__ import annotations

from datetime import timedelta

LEVELS = ("elite", "high", "medium", "low")  # the DORA 2024 levels, best first
NO_DATA = "no data"
MONTH_DAYS = 30  # the month of per-month rates and of the lead-time band

# Best level first; see the *_level functions.
LEAD_TIME_BANDS = (
    ("elite", timedelta(days=1)),
    ("high", timedelta(days=7)),
    ("medium", timedelta(days=MONTH_DAYS)),
)
CFR_BANDS = (("elite", 0.05), ("high", 0.20), ("medium", 0.10))
RECOVERY_BANDS = (
    ("elite", timedelta(hours=1)),
    ("high", timedelta(days=1)),
    ("medium", timedelta(days=1)),
)


def lead_time_level(value: timedelta | None) -> str:
    """DORA 2024 level: elite < 1 day, high < 1 week, medium < 1 month (30 days),
    else low."""
    if value is None:
        return NO_DATA
    return next((name for name, bound in LEAD_TIME_BANDS if value < bound), "low")


def cfr_level(rate: float | None) -> str:
    """DORA 2024 level: elite <= 5%, high <= 20%, else low.

    The 2024 medium cluster's rate (10%) is below the high cluster's (20%), so
    "the best level whose value the rate meets" never reaches medium: a rate
    meeting 10% already meets 20%. That keeps the level monotonic (a lower rate
    never gets a worse level).
    """
    if rate is None:
        return NO_DATA
    return next((name for name, bound in CFR_BANDS if rate <= bound), "low")


def recovery_level(value: timedelta | None) -> str:
    """DORA 2024 level: elite < 1 hour, high < 1 day, else low.

    The 2024 high and medium clusters both recover in under a day, so medium is
    never reached; 1 day to 1 week (between the medium and low bands) is low.
    """
    if value is None:
        return NO_DATA
    return next((name for name, bound in RECOVERY_BANDS if value < bound), "low")


def frequency_level(per_day: float | None) -> str:
    """DORA 2024 level: elite more than once a day (on demand), high at least
    weekly, medium at least monthly (30 days), else low. None: no data."""
    if per_day is None:
        return NO_DATA
    if per_day > 1:
        return "elite"
    if per_day * 7 >= 1:
        return "high"
    if per_day * MONTH_DAYS >= 1:
        return "medium"
    return "low"
