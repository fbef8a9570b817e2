"""What the deployment-event watchers share: the store's memory of what was seen.

Each watcher (ci_events, docker_events, model_events) turns one kind of
snapshot into deployment events and health issues; these helpers decide
whether a version seen is a change, whether opsdash itself already recorded
it, and open or close a service's health issue.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timedelta

from opsdash.store import DeploymentEvent, Store

OWN_ACTION_SLACK = timedelta(minutes=2)  # how far an own action's record may precede what we see
SAME_DEPLOY_SLACK = timedelta(minutes=5)  # components of a service on one revision: one deploy


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def not_after(moment: datetime | None, now: datetime) -> datetime:
    """When a thing changed, as far as its source says; never later than now (clock skew)."""
    if moment is None:
        return now
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return min(moment, now)


# Services an opsdash action is changing right now (set by record_events): what
# the watchers see of them waits for the next poll, when the action has recorded
# its own deployment, so it is not counted twice.
ACTING: ContextVar[frozenset[str]] = ContextVar("acting", default=frozenset())


def changed(store: Store, key: str, service: str, version: str, at: datetime) -> bool:
    """Remember the version; True when it replaced another one (not on first sight),
    and only in the opsdash that replaced it when several share the store."""
    if not version or service in ACTING.get():
        return False
    before = store.watched_version(key)
    if before == version:
        return False
    return store.swap_watched_version(key, service, before, version, at)


def already_recorded(
    store: Store,
    service: str,
    at: datetime,
    own: tuple[str, ...],
    version: str,
    *,
    own_any_version: bool = False,
    same_source: str = "",
) -> bool:
    """Is this change of `service` to `version` already a deployment event?

    Yes when opsdash's own action recorded it (a source starting with one of
    `own`) at most OWN_ACTION_SLACK before it shows up: an action that deployed
    that version (another version deployed meanwhile from outside still
    counts), or any when `own_any_version` (a Swarm update records the image
    reference it was given, not the digest-pinned one the engine shows). Or when `same_source` recorded
    the same version close by (two containers of one service on one revision).
    """
    for e in store.deployments_since(at - max(OWN_ACTION_SLACK, SAME_DEPLOY_SLACK)):
        if e.service != service:
            continue
        seen = datetime.fromisoformat(e.at)
        if (
            e.source.startswith(own)
            and seen >= at - OWN_ACTION_SLACK
            and (own_any_version or e.version == version)
        ):
            return True
        if e.source == same_source and e.version == version and abs(seen - at) <= SAME_DEPLOY_SLACK:
            return True
    return False


def record(store: Store, event: DeploymentEvent) -> list[str]:
    if not store.add_deployment(event):
        return []
    what = f"deploy {event.service} {event.version[:19]}"
    return [what if event.result == "success" else f"{what} ({event.result})"]


def set_issue(store: Store, service: str, source: str, reasons: list[str], now: datetime) -> str:
    """Open the service's issue while there are reasons, close it when there are none."""
    if reasons:
        opened = store.open_issue(service, source, reasons[0], now)
        return f"issue {service}: {reasons[0]}" if opened else ""
    return f"recovered {service}" if store.close_issue(service, source, now) else ""


def close_gone(store: Store, present: dict[str, set[str]], now: datetime) -> list[str]:
    """Close the open issues of services a source no longer sees at all (removed).

    `present`: per issue source, the services its poll saw. Without this a
    removed service's issue would stay open, and block its next one.
    """
    done = []
    for issue in store.health_issues():
        seen = present.get(issue.source)
        gone = issue.end is None and seen is not None and issue.service not in seen
        if gone and store.close_issue(issue.service, issue.source, now):
            done.append(f"recovered {issue.service} (gone)")
    return done
