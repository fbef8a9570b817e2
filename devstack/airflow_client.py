"""A small stdlib client of Airflow 3's REST API, for the test harness.

Tests use it to set things up and to check the server's own view of what
opsdash did; it is not opsdash's client (that is opsdash.sources.airflow).
It logs in with POST /auth/token and logs in again once when a call answers
401, so a server with a short JWT lifetime stays usable from tests.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

# Proxies from the developer's environment must not see calls to 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
FINISHED = ("success", "failed")


class AirflowError(RuntimeError):
    """A call that failed; `status` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def quote(part: str) -> str:
    """One path segment (run ids hold ':' and '+')."""
    return urllib.parse.quote(part, safe="")


def request(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    accept: str = "application/json",
    timeout: float = 10,
) -> Any:
    """One call; the decoded JSON (None for an empty body). Raises AirflowError."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": accept}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{url}{path}", data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise AirflowError(f"{method} {path}: HTTP {exc.code}: {detail}", exc.code) from None
    except (OSError, ValueError) as exc:
        raise AirflowError(f"{method} {path}: {exc}") from None
    return json.loads(raw) if raw.strip() else None


class AirflowClient:
    """Calls as one user of the server at `url` (no trailing slash)."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url
        self.username = username
        self.password = password
        self._token: str | None = None
        self._lock = threading.Lock()  # the benchmark calls from many threads

    def token(self) -> str:
        """A new access token from POST /auth/token (it is also kept for api())."""
        reply = request(
            self.url,
            "POST",
            "/auth/token",
            {"username": self.username, "password": self.password},
        )
        token = str(reply["access_token"])
        with self._lock:
            self._token = token
        return token

    def api(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """`method` /api/v2{path} with `params` as the query string; logs in first,
        and once more if the token was refused (it may have expired)."""
        query = urllib.parse.urlencode(params, doseq=True)
        target = f"/api/v2{path}" + (f"?{query}" if query else "")
        token = self._token or self.token()
        try:
            return request(self.url, method, target, body, token=token)
        except AirflowError as exc:
            if exc.status != 401:
                raise
        return request(self.url, method, target, body, token=self.token())

    # --- what tests do most -----------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """GET /api/v2/monitor/health (needs no login)."""
        return request(self.url, "GET", "/api/v2/monitor/health", timeout=5)

    def dag_ids(self) -> set[str]:
        """The ids of every DAG the server knows (paused or not)."""
        found: set[str] = set()
        while True:
            page = self.api("GET", "/dags", limit=100, offset=len(found))
            found.update(d["dag_id"] for d in page["dags"])
            if not page["dags"] or len(found) >= page["total_entries"]:
                return found

    def import_errors(self) -> list[dict[str, Any]]:
        return self.api("GET", "/importErrors", limit=100)["import_errors"]

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Start a run of `dag_id` now; returns the new run (state "queued")."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if note is not None:
            body["note"] = note
        return self.api("POST", f"/dags/{quote(dag_id)}/dagRuns", body)

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}")

    def wait_run(
        self,
        dag_id: str,
        run_id: str,
        states: tuple[str, ...] = FINISHED,
        timeout: float = 120,
    ) -> dict[str, Any]:
        """The run once its state is one of `states` (by default: finished)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in states:
                return run
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id}/{run_id} still {run['state']!r} after {timeout}s")
            time.sleep(0.5)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances"
        return self.api("GET", path, limit=100)["task_instances"]

    def wait_task(
        self, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...], timeout: float = 60
    ) -> dict[str, Any]:
        """The task instance once its state is one of `states` (e.g. "running")."""
        deadline = time.monotonic() + timeout
        while True:
            for ti in self.task_instances(dag_id, run_id):
                if ti["task_id"] == task_id and ti["state"] in states:
                    return ti
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id}/{run_id}/{task_id} not in {states} after {timeout}s")
            time.sleep(0.5)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> list[str]:
        """The events of one try's log (Airflow answers JSON records, not text)."""
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/"
            f"{quote(task_id)}/logs/{try_number}"
        )
        content = self.api("GET", path).get("content") or []
        return [str(r.get("event", "")) if isinstance(r, dict) else str(r) for r in content]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/"
            f"{quote(task_id)}/xcomEntries/{quote(key)}"
        )
        return self.api("GET", path)["value"]
