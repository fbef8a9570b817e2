"""First frame with nothing configured, a dead source and a hanging source.

Issue 14 wants opsdash's first frame within 1.3x the bare Textual app's also
when no source is found, when a source refuses (a socket that does not exist)
and when one never answers (a local TCP server that accepts and stays
silent). None of these needs the engine; each runs from an empty directory
with HOME and XDG pointed at empty temp dirs, so autodetection finds nothing
but what the config names.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path
from statistics import median

import psutil

from benchmarks.instruments import ROOT, PtyRun

BARE_APP = Path(__file__).resolve().parent / "bare_app.py"
BARE_READY = b"bare textual app ready"
OPSDASH_READY = b"opsdash"
CLEARED = ("DOCKER_HOST", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
CLEARED += ("OPSDASH_CONFIG", "OPSDASH_DATA_DIR", "NO_COLOR", "TEXTUAL", "DOCKER_CONTEXT")


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.held.append(conn)

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


def empty_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_DATA_HOME"] = str(home / "data")
    env["XDG_RUNTIME_DIR"] = str(home / "run")
    env["TERM"] = "xterm-256color"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def case_configs(port: int) -> dict[str, str]:
    return {
        "none configured": "",
        "dead source": '[[docker]]\nname = "dead"\nhost = "unix:///nonexistent/docker.sock"\n',
        "hanging source": f'[[docker]]\nname = "hanging"\nhost = "tcp://127.0.0.1:{port}"\n',
    }


def cpu_ms(run: PtyRun) -> float | None:
    """CPU (user + system) the process has used so far: read at its first frame,
    steadier than the wall time on a loaded machine."""
    try:
        times = psutil.Process(run.proc.pid).cpu_times()
    except psutil.Error:
        return None
    return (times.user + times.system) * 1000


def first_frame_cases(repeats: int, notes: list[str]) -> dict[str, dict[str, float | None]]:
    """Per case: median spawn-to-first-frame of opsdash and of the bare app,
    alternately, and the CPU each had used by then (ms)."""
    home = Path(tempfile.mkdtemp(prefix="opsdash-bench-empty-"))
    work = home / "cwd"
    for sub in ("config", "data", "run", "cwd"):
        (home / sub).mkdir()
    env = empty_env(home)
    server = SilentServer()
    out: dict[str, dict[str, float | None]] = {}
    try:
        for case, text in case_configs(server.port).items():
            config = home / f"{case.replace(' ', '-')}.toml"
            config.write_text(text)
            argv = [sys.executable, "-m", "opsdash", "--config", str(config)]
            ops_times, bare_times, ops_cpu, bare_cpu = [], [], [], []
            for round_ in range(repeats + 1):
                bare = PtyRun([sys.executable, str(BARE_APP)], env, (BARE_READY,), "bare", cwd=work)
                bare_frame = bare.wait_for(BARE_READY, 30)
                bare_used = cpu_ms(bare)
                bare.stop()
                ops = PtyRun(argv, env, (OPSDASH_READY,), f"opsdash ({case})", cwd=work)
                frame = ops.wait_for(OPSDASH_READY, 30)
                ops_used = cpu_ms(ops)
                if frame is None or ops.crashed():
                    notes.append(f"first frame, {case}: {frame}; screen: {ops.screen_text(300)}")
                ops.stop()
                if round_:
                    ops_times.append(frame)
                    bare_times.append(bare_frame)
                    ops_cpu.append(ops_used)
                    bare_cpu.append(bare_used)
            out[case] = {
                "ops_frame": _median(ops_times),
                "bare_frame": _median(bare_times),
                "ops_cpu_ms": _median(ops_cpu),
                "bare_cpu_ms": _median(bare_cpu),
            }
    finally:
        server.close()
    return out


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None
