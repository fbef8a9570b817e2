"""A private Prometheus scraping a tiny model-accuracy exporter, for tests and the demo.

Stdlib only. `Exporter` serves `model_accuracy{model=...,version=...} <value>` on
127.0.0.1 from a thread of the calling process; tests change the values while
it runs. `PrometheusServer` runs Debian's prometheus with a generated config
(1 s scrape interval), its TSDB, log and pid file under its own directory,
listening on 127.0.0.1 only, and signals only its own process.

    python -m devstack.prometheus_server serve DIR [VALUE]   # exporter + prometheus until Ctrl-C
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from devstack import processes
from devstack.local_http import LocalHttpServer
from devstack.processes import free_port

METRIC = "model_accuracy"


class PrometheusServerError(RuntimeError):
    pass


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exporter(LocalHttpServer):
    """`/metrics` in the Prometheus text format, from values the caller sets.

    `set(0.91, model="churn", version="3")` adds or changes one series;
    `remove(...)` drops it (Prometheus then marks it stale).
    """

    thread_name = "model-exporter"

    def __init__(self, metric: str = METRIC):
        super().__init__()
        self.metric = metric
        self.scrapes = 0
        self._values: dict[tuple[tuple[str, str], ...], float] = {}
        self._lock = threading.Lock()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self._values[tuple(sorted(labels.items()))] = float(value)

    def remove(self, **labels: str) -> None:
        with self._lock:
            self._values.pop(tuple(sorted(labels.items())), None)

    def render(self) -> str:
        lines = [
            f"# HELP {self.metric} Accuracy of the deployed model version.",
            f"# TYPE {self.metric} gauge",
        ]
        with self._lock:
            for labels, value in sorted(self._values.items()):
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                text = "NaN" if value != value else repr(value)
                lines.append(f"{self.metric}{{{inner}}} {text}")
        return "\n".join(lines) + "\n"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                exporter.scrapes += 1
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)  # prometheus may die mid-scrape (kill tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class PrometheusServer(processes.ServerUnderDir):
    """One prometheus with its config, TSDB and log under ``base_dir``."""

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        targets: tuple[str, ...] = (),
        port: int | None = None,
    ):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-prom-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.targets = tuple(targets)
        self.port = port or free_port()
        self.config_file = self.base_dir / "prometheus.yml"
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "prometheus.log"
        self.pid_file = self.base_dir / "prometheus.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"PrometheusServer({str(self.base_dir)!r}, port={self.port}, running={self.running})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- state -------------------------------------------------------------------

    def _is_ours(self, pid: int) -> bool:
        return any(str(self.config_file) in a for a in processes.cmdline(pid))

    def rss_bytes(self) -> int:
        pid = self.pid
        return 0 if pid is None else processes.rss_bytes(pid)

    def ready(self) -> bool:
        return processes.http_ok(f"{self.url}/-/ready")

    def write_config(self) -> None:
        targets = ", ".join(f"'{t}'" for t in self.targets)
        self.config_file.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: opsdash-model\n"
            "    scrape_interval: 1s\n"
            "    scrape_timeout: 1s\n"
            "    static_configs:\n"
            f"      - targets: [{targets}]\n"
            "        labels: {env: test}\n"
        )

    # --- process control ------------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        """Write the config, launch prometheus and wait for /-/ready. Idempotent."""
        deadline = time.monotonic() + timeout
        if not self.running:
            binary = prometheus_binary()
            if binary is None:
                raise PrometheusServerError("prometheus not found: apt-get install prometheus")
            self.write_config()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._proc = processes.launch(
                [
                    binary,
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={self.data_dir}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                ],
                self.log_file,
                "prometheus",
                cwd=self.base_dir,
            )
            self.pid_file.write_text(f"{self._proc.pid}\n")
        proc = self._proc
        if processes.wait_ready(self.ready, deadline, proc):
            return
        if proc is not None and proc.poll() is not None:
            self._proc = None
            raise PrometheusServerError(
                f"prometheus exited with status {proc.returncode}; {self.log_file}:\n"
                f"{processes.log_tail(self.log_file)}"
            )
        self.stop()
        raise PrometheusServerError(
            f"prometheus not ready within {timeout}s; {self.log_file}:\n"
            f"{processes.log_tail(self.log_file)}"
        )

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, SIGKILL after `timeout`. Keeps the data."""
        pid = self.pid
        if pid is not None:
            processes.terminate(pid, timeout, proc=self._proc)
        self._proc = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        pid = self.pid
        if pid is not None:
            processes.kill(pid, proc=self._proc)
        self._proc = None

    # --- queries ------------------------------------------------------------------------

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of `promql` ([] on any error)."""
        target = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(target, timeout=5) as response:
                body = json.loads(response.read())
        except (OSError, ValueError):
            return []
        if not isinstance(body, dict) or body.get("status") != "success":
            return []
        return (body.get("data") or {}).get("result") or []

    def wait_for(self, promql: str, predicate=bool, timeout: float = 60) -> list[dict[str, Any]]:
        """Poll `promql` until `predicate(result)` holds (the first sample takes ~5 s:
        Prometheus applies target discovery every 5 s)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if predicate(result):
                return result
            if time.monotonic() >= deadline:
                raise PrometheusServerError(
                    f"{promql} not as expected within {timeout}s (last: {result}); "
                    f"{self.log_file}:\n{processes.log_tail(self.log_file)}"
                )
            time.sleep(0.25)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[0] != "serve":
        print("usage: python -m devstack.prometheus_server serve DIR [VALUE]", file=sys.stderr)
        return 2
    value = float(argv[2]) if len(argv) == 3 else 0.91
    try:
        with Exporter() as exporter:
            exporter.set(value, model="churn", version="3")
            server = PrometheusServer(argv[1], targets=(exporter.target,))
            try:
                server.start()
                server.wait_for(METRIC)
                print(f"prometheus on {server.url}, exporter on {exporter.target}; Ctrl-C stops")
                with contextlib.suppress(KeyboardInterrupt):
                    while server.running:
                        time.sleep(1)
            finally:
                server.stop()  # keeps DIR (config, TSDB, log)
    except PrometheusServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
