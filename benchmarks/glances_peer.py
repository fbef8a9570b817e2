"""glances, the Python peer: its CPU and the engine's over the same window as
opsdash's and `docker stats`' (scenarios.py's cpu_window), in the same pty.

glances lives in its own venv, `glances-venv` under the servers dir
($OPSDASH_SERVERS_DIR, else .servers in the repo, as devstack's servers do);
the benchmark makes it when it is missing, or skips with a note. It runs with
the containers plugin on the private engine (DOCKER_HOST), a 2 s refresh as
opsdash's, the web UI and update check off, and the process list off: with
it, glances would also walk every shim and `sleep` on the machine, which
opsdash does not do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.instruments import ROOT, log, tree

REQUIREMENTS = ("glances", "docker", "python-dateutil")  # the containers plugin needs both
GLANCES_MAX = 200  # containers: glances streams stats per container, one thread each


def servers_dir() -> Path:
    return Path(os.environ.get("OPSDASH_SERVERS_DIR") or ROOT / ".servers")


def ensure_glances(notes: list[str]) -> Path | None:
    """The glances script of the venv, made first if needed; None (and a note) if it fails."""
    venv = servers_dir() / "glances-venv"
    binary = venv / "bin" / "glances"
    check = [str(venv / "bin" / "python"), "-c", "import glances, docker, dateutil"]
    if binary.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return binary
    log(f"installing glances into <servers>/{venv.name}")
    try:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run(
            [*pip, "--disable-pip-version-check", *REQUIREMENTS],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as error:
        notes.append(f"glances not installed ({type(error).__name__}); its figures skipped")
        return None
    return binary if binary.exists() else None


def measure_glances(bench: Any, n: int, ready: bytes) -> dict[str, Any]:
    if n > GLANCES_MAX:
        return {}
    binary = ensure_glances(bench.notes)
    if binary is None:
        return {}
    home = bench.tmp / "glances-home"  # no user glances.conf
    home.mkdir(exist_ok=True)
    env = bench.engine.env()
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), TERM="xterm-256color")
    argv = [str(binary), "-t", "2", "--disable-webui", "--disable-check-update"]
    argv.append("--disable-process")
    run = bench.spawn("glances", argv, env, (ready,))
    try:
        if run.wait_for(ready, 120) is None:
            bench.note(f"glances never listed a container: {run.screen_text(300)}")
            return {}
        version = subprocess.run(
            [str(binary), "-V"], capture_output=True, text=True, timeout=60
        ).stdout.split("\n")[0]
        time.sleep(5)  # past its first passes
        out = bench.cpu_window(lambda: tree(run.proc.pid), run)
        out["peak_rss"] = run.peak_rss_bytes()
        out["version"] = version.strip()
        return out
    finally:
        bench.finish(run)
