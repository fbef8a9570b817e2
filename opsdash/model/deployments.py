"""What the Deployments panel shows: the DORA keys per service, and a timeline.

The keys themselves are opsdash.dora's records (KeysReport, Keys, Deploy);
these wrap them per service with what the panel needs besides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from opsdash.dora.keys import KeysReport
from opsdash.dora.records import Deploy

WINDOWS = (7, 30, 90)  # days; the panel shows 30, the service screen all three


@dataclass(frozen=True, slots=True)
class ServiceDeployments:
    service: str  # "all services" for the overall row
    kinds: tuple[str, ...]  # ("app",), ("model",) or both
    reports: tuple[KeysReport, ...]  # one per WINDOWS entry, same order
    per_day: tuple[tuple[date, int], ...]  # the last 30 local days, oldest first
    last_deploy: Deploy | None = None
    undeployed: int | None = None  # commits on the branch not in the last deploy
    note: str = ""  # e.g. "deployed version not in the local repo"
    overall: bool = False

    @property
    def key(self) -> str:
        return "*overall*" if self.overall else self.service

    def report(self, days: int) -> KeysReport:
        return self.reports[WINDOWS.index(days)]


@dataclass(frozen=True, slots=True)
class DeploymentsSnapshot:
    services: tuple[ServiceDeployments, ...]  # overall first when there is more than one
    timezone: str
    taken_at: datetime
    events: int  # deployment events read from the store


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a service's timeline: a deploy, a rollback, a health spell,
    a pipeline run or a metric breach."""

    at: datetime
    what: str  # deploy, rollback, failed deploy, health, recovered, pipeline, breach
    detail: str  # untrusted text: rendered literally
    result: str = ""
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.at.isoformat()}/{self.what}/{self.source}/{self.detail[:40]}"
