"""The Deployments panel's source: the DORA keys from the store (and git).

It reads what the other sources recorded (deployment events, health issues),
turns them into opsdash.dora.records, adds each service's commits from its
local git checkout when one is configured, and computes the keys over 7, 30
and 90 days. Polled like any source, so the UI never waits on the store or git.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from opsdash.config import Config, ServiceConfig
from opsdash.dora.failures import classify
from opsdash.dora.frequency import deploys_per_day
from opsdash.dora.keys import Keys, KeysReport, compute_keys, per_service
from opsdash.dora.records import KINDS, Change, Deploy, HealthIssue
from opsdash.dora.sightings import observer_of, one_per_change
from opsdash.dora.timeline import (
    ServiceModels,
    lineage_of,
    metric_entries,
    newest_first,
    run_entries,
    version_entries,
)
from opsdash.model import PipelineRun
from opsdash.model.deployments import (
    WINDOWS,
    DeploymentsSnapshot,
    ServiceDeployments,
    TimelineEntry,
)
from opsdash.model.ml import ModelsSnapshot
from opsdash.sources.base import Source
from opsdash.store import DeploymentEvent, Store

OVERALL = "all services"
_COMMIT = re.compile(r"[0-9a-f]{7,64}")  # a revision label naming a commit, not an image id

# Vendor and opsdash result words -> the DORA ones; anything else is not final.
RESULT_WORDS = {
    "success": "success",
    "inactive": "success",  # GitHub: a successful deployment later superseded
    "rolled back": "rolled back",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
}


def local_zone(name: str = "") -> tzinfo:
    """The configured IANA zone, else $TZ or /etc/timezone, else the current offset."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [name, os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for candidate in candidates:
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.now().astimezone().tzinfo  # type: ignore[return-value]


def to_deploy(event: DeploymentEvent) -> Deploy | None:
    result = RESULT_WORDS.get(event.result.lower())
    if result is None:
        return None
    return Deploy(
        service=event.service,
        at=datetime.fromisoformat(event.at),
        version=event.version or event.digest or event.image,
        result=result,
        kind=event.kind if event.kind in KINDS else "app",
        environment=event.environment or "production",
        source=event.source,
    )


