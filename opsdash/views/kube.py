"""Kubernetes workloads, pods, revisions and events: their table columns and
what `/` matches (the `:` prompt's words are `opsdash.views.kube_prompt`).
Every string of these records came from a cluster: all of it is `literal`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from opsdash.formatting import age
from opsdash.model.kube import (
    KubeEvent,
    KubePod,
    KubeWorkload,
    Revision,
    RolloutState,
)
from opsdash.safetext import literal
from opsdash.views.common import NAME_WIDTH, Column, labels_text, search_text, short

ROLLOUT_STYLE = {
    RolloutState.COMPLETE: "green",
    RolloutState.PROGRESSING: "yellow bold",
    RolloutState.FAILED: "red bold",
    RolloutState.PAUSED: "magenta bold",
    RolloutState.UNKNOWN: "dim",
}
POD_PHASE_STYLE = {
    "Running": "green",
    "Succeeded": "dim",
    "Pending": "yellow",
    "Failed": "red bold",
    "Unknown": "yellow",
    "Terminating": "yellow",
}


def _ready_style(ready: int, desired: int) -> str:
    return "green" if ready >= desired else "yellow"


def _created_sort(created: datetime | None) -> float:
    return -(created.timestamp() if created else 0.0)


def _context_column() -> Column:
    return Column(
        "context",
        "CONTEXT",
        lambda r, _: literal(r.context),
        lambda r: r.context,
        search=lambda r: r.context,
    )


def _namespace_column() -> Column:
    return Column(
        "namespace",
        "NAMESPACE",
        lambda r, _: literal(short(r.namespace, 20)),
        lambda r: r.namespace,
        search=lambda r: r.namespace,
    )


def rollout_text(w: KubeWorkload) -> Text:
    return literal(w.rollout.value, ROLLOUT_STYLE[w.rollout])


WORKLOAD_COLUMNS: list[Column[KubeWorkload]] = [
    _context_column(),
    _namespace_column(),
    Column(
        "name",
        "NAME",
        lambda w, _: literal(short(w.name, NAME_WIDTH), "bold"),
        lambda w: w.name.lower(),
        search=lambda w: w.name,
    ),
    Column("kind", "KIND", lambda w, _: literal(w.short_kind), lambda w: w.kind),
    Column(
        "ready",
        "READY",
        lambda w, _: literal(f"{w.ready}/{w.desired}", _ready_style(w.ready, w.desired)),
        lambda w: (w.ready - w.desired, w.name),
    ),
    Column(
        "rollout",
        "ROLLOUT",
        lambda w, _: rollout_text(w),
        lambda w: (w.rollout is RolloutState.COMPLETE, w.rollout.value),
        search=lambda w: w.rollout.value,
    ),
    Column(
        "updated",
        "UP-TO-DATE",
        lambda w, _: Text(str(w.updated), justify="right"),
        lambda w: w.updated - w.desired,
    ),
    Column(
        "available",
        "AVAILABLE",
        lambda w, _: Text(str(w.available), justify="right"),
        lambda w: w.available - w.desired,
    ),
    Column(
        "revision",
        "REV",
        lambda w, _: Text(w.revision or "-", justify="right"),
        lambda w: (len(w.revision), w.revision),
    ),
    Column(
        "age",
        "AGE",
        lambda w, now: literal(age(w.created, now)),
        lambda w: _created_sort(w.created),
    ),
    Column(
        "images",
        "IMAGES",
        lambda w, _: literal(short(", ".join(w.images), 40)),
        lambda w: w.images,
        search=lambda w: " ".join(w.images),
    ),
]


def pod_status_text(p: KubePod) -> Text:
    word = p.status_word
    style = "red bold" if p.trouble else POD_PHASE_STYLE.get(word, "yellow")
    return literal(word, style)


POD_COLUMNS: list[Column[KubePod]] = [
    _context_column(),
    Column(
        "name",
        "NAME",
        lambda p, _: literal(short(p.name, 40), "bold"),
        lambda p: p.name.lower(),
        search=lambda p: p.name,
    ),
    Column(
        "ready",
        "READY",
        lambda p, _: literal(
            f"{p.ready}/{len(p.containers)}", _ready_style(p.ready, len(p.containers))
        ),
        lambda p: (p.ready - len(p.containers), p.name),
    ),
    Column(
        "status",
        "STATUS",
        lambda p, _: pod_status_text(p),
        lambda p: (not p.trouble, p.status_word),
        search=lambda p: p.status_word,
    ),
    Column(
        "restarts",
        "RESTARTS",
        lambda p, _: Text(str(p.restarts), justify="right", style="red" if p.restarts else ""),
        lambda p: -p.restarts,
    ),
    _namespace_column(),  # after the state: at 80 columns STATUS must not be cut
    Column(
        "node",
        "NODE",
        lambda p, _: literal(short(p.node, 24)),
        lambda p: p.node,
        search=lambda p: p.node,
    ),
    Column(
        "age",
        "AGE",
        lambda p, now: literal(age(p.created, now)),
        lambda p: _created_sort(p.created),
    ),
]


def _images(containers: Sequence[tuple[str, str]]) -> str:
    return ", ".join(image for _name, image in containers)


REVISION_COLUMNS: list[Column[Revision]] = [
    Column(
        "number",
        "REV",
        lambda r, _: Text(
            f"{r.number}{' *' if r.current else ''}",
            justify="right",
            style="bold green" if r.current else "",
        ),
        lambda r: -r.number,
        search=lambda r: str(r.number),
    ),
    Column(
        "name",
        "REPLICASET",
        lambda r, _: literal(short(r.name, NAME_WIDTH)),
        lambda r: r.name,
        search=lambda r: r.name,
    ),
    Column(
        "images",
        "IMAGES",
        lambda r, _: literal(short(_images(r.containers), 48)),
        lambda r: _images(r.containers),
        search=lambda r: _images(r.containers),
    ),
    Column(
        "replicas",
        "REPLICAS",
        lambda r, _: Text(str(r.replicas), justify="right"),
        lambda r: -r.replicas,
    ),
    Column(
        "cause",
        "CHANGE-CAUSE",
        lambda r, _: literal(short(r.change_cause or "-", 48)),
        lambda r: r.change_cause,
        search=lambda r: r.change_cause,
    ),
    Column(
        "age",
        "AGE",
        lambda r, now: literal(age(r.created, now)),
        lambda r: _created_sort(r.created),
    ),
]


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event with a key for the table (events have no name of their own);
    `order` keeps the source's newest-first order among equal times."""

    event: KubeEvent
    order: int

    @property
    def key(self) -> str:
        return str(self.order)


