"""Find actions that an opsdash killed mid-way left unfinished, and put them right.

Two records say what happened, and either is enough: the store's journal (the
audit row, each step begun, the facts noted) and the marks a redeploy leaves on
the engine (`engine_marks`: the lock and the backup container). What is on the
engine now decides the fix, never the journal alone:

- the new container runs (and gets healthy): keep it, remove the backup;
- otherwise: remove the new container, give the backup its name back, start it;
- the old container was only stopped: start it again.

Volumes are never touched: containers are removed with `v=False`.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from opsdash.actions import engine_marks
from opsdash.actions.base import ActionError, ActionPlan, Progress
from opsdash.actions.lease import dead_here
from opsdash.store import JournalRow, Store, StoreError

# repair kinds
KEEP_NEW = "keep-new"  # the new container runs: remove the backup and the lock
RESTORE = "restore"  # put the old container back under its name, running
START = "start"  # the container is there but stopped: start it
CLOSE = "close"  # nothing on the engine to change: close the record
FINISH_MOVE = "finish-move"  # an alias moved without its record: write the record


@dataclass(frozen=True, slots=True)
class Interrupted:
    """One unfinished action, what is there now, and what the fix will do."""

    host: str  # the Docker source's name
    target: str
    action: str
    kind: str
    actor: str
    started: str
    last_step: str  # the step begun when it stopped ("" if only the engine knows)
    now: str  # what the engine shows now, one line
    fix: str  # what putting it right does, one line
    repair: str
    audit_id: int | None = None
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.host}/{self.target}"


def _alive(row: JournalRow, store: Store | None = None) -> bool:
    """Still running in another opsdash: on this machine, its process lives; on
    another one sharing the store, its lease on the target is renewed."""
    if row.machine == socket.gethostname():
        return engine_marks.pid_alive(row.pid)
    audit = row.audit
    held = store.lease(f"{audit.host}/{audit.kind}/{audit.target}") if store else None
    return held is not None and not dead_here(held)


def _state(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "missing"
    return f"{entry.get('State', '?')} ({entry.get('Status', '')})".replace(" ()", "")


def _running(entry: dict[str, Any] | None) -> bool:
    return entry is not None and entry.get("State") == "running"


def _unhealthy(entry: dict[str, Any] | None) -> bool:
    return entry is not None and "unhealthy" in str(entry.get("Status", ""))


def _decide_redeploy(
    host: str, mark: engine_marks.TargetMarks, row: JournalRow | None
) -> Interrupted:
    facts = dict(row.facts) if row else {}
    labels = mark.lock.labels if mark.lock else {}
    old_id = facts.get("old_id") or labels.get(engine_marks.LABEL_OLD_ID, "")
    was_running = (
        facts.get("was_running") or labels.get(engine_marks.LABEL_WAS_RUNNING, "true")
    ) == "true"
    name = mark.name
    current = mark.current
    backup = next((b for b in mark.backups if b.get("Id") == old_id), None) or (
        mark.backups[-1] if mark.backups else None
    )
    backup_name = engine_marks.container_name(backup) if backup else ""
    started = engine_marks.backup_time(backup_name) if backup else None
    is_new = (
        current is not None
        and current.get("Id") != old_id
        and (
            current.get("Id") == facts.get("new_id")
            or (started is not None and int(current.get("Created") or 0) >= started)
        )
    )
    is_old = current is not None and bool(old_id) and current.get("Id") == old_id
    now = f"{name}: {_state(current)}" + (f"; {backup_name}: {_state(backup)}" if backup else "")
    facts.update(
        {
            "name": name,
            "old_id": (backup or {}).get("Id", "") or old_id,
            "backup": backup_name,
            "new_id": (current or {}).get("Id", "") if is_new else "",
            "was_running": "true" if was_running else "false",
            "lock_id": mark.lock.container_id if mark.lock else "",
            "extra_backups": ",".join(
                b["Id"] for b in mark.backups if backup is not None and b is not backup
            ),
        }
    )
    if is_new and _running(current) and not _unhealthy(current):
        repair = KEEP_NEW
        fix = f"keep the new {name} (it runs)" + (
            f" and remove the old container {backup_name} (never its volumes)" if backup else ""
        )
    elif backup is not None and (current is None or is_new):
        repair = RESTORE
        fix = (
            (f"remove the unfinished new {name}, " if current is not None else "")
            + f"rename {backup_name} back to {name}"
            + (" and start it" if was_running else "")
        )
    elif is_old and was_running:
        # Even if it runs now: the engine may still be finishing the stop it was given.
        repair = START
        fix = f"make sure {name} runs again (it was being stopped for the redeploy)"
    elif current is not None and backup is not None:
        repair = CLOSE
        fix = (
            f"leave {name} (not made by this redeploy) and the old {backup_name} as they are;"
            " remove the lock"
        )
    else:
        repair = CLOSE
        fix = f"nothing to change on the engine: {name} is as it was" + (
            "; remove the lock" if mark.lock else ""
        )
    audit = row.audit if row else None
    return Interrupted(
        host=host,
        target=name,
        action=audit.action if audit else labels.get(engine_marks.LABEL_ACTION_NAME, "redeploy"),
        kind="container",
        actor=audit.actor if audit else labels.get(engine_marks.LABEL_ACTOR, "another opsdash"),
        started=audit.at if audit else labels.get(engine_marks.LABEL_STARTED, ""),
        last_step=row.audit.steps[-1][1] if row and row.audit.steps else "",
        now=now,
        fix=fix,
        repair=repair,
        audit_id=audit.id if audit else None,
        facts=facts,
    )


def _journaled(
    row: JournalRow, *, now: str, fix: str, repair: str, host: str = "", **facts: str
) -> Interrupted:
    """An Interrupted for a journaled action: who, what and when from its audit row."""
    audit = row.audit
    return Interrupted(
        host=host or audit.host,
        target=audit.target,
        action=audit.action,
        kind=audit.kind,
        actor=audit.actor,
        started=audit.at,
        last_step=audit.steps[-1][1] if audit.steps else "",
        now=now,
        fix=fix,
        repair=repair,
        audit_id=audit.id,
        facts={**row.facts, **facts},
    )


def _decide_simple(host: str, row: JournalRow, current: dict[str, Any] | None) -> Interrupted:
    """restart, stop, start: one step on the engine; only a restart or start that
    left the container stopped needs a start."""
    audit = row.audit
    wanted_up = audit.action in ("restart", "start")
    if wanted_up and current is not None and not _running(current):
        repair, fix = START, f"start {audit.target} (the {audit.action} was cut short)"
    else:
        repair, fix = CLOSE, "nothing to change on the engine: close the record"
    return _journaled(
        row,
        host=host,
        now=f"{audit.target}: {_state(current)}",
        fix=fix,
        repair=repair,
        name=audit.target,
        old_id=(current or {}).get("Id", ""),
    )


def _decide_elsewhere(row: JournalRow, clusters: Mapping[str, Any] | None = None) -> Interrupted:
    """Swarm updates, Kubernetes rollouts, alias moves and CI calls run on their
    servers: the record is closed, saying the opsdash that started them went away
    (and, for a Kubernetes context that is watched, what its workload does now)."""
    audit = row.audit
    facts = row.facts
    source = (clusters or {}).get(facts.get("context", ""))
    if facts.get("workload_kind") and source is not None:
        from opsdash.actions.kubernetes import interrupted_state

        try:
            state = interrupted_state(source, facts)
        except Exception as exc:  # noqa: BLE001 - one line; the record is closed anyway
            state = f"not readable now ({' '.join(str(exc).split())[:120]})"
        return _journaled(
            row,
            now=f"Kubernetes carries a started rollout on by itself; now {state}",
            fix="close the record in the audit log",
            repair=CLOSE,
        )
    if audit.kind == "model" and facts.get("model") and facts.get("new_version"):
        return _journaled(
            row,
            now=f"{facts.get('alias')} of {facts['model']} was being moved from"
            f" v{facts.get('old_version') or '(none)'} to v{facts['new_version']}",
            fix="if the alias points at the new version, record the version before it"
            " (so u can roll back); else change nothing",
            repair=FINISH_MOVE,
        )
    where = {
        "service": "Swarm carries a started update on by itself; see the service's UPDATE column",
        "deployment": "Kubernetes carries a started rollout on by itself; see it in the cluster",
        "statefulset": "Kubernetes carries a started rollout on by itself; see it in the cluster",
        "daemonset": "Kubernetes carries a started rollout on by itself; see it in the cluster",
        "pod": "Kubernetes finishes a started pod delete by itself",
        "model": "check the model's aliases: the move may lack its previous-version tag",
        "pipeline": "the CI server has the run; see the Pipelines panel",
    }.get(audit.kind, "check its state on its server")
    return _journaled(row, now=where, fix="close the record in the audit log", repair=CLOSE)


def find_interrupted(
    store: Store | None, engines: Mapping[str, Any], clusters: Mapping[str, Any] | None = None
) -> list[Interrupted]:
    """Every unfinished action whose opsdash is gone. `engines`: Docker source
    name -> its source's reader (only `containers(all=True)` is asked: the scan
    at start loads no docker SDK). An engine that does not answer is skipped.
    `clusters`: Kubernetes context -> its source (a `Cluster`), to say where an
    interrupted rollout is now."""
    rows = [r for r in (store.unfinished_actions() if store else []) if not _alive(r, store)]
    found: list[Interrupted] = []
    handled: set[int] = set()
    for host, api in engines.items():
        try:
            containers = api.containers(all=True)
        except Exception:  # noqa: BLE001 - docker_http's errors or the SDK's
            continue
        marks = engine_marks.scan(containers)
        by_name = {engine_marks.container_name(c): c for c in containers}
        for row in rows:
            if row.audit.host != host or row.audit.kind != "container":
                continue
            handled.add(row.audit.id or 0)
            name = row.facts.get("name") or row.audit.target
            if row.audit.action in ("redeploy", "rollback"):
                mark = marks.pop(name, None) or engine_marks.TargetMarks(
                    name, current=by_name.get(name)
                )
                found.append(_decide_redeploy(host, mark, row))
            else:
                found.append(_decide_simple(host, row, by_name.get(name)))
        for mark in marks.values():
            if mark.interrupted:
                found.append(_decide_redeploy(host, mark, None))
    for row in rows:
        if row.audit.kind != "container" and (row.audit.id or 0) not in handled:
            found.append(_decide_elsewhere(row, clusters))
    return found


def repair_plan(item: Interrupted) -> ActionPlan:
    return ActionPlan(
        action="recover",
        kind=item.kind,
        target=item.target,
        target_id=item.facts.get("old_id", ""),
        host=item.host,
        steps=(f"Interrupted {item.action} of {item.target}: {item.now}.", f"Fix: {item.fix}."),
    )


def _remove(api: Any, container_id: str, progress: Progress, what: str) -> None:
    if not container_id:
        return
    import docker.errors
    import requests.exceptions

    progress("remove", f"removing {what} (its volumes stay)")
    try:
        api.remove_container(container_id, v=False, force=True)
    except docker.errors.NotFound:
        pass
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise ActionError(f"remove {what}: {' '.join(str(exc).split())[:200]}") from None


def _settle(api: Any, container_id: str, progress: Progress) -> None:
    """Wait out a stop the engine may still be carrying out (its grace period, at
    most), so that the start below is not undone by it."""
    raw = _call("inspect", api.inspect_container, container_id)
    if not (raw.get("State") or {}).get("Running"):
        return
    grace = int((raw.get("Config") or {}).get("StopTimeout") or 10)
    progress("settle", f"waiting up to {grace + 2}s for a stop still under way")
    deadline = time.monotonic() + grace + 2
    while time.monotonic() < deadline:
        time.sleep(0.5)
        raw = _call("inspect", api.inspect_container, container_id)
        if not (raw.get("State") or {}).get("Running"):
            return


def _call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    import docker.errors
    import requests.exceptions

    try:
        return fn(*args, **kwargs)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise ActionError(f"{what}: {' '.join(str(exc).split())[:200]}") from None


def repair(item: Interrupted, api: Any, progress: Progress, wait_up: Any = None) -> str:
    """Put it right on the engine; returns what was done, one line.

    `wait_up(container_id)`: raises ActionError unless the container runs (and is
    healthy); a kept new container must pass it, or the old one comes back.
    """
    facts = item.facts
    name = item.target
    if item.kind != "container" or item.repair == CLOSE:
        if facts.get("lock_id"):
            _remove(api, facts["lock_id"], progress, "the lock")
        return "record closed; nothing on the engine changed"
    done = ""
    if item.repair == KEEP_NEW:
        try:
            if wait_up is not None:
                progress("health", f"checking that the new {name} runs")
                wait_up(facts["new_id"])
            _remove(api, facts.get("old_id", ""), progress, facts.get("backup") or "the backup")
            done = f"kept the new {name}; removed the old container"
        except ActionError as exc:
            progress("restore", f"the new {name} is not up ({exc}): restoring the old one")
            item = replace(item, repair=RESTORE)
    if item.repair == RESTORE:
        _remove(api, facts.get("new_id", ""), progress, f"the unfinished new {name}")
        progress("rename", f"renaming {facts.get('backup')} back to {name}")
        _call("rename back", api.rename, facts["old_id"], name)
        if facts.get("was_running", "true") == "true":
            progress("start", f"starting {name}")
            _call("start", api.start, facts["old_id"])
        done = f"the old {name} is back" + (
            " and running" if facts.get("was_running", "true") == "true" else ""
        )
    elif item.repair == START:
        target = facts.get("old_id") or name
        _settle(api, target, progress)
        progress("start", f"starting {name}")
        _call("start", api.start, target)
        done = f"{name} runs again"
    for extra in filter(None, facts.get("extra_backups", "").split(",")):
        progress("note", f"an older backup {extra[:12]} is left for you to look at")
    if facts.get("lock_id"):
        _remove(api, facts["lock_id"], progress, "the lock")
    return done


def close_record(store: Store | None, item: Interrupted, outcome: str) -> None:
    """The interrupted action's own audit row says how it ended."""
    if store is None or item.audit_id is None:
        return
    step = f" at {item.last_step}" if item.last_step else ""
    with contextlib.suppress(StoreError):
        store.end_action(item.audit_id, f"interrupted{step}; {outcome}")


def note_interrupted(store: Store | None, items: list[Interrupted]) -> None:
    """Seen: the audit rows say so at once, even before anyone puts them right."""
    if store is None:
        return
    for item in items:
        if item.audit_id is None:
            continue
        step = f" at {item.last_step}" if item.last_step else ""
        try:
            store.mark_interrupted(item.audit_id, f"interrupted{step}: not put right yet")
        except StoreError:
            return
