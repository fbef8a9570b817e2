"""Change lead time: from a commit to the first successful deploy that contained it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from opsdash.dora.records import Change, Deploy, deploy_key, median


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
    for d in sorted((d for d in deploys if d.result == "success"), key=deploy_key):
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


def median_lead_time(leads: Iterable[LeadTime]) -> timedelta | None:
    """DORA's change lead time (a median, as Four Keys reports it); None without changes."""
    return median([lead.time for lead in leads])
