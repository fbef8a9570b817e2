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

from devstack import processes
from devstack.processes import free_port

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


class MlflowServer(processes.ServerUnderDir):
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
        argv = processes.cmdline(pid)
        return any("mlflow" in a for a in argv) and any(str(self.db_path) in a for a in argv)

    def answers(self) -> bool:
        """GET /health returns 200 "OK"."""
        return processes.http_ok(f"{self.url}/health")

    def group_pids(self) -> list[int]:
        """Every live process of the server's process group (for memory figures)."""
        pid = self.pid
        return [] if pid is None else processes.group_members(pid)

    def rss_bytes(self) -> int:
        """Summed resident memory of the server's processes."""
        return sum(processes.rss_bytes(pid) for pid in self.group_pids())

    # --- process control ------------------------------------------------------------

    def start(self, timeout: float = 90) -> None:
        """Launch the server and wait until /health answers. Idempotent."""
        deadline = time.monotonic() + timeout
        if self.running:
            if processes.wait_ready(self.answers, deadline, interval=0.1):
                return
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
        # In its own process group (launch()): stop() signals only that.
        self._proc = proc = processes.launch(
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
            self.log_file,
            "mlflow",
            cwd=self.base_dir,
            env=env,
        )
        self.pid_file.write_text(f"{proc.pid}\n")
        self.port_file.write_text(f"{self.port}\n")
        if processes.wait_ready(self.answers, deadline, proc, interval=0.1):
            return
        if proc.poll() is not None:
            self._proc = None
            raise MlflowServerError(
                f"mlflow exited with status {proc.returncode}; {self.log_file}:\n"
                f"{processes.log_tail(self.log_file)}"
            )
        self.stop()
        raise MlflowServerError(
            f"mlflow did not answer within {timeout}s; {self.log_file}:\n"
            f"{processes.log_tail(self.log_file)}"
        )

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the server's process group; SIGKILL it after `timeout`. Keeps the data."""
        pid = self.pid
        if pid is not None:
            processes.terminate(pid, timeout, proc=self._proc, group=True)
        self._proc = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def kill(self) -> None:
        """SIGKILL the whole server at once, as a crash would."""
        pid = self.pid
        if pid is not None:
            processes.kill(pid, proc=self._proc, group=True)
        self._proc = None

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


def _cli_start(server: MlflowServer) -> str:
    server.start()
    return f"export MLFLOW_TRACKING_URI={server.url}"


def _cli_seed(server: MlflowServer) -> str:
    if not server.answers():
        raise MlflowServerError(f"no mlflow answers on {server.url}: start it first")
    done = seed(server.url)
    return json.dumps({"experiment_id": done.experiment_id, "versions": done.versions})


def main(argv: list[str]) -> int:
    return processes.cli(
        argv,
        "devstack.mlflow_server",
        MlflowServer,
        {
            "start": _cli_start,
            "seed": _cli_seed,
            "stop": MlflowServer.stop,
            "cleanup": MlflowServer.cleanup,
        },
        MlflowServerError,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
