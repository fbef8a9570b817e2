"""Containers and Swarm services: their table columns and what `/` matches."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from opsdash.formatting import age, human_bytes, human_duration, percent
from opsdash.model import Container, Service
from opsdash.safetext import literal
from opsdash.views.common import NAME_WIDTH, Column, labels_text, search_text, short

STATE_STYLE = {
    "running": "green",
    "restarting": "yellow",
    "paused": "yellow",
    "created": "cyan",
    "exited": "red",
    "dead": "red bold",
    "removing": "yellow",
}
HEALTH_STYLE = {"healthy": "green", "unhealthy": "red bold", "starting": "yellow"}


def coarse_age(moment: datetime | None, now: datetime) -> str:
    """Docker's granularity: 45s, 12m, 3h, 2d. A list of containers up for
    hours then changes once an hour per row, not once a minute (3h05m): a
    settled screen stays still. The details screen keeps the exact age."""
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return human_duration(seconds)
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def container_uptime(c: Container, now: datetime, *, coarse: bool = False) -> str:
    """`up 42m`, `exit 137 5m ago`; `coarse` (the list): hours and days whole."""
    since = coarse_age if coarse else age
    if c.running and c.started_at:
        return "up " + since(c.started_at, now)
    if c.state in ("exited", "dead"):
        code = "?" if c.exit_code is None else str(c.exit_code)
        ago = f" {since(c.finished_at, now)} ago" if c.finished_at else ""
        return f"exit {code}{ago}"
    return c.state


def _memory(c: Container) -> str:
    if c.memory_used is None:
        return "-"
    return human_bytes(c.memory_used)


def _ports(c: Container) -> str:
    return ", ".join(str(p) for p in c.ports)


def _uptime_sort(c: Container) -> tuple[int, float]:
    if c.running and c.started_at:
        return (0, -c.started_at.timestamp())
    return (1, 0.0)


# `priority`: what a narrow list keeps first (k9s's order: name, state, CPU, memory;
# then the image), the rest as room allows; the panel names what it left out.
CONTAINER_COLUMNS: list[Column[Container]] = [
    Column(
        "name",
        "NAME",
        lambda c, _: literal(short(c.name, NAME_WIDTH), "bold"),
        lambda c: c.name.lower(),
        search=lambda c: c.name,
        priority=0,
    ),
    Column(
        "host",
        "HOST",
        lambda c, _: literal(c.host),
        lambda c: c.host,
        search=lambda c: c.host,
        priority=1,
    ),
    Column(
        "state",
        "STATE",
        lambda c, _: literal(c.state, STATE_STYLE.get(c.state, "")),
        lambda c: (c.state != "running", c.state),
        search=lambda c: c.state,
        priority=0,
    ),
    Column(
        "health",
        "HEALTH",
        lambda c, _: literal(c.health or "-", HEALTH_STYLE.get(c.health, "dim")),
        lambda c: (c.health != "unhealthy", c.health),
        search=lambda c: c.health,
        priority=2,
    ),
    Column(
        "cpu",
        "CPU",
        lambda c, _: Text(percent(c.cpu_percent), justify="right"),
        lambda c: -(c.cpu_percent or 0.0),
        priority=1,
    ),
    Column(
        "mem",
        "MEM",
        lambda c, _: Text(_memory(c), justify="right"),
        lambda c: -(c.memory_used or 0),
        priority=1,
    ),
    Column(
        "uptime",
        "UPTIME",
        lambda c, now: literal(container_uptime(c, now, coarse=True)),
        _uptime_sort,
        priority=3,
    ),
    Column(
        "restarts",
        "RESTARTS",
        lambda c, _: Text(str(c.restart_count), justify="right"),
        lambda c: -c.restart_count,
        priority=4,
    ),
    Column(
        "image",
        "IMAGE",
        lambda c, _: literal(short(c.image, NAME_WIDTH)),
        lambda c: c.image.lower(),
        search=lambda c: c.image,
        priority=2,
    ),
    Column("ports", "PORTS", lambda c, _: literal(_ports(c)), _ports, priority=5),
    Column(
        "project",
        "PROJECT",
        lambda c, _: literal(
            f"{c.compose_project}/{c.compose_service}" if c.compose_project else ""
        ),
        lambda c: (c.compose_project, c.compose_service),
        search=lambda c: f"{c.compose_project} {c.compose_service}",
        priority=4,
    ),
]

# A rollout under way is yellow, one the engine paused (it waits for a person) red.
UPDATE_STYLES = {
    "updating": "yellow",
    "rollback_started": "yellow",
    "paused": "red",
    "rollback_paused": "red",
}

SERVICE_COLUMNS: list[Column[Service]] = [
    Column(
        "name",
        "SERVICE",
        lambda s, _: literal(s.name, "bold"),
        lambda s: s.name.lower(),
        search=lambda s: s.name,
        priority=0,
    ),
    Column(
        "host",
        "HOST",
        lambda s, _: literal(s.host),
        lambda s: s.host,
        search=lambda s: s.host,
        priority=1,
    ),
    Column(
        "replicas",
        "REPLICAS",
        lambda s, _: literal(
            f"{s.replicas_running}/{'-' if s.replicas_desired is None else s.replicas_desired}",
            "green" if s.replicas_running == s.replicas_desired else "yellow",
        ),
        lambda s: (s.replicas_running - (s.replicas_desired or 0), s.name),
        priority=0,
    ),
    Column(
        "mode",
        "MODE",
        lambda s, _: literal(s.mode),
        lambda s: s.mode,
        search=lambda s: s.mode,
        priority=3,
    ),
    Column(
        "image",
        "IMAGE",
        lambda s, _: literal(s.image),
        lambda s: s.image.lower(),
        search=lambda s: s.image,
        priority=2,
    ),
    Column(
        "update",
        "UPDATE",
        lambda s, _: literal(s.update_words or "-", UPDATE_STYLES.get(s.update_state, "")),
        lambda s: s.update_state,
        search=lambda s: s.update_words,
        priority=1,
    ),
    Column(
        "updated",
        "UPDATED",
        lambda s, now: literal(age(s.updated, now) + " ago" if s.updated else "-"),
        lambda s: -(s.updated.timestamp() if s.updated else 0),
        priority=3,
    ),
]


container_search_text = search_text(CONTAINER_COLUMNS, labels_text)
service_search_text = search_text(SERVICE_COLUMNS)
