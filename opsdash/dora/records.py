"""The records the DORA keys are computed from, and the time rules they share.

Plain frozen records: no I/O, no UI, no store. The caller reads deploys,
commits and health history, builds these and hands them to the keys
(opsdash.dora.failures, lead_time, frequency, keys). docs/dora.md says which
events feed each record and why each rule is what it is; the docstrings here
give the short reason next to the code.

Instants are stored in UTC: Python compares and subtracts two datetimes that
share one tzinfo by wall clock, which is wrong by an hour across a DST change.
Days, weeks and months are calendar ones in the time zone the caller passes, so
a day is 23 or 25 hours long when the clocks change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

RESULTS = ("success", "failed", "rolled back")
KINDS = ("app", "model")


def as_utc(moment: datetime, what: str) -> datetime:
    """`moment` in UTC; a naive one is refused, since its zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC)


def zone(now: datetime, tz: tzinfo | None) -> tzinfo:
    """The caller's zone, else now's (which must be aware)."""
    as_utc(now, "now")
    return tz or now.tzinfo  # type: ignore[return-value]


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def calendar_dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def median(values: Sequence):
    """The middle value; the mean of the two middle ones for an even count."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return ordered[mid - 1] + (ordered[mid] - ordered[mid - 1]) / 2


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
        object.__setattr__(self, "at", as_utc(self.at, "Deploy.at"))
        if self.result not in RESULTS:
            raise ValueError(f"Deploy.result must be one of {RESULTS}: {self.result!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Deploy.kind must be one of {KINDS}: {self.kind!r}")

    @property
    def rollback(self) -> bool:
        """A deliberate rollback (opsdash's rollback action, a Swarm or model
        rollback): it says the deploy before it needed immediate intervention."""
        return self.source == "rollback" or self.source.endswith(("-rollback", "-undo"))


@dataclass(frozen=True, slots=True)
class Change:
    """A commit, for lead time: from `committed_at` to its first successful deploy."""

    sha: str
    committed_at: datetime  # aware; stored in UTC
    service: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "committed_at", as_utc(self.committed_at, "Change.committed_at"))


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
        object.__setattr__(self, "start", as_utc(self.start, "HealthIssue.start"))
        if self.end is not None:
            object.__setattr__(self, "end", as_utc(self.end, "HealthIssue.end"))
            if self.end < self.start:
                raise ValueError(f"HealthIssue ends before it starts: {self!r}")


def deploy_key(d: Deploy) -> tuple:
    """A total order, so equal inputs in any order give equal results (deploys
    in the same second included)."""
    return (d.at, d.service, d.version, d.result, d.kind, d.environment, d.source)
