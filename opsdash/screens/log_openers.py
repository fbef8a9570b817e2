"""The logs screens of Docker containers: one container's (`l`), or several
merged in time order (`L`): a compose project's, a scaled compose service's
replicas, or a Swarm service's tasks.

`L` on a container of a compose service with several replicas shows those
replicas (the question is most often "what are my N workers saying"); `L`
again on that screen widens it to the whole project. On any other container
of a project it shows the project.

They all ask the engine for timestamps (the screen shows or hides them without
reopening; the merge orders by them) and read `[logs] since` and `tail` as
the first options, which `o` on the screen changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from opsdash.log_merge import MergedLogStream, Opener
from opsdash.log_options import LogOptions, since_moment
from opsdash.model import Container, Service

if TYPE_CHECKING:
    from textual.message import Message

MAX_MERGED = 16  # streams of one merged view (each holds a connection to the engine)
MAX_MERGED_SSH = 4  # an ssh:// engine has 8 connections in all; polling keeps the rest


def first_options(config: Any) -> LogOptions:
    logs = getattr(config, "logs", None)
    if logs is None:
        return LogOptions()
    return LogOptions(since=logs.since, tail=logs.tail)


def _since_seconds(options: LogOptions) -> float | None:
    moment = since_moment(options.since)
    return None if moment is None else max(1.0, moment.timestamp())


def _stream(source: Any, container: Container, options: LogOptions):
    if source is None:
        raise RuntimeError("its Docker source is not configured")
    return source.logs(
        container.id, tail=options.tail, since=_since_seconds(options), timestamps=True
    )


def container_logs_screen(source: Any, container: Container, options: LogOptions):
    from opsdash.screens.logs import LogsScreen

    return LogsScreen(
        container.name,
        reopen=lambda chosen: _stream(source, container, chosen),
        options=options,
        file_name=container.name,
        ended="stream ended (the container stopped?)",
    )


def merge_limit(source: Any) -> int:
    host = str(getattr(getattr(source, "config", None), "host", ""))
    return MAX_MERGED_SSH if host.startswith("ssh://") else MAX_MERGED


def project_members(container: Container, containers: Sequence[Container]) -> list[Container]:
    """The containers of `container`'s compose project on its engine, by service
    then name (stopped ones too: their last lines are often the point)."""
    members = [
        c
        for c in containers
        if c.host == container.host and c.compose_project == container.compose_project
    ]
    return sorted(members, key=lambda c: (c.compose_service, c.name))


def service_replicas(container: Container, containers: Sequence[Container]) -> list[Container]:
    """The containers of `container`'s compose service (its replicas) on its
    engine, by name; only the container itself when the service is not scaled."""
    replicas = [
        c
        for c in containers
        if c.host == container.host
        and c.compose_project == container.compose_project
        and c.compose_service == container.compose_service
    ]
    return sorted(replicas, key=lambda c: c.name) or [container]


def project_logs_screen(
    source: Any,
    project: str,
    members: Sequence[Container],
    options: LogOptions,
    *,
    title: str = "",
    wider: Callable[[], Message] | None = None,
):
    """`title`: what the screen is of (the project, or one of its services);
    `wider`: the request `L` on the screen posts for the whole project."""
    from opsdash.screens.logs import LogsScreen

    def reopen(chosen: LogOptions) -> MergedLogStream:
        return MergedLogStream(
            [
                Opener(c.name, lambda c=c: _stream(source, c, chosen))  # type: ignore[misc]
                for c in members
            ]
        )

    return LogsScreen(
        f"{title or project} ({len(members)} containers)",
        reopen=reopen,
        options=options,
        file_name=title.replace("/", "-") if title else project,
        ended="every stream ended",
        names=tuple(c.name for c in members),
        wider=wider,
    )


def _task_names(service: Service) -> tuple[str, ...]:
    """The name column's likely names (its width): `name.slot` for a replicated
    service, `name.<task id>` for a global one (the stream names what comes)."""
    if service.mode.startswith("replicated"):
        count = max(service.replicas_desired or 0, service.replicas_running, 1)
        return tuple(f"{service.name}.{slot}" for slot in range(1, count + 1))
    return (f"{service.name}.{'0' * 12}",)


def service_logs_screen(source: Any, service: Service, options: LogOptions):
    """`L` on a Swarm service: every task's lines, on the one stream the
    manager sends for the service, each named after its task."""
    from opsdash.screens.logs import LogsScreen

    def reopen(chosen: LogOptions):
        return source.service_logs(
            service.id, service.name, tail=chosen.tail, since=_since_seconds(chosen)
        )

    return LogsScreen(
        f"{service.name} (service, {service.replicas_running} running)",
        reopen=reopen,
        options=options,
        file_name=service.name,
        ended="stream ended (the service removed?)",
        names=_task_names(service),
    )
