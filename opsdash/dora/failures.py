"""Change failure rate and recovery time: what became of each deploy.

A deploy failed by its own result, by a health issue soon after it, or by the
next deploy rolling it back; it is recovered by the next deploy that did not
fail or by the end of its health issues. Pure functions over the records of
opsdash.dora.records.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdash.dora.records import Deploy, HealthIssue, as_utc, deploy_key, median

FAILURE_WINDOW = timedelta(hours=1)


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
    now = as_utc(now, "now")
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
    for d in sorted(known, key=deploy_key):
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
    outcomes.sort(key=lambda o: deploy_key(o.deploy))
    return outcomes


def change_failure_rate(outcomes: Iterable[Outcome]) -> float | None:
    """Failed deploys / all deploys, in 0..1; None without deploys."""
    outs = list(outcomes)
    if not outs:
        return None
    return sum(o.failed for o in outs) / len(outs)


def median_recovery_time(outcomes: Iterable[Outcome]) -> timedelta | None:
    """Median failed-deployment recovery time over recovered failures; ongoing
    ones are left out (their time is not known yet). None without any."""
    return median([r for o in outcomes if (r := o.recovery) is not None])
