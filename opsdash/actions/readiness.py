"""Whether a new container came up: running, and healthy when it has a
healthcheck, within the action's health timeout; if not, the error carries
the last log lines. Used by redeploys and by recovery after a kill."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker.errors
import requests.exceptions

from opsdash.actions.base import ActionError, Progress


def wait_up(
    api: Any,
    inspect: Callable[[str], dict[str, Any]],
    container_id: str,
    progress: Progress,
    *,
    health: bool,
    timeout: float,
    settle: float,
) -> None:
    """Running (and healthy when it has a healthcheck), or an ActionError.

    Without a healthcheck, "up" is running for `settle` seconds (when `health`
    is asked for), so a process that crashes at once is caught. `inspect`
    turns engine errors into ActionErrors."""
    deadline = time.monotonic() + timeout
    up_since: float | None = None
    last = ""
    while time.monotonic() < deadline:
        state = inspect(container_id).get("State") or {}
        status = state.get("Status", "")
        checked = state.get("Health")
        if status in ("exited", "dead") or (status == "restarting" and state.get("ExitCode")):
            raise ActionError(
                f"the new container exited with code {state.get('ExitCode')}"
                + log_tail(api, container_id)
            )
        if status == "running":
            if health and checked:
                now = checked.get("Status", "")
                if now != last:
                    progress("health", f"health: {now}")
                    last = now
                if now == "healthy":
                    return
                if now == "unhealthy":
                    raise ActionError(
                        "the new container is unhealthy" + log_tail(api, container_id)
                    )
            else:
                up_since = up_since or time.monotonic()
                if time.monotonic() - up_since >= (settle if health else 0):
                    return
        time.sleep(0.25)
    raise ActionError(f"the new container was not up and healthy within {timeout:g}s")


def log_tail(api: Any, container_id: str) -> str:
    """The container's last three log lines, for the error that says it failed."""
    try:
        text = api.logs(container_id, tail=3).decode("utf-8", "replace").strip()
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return ""
    return f" (last log: {' | '.join(text.splitlines())[:200]})" if text else ""
