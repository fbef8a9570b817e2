"""What a redeploy leaves on the Docker engine while it runs, so that any
opsdash watching the engine (not only the one that started it) can tell that a
redeploy is in progress, or was interrupted, and how to put it right.

- A lock: a container named `NAME-opsdash-lock`, created (never started) before
  anything is touched and removed at the end. Container names are unique on an
  engine, so creating it is atomic: a second redeploy of NAME gets 409 and is
  refused. Its labels say who holds it and what the action will do.
- The backup: the old container, stopped and renamed `NAME-opsdash-old-<time>`.
- The new container is told apart from the old by its id (journaled right
  after it is created) or, for an opsdash without the journal, by being created
  after the backup's time: no label is added to the user's container.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOCK_SUFFIX = "-opsdash-lock"
BACKUP_SUFFIX = "-opsdash-old"
LABEL_LOCK = "io.opsdash.lock"  # on the lock container: the target's name
LABEL_TOKEN = "io.opsdash.action"  # on the lock: which action holds it
LABEL_ACTOR = "io.opsdash.actor"
LABEL_MACHINE = "io.opsdash.machine"
LABEL_PID = "io.opsdash.pid"
LABEL_STARTED = "io.opsdash.started"
LABEL_OLD_ID = "io.opsdash.old-id"
LABEL_BACKUP = "io.opsdash.backup"
LABEL_WAS_RUNNING = "io.opsdash.was-running"
LABEL_ACTION_NAME = "io.opsdash.action-name"

# A lock held by an opsdash on another machine is taken as abandoned after this
# long: no redeploy waits this long (stop grace + health timeout are minutes).
ABANDONED_AFTER_S = 30 * 60

_BACKUP = re.compile(r"^(?P<name>.+)" + re.escape(BACKUP_SUFFIX) + r"-(?P<time>\d+)$")


def backup_name(name: str, now: float | None = None) -> str:
    return f"{name}{BACKUP_SUFFIX}-{int(now if now is not None else time.time())}"


def backup_time(container_name: str) -> int | None:
    """When the redeploy that made this backup began (seconds since the epoch)."""
    match = _BACKUP.match(container_name)
    return int(match.group("time")) if match else None


def lock_name(name: str) -> str:
    return f"{name}{LOCK_SUFFIX}"


def backup_of(container_name: str) -> str | None:
    """The target's name if `container_name` is an opsdash backup."""
    match = _BACKUP.match(container_name)
    return match.group("name") if match else None


def lock_labels(
    *, target: str, token: str, actor: str, action: str, old_id: str, backup: str, was_running: bool
) -> dict[str, str]:
    return {
        LABEL_LOCK: target,
        LABEL_TOKEN: token,
        LABEL_ACTOR: actor,
        LABEL_MACHINE: socket.gethostname(),
        LABEL_PID: str(os.getpid()),
        LABEL_STARTED: datetime.now(UTC).isoformat(timespec="seconds"),
        LABEL_OLD_ID: old_id,
        LABEL_BACKUP: backup,
        LABEL_WAS_RUNNING: "true" if was_running else "false",
        LABEL_ACTION_NAME: action,
    }


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class Lock:
    container_id: str
    labels: dict[str, str]

    @property
    def target(self) -> str:
        return self.labels.get(LABEL_LOCK, "")

    @property
    def token(self) -> str:
        return self.labels.get(LABEL_TOKEN, "")

    @property
    def holder(self) -> str:
        """`user@host (pid N) since 12:03:04 UTC`, for refusals."""
        since = self.labels.get(LABEL_STARTED, "")
        with_time = since[11:19] + " UTC" if len(since) >= 19 else since or "an unknown time"
        return (
            f"{self.labels.get(LABEL_ACTOR, 'another opsdash')}"
            f" (pid {self.labels.get(LABEL_PID, '?')}) since {with_time}"
        )

    def abandoned(self, now: datetime | None = None) -> bool:
        """Its opsdash is gone: dead on this machine, or silent too long elsewhere."""
        if self.labels.get(LABEL_MACHINE) == socket.gethostname():
            try:
                return not pid_alive(int(self.labels.get(LABEL_PID, "0")))
            except ValueError:
                return True
        try:
            started = datetime.fromisoformat(self.labels.get(LABEL_STARTED, ""))
        except ValueError:
            return True
        now = now or datetime.now(UTC)
        return (now - started).total_seconds() > ABANDONED_AFTER_S


@dataclass(slots=True)
class TargetMarks:
    """Everything on the engine about one target name."""

    name: str
    lock: Lock | None = None
    backups: list[dict[str, Any]] = field(default_factory=list)  # list entries, oldest first
    current: dict[str, Any] | None = None  # the container holding the name, if any

    @property
    def left_behind(self) -> str:
        """The containers an interrupted redeploy left, for messages."""
        names = [container_name(b) for b in self.backups]
        if self.lock is not None:
            names.append(lock_name(self.name))
        return ", ".join(names)

    @property
    def interrupted(self) -> bool:
        """Marks left with nobody working on them."""
        if self.lock is not None:
            return self.lock.abandoned()
        return bool(self.backups)


def container_name(entry: dict[str, Any]) -> str:
    names = entry.get("Names") or [""]
    return names[0].lstrip("/")


def scan(containers: list[dict[str, Any]]) -> dict[str, TargetMarks]:
    """From `GET /containers/json?all=1`: the targets that have a lock or a backup."""
    by_name = {container_name(c): c for c in containers}
    marks: dict[str, TargetMarks] = {}
    for entry in containers:
        labels = entry.get("Labels") or {}
        name = container_name(entry)
        if LABEL_LOCK in labels:
            target = labels[LABEL_LOCK]
            marks.setdefault(target, TargetMarks(target)).lock = Lock(entry["Id"], dict(labels))
        elif (target := backup_of(name)) is not None:
            marks.setdefault(target, TargetMarks(target)).backups.append(entry)
    for target, mark in marks.items():
        mark.current = by_name.get(target)
        mark.backups.sort(key=lambda c: int(_BACKUP.match(container_name(c)).group("time")))  # type: ignore[union-attr]
    return marks


def is_mark(entry_labels: dict[str, str]) -> bool:
    """Lock containers are opsdash's bookkeeping, not the user's containers."""
    return LABEL_LOCK in entry_labels
