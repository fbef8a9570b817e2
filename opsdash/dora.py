"""The four DORA keys, computed from events opsdash already records.

Pure functions over plain frozen records: no I/O, no UI, no store. The caller
reads deploys, commits and health history, builds the records below and draws
the results. docs/dora.md says which events feed each record and why each rule
is what it is; the docstrings here give the short reason next to the code.

Instants are stored in UTC: Python compares and subtracts two datetimes that
share one tzinfo by wall clock, which is wrong by an hour across a DST change.
Days, weeks and months are calendar ones in the time zone the caller passes, so
a day is 23 or 25 hours long when the clocks change.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

RESULTS = ("success", "failed", "rolled back")
KINDS = ("app", "model")
LEVELS = ("elite", "high", "medium", "low")  # the DORA 2024 levels, best first
NO_DATA = "no data"
BUCKETS = ("daily", "weekly", "monthly", "yearly")  # Four Keys deployment frequency
FAILURE_WINDOW = timedelta(hours=1)
MONTH_DAYS = 30  # the month of per-month rates and of the lead-time band

# DORA 2024 bands (Accelerate State of DevOps Report 2024), best level first.
# A value gets the best level whose bound it meets; see the *_level functions.
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


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC)


def _zone(now: datetime, tz: tzinfo | None) -> tzinfo:
    """The caller's zone, else now's (which must be aware)."""
    _utc(now, "now")
    return tz or now.tzinfo  # type: ignore[return-value]


# --- records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deploy:
    """One deployment of an app or a model version to an environment.

    `result` is the deployment's own outcome: "failed" (it did not complete) or
    "rolled back" (it was reverted while being rolled out, e.g. opsdash restored
    the old container). Every result counts as a deployment; see docs/dora.md.
    """

    service: str
    at: datetime  # aware; stored in UTC
    version: str  # commit sha, image digest or model version
    result: str = "success"
    kind: str = "app"
    environment: str = "production"
    source: str = ""  # what recorded it: container-redeploy, container-rollback, github:api, ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _utc(self.at, "Deploy.at"))
        if self.result not in RESULTS:
            raise ValueError(f"Deploy.result must be one of {RESULTS}: {self.result!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Deploy.kind must be one of {KINDS}: {self.kind!r}")

    @property
    def rollback(self) -> bool:
        """A deliberate rollback (opsdash's rollback action, a Swarm or model
        rollback): it says the deploy before it needed immediate intervention."""
        return self.source == "rollback" or self.source.endswith("-rollback")


@dataclass(frozen=True, slots=True)
class Change:
    """A commit, for lead time: from `committed_at` to its first successful deploy."""

    sha: str
    committed_at: datetime  # aware; stored in UTC
    service: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "committed_at", _utc(self.committed_at, "Change.committed_at"))


@dataclass(frozen=True, slots=True)
class HealthIssue:
    """A stretch of failed health of a service, or a model-metric breach.

    opsdash has no incident tracker: these stand in for Four Keys' incidents.
    `end` None means it is still going on.
    """

    service: str
    start: datetime  # aware; stored in UTC
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "HealthIssue.start"))
        if self.end is not None:
            object.__setattr__(self, "end", _utc(self.end, "HealthIssue.end"))
            if self.end < self.start:
                raise ValueError(f"HealthIssue ends before it starts: {self!r}")


def _deploy_key(d: Deploy) -> tuple:
    """A total order, so equal inputs in any order give equal results (deploys
    in the same second included)."""
    return (d.at, d.service, d.version, d.result, d.kind, d.environment, d.source)


# --- failures and recovery ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one deploy.

    `reason` is "" (it did not fail), "failed" or "rolled back" (its result),
    "health" (a health issue started within the failure window after it) or
    "rollback" (the next deploy of the service rolled it back), the first that
    applies.
    """

    deploy: Deploy
    reason: str = ""
    failed_at: datetime | None = None  # when the failure began
    recovered_at: datetime | None = None  # None while failed and not recovered

    @property
    def failed(self) -> bool:
        return bool(self.reason)

    @property
    def ongoing(self) -> bool:
        return self.failed and self.recovered_at is None

    @property
    def recovery(self) -> timedelta | None:
        if self.failed_at is None or self.recovered_at is None:
            return None
        return self.recovered_at - self.failed_at


def _as_of(
    deploys: Iterable[Deploy], issues: Iterable[HealthIssue], now: datetime | None
) -> tuple[list[Deploy], list[HealthIssue]]:
    """What was known at `now`: later deploys and issues do not exist yet, and an
    issue that ends after `now` is still going on."""
    if now is None:
        return list(deploys), list(issues)
    now = _utc(now, "now")
    known = [d for d in deploys if d.at <= now]
    seen = [
        HealthIssue(i.service, i.start, i.end if i.end is not None and i.end <= now else None)
        for i in issues
        if i.start <= now
    ]
    return known, seen


