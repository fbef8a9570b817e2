"""A [[redeploy]] command run for real: its exit status is journaled, and cancel
or the timeout ends everything it started, also a child that ignores SIGTERM."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from opsdash.actions.base import ActionCancelled, ActionError, ActionPlan
from opsdash.actions.custom import CustomCommand

# Starts a child in its process group that ignores SIGTERM, prints its pid, then waits.
STUBBORN_CHILD = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
print("child", child.pid, flush=True)
time.sleep(60)
"""


def plan_of(*argv: str) -> ActionPlan:
    return ActionPlan(
        action="redeploy (t)", kind="container", target="t", target_id="t", host="h", argv=argv
    )


def gone(pid: int, timeout: float = 10.0) -> bool:
    """The process has exited (a zombie waiting for init counts as exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_output_streams_and_the_exit_status_is_journaled():
    steps: list[tuple[str, str]] = []
    script = "print('one', flush=True); print('two')"
    result = CustomCommand(10).run(
        plan_of(sys.executable, "-c", script), lambda s, d: steps.append((s, d))
    )
    assert result.ok and result.message.endswith("exited with status 0")
    assert steps == [("output", "one"), ("output", "two"), ("exit", "status 0")]


def test_a_failing_command_names_its_status():
    steps: list[tuple[str, str]] = []
    with pytest.raises(ActionError, match=r"exited with status 3$"):
        CustomCommand(10).run(
            plan_of(sys.executable, "-c", "raise SystemExit(3)"),
            lambda s, d: steps.append((s, d)),
        )
    assert steps[-1] == ("exit", "status 3")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_cancel_ends_the_whole_group_also_what_ignores_sigterm():
    command = CustomCommand(60, grace=0.5)
    children: list[int] = []
    steps: list[tuple[str, str]] = []

    def progress(step: str, line: str) -> None:
        steps.append((step, line))
        if line.startswith("child "):
            children.append(int(line.split()[1]))
            command.cancel()

    started = time.monotonic()
    with pytest.raises(ActionCancelled, match=r"killed by SIGTERM"):
        command.run(plan_of(sys.executable, "-c", STUBBORN_CHILD), progress)
    assert time.monotonic() - started < 10
    assert children and gone(children[0]), "the child that ignored SIGTERM still runs"
    assert steps[-1] == ("exit", "killed by SIGTERM")


def test_the_timeout_stops_it_and_says_so():
    with pytest.raises(ActionError, match=r"stopped after the timeout of 0.5s"):
        CustomCommand(0.5, grace=0.5).run(
            plan_of(sys.executable, "-c", "import time; time.sleep(30)"), lambda s, d: None
        )
