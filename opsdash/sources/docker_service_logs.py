"""A Swarm service's log: the lines of all its tasks in one engine stream,
each named after its task (`api.1`, `api.2`; a global service's by task id).

The engine's `GET /services/{id}/logs` sends every task's lines on one
connection; asked with `details=1`, it puts the line's attributes before the
text (`com.docker.swarm.task.id=...,com.docker.swarm.node.id=... text`, after
the timestamp). The task id names the line: the service's tasks, listed once
and again when an unknown task speaks (a replica rescheduled), give its slot.
The text after the attributes is the task's, kept as it came (the screen
renders it literally).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

from opsdash.log_lines import LogLine
from opsdash.sources.docker_logs import LogStream, engine_errors

TASK_ID = "com.docker.swarm.task.id"
RELIST_SECONDS = 2.0  # an unknown task lists the service's tasks again, at most this often


def split_details(line: LogLine) -> tuple[dict[str, str], LogLine]:
    """The attributes the engine put before `line`'s text, and the text. A
    line with none comes back as it is, with `{}`; so does one without a
    timestamp (a cut line's rest: its text may well hold `a=b`)."""
    head, space, rest = str(line).partition(" ")
    if not line.at or not space or "=" not in head:
        return {}, line
    attrs: dict[str, str] = {}
    for pair in head.split(","):
        key, equals, value = pair.partition("=")
        if not equals:
            return {}, line
        attrs[unquote_plus(key)] = unquote_plus(value)
    text = LogLine(rest, stamp=line.stamp, at=line.at)
    return attrs, text


class TaskNames:
    """Task id -> (name, colour slot), from the service's task list:
    `service.slot` for a replicated task, `service.<task id>` otherwise."""

    def __init__(self, service: str, list_tasks: Callable[[], list[dict[str, Any]]]):
        self.service = service
        self._list = list_tasks
        self._known: dict[str, tuple[str, int]] = {}
        self._listed = float("-inf")

    def _relist(self) -> None:
        self._listed = time.monotonic()
        try:
            tasks = self._list()
        except Exception:  # noqa: BLE001 - the line keeps its task id for a name
            return
        for task in tasks:
            task_id = str(task.get("ID") or "")
            slot = task.get("Slot")
            if task_id and task_id not in self._known:
                self._known[task_id] = self._named(task_id, slot)

    def _named(self, task_id: str, slot: Any) -> tuple[str, int]:
        if isinstance(slot, int) and slot > 0:
            return f"{self.service}.{slot}", slot - 1
        return f"{self.service}.{task_id[:12]}", len(self._known)

    def of(self, task_id: str) -> tuple[str, int]:
        if task_id not in self._known and time.monotonic() - self._listed >= RELIST_SECONDS:
            self._relist()
        if task_id not in self._known:
            self._known[task_id] = self._named(task_id, None)
        return self._known[task_id]


class ServiceLogStream(LogStream):
    """`LogLine`s of every task, each with its task's name as `origin`."""

    def __init__(self, stream: Any, names: TaskNames, *, timestamped: bool = True):
        super().__init__(stream, timestamped=timestamped)
        self.names = names

    def __iter__(self) -> Iterator[str]:
        origin, slot, at, stamp = self.names.service, 0, 0, ""
        for raw in super().__iter__():
            line = raw if isinstance(raw, LogLine) else LogLine(raw)
            attrs, text = split_details(line)
            task_id = attrs.get(TASK_ID, "")
            if task_id:
                origin, slot = self.names.of(task_id)
            if text.at:
                at, stamp = text.at, text.stamp
            # a cut line's rest carries neither: it is its line's, at its time
            yield LogLine(str(text), stamp=stamp, at=at, origin=origin, slot=slot)


def open_service_logs(
    source: Any,
    service_id: str,
    service_name: str,
    tail: int,
    follow: bool,
    since: float | None = None,
) -> ServiceLogStream:
    """The SDK's log stream of a service on `source` (a DockerSource on a Swarm
    manager), stamped and with details; failing to reach the engine drops its
    clients, as a poll's failure does."""
    client = source.client
    with engine_errors(source):
        stream = _service_log_stream(client, service_id, tail, follow, since)
    names = TaskNames(service_name, lambda: client.tasks(filters={"service": service_id}))
    return ServiceLogStream(stream, names)


def _service_log_stream(client: Any, service_id: str, tail: int, follow: bool, since) -> Any:
    """The engine's response as a stream `close()` can stop from another thread.

    The SDK's `service_logs` hands back a bare generator: closing it while the
    reader thread waits in it does nothing, so leaving the screen left the
    reader (and the test run's event loop) waiting for the next line forever.
    Here the response is kept beside its frames, as the SDK does for container
    logs (`CancellableStream` shuts the socket down)."""
    from docker.types.daemon import CancellableStream

    params = {
        "details": True,
        "follow": follow,
        "stdout": True,
        "stderr": True,
        "since": since or 0,
        "timestamps": True,
        "tail": tail,
    }
    response = client._get(
        client._url("/services/{0}/logs", service_id), params=params, stream=True
    )
    client._raise_for_status(response)
    spec = client.inspect_service(service_id)["Spec"]["TaskTemplate"]["ContainerSpec"]
    if spec.get("TTY", False):
        frames = client._stream_raw_result(response)
    else:
        frames = client._multiplexed_response_stream_helper(response)
    return CancellableStream(frames, response)
