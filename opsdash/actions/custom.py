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
    """One run of a custom command. Cancel (or the timeout) ends the whole run:
    SIGTERM to its process group, SIGKILL to whatever is left of it after
    `grace` seconds (an ansible-playbook's workers, the docker CLI a task runs),
    so nothing it started goes on changing things after the dialog says it
    stopped."""

    def __init__(self, timeout: float, *, grace: float = 5.0):
        self.timeout = timeout
        self.grace = grace
        self.cancelled = threading.Event()
        self.timed_out = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._reaped = threading.Event()  # from then on its pid may be another process's
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self.cancelled.set()
        self._terminate()

    def _time_out(self) -> None:
        self.timed_out.set()
        self._terminate()

    def _terminate(self) -> None:
        """SIGTERM the command's process group (it runs in its own session), SIGKILL later."""
        self._signal_group(signal.SIGTERM)
        timer = threading.Timer(self.grace, self._signal_group, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def _signal_group(self, signum: int) -> None:
        # Never once the leader is reaped: its pid, and so the group id, may be reused.
        with self._lock:
            process = self._process
            if process is None or self._reaped.is_set():
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signum)

    def run(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        program = os.path.basename(plan.argv[0])
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
        timer = threading.Timer(self.timeout, self._time_out)
        timer.daemon = True
        timer.start()
        started = time.monotonic()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                progress("output", raw.decode("utf-8", "replace").rstrip("\r\n"))
            code = self._wait(process)
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started
        progress("exit", _status(code))  # journaled: the audit row keeps how it ended
        if self.cancelled.is_set():
            raise ActionCancelled(f"cancelled after {elapsed:.0f}s ({program} {_status(code)})")
        if self.timed_out.is_set():
            raise ActionError(f"{program} stopped after the timeout of {self.timeout:g}s")
        if code != 0:
            raise ActionError(f"{program} exited with {_status(code)}")
        return ActionResult(True, f"{program} exited with status 0", deployed=True)

    def _wait(self, process: subprocess.Popen[bytes]) -> int:
        """Wait for the leader; once stopped by cancel or timeout, SIGKILL what is
        left of its group while the unreaped leader still holds the group id."""
        try:
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        except (AttributeError, ChildProcessError, OSError):
            code = process.wait()  # no waitid here: the leader is reaped, leave the group be
            self._reaped.set()
            return code
        if self.cancelled.is_set() or self.timed_out.is_set():
            self._signal_group(signal.SIGKILL)
        with self._lock:
            code = process.wait()  # it has exited: this only reaps it
            self._reaped.set()
        return code


def _status(code: int) -> str:
    """`status 2`, or `killed by SIGTERM` for a command a signal ended."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"
