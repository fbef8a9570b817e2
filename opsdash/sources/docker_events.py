"""Which containers changed since the last poll, from the engine's `/events`.

Why: listing and inspecting every container each poll costs the engine and us
in proportion to the containers, not to what changed (200 containers: a list,
an `info` and the inspects every 2 s while nothing happens). dockerd announces
every change that matters to a row as a container event, so a thread follows
`/events` and the poll lists again, and inspects, only what an event named. A
poll that sees no event reuses what it had.

What cannot be known from events is covered by a full resync: on the first
connect and every reconnect (events may have been missed in between) and at a
slow interval, chosen by the source.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Protocol

# The container actions that change a row (state, health, name, restarts,
# limits); exec_* (health checks run one every interval), attach, resize, top
# and the like do not.
ROW_EVENTS = (
    "create",
    "start",
    "restart",
    "die",
    "destroy",
    "rename",
    "health_status",
    "update",
    "pause",
    "unpause",
    "remove",  # a Swarm service or node
)
# Swarm nodes and services: a manager appearing (`docker swarm init`, a join)
# or a service changing makes the poll read `info` and the services again.
SWARM_TYPES = ("service", "node")
RETRY_SECONDS = 2.0


class Engine(Protocol):
    name: str

    @property
    def reader(self) -> Any: ...  # docker_http.EngineHTTP or its SDKReader


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened since the last `take()`.

    following: the event stream is connected, so an empty `ids` means nothing
    changed; resync: events may have been missed (first connect, reconnect,
    an error), so everything must be listed and inspected again; swarm: a
    Swarm node or service changed.
    """

    following: bool
    resync: bool
    ids: frozenset[str]
    swarm: bool = False


class ContainerEvents:
    """A daemon thread following one engine's container events."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._changed: set[str] = set()
        self._swarm = False
        self._following = False
        self._resync = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream: Any = None
        self._connected = threading.Event()

    def follow(self) -> None:
        """Start (or restart) the thread; called by every poll."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=f"events-{self.engine.name}", daemon=True
                )
                self._thread.start()

    def wait_following(self, timeout: float) -> bool:
        """The first poll waits (briefly) for the subscription, so its list is
        taken after it and the connect's resync is that same list."""
        return self._connected.wait(timeout)

    @property
    def following(self) -> bool:
        """The stream is connected (the header's and the tests' question)."""
        with self._lock:
            return self._following

    def take(self) -> Changes:
        """The changes since the last call, cleared; take them *before* listing,
        so an event that lands during the list is seen by the next poll."""
        with self._lock:
            changes = Changes(self._following, self._resync, frozenset(self._changed), self._swarm)
            self._changed.clear()
            self._swarm = False
            self._resync = False
        return changes

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                stream = self.engine.reader.events(
                    decode=True,
                    filters={
                        "type": ["container", *SWARM_TYPES],
                        "event": list(ROW_EVENTS),
                    },
                )
            except Exception:  # noqa: BLE001 - the poll reports outages; retry
                stream = None
            if stream is not None:
                with self._lock:
                    self._stream = stream
                    self._following = True
                    self._resync = True
                self._connected.set()
                with contextlib.suppress(Exception):
                    for event in stream:
                        self._note(event)
                        if self._stop.is_set():
                            break
            self._connected.clear()
            with self._lock:
                self._stream = None
                self._following = False
                self._resync = True
            self._stop.wait(RETRY_SECONDS)

    def _note(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if event.get("Type") in SWARM_TYPES:
            with self._lock:
                self._swarm = True
            return
        cid = event.get("id") or (event.get("Actor") or {}).get("ID")
        if cid:
            with self._lock:
                self._changed.add(cid)

    def close(self) -> None:
        """Stop following; closing the response ends the thread's blocking read."""
        self._stop.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:

            def close_stream() -> None:
                with contextlib.suppress(Exception):
                    stream.close()

            threading.Thread(target=close_stream, name="close-events", daemon=True).start()
