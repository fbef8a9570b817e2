"""A private MLflow tracking server for tests, benchmarks and the demo.

Stdlib only. MLflow lives in its own venv, ``.servers/mlflow`` under the repo
root (``scripts/_bootstrap.sh: server_venv mlflow "mlflow==3.17.2"``), or under
``$OPSDASH_SERVERS_DIR/mlflow``. The server keeps everything in its directory
(sqlite database, artifacts, log, pid file), listens on 127.0.0.1 only, runs one
worker and no job runner (about 500 MB instead of 2.4 GB), and is stopped by
signalling its own process group only.

    python -m devstack.mlflow_server start DIR    # prints: export MLFLOW_TRACKING_URI=...
    python -m devstack.mlflow_server seed DIR     # the demo registry (churn v1..v3)
    python -m devstack.mlflow_server stop DIR     # stops it, keeps DIR
    python -m devstack.mlflow_server cleanup DIR  # stops it and removes DIR
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
API = "/api/2.0/mlflow"
MARKUP_MODEL = "[red]churn"  # Rich markup (MLflow forbids "/" in names), rendered literally


class MlflowServerError(RuntimeError):
    pass


def servers_dir() -> Path:
    """Where the server venvs live: $OPSDASH_SERVERS_DIR, else <repo>/.servers."""
    return Path(os.environ.get("OPSDASH_SERVERS_DIR") or REPO_ROOT / ".servers")


def mlflow_binary() -> Path | None:
    """The `mlflow` script of the server venv, or None when it is not installed."""
    path = servers_dir() / "mlflow" / "bin" / "mlflow"
    return path if os.access(path, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a for a in raw.decode(errors="replace").split("\0") if a]


def rest(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    params: dict[str, str] | None = None,
    timeout: float = 10,
) -> Any:
    """One MLflow REST call (``path`` below /api/2.0/mlflow); the decoded JSON.

    Raises MlflowServerError with MLflow's error code and message on HTTP errors.
    """
    target = f"{url.rstrip('/')}{API}/{path.lstrip('/')}"
    if params:
        target += "?" + urllib.parse.urlencode(params)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(target, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise MlflowServerError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
    except OSError as exc:
        raise MlflowServerError(f"{method} {path}: {exc}") from None
    return json.loads(raw) if raw.strip() else {}


class MlflowServer:
    """One ``mlflow server`` with its sqlite store and artifacts under ``base_dir``."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None, port: int | None = None):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-mlflow-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file = self.base_dir / "mlflow.pid"
        self.port_file = self.base_dir / "mlflow.port"
        self.log_file = self.base_dir / "mlflow.log"
        self.db_path = self.base_dir / "mlflow.db"
        self.artifacts = self.base_dir / "artifacts"
        if port is None:
            with contextlib.suppress(OSError, ValueError):
                port = int(self.port_file.read_text().strip())
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"MlflowServer({str(self.base_dir)!r}, port={self.port}, running={self.running})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- state -------------------------------------------------------------------

    def _is_ours(self, pid: int) -> bool:
        """The process runs `mlflow server` on our own database."""
        argv = _cmdline(pid)
        return any("mlflow" in a for a in argv) and any(str(self.db_path) in a for a in argv)

    @property
    def pid(self) -> int | None:
        """pid of this server's `mlflow` process (its process group leader), or None."""
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc.pid
            self._proc = None
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) and self._is_ours(pid) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def answers(self) -> bool:
        """GET /health returns 200 "OK"."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except (OSError, ValueError):
            return False

    def group_pids(self) -> list[int]:
        """Every live process of the server's process group (for memory figures)."""
        pid = self.pid
        if pid is None:
            return []
        found = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(entry.name)) == pid and _pid_alive(int(entry.name)):
                        found.append(int(entry.name))
        return found

    def rss_bytes(self) -> int:
        """Summed resident memory of the server's processes."""
        total = 0
        for pid in self.group_pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --- process control ------------------------------------------------------------

    def start(self, timeout: float = 90) -> None:
        """Launch the server and wait until /health answers. Idempotent."""
        deadline = time.monotonic() + timeout
        if self.running:
            while time.monotonic() < deadline:
                if self.answers():
                    return
                time.sleep(0.1)
            raise MlflowServerError(f"mlflow {self.pid} does not answer on {self.url}")
        binary = mlflow_binary()
        if binary is None:
            raise MlflowServerError(
                f"mlflow is not installed in {servers_dir() / 'mlflow'}: run"
                ' scripts/_bootstrap.sh\'s server_venv mlflow "mlflow==3.17.2"'
            )
        self.artifacts.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runner: 7 fewer processes
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN"):
            env.pop(key, None)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- opsdash: starting mlflow at {time.ctime()} ---\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [
                    str(binary),
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{self.db_path}",
                    "--default-artifact-root",
                    str(self.artifacts),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=str(self.base_dir),
                start_new_session=True,  # its own process group: stop() signals only that
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        self.port_file.write_text(f"{self.port}\n")
        proc = self._proc
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                raise MlflowServerError(
                    f"mlflow exited with status {proc.returncode}; {self.log_file}:\n"
                    f"{self._log_tail()}"
                )
            if self.answers():
                return
            time.sleep(0.1)
        self.stop()
        raise MlflowServerError(
            f"mlflow did not answer within {timeout}s; {self.log_file}:\n{self._log_tail()}"
        )

    def _signal_group(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:  # also reaps our child
                    return not self._group_alive(pid)
            elif not _pid_alive(pid) and not self._group_alive(pid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(entry.name)) == pgid and _pid_alive(int(entry.name)):
                        return True
        return False

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the server's process group; SIGKILL it after `timeout`. Keeps the data."""
        pid = self.pid
        if pid is not None:
            self._signal_group(pid, signal.SIGTERM)
            if not self._wait_gone(pid, timeout):
                self._signal_group(pid, signal.SIGKILL)
                self._wait_gone(pid, 5)
        self._proc = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def kill(self) -> None:
        """SIGKILL the whole server at once, as a crash would."""
        pid = self.pid
        if pid is not None:
            self._signal_group(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)
        self._proc = None

    def restart(self, timeout: float = 90) -> None:
        """stop() if running, then start() on the same port and data."""
        self.stop()
        self.start(timeout=timeout)

    def cleanup(self) -> None:
        """Stop the server and delete base_dir."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> MlflowServer:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # --- REST -------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        return rest(self.url, method, path, body, params or None)


# --- the demo registry ----------------------------------------------------------------


@dataclass
class Seed:
    """What `seed` created: ids to look things up with, and the logged values."""

    experiment_id: str
    runs: dict[str, str] = field(default_factory=dict)  # run name -> run id
    histories: dict[str, list[float]] = field(default_factory=dict)  # run name -> accuracy
    versions: dict[str, str] = field(default_factory=dict)  # run name -> churn version
    markup_model: str = MARKUP_MODEL


# run name -> accuracy per step (0, 1, 2, ...); each run's last value is its latest.
SEED_RUNS = {
    "train-v1": [0.62, 0.71, 0.76, 0.80],
    "train-v2": [0.70, 0.81, 0.86, 0.89, 0.91],
    "train-v3": [0.72, 0.84, 0.90, 0.93],
}


def seed(url: str, *, model: str = "churn", experiment: str = "churn-exp") -> Seed:
    """An experiment with three finished runs (accuracy and loss per step), a
    registered model `model` with one version per run, champion -> v2 and
    challenger -> v3, plus MARKUP_MODEL with one version as champion."""
    now = int(time.time() * 1000)
    created = rest(url, "POST", "experiments/create", {"name": experiment})
    result = Seed(experiment_id=str(created["experiment_id"]))
    for index, (run_name, history) in enumerate(SEED_RUNS.items()):
        start = now - (len(SEED_RUNS) - index) * 60_000
        run = rest(
            url,
            "POST",
            "runs/create",
            {"experiment_id": result.experiment_id, "run_name": run_name, "start_time": start},
        )["run"]["info"]
        run_id = run["run_id"]
        metrics = [
            {"key": "accuracy", "value": value, "timestamp": start + step * 1000, "step": step}
            for step, value in enumerate(history)
        ] + [
            {
                "key": "loss",
                "value": round(1 - value, 4),
                "timestamp": start + step * 1000,
                "step": step,
            }
            for step, value in enumerate(history)
        ]
        rest(
            url,
            "POST",
            "runs/log-batch",
            {"run_id": run_id, "metrics": metrics, "params": [{"key": "lr", "value": "0.01"}]},
        )
        rest(
            url,
            "POST",
            "runs/update",
            {"run_id": run_id, "status": "FINISHED", "end_time": start + 30_000},
        )
        result.runs[run_name] = run_id
        result.histories[run_name] = list(history)
    rest(
        url, "POST", "registered-models/create", {"name": model, "description": "churn classifier"}
    )
    for run_name, run_id in result.runs.items():
        version = rest(
            url,
            "POST",
            "model-versions/create",
            {"name": model, "source": f"runs:/{run_id}/model", "run_id": run_id},
        )["model_version"]["version"]
        result.versions[run_name] = str(version)
    rest(
        url,
        "POST",
        "registered-models/alias",
        {"name": model, "alias": "champion", "version": result.versions["train-v2"]},
    )
    rest(
        url,
        "POST",
        "registered-models/alias",
        {"name": model, "alias": "challenger", "version": result.versions["train-v3"]},
    )
    rest(url, "POST", "registered-models/create", {"name": MARKUP_MODEL})
    rest(
        url,
        "POST",
        "model-versions/create",
        {
            "name": MARKUP_MODEL,
            "source": f"runs:/{result.runs['train-v1']}/model",
            "run_id": result.runs["train-v1"],
        },
    )
    rest(
        url,
        "POST",
        "registered-models/alias",
        {"name": MARKUP_MODEL, "alias": "champion", "version": "1"},
    )
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "seed", "stop", "cleanup"):
        print(
            "usage: python -m devstack.mlflow_server start|seed|stop|cleanup DIR", file=sys.stderr
        )
        return 2
    command, directory = argv
    try:
        server = MlflowServer(directory)
        if command == "start":
            server.start()
            print(f"export MLFLOW_TRACKING_URI={server.url}")
        elif command == "seed":
            if not server.answers():
                raise MlflowServerError(f"no mlflow answers on {server.url}: start it first")
            done = seed(server.url)
            print(json.dumps({"experiment_id": done.experiment_id, "versions": done.versions}))
        elif command == "stop":
            server.stop()
        else:
            server.cleanup()
    except MlflowServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