class DoraSource(Source):
    """Not a plugin: built from the store by whoever has one, never from a table."""

    kind = "dora"
    feeds = DeploymentsSnapshot

    def __init__(self, config: Config, store: Store, *, refresh: float = 10.0):
        super().__init__("keys", refresh=refresh, timeout=30.0)
        self.config = config
        self.store = store
        self.tz = local_zone(config.dora.timezone)
        self.failure_window = timedelta(seconds=config.dora.failure_window)
        self.services = {s.name: s for s in config.services}
        self._pruned = False
        # The last snapshot and what it was computed from: an unchanged store on
        # the same local date gives the same keys, returned as the same object.
        self._last: DeploymentsSnapshot | None = None
        self._last_inputs: tuple[object, ...] | None = None
        self._last_until: datetime | None = None

    # --- reading the store -----------------------------------------------------

    def _environment(self, service: str) -> str:
        configured = self.services.get(service)
        return configured.environment if configured else "production"

    def deploys(self, now: datetime) -> list[Deploy]:
        """The production deploys, each once however many sources saw it."""
        since = now - timedelta(days=2 * max(WINDOWS) + 1)
        out = []
        for event in self.store.deployments_since(since):
            deploy = to_deploy(event)
            if deploy is None:
                continue
            if event.environment and event.environment != self._environment(event.service):
                continue  # staging deploys are not production deploys
            out.append((deploy, observer_of(event.source, event.external_id)))
        return one_per_change(out)

    def issues(self) -> list[HealthIssue]:
        issues = []
        for row in self.store.health_issues():
            start = datetime.fromisoformat(row.start)
            end = datetime.fromisoformat(row.end) if row.end else None
            if end is not None and end < start:
                end = start
            issues.append(HealthIssue(row.service, start, end))
        return issues

    def _git(self, service: ServiceConfig):
        from opsdash.sources.git import GitRepo

        return GitRepo(service.repo, service.branch)

    def changes(
        self, deploys: Sequence[Deploy]
    ) -> tuple[dict[str, list[Change]], dict[str, tuple[int | None, str]]]:
        """Commits per deploy version, and per service (undeployed count, note)."""
        changes: dict[str, list[Change]] = {}
        pending: dict[str, tuple[int | None, str]] = {}
        for name, service in self.services.items():
            if not service.repo:
                continue
            mine = sorted(
                (d for d in deploys if d.service == name and d.result == "success"),
                key=lambda d: d.at,
            )
            try:
                repo = self._git(service)
                changes.update(repo.changes_by_version([(d.at, d.version) for d in mine], name))
                last = mine[-1].version if mine else self._running_commit(name)
                undeployed = repo.undeployed(last)
                notes = [undeployed.note, *repo.notes]
                if undeployed.more:
                    notes.append(f"more than {len(undeployed)} commits not deployed")
                note = "; ".join(n for n in notes if n)
                pending[name] = (len(undeployed) if undeployed.known else None, note)
            except Exception as exc:  # noqa: BLE001 - shown as a note, keys still computed
                pending[name] = (None, f"git: {exc}")
        return changes, pending

    def _running_commit(self, service: str) -> str | None:
        """Before any deploy is seen: the commit its running container was built
        from (the revision label the Docker watcher keeps), so that commit and
        its ancestors count as deployed, not as waiting."""
        for version, _at in self.store.watched_versions_of(service, "container"):
            if _COMMIT.fullmatch(version.lower()):
                return version
        return None

    # --- the snapshot ------------------------------------------------------------

    def poll(self) -> DeploymentsSnapshot:
        """The keys; the snapshot polled last, the very object, while nothing
        they are computed from changed: every poll recomputing 90 days of 20
        services took ~95 ms of CPU for the same keys (the Docker source's
        unchanged polls work the same way, and the app draws nothing for them)."""
        now = datetime.now().astimezone()
        if not self._pruned:
            self.store.prune(self.config.dora.retention_days, now)
            self._pruned = True
        inputs = self._inputs(now)
        last, until = self._last, self._last_until
        current = until is None or now < until
        if last is not None and inputs is not None and inputs == self._last_inputs and current:
            return last
        deploys = self.deploys(now)
        issues = self.issues()
        snapshot = self._compute(now, deploys, issues)
        self._last, self._last_inputs = snapshot, inputs
        self._last_until = self._valid_until(now, deploys, issues)
        return snapshot

    def _inputs(self, now: datetime) -> tuple[object, ...] | None:
        """What the keys depend on besides the events: the store's revision and
        the local date (the windows are calendar dates). None when a service reads
        a git checkout, which changes outside the store: then every poll computes."""
        if any(s.repo for s in self.services.values()):
            return None
        return self.store.revision(), now.astimezone(self.tz).date()

    def _valid_until(
        self, now: datetime, deploys: Sequence[Deploy], issues: Sequence[HealthIssue]
    ) -> datetime | None:
        """When the keys change with time alone, the date aside: an event dated
        after `now` becomes known, the oldest deploy leaves what is read."""
        moments = [d.at for d in deploys]
        moments += [i.start for i in issues] + [i.end for i in issues if i.end is not None]
        later = [m for m in moments if m > now]
        if deploys:
            later.append(min(d.at for d in deploys) + timedelta(days=2 * max(WINDOWS) + 1))
        return min(later, default=None)

    def _compute(
        self, now: datetime, deploys: list[Deploy], issues: list[HealthIssue]
    ) -> DeploymentsSnapshot:
        changes, pending = self.changes(deploys)
        reports = {
            days: per_service(deploys, changes, issues, now, days, self.tz, self.failure_window)
            for days in WINDOWS
        }
        names = sorted(set(reports[30]) | set(self.services))
        rows = []
        for name in names:
            mine = [d for d in deploys if d.service == name]
            rows.append(
                ServiceDeployments(
                    service=name,
                    kinds=tuple(sorted({d.kind for d in mine})) or ("app",),
                    reports=tuple(
                        reports[days].get(name) or self._empty(name, now, days) for days in WINDOWS
                    ),
                    per_day=tuple(deploys_per_day(mine, now, 30, self.tz)),
                    last_deploy=max(mine, key=lambda d: d.at) if mine else None,
                    undeployed=pending.get(name, (None, ""))[0],
                    note=pending.get(name, (None, ""))[1],
                )
            )
        if len(rows) > 1:
            overall = ServiceDeployments(
                service=OVERALL,
                kinds=tuple(sorted({d.kind for d in deploys})) or ("app",),
                reports=tuple(
                    compute_keys(deploys, changes, issues, now, days, self.tz, self.failure_window)
                    for days in WINDOWS
                ),
                per_day=tuple(deploys_per_day(deploys, now, 30, self.tz)),
                last_deploy=max(deploys, key=lambda d: d.at) if deploys else None,
                overall=True,
            )
            rows.insert(0, overall)
        return DeploymentsSnapshot(
            services=tuple(rows),
            timezone=str(getattr(self.tz, "key", "") or self.tz),
            taken_at=now,
            events=len(deploys),
        )

    def _empty(self, service: str, now: datetime, days: int) -> KeysReport:
        empty = compute_keys([], {}, [], now, days, self.tz, self.failure_window)
        return KeysReport(
            current=_named(empty.current, service),
            previous=_named(empty.previous, service),
            days=days,
        )

    # --- a service's timeline ----------------------------------------------------

    def timeline(
        self,
        service: str | None,
        runs: Iterable[PipelineRun] = (),
        limit: int = 500,
        models: Iterable[ModelsSnapshot] = (),
    ) -> list[TimelineEntry]:
        """Deploys, alias moves, rollbacks, health spells, pipeline runs, the model
        versions they registered and the serving versions' metrics, newest first.

        `service` None (the overall row) takes every service. `runs` and `models`
        are what the panels hold (opsdash.dora.timeline links them)."""
        now = datetime.now().astimezone()
        runs = list(runs)
        mine = ServiceModels(self.config, service, models)
        lineage = lineage_of(runs, mine.all_versions)
        deploys = self.deploys(now)
        outcomes = {
            (o.deploy.service, o.deploy.at, o.deploy.version): o
            for o in classify(deploys, self.issues(), self.failure_window, now)
        }
        entries: list[TimelineEntry] = []
        for d in deploys:
            if service is not None and d.service != service:
                continue
            outcome = outcomes.get((d.service, d.at, d.version))
            alias_move = mine.alias_move(d)
            what = "rollback" if d.rollback else "alias move" if alias_move else "deploy"
            result = d.result
            if outcome is not None and outcome.failed and d.result == "success":
                result = f"failed ({outcome.reason})"
            detail = alias_move or f"{d.service} {d.version[:19]}"
            entries.append(TimelineEntry(d.at, what, detail, result, d.source))
        for row in self.store.health_issues():
            if service is not None and row.service != service:
                continue
            start = datetime.fromisoformat(row.start)
            entries.append(TimelineEntry(start, "trouble", row.reason, "started", row.source))
            if row.end:
                entries.append(
                    TimelineEntry(
                        datetime.fromisoformat(row.end), "recovered", row.reason, "ok", row.source
                    )
                )
        entries += run_entries(self.config, service, runs, lineage, mine)
        entries += version_entries(mine, lineage)
        entries += metric_entries(mine, now)
        return newest_first(entries)[:limit]


def _named(keys: Keys, service: str) -> Keys:
    from dataclasses import replace

    return replace(keys, service=service)
