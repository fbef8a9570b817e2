"""A private Apache Airflow 3 for tests, benchmarks and screenshots.

Stdlib only. Airflow lives in its own venv, ``.servers/airflow`` under the repo
(``scripts/test`` creates it), or ``$OPSDASH_SERVERS_DIR/airflow``. Not
``airflow standalone``: it binds serve-logs on 0.0.0.0, orphans its children
on SIGTERM and forks 32 executor workers. Instead the api-server, scheduler
(``--skip-serve-logs``, parallelism 4) and dag-processor run as separate
processes, each in a process group of its own, all with AIRFLOW_HOME in this
server's directory and the API on 127.0.0.1 at a port picked at first setup.
Task processes start groups and sessions of their own, so stop() also finds
stragglers by their AIRFLOW_HOME (or working directory) being this directory:
nothing else is ever signalled.

    python -m devstack.airflow_server start DIR    # prints: export AIRFLOW_URL=...
    python -m devstack.airflow_server stop DIR     # stops everything, keeps DIR
    python -m devstack.airflow_server cleanup DIR  # stops everything, removes DIR

The DAGs of devstack/airflow_dags are copied into the dags folder at start:
opsdash_ok, opsdash_fails, opsdash_slow, opsdash_tfx, opsdash_flaky and broken_dag.py (an
import error). Users (simple auth manager): "admin" (Admin) and "viewer"
(Viewer), with the fixed passwords of USERS.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devstack import processes
from devstack.airflow_client import AirflowClient, AirflowError
from devstack.listening import listening
from devstack.processes import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
DAGS_SOURCE = Path(__file__).resolve().parent / "airflow_dags"
TEST_DAGS = ("opsdash_ok", "opsdash_fails", "opsdash_slow", "opsdash_tfx", "opsdash_flaky")
BROKEN_DAG_FILE = "broken_dag.py"
# What opsdash_ok's tricky_output task prints (the DAG file holds the same text:
# it cannot import devstack): Rich markup, and a printf format with colour, clear
# screen, window title and bell, which a log viewer must show and not obey.
MARKUP_LINE = "[bold red]not markup[/]"
ESCAPES = r"color:\033[31mred\033[0m:clear:\033[2J:title:\033]0;pwned\007:bell:\007:done\n"
# opsdash_tfx's task ids, in order
TFX_COMPONENTS = tuple(
    [
        "CsvExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "Transform",
        "Trainer",
        "Evaluator",
        "InfraValidator",
        "Pusher",
    ]
)
USERS = {"admin": ("admin", "opsdash-admin-pw"), "viewer": ("viewer", "opsdash-viewer-pw")}
COMPONENTS = ("api-server", "scheduler", "dag-processor")  # "triggerer" on request
# component -> its key in /api/v2/monitor/health
_HEALTH_KEYS = {
    "scheduler": "scheduler",
    "dag-processor": "dag_processor",
    "triggerer": "triggerer",
}
_STATE_FILE = "opsdash-airflow.json"

__all__ = ["AirflowError", "AirflowServer", "available"]


def servers_dir() -> Path:
    """Where the server venvs live: $OPSDASH_SERVERS_DIR, else .servers in the repo."""
    env = os.environ.get("OPSDASH_SERVERS_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".servers"


def airflow_bin() -> Path:
    return servers_dir() / "airflow" / "bin"


def available() -> bool:
    return os.access(airflow_bin() / "airflow", os.X_OK)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _environ_has(pid: int, entry: bytes) -> bool:
    try:
        return entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


class AirflowServer:
    """Airflow's components under ``base_dir`` (a temp dir by default).

    `jwt_expiration` (seconds) is ``[api_auth] jwt_expiration_time``, the lifetime of
    the tokens /auth/token hands out (Airflow's default is a day); with it the JWT
    leeway is 0, so a token is refused as soon as it expires. `dags_dir` replaces
    the test DAGs and `expect_dags` the ids start() waits for. `components` may
    add "triggerer" or leave out everything but "api-server".
    """

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        *,
        jwt_expiration: int | None = None,
        dags_dir: str | os.PathLike[str] | None = None,
        expect_dags: Iterable[str] | None = None,
        components: Iterable[str] = COMPONENTS,
    ):
        self._own_dir = base_dir is None
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-airflow-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.dags_source = Path(dags_dir) if dags_dir is not None else DAGS_SOURCE
        self.expect_dags = tuple(TEST_DAGS if expect_dags is None else expect_dags)
        self.components = tuple(components)
        self.jwt_expiration = jwt_expiration
        self.username, self.password = "admin", USERS["admin"][1]
        self.port = 0
        self._jwt_secret = ""
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._load_state()
        self.client = AirflowClient(self.url, self.username, self.password)

    def __repr__(self) -> str:
        return f"AirflowServer({str(self.base_dir)!r}, url={self.url!r})"

    @property
    def url(self) -> str:
        """The API server, e.g. http://127.0.0.1:18090 (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def dags_folder(self) -> Path:
        return self.base_dir / "dags"

    # --- state ------------------------------------------------------------------------

    def _load_state(self) -> None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            state = json.loads((self.base_dir / _STATE_FILE).read_text())
            self.port, self._jwt_secret = int(state["port"]), str(state["jwt_secret"])

    def _save_state(self) -> None:
        path = self.base_dir / _STATE_FILE
        path.write_text(json.dumps({"port": self.port, "jwt_secret": self._jwt_secret}) + "\n")
        path.chmod(0o600)

    def _is_ours(self, pid: int) -> bool:
        """A live process with this server's AIRFLOW_HOME or working directory."""
        home = f"AIRFLOW_HOME={self.base_dir}".encode()
        return processes.pid_alive(pid) and (
            processes.cwd(pid) == self.base_dir or _environ_has(pid, home)
        )

    def pid(self, component: str) -> int | None:
        proc = self._procs.get(component)
        if proc is not None and proc.poll() is None:
            return proc.pid
        self._procs.pop(component, None)
        return processes.pid_from_file(self.base_dir / f"{component}.pid", self._is_ours)

    @property
    def running(self) -> bool:
        return any(self.pid(c) is not None for c in self.components)

    def stragglers(self) -> list[int]:
        """Every live process of this server, components, executor workers and tasks."""
        return [
            int(e.name)
            for e in os.scandir("/proc")
            if e.name.isdigit() and int(e.name) != os.getpid() and self._is_ours(int(e.name))
        ]

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each component's process group (for footprint figures)."""
        found = {}
        for component in self.components:
            pid = self.pid(component)
            members = processes.group_members(pid) if pid is not None else []
            found[component] = sum(processes.rss_bytes(p) for p in members)
        return found

    # --- setup ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """A small environment: BashOperator tasks inherit it and print what they like,
        so the developer's tokens must not be in it (nor opsdash's venv)."""
        env = {
            "PATH": os.pathsep.join([str(airflow_bin()), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.base_dir),
            "LANG": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "AIRFLOW_HOME": str(self.base_dir),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{name}:{role}" for name, (role, _) in USERS.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                self.base_dir / "passwords.json"
            ),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,  # the execution API is BASE_URL/execution/
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",  # it would listen on 8974
        }
        if self.jwt_expiration is not None:
            env["AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME"] = str(int(self.jwt_expiration))
            env["AIRFLOW__API_AUTH__JWT_LEEWAY"] = "0"
        return env

    def setup(self) -> None:
        """Pick the port (once, or again if someone took it), write the passwords
        file and env.sh, copy the DAGs in and migrate the database."""
        if not available():
            raise AirflowError(
                f"Airflow is not installed in {airflow_bin().parent} (run scripts/test,"
                " or set OPSDASH_SERVERS_DIR)"
            )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not self.port or (self.pid("api-server") is None and not _port_free(self.port)):
            self.port = free_port()
        self._jwt_secret = self._jwt_secret or secrets.token_hex(32)
        self._save_state()
        self.client.url = self.url
        passwords = self.base_dir / "passwords.json"
        passwords.write_text(json.dumps({n: pw for n, (_, pw) in USERS.items()}) + "\n")
        passwords.chmod(0o600)
        (self.base_dir / "env.sh").write_text(
            "".join(f"export {k}={json.dumps(v)}\n" for k, v in self.env().items())
        )
        self.dags_folder.mkdir(exist_ok=True)
        for source in sorted(self.dags_source.glob("*.py")):
            shutil.copy2(source, self.dags_folder / source.name)
        self._run("db", "migrate", timeout=180)

    def _run(self, *args: str, timeout: float) -> None:
        log = self.base_dir / "db-migrate.log"
        with log.open("ab") as out:
            try:
                result = subprocess.run(
                    [str(airflow_bin() / "airflow"), *args],
                    cwd=self.base_dir,
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise AirflowError(f"airflow {' '.join(args)} timed out after {timeout}s") from None
        if result.returncode != 0:
            raise AirflowError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                f"{processes.log_tail(log, 25)}"
            )

    # --- process control --------------------------------------------------------------

    def _launch(self, component: str) -> None:
        if self.pid(component) is not None:
            return
        argv = [str(airflow_bin() / "airflow"), component]
        if component in ("scheduler", "triggerer"):
            argv.append("--skip-serve-logs")  # else it listens on 0.0.0.0:8793/8794
        proc = processes.launch(
            argv,
            self.base_dir / f"{component}.log",
            f"airflow {component}",
            cwd=self.base_dir,
            env=self.env(),
        )
        self._procs[component] = proc
        (self.base_dir / f"{component}.pid").write_text(f"{proc.pid}\n")

    def _check_alive(self) -> None:
        for component in self.components:
            proc = self._procs.get(component)
            if proc is not None and proc.poll() is not None:
                del self._procs[component]
                raise AirflowError(
                    f"airflow {component} exited with status {proc.returncode}:\n"
                    f"{processes.log_tail(self.base_dir / f'{component}.log', 25)}"
                )

    def healthy(self) -> bool:
        """/api/v2/monitor/health says the database and every started component are healthy."""
        try:
            health = self.client.health()
        except AirflowError:
            return False
        keys = ["metadatabase"] + [_HEALTH_KEYS[c] for c in self.components if c in _HEALTH_KEYS]
        return all((health.get(k) or {}).get("status") == "healthy" for k in keys)

    def _wait(self, what: str, ready, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive()
            if ready():
                return
            time.sleep(0.2)
        logs = "\n".join(
            f"--- {c}.log:\n{processes.log_tail(self.base_dir / f'{c}.log', 10)}"
            for c in self.components
        )
        raise AirflowError(f"Airflow at {self.url}: {what} not reached in time\n{logs}")

    def dags_parsed(self) -> bool:
        try:
            return set(self.expect_dags) <= self.client.dag_ids()
        except AirflowError:
            return False

    def start(self, timeout: float = 180) -> None:
        """Set up, start the components, wait until all are healthy and the expected
        DAGs are listed. Idempotent: components already running are left alone."""
        deadline = time.monotonic() + timeout
        self.setup()
        for component in self.components:
            self._launch(component)
        self._wait("all components healthy", self.healthy, deadline)
        if "dag-processor" in self.components:
            self._wait(f"DAGs {', '.join(self.expect_dags)} parsed", self.dags_parsed, deadline)

    def kill_api_server(self) -> None:
        """SIGKILL the api-server (its whole group), as a crash would; the rest keep running."""
        pid = self.pid("api-server")
        if pid is not None:
            processes.kill(pid, proc=self._procs.get("api-server"), group=True)
        self._procs.pop("api-server", None)

    def start_api_server(self, timeout: float = 90, *, jwt_expiration: Any = ...) -> None:
        """Start the api-server again on the same port and wait until it answers.
        `jwt_expiration` (seconds, or None for Airflow's default) changes the token
        lifetime from then on; the other components keep running as they were."""
        deadline = time.monotonic() + timeout
        if jwt_expiration is not ...:
            self.jwt_expiration = jwt_expiration
        self._launch("api-server")
        self._wait("api-server answering", self.healthy, deadline)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every component's group at once; after `timeout` SIGKILL whatever
        of this server is still alive (executor workers, tasks in their own sessions).
        Removes base_dir if it was a temp dir of its own."""
        pids = {c: self.pid(c) for c in (*self.components, "triggerer")}
        for pid in pids.values():
            if pid is not None:
                processes.send(pid, signal.SIGTERM, group=True)
        deadline = time.monotonic() + timeout
        for component, pid in pids.items():
            if pid is not None:
                left = max(0.0, deadline - time.monotonic())
                processes.wait_gone(pid, left, proc=self._procs.get(component), group=True)
        for pid in self.stragglers():
            processes.send(pid, signal.SIGKILL)
        for pid in self.stragglers():
            processes.wait_gone(pid, 5)
        left = self.stragglers()
        for proc in self._procs.values():
            with contextlib.suppress(OSError):
                proc.wait(timeout=1)
        self._procs.clear()
        for component in pids:
            with contextlib.suppress(FileNotFoundError):
                (self.base_dir / f"{component}.pid").unlink()
        if left:
            raise AirflowError(f"Airflow processes {left} outlived SIGKILL")
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def listening(self) -> list[tuple[str, int]]:
        """(address, port) of every TCP socket this server's processes listen on."""
        return listening(self.stragglers())

    def cleanup(self) -> None:
        """Stop everything and remove base_dir, temp dir or not."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> AirflowServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- REST, for tests ----------------------------------------------------------------

    def token(self) -> str:
        """A new access token of the admin user (POST /auth/token)."""
        return self.client.token()

    def api(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """`method` /api/v2{path} as the admin user; decoded JSON. Raises AirflowError
        (with .status) on HTTP errors."""
        return self.client.api(method, path, body, **params)


def _cli_start(server: AirflowServer) -> str:
    server.start()
    return (
        f"export AIRFLOW_URL={server.url} AIRFLOW_USER={server.username}"
        f" AIRFLOW_PASSWORD={server.password}"
    )


def main(argv: list[str]) -> int:
    return processes.cli(
        argv,
        "devstack.airflow_server",
        AirflowServer,
        {"start": _cli_start, "stop": AirflowServer.stop, "cleanup": AirflowServer.cleanup},
        AirflowError,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
