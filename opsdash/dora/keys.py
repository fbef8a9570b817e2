"""The four DORA keys over a window of local dates, overall and per service.

Puts the keys together: each deploy's outcome (failures), lead times,
frequency and the levels, over the last `days` dates and the `days` before
them for the trend. Pure: the caller (opsdash.dora.source) reads the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from opsdash.dora.failures import (
    FAILURE_WINDOW,
    Outcome,
    change_failure_rate,
    classify,
    median_recovery_time,
)
from opsdash.dora.frequency import Frequency, deployment_frequency
from opsdash.dora.lead_time import LeadTime, lead_times, median_lead_time
from opsdash.dora.levels import cfr_level, lead_time_level, recovery_level
from opsdash.dora.records import Change, Deploy, HealthIssue, as_utc, local_date, zone


@dataclass(frozen=True, slots=True)
class Keys:
    """The four keys of one service (or all: service None) over local dates
    `first`..`last`. Values are None where nothing defines them, and their level
    is then "no data"."""

    service: str | None
    first: date
    last: date
    frequency: Frequency
    lead_time: timedelta | None
    lead_time_level: str
    changes: int  # changes deployed in the window (lead-time samples)
    change_failure_rate: float | None
    cfr_level: str
    failed: int
    recovery_time: timedelta | None
    recovery_level: str
    recovered: int
    ongoing: int  # failed deploys not recovered yet, left out of the median

    @property
    def deploys(self) -> int:
        return self.frequency.deploys


@dataclass(frozen=True, slots=True)
class KeysReport:
    """The keys over the last `days` dates and the `days` dates before, for the trend."""

    current: Keys
    previous: Keys
    days: int


def window_dates(now: datetime, days: int, tz: tzinfo | None = None) -> tuple[date, date]:
    """The window of `days` local calendar dates ending with today (today counts
    as a day, up to `now`)."""
    if days < 1:
        raise ValueError(f"a window needs at least one day: {days}")
    tz = zone(now, tz)
    today = local_date(as_utc(now, "now"), tz)
    return today - timedelta(days=days - 1), today


def _window_keys(
    service: str | None,
    outcomes: Sequence[Outcome],
    leads: Sequence[LeadTime],
    first: date,
    last: date,
    tz: tzinfo,
) -> Keys:
    def inside(d: Deploy) -> bool:
        return (service is None or d.service == service) and first <= local_date(d.at, tz) <= last

    outs = [o for o in outcomes if inside(o.deploy)]
    window_leads = [lead for lead in leads if inside(lead.deploy)]
    lead = median_lead_time(window_leads)
    cfr = change_failure_rate(outs)
    recovery = median_recovery_time(outs)
    return Keys(
        service=service,
        first=first,
        last=last,
        frequency=deployment_frequency([o.deploy for o in outs], first, last, tz),
        lead_time=lead,
        lead_time_level=lead_time_level(lead),
        changes=len(window_leads),
        change_failure_rate=cfr,
        cfr_level=cfr_level(cfr),
        failed=sum(o.failed for o in outs),
        recovery_time=recovery,
        recovery_level=recovery_level(recovery),
        recovered=sum(o.recovery is not None for o in outs),
        ongoing=sum(o.ongoing for o in outs),
    )


def _report(
    service: str | None,
    outcomes: Sequence[Outcome],
    leads: Sequence[LeadTime],
    now: datetime,
    days: int,
    tz: tzinfo,
) -> KeysReport:
    first, last = window_dates(now, days, tz)
    before_last = first - timedelta(days=1)
    before_first = before_last - timedelta(days=days - 1)
    return KeysReport(
        current=_window_keys(service, outcomes, leads, first, last, tz),
        previous=_window_keys(service, outcomes, leads, before_first, before_last, tz),
        days=days,
    )


def _prepare(deploys, changes_by_version, issues, now, failure_window):
    known = [d for d in deploys if d.at <= as_utc(now, "now")]
    outcomes = classify(known, issues, failure_window, now)
    return known, outcomes, lead_times(known, changes_by_version)


def compute_keys(
    deploys: Iterable[Deploy],
    changes_by_version: Mapping[str, Sequence[Change]],
    issues: Iterable[HealthIssue],
    now: datetime,
    days: int = 30,
    tz: tzinfo | None = None,
    failure_window: timedelta = FAILURE_WINDOW,
) -> KeysReport:
    """The four keys over all services, for the last `days` local dates and the
    `days` before them.

    Deploys belong to a window by their local date in `tz` (default: now's
    zone; pass a ZoneInfo, not a fixed offset, to get DST right). Their outcome
    and recovery use everything known at `now`, so a failure deployed in the
    previous window and recovered in this one has its recovery time. Pass the
    whole history: a change counts at its first deploy, a failure is recovered
    by a later one.
    """
    tz = zone(now, tz)
    _, outcomes, leads = _prepare(deploys, changes_by_version, issues, now, failure_window)
    return _report(None, outcomes, leads, now, days, tz)


def per_service(
    deploys: Iterable[Deploy],
    changes_by_version: Mapping[str, Sequence[Change]],
    issues: Iterable[HealthIssue],
    now: datetime,
    days: int = 30,
    tz: tzinfo | None = None,
    failure_window: timedelta = FAILURE_WINDOW,
) -> dict[str, KeysReport]:
    """`compute_keys` for each service with a deploy up to `now`, by name.

    DORA measures per service; the overall keys pool the services' deploys."""
    tz = zone(now, tz)
    known, outcomes, leads = _prepare(deploys, changes_by_version, issues, now, failure_window)
    return {
        service: _report(service, outcomes, leads, now, days, tz)
        for service in sorted({d.service for d in known})
    }
