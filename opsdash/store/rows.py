"""What the store keeps, as frozen records: the audit log with each action's
steps, deployment events, health issues, and the journal of running actions."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action, confirmed or refused. Never holds a secret: only names, images,
    digests and one-line results."""

    at: str
    actor: str  # user@host
    action: str
    kind: str
    target: str
    host: str
    old_image: str
    old_digest: str
    new_image: str
    new_digest: str
    result: str  # running, ok, failed, rolled back, refused: ..., cancelled, interrupted ...
    duration_s: float | None
    error: str
    id: int | None = None
    # (at, step, detail) in the order they were written, each before its step ran
    steps: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class DeploymentEvent:
    at: str
    service: str
    host: str
    kind: str  # app or model
    image: str
    digest: str
    result: str  # success, rolled back, failed
    source: str  # what recorded it: redeploy, rollback, service-update, github:api ...
    environment: str = ""
    version: str = ""  # commit sha, image digest or model version
    external_id: str | None = None  # unique per deployment the vendor reported


@dataclass(frozen=True, slots=True)
class HealthIssueRow:
    service: str
    source: str  # what saw it: docker:local, mlflow:registry, ...
    reason: str  # one line: "shop-web-1 unhealthy", "churn accuracy breach"
    start: str  # ISO 8601
    end: str | None  # None while it lasts


@dataclass(frozen=True, slots=True)
class JournalRow:
    """An action that was confirmed and has not finished, as the journal has it.

    `facts` are what recovery needs and the engine alone may not say: the old
    container's id, its backup name, whether it was running.
    """

    audit: AuditEntry
    state: str  # running, interrupted
    pid: int
    machine: str  # the hostname of the opsdash that ran it
    target_id: str
    facts: dict[str, str] = field(default_factory=dict)
    updated: str = ""
