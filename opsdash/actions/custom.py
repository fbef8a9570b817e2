"""Custom redeploy commands from the config: an argv run without a shell.

Placeholders are filled per argument, so a value holding `;` or `$(...)` stays
one literal argument. Output streams line by line; cancelling ends the whole
process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping

from opsdash.actions.base import ActionCancelled, ActionError, ActionPlan, ActionResult, Progress
from opsdash.config import RedeployCommand


class _Literal(dict):
    """format_map values that leave unknown names as they were."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(argv: tuple[str, ...], values: Mapping[str, str]) -> tuple[str, ...]:
    safe = _Literal({k: str(v) for k, v in values.items()})
    out = []
    for arg in argv:
        try:
            out.append(arg.format_map(safe))
        except (ValueError, IndexError):
            out.append(arg)  # a stray brace: keep the argument as written
    return tuple(out)


def plan_custom(
    command: RedeployCommand,
    *,
    kind: str,
    target: str,
    target_id: str,
    host: str,
    values: Mapping[str, str],
) -> ActionPlan:
    argv = fill(command.argv, values)
    return ActionPlan(
        action=f"redeploy ({command.name})",
        kind=kind,
        target=target,
        target_id=target_id,
        host=host,
        argv=argv,
        old_image=values.get("image", ""),
        steps=(
            f"Run {command.name!r} without a shell, in the current directory:",
            "  " + " ".join(_quote(a) for a in argv),
            f"It is stopped after {command.timeout:g}s; you can cancel it at any time.",
        ),
    )


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./:=@%+," for c in arg) else repr(arg)


class CustomCommand:
    def __init__(self, timeout: float):
        self.timeout = timeout
        self.cancelled = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None

    def cancel(self) -> None:
        self.cancelled.set()
        self._terminate()

    def _terminate(self) -> None:
        """SIGTERM the command's whole process group (it runs in its own session)."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)

    def run(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        try:
            self._process = subprocess.Popen(
                list(plan.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ActionError(f"cannot run {plan.argv[0]}: {exc.strerror or exc}") from None
        process = self._process
        timer = threading.Timer(self.timeout, self._terminate)
        timer.daemon = True
        timer.start()
        started = time.monotonic()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                progress("output", raw.decode("utf-8", "replace").rstrip("\r\n"))
            code = process.wait()
        finally:
            timer.cancel()
        if self.cancelled.is_set():
            raise ActionCancelled(f"cancelled after {time.monotonic() - started:.0f}s")
        if code != 0:
            raise ActionError(f"{plan.argv[0]} exited with status {code}")
        return ActionResult(True, f"{plan.argv[0]} exited with status 0", deployed=True)