def event_rows(events: Iterable[KubeEvent]) -> list[EventRow]:
    return [EventRow(event, order) for order, event in enumerate(events)]


EVENT_COLUMNS: list[Column[EventRow]] = [
    Column("age", "AGE", lambda e, now: literal(age(e.event.at, now)), lambda e: e.order),
    Column(
        "type",
        "TYPE",
        lambda e, _: literal(e.event.type, "red bold" if e.event.type == "Warning" else "dim"),
        lambda e: e.event.type,
        search=lambda e: e.event.type,
    ),
    Column(
        "reason",
        "REASON",
        lambda e, _: literal(short(e.event.reason, 24)),
        lambda e: e.event.reason,
        search=lambda e: e.event.reason,
    ),
    Column(
        "object",
        "OBJECT",
        lambda e, _: literal(short(e.event.object, 40)),
        lambda e: e.event.object,
        search=lambda e: e.event.object,
    ),
    Column(
        "count",
        "COUNT",
        lambda e, _: Text(str(e.event.count), justify="right"),
        lambda e: -e.event.count,
    ),
    Column(
        "message",
        "MESSAGE",
        lambda e, _: literal(e.event.message),
        lambda e: e.event.message,
        search=lambda e: e.event.message,
    ),
]

workload_search_text = search_text(WORKLOAD_COLUMNS, labels_text, lambda w: w.kind)
pod_search_text = search_text(POD_COLUMNS, labels_text)
revision_search_text = search_text(REVISION_COLUMNS)
event_search_text = search_text(EVENT_COLUMNS)


def workload_summary(w: KubeWorkload) -> Text:
    """One line under the workload's title (which names it): its replicas,
    revision and rollout state."""
    text = Text(f"ready {w.ready}/{w.desired}", style=_ready_style(w.ready, w.desired))
    text.append(f"  up-to-date {w.updated}  available {w.available}")
    if w.revision:
        text.append(f"  rev {w.revision}")
    text.append("  ")
    text.append_text(rollout_text(w))
    return text


def conditions_text(w: KubeWorkload) -> Text:
    text = Text()
    for c in w.conditions:
        if text:
            text.append("\n")
        style = "green" if c.status == "True" else "yellow"
        text.append_text(literal(f"{c.type}={c.status}", style))
        if c.reason:
            text.append_text(literal(f" {c.reason}", "bold"))
        if c.message:
            text.append_text(literal(f": {c.message}", "dim"))
    return text or Text("no conditions", style="dim")
