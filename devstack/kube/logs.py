"""Container logs: what the kubelet keeps per container run, and the pods/log
subresource that serves them.

https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-read-log-of-the-specified-pod
(query: container, follow, previous, tailLines, sinceSeconds, timestamps,
limitBytes; the reply is text/plain, chunked while following)

Each container run keeps either lines a test set (`KubeApiServer.set_pod_log`)
or synthetic lines computed from the run's start time (one per `every`
seconds), so thousands of idle pods cost nothing until someone reads them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from devstack.kube.objects import status

KEEP = 1000  # synthetic lines kept per run (the kubelet rotates logs too)

_CRASH = (
    "INFO starting",
    "INFO loading configuration from /etc/app/config.yaml",
    "ERROR cannot connect to database at db:5432: connection refused",
    "panic: no database connection, exiting",
)
_OOM = (
    "INFO starting",
    "INFO warming cache",
    "WARN memory usage 498Mi of limit 512Mi",
)


@dataclass
class Run:
    """One run of one container (a restart starts a new run)."""

    started: float  # time.time()
    kind: str = "steady"  # steady | crash | oom
    lines: list[tuple[float, str]] | None = None  # set by a test; None: synthetic
    finished: float | None = None
    extra: list[tuple[float, str]] = field(default_factory=list)


def _stamp(when: float) -> str:
    """RFC 3339 with nanoseconds, as `timestamps=true` prefixes each line."""
    whole = int(when)
    nanos = round((when - whole) * 1e9) % 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


class PodLogs:
    def __init__(self, every: float):
        self.every = max(every, 0.05)
        self.lock = threading.Lock()
        self._runs: dict[tuple[str, str], list[Run]] = {}  # (pod uid, container) -> runs

    def start(self, uid: str, container: str, kind: str = "steady") -> None:
        with self.lock:
            runs = self._runs.setdefault((uid, container), [])
            now = time.time()
            if runs and runs[-1].finished is None:
                runs[-1].finished = now
            runs.append(Run(now, kind, finished=now + 0.01 if kind != "steady" else None))
            del runs[:-2]  # the kubelet keeps the current and the previous container

    def forget(self, uid: str) -> None:
        with self.lock:
            for key in [k for k in self._runs if k[0] == uid]:
                del self._runs[key]

    def set(self, uid: str, container: str, lines: list[str], previous: bool = False) -> None:
        with self.lock:
            runs = self._runs.setdefault((uid, container), [])
            now = time.time()
            if not runs:
                runs.append(Run(now))
            if previous and len(runs) < 2:
                runs.insert(0, Run(now - 1, finished=now))
            run = runs[-2] if previous else runs[-1]
            run.lines = [(now, line) for line in lines]
            run.extra = []

    def append(self, uid: str, container: str, lines: list[str]) -> None:
        with self.lock:
            runs = self._runs.setdefault((uid, container), [Run(time.time(), lines=[])])
            if runs[-1].lines is None:
                runs[-1].lines = []
            runs[-1].lines.extend((time.time(), line) for line in lines)

    def runs(self, uid: str, container: str) -> list[Run]:
        with self.lock:
            return list(self._runs.get((uid, container), []))

    def lines(self, run: Run, container: str) -> list[tuple[int, float, str]]:
        """(index, time, text) of a run, oldest first."""
        with self.lock:
            if run.lines is not None:
                return [(i, t, text) for i, (t, text) in enumerate(run.lines)]
            if run.kind != "steady":
                fixed = _CRASH if run.kind == "crash" else _OOM
                return [(i, run.started + i * 0.001, text) for i, text in enumerate(fixed)]
            end = run.finished or time.time()
            count = 1 + int((end - run.started) / self.every)
            first = max(0, count - KEEP)
            out = [(0, run.started, f"INFO {container} listening on :8080")] if first == 0 else []
            for i in range(max(1, first), count):
                when = run.started + i * self.every
                out.append((i, when, f"INFO {container} GET /healthz 200 request={i}"))
            return out


def _bad(message: str) -> tuple[int, dict[str, Any]]:
    return 400, status(400, "BadRequest", message)


def _int(query: dict[str, str], key: str) -> int | None:
    value = query.get(key)
    return int(value) if value not in (None, "") else None


def serve_log(handler: Any, ns: str, name: str) -> tuple[int, Any]:
    """GET .../pods/{name}/log: (code, Status) for an error, or (200, None) once written."""
    api, query = handler.api, handler.query
    pod = api.store.get("pods", ns, name)
    if pod is None:
        return 404, status(404, "NotFound", f'pods "{name}" not found', name=name, kind="pods")
    names = [c["name"] for c in pod["spec"]["containers"]]
    container = query.get("container") or (names[0] if len(names) == 1 else None)
    if container is None:
        return _bad(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
    if container not in names:
        return _bad(f"container {container} is not valid for pod {name}")
    try:
        tail, since, limit = (_int(query, k) for k in ("tailLines", "sinceSeconds", "limitBytes"))
    except ValueError:
        return _bad("invalid tailLines, sinceSeconds or limitBytes")
    previous = query.get("previous") in ("1", "true")
    stamps = query.get("timestamps") in ("1", "true")
    follow = query.get("follow") in ("1", "true")
    uid = pod["metadata"]["uid"]
    runs = api.logs.runs(uid, container)
    if previous:
        if len(runs) < 2:
            return _bad(f'previous terminated container "{container}" in pod "{name}" not found')
        run = runs[-2]
    elif runs:
        run = runs[-1]
    else:
        state = next(
            c["state"] for c in pod["status"]["containerStatuses"] if c["name"] == container
        )
        reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
        if reason in ("ImagePullBackOff", "ErrImagePull"):
            reason = "trying and failing to pull image"
        return _bad(f'container "{container}" in pod "{name}" is waiting to start: {reason}')

    def render(rows: list[tuple[int, float, str]]) -> bytes:
        return b"".join(
            ((_stamp(t) + " ") if stamps else "").encode() + text.encode() + b"\n"
            for _, t, text in rows
        )

    rows = api.logs.lines(run, container)
    if since is not None:
        rows = [r for r in rows if r[1] >= time.time() - since]
    if tail is not None:
        rows = rows[-tail:] if tail > 0 else []
    head = [("Content-Type", "text/plain")]
    if not follow or previous:
        payload = render(rows)
        handler.send_reply(200, payload[:limit] if limit is not None else payload, head)
        return 200, None
    handler.send_response(200)
    handler.send_header(*head[0])
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    budget = limit if limit is not None else -1
    last = rows[-1][0] if rows else -1
    try:
        while True:
            data = render(rows)
            if budget >= 0:
                data, budget = data[:budget], budget - len(data[:budget])
            if data:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                handler.wfile.flush()
            if budget == 0 or api.stopping.is_set():
                break
            time.sleep(0.05)
            now_pod = api.store.get("pods", ns, name)
            current = api.logs.runs(uid, container)
            if now_pod is None or now_pod["metadata"]["uid"] != uid or current[-1] is not run:
                break  # the pod is gone or the container restarted: the stream ends
            rows = [r for r in api.logs.lines(run, container) if r[0] > last]
            last = rows[-1][0] if rows else last
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:  # the client hung up
        handler.close_connection = True
    return 200, None
