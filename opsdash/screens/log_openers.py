"""The logs screens of Docker containers: one container's (`l`), or every
container of a compose project merged in time order (`L`).

Both ask the engine for timestamps (the screen shows or hides them without
reopening; the merge orders by them) and read `[logs] since` and `tail` as
the first options, which `o` on the screen changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsdash.log_merge import MergedLogStream, Opener
from opsdash.log_options import LogOptions, since_moment
from opsdash.model import Container

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


def project_logs_screen(
    source: Any, project: str, members: Sequence[Container], options: LogOptions
):
    from opsdash.screens.logs import LogsScreen

    def reopen(chosen: LogOptions) -> MergedLogStream:
        return MergedLogStream(
            [
                Opener(c.name, lambda c=c: _stream(source, c, chosen))  # type: ignore[misc]
                for c in members
            ]
        )

    return LogsScreen(
        f"{project} ({len(members)} containers)",
        reopen=reopen,
        options=options,
        file_name=project,
        ended="every stream ended",
        names=tuple(c.name for c in members),
    )
