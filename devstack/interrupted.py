"""Leave a real interrupted redeploy on an engine, as a killed opsdash leaves it.

A child process runs opsdash's own redeploy of a container with the journal's
test hook holding it right before the new container is created; it is then
killed with SIGKILL. What stays on the engine (the lock container, the old one
stopped and renamed) is exactly what any opsdash then finds and puts right.
Used by scripts/screenshots.py; the crash tests drive the real TUI instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import sys
from opsdash.actions.docker import DockerActions
from opsdash.actions.journal import ActionJournal
from opsdash.sources.docker import DockerHostConfig
from opsdash.sources.docker import DockerSource

source = DockerSource(DockerHostConfig(name=sys.argv[2], host=sys.argv[1], pull=False))
actions = DockerActions(source, actor="oncall@laptop")
plan = actions.plan_redeploy(sys.argv[3])
actions.run_redeploy(plan, ActionJournal(None, None), lambda _question: True)
"""


def leave_interrupted_redeploy(
    docker_host: str, host_name: str, container: str, step: str = "create"
) -> None:
    """Returns once the child is dead with the redeploy cut short before `step`."""
    with tempfile.TemporaryDirectory(prefix="opsdash-hold-") as tmp:
        held = Path(tmp) / "held"
        env = {**os.environ, "OPSDASH_TEST_HOLD": f"{step}={held}"}
        root = Path(__file__).resolve().parent.parent
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, docker_host, host_name, container], env=env, cwd=root
        )
        try:
            deadline = time.monotonic() + 120
            while not held.exists():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the redeploy of {container} never reached {step}")
                time.sleep(0.1)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