def classify(
    deploys: Iterable[Deploy],
    issues: Iterable[HealthIssue] = (),
    failure_window: timedelta = FAILURE_WINDOW,
    now: datetime | None = None,
) -> list[Outcome]:
    """Each deploy's outcome, in time order (see `Outcome` for the reasons).

    A health issue is blamed on the last deploy of its service that started at
    most `failure_window` before it, and only if no other deploy of the service
    came in between: a later deploy is the likelier cause. A failed deploy is
    recovered at the earlier of the next deploy of the service that did not fail
    (a fix, or the rollback) and the end of its health issues (all of them);
    without either it is ongoing.
    """
    known, seen = _as_of(deploys, issues, now)
    by_service: dict[str, list[Deploy]] = defaultdict(list)
    for d in sorted(known, key=_deploy_key):
        by_service[d.service].append(d)
    issues_of: dict[str, list[HealthIssue]] = defaultdict(list)
    for issue in sorted(seen, key=lambda x: (x.start, x.end is None, x.end or x.start)):
        issues_of[issue.service].append(issue)
    starts_of = {service: [x.start for x in xs] for service, xs in issues_of.items()}

    outcomes: list[Outcome] = []
    for service, ds in by_service.items():
        blamed: list[list[HealthIssue]] = []
        reasons: list[str] = []
        for i, d in enumerate(ds):
            nxt = ds[i + 1] if i + 1 < len(ds) else None
            # issues starting in [d.at, d.at + failure_window] and before nxt
            until = d.at + failure_window
            starts = starts_of.get(service, [])
            lo, hi = bisect_left(starts, d.at), bisect_right(starts, until)
            hits = [x for x in issues_of[service][lo:hi] if nxt is None or x.start < nxt.at]
            blamed.append(hits)
            if d.result != "success":
                reasons.append(d.result)
            elif hits:
                reasons.append("health")
            elif nxt is not None and nxt.rollback:
                reasons.append("rollback")
            else:
                reasons.append("")
        for i, d in enumerate(ds):
            reason, hits = reasons[i], blamed[i]
            if not reason:
                outcomes.append(Outcome(d))
                continue
            # a deploy that failed by itself failed when it was made; otherwise
            # the first health issue is when the failure showed
            failed_at = min(x.start for x in hits) if hits and d.result == "success" else d.at
            ends: list[datetime] = []
            fix = next((ds[j] for j in range(i + 1, len(ds)) if not reasons[j]), None)
            if fix is not None:
                ends.append(fix.at)
            if hits and all(x.end is not None for x in hits):
                ends.append(max(x.end for x in hits if x.end is not None))
            recovered_at = max(min(ends), failed_at) if ends else None
            outcomes.append(Outcome(d, reason, failed_at, recovered_at))
    outcomes.sort(key=lambda o: _deploy_key(o.deploy))
    return outcomes


# --- lead time ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadTime:
    """One change and the first successful deploy of its service that contained it."""

    change: Change
    deploy: Deploy

    @property
    def time(self) -> timedelta:
        return self.deploy.at - self.change.committed_at


def lead_times(
    deploys: Iterable[Deploy], changes_by_version: Mapping[str, Sequence[Change]]
) -> list[LeadTime]:
    """Commit-to-production time of every change, in deploy order.

    `changes_by_version` maps a deployed version to the commits it contains that
    its predecessor did not (the caller asks git). Only deploys whose result is
    "success" count: a failed or rolled-back one did not bring the change to
    production. A change counts once, at the first such deploy of its service,
    so a rollback to an old version or a redeploy adds nothing; pass the whole
    history, not just the window. Differences <= 0 (clock skew, commits made
    by the deploy itself) are left out, as Four Keys does.
    """
    seen: set[tuple[str, str]] = set()
    out: list[LeadTime] = []
    for d in sorted((d for d in deploys if d.result == "success"), key=_deploy_key):
        # By sha, then the earliest time: the same sha given twice keeps one answer.
        ordered = sorted(
            changes_by_version.get(d.version, ()), key=lambda c: (c.sha, c.committed_at)
        )
        for change in ordered:
            key = (change.service, change.sha)
            if change.service != d.service or key in seen:
                continue
            seen.add(key)
            if d.at > change.committed_at:
                out.append(LeadTime(change, d))
    return out


# --- medians, rates and levels ------------------------------------------------


def _median(values: Sequence):
    """The middle value; the mean of the two middle ones for an even count."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return ordered[mid - 1] + (ordered[mid] - ordered[mid - 1]) / 2


def median_lead_time(leads: Iterable[LeadTime]) -> timedelta | None:
    """DORA's change lead time (a median, as Four Keys reports it); None without changes."""
    return _median([lead.time for lead in leads])


def change_failure_rate(outcomes: Iterable[Outcome]) -> float | None:
    """Failed deploys / all deploys, in 0..1; None without deploys."""
    outs = list(outcomes)
    if not outs:
        return None
    return sum(o.failed for o in outs) / len(outs)


def median_recovery_time(outcomes: Iterable[Outcome]) -> timedelta | None:
    """Median failed-deployment recovery time over recovered failures; ongoing
    ones are left out (their time is not known yet). None without any."""
    return _median([r for o in outcomes if (r := o.recovery) is not None])


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


# --- deployment frequency -----------------------------------------------------


def _local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


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
    dates = _dates(start, end)
    on: dict[date, int] = defaultdict(int)
    for d in deploys:
        day = _local_date(d.at, tz)
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
        if _median(days_in_week) >= 3:
            bucket = "daily"
        elif _median(deploys_in_week) >= 1:
            bucket = "weekly"
        elif _median(deploys_in_month) >= 1:
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
    tz = _zone(now, tz)
    now = _utc(now, "now")
    today = _local_date(now, tz)
    first = today - timedelta(days=days - 1)
    counts = dict.fromkeys(_dates(first, today), 0)
    for d in deploys:
        day = _local_date(d.at, tz)
        if d.at <= now and day in counts:
            counts[day] += 1
    return list(counts.items())


# --- the keys over a window ---------------------------------------------------


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
    tz = _zone(now, tz)
    today = _local_date(_utc(now, "now"), tz)
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
        return (service is None or d.service == service) and first <= _local_date(d.at, tz) <= last

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
    known = [d for d in deploys if d.at <= _utc(now, "now")]
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
    tz = _zone(now, tz)
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
    tz = _zone(now, tz)
    known, outcomes, leads = _prepare(deploys, changes_by_version, issues, now, failure_window)
    return {
        service: _report(service, outcomes, leads, now, days, tz)
        for service in sorted({d.service for d in known})
    }
