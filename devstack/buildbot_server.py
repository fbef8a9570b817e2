"""A private Buildbot master and worker for tests, screenshots and the demo.

Stdlib only, so every script can use it. Buildbot lives in its own venv,
``.servers/buildbot`` under the repository (``scripts/test`` creates it), or
under ``$OPSDASH_SERVERS_DIR/buildbot``. Both daemons listen on 127.0.0.1 at
ports picked when the directory is first set up. Only processes whose pid
file lies in this server's directory *and* whose working directory is that
directory are ever signalled.

    python -m devstack.buildbot_server start DIR    # prints: export BUILDBOT_URL=...
    python -m devstack.buildbot_server stop DIR     # stops both, keeps DIR
    python -m devstack.buildbot_server cleanup DIR  # stops both and removes DIR

The master has one worker (``local-worker``, two builds at once) and four
builders, each with a force scheduler:

    builder  scheduler    what it does
    hello    force        echo hi; prints Rich markup and an escape sequence
    slow     force-slow   sleep 20 (for stop / cancel)
    deploy   deploy       echo deploying; prints the branch property
    fails    force-fails  exit 1
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from devstack import processes
from devstack.processes import free_port

TITLE = "opsdash-test"
WORKER_NAME = "local-worker"
WORKER_PASSWORD = "local-pass"
MARKUP_LINE = "[bold red]not markup[/]"
# printf format: colour, clear screen, window title and bell; a log viewer must not obey them.
ESCAPES = r"color:\033[31mred\033[0m:clear:\033[2J:title:\033]0;pwned\007:bell:\007:done\n"
BUILDERS = ("hello", "slow", "deploy", "fails")
SCHEDULERS = {"force": "hello", "force-slow": "slow", "force-fails": "fails", "deploy": "deploy"}
_STATE_FILE = "opsdash-buildbot.json"

# Filled with str.format: only {title}, {www_port}, {pb_port}, {worker}, {password}
# and {tricky} are placeholders; every other brace is doubled.
_MASTER_CFG = """\
# Written by devstack/buildbot_server.py; regenerated on every start.
from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c["workers"] = [worker.Worker({worker!r}, {password!r}, max_builds=2)]
c["protocols"] = {{"pb": {{"port": "tcp:{pb_port}:interface=127.0.0.1"}}}}
c["change_source"] = []

hello = util.BuildFactory()
hello.addStep(steps.ShellCommand(name="say-hi", command=["echo", "hi"]))
hello.addStep(
    steps.ShellCommand(
        name="tricky-output",
        command={tricky!r},
    )
)

slow = util.BuildFactory()
slow.addStep(steps.ShellCommand(name="sleep", command=["sleep", "20"]))

deploy = util.BuildFactory()
deploy.addStep(steps.ShellCommand(name="deploy", command=["echo", "deploying"]))
deploy.addStep(
    steps.ShellCommand(
        name="show-branch", command=["echo", util.Interpolate("branch=%(prop:branch)s")]
    )
)

fails = util.BuildFactory()
fails.addStep(steps.ShellCommand(name="fail", command=["sh", "-c", "echo failing; exit 1"]))


def builder(name, factory):
    return util.BuilderConfig(
        name=name, workernames=[{worker!r}], factory=factory, collapseRequests=False
    )


c["builders"] = [
    builder("hello", hello),
    builder("slow", slow),
    builder("deploy", deploy),
    builder("fails", fails),
]
c["schedulers"] = [
    schedulers.ForceScheduler(name="force", builderNames=["hello"]),
    schedulers.ForceScheduler(name="force-slow", builderNames=["slow"]),
    schedulers.ForceScheduler(name="force-fails", builderNames=["fails"]),
    schedulers.ForceScheduler(name="deploy", builderNames=["deploy"]),  # has a branch field
]
c["title"] = {title!r}
c["titleURL"] = "http://127.0.0.1:{www_port}/"
c["buildbotURL"] = "http://127.0.0.1:{www_port}/"
c["www"] = {{
    "port": "tcp:{www_port}:interface=127.0.0.1",
    "plugins": {{}},
    "change_hook_dialects": {{}},
}}
c["db"] = {{"db_url": "sqlite:///state.sqlite"}}
c["buildbotNetUsageData"] = None
"""

# Appended when the server has users: they log in with Basic auth at /auth/login;
# only they may control builds (anonymous users may still read).
_AUTH_CFG = """
c["www"]["auth"] = util.UserPasswordAuth({users!r})
c["www"]["authz"] = util.Authz(
    allowRules=[util.AnyControlEndpointMatcher(role="admins")],
    roleMatchers=[util.RolesFromUsername(roles=["admins"], usernames={names!r})],
)
"""


class BuildbotError(RuntimeError):
    pass


def _port_free(port: int) -> bool:
    """Nobody listens there (TIME_WAIT leftovers of our own connections do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Twisted binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def servers_dir() -> Path:
    """Where the server venvs live: $OPSDASH_SERVERS_DIR, else .servers in the repo."""
    env = os.environ.get("OPSDASH_SERVERS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parent.parent / ".servers"


def buildbot_bin() -> Path:
    """The buildbot venv's bin directory (it holds buildbot and buildbot-worker)."""
    return servers_dir() / "buildbot" / "bin"


def available() -> bool:
    bindir = buildbot_bin()
    return all(os.access(bindir / name, os.X_OK) for name in ("buildbot", "buildbot-worker"))


class BuildbotServer:
    """One Buildbot master and one worker under ``base_dir`` (a temp dir by default)."""

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        *,
        users: dict[str, str] | None = None,
    ):
        """`users` (name -> password) turns on the web login; only they may then
        force, stop, rebuild or cancel."""
        self.users = dict(users or {})
        self._own_dir = base_dir is None
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-bb-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.master_dir = self.base_dir / "master"
        self.worker_dir = self.base_dir / "worker"
        self.www_port = 0
        self.pb_port = 0
        self._rpc_id = 0
        self._load_state()

    def __repr__(self) -> str:
        return f"BuildbotServer({str(self.base_dir)!r}, url={self.url!r})"

    # --- state -------------------------------------------------------------------

    def _load_state(self) -> None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            state = json.loads((self.base_dir / _STATE_FILE).read_text())
            self.www_port, self.pb_port = int(state["www_port"]), int(state["pb_port"])

    @property
    def url(self) -> str:
        """The master's www URL, e.g. http://127.0.0.1:8010 (no trailing slash)."""
        return f"http://127.0.0.1:{self.www_port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v2"

    @staticmethod
    def _works_in(pid: int, directory: Path) -> bool:
        """Alive (not a zombie) and its working directory is `directory`: one of ours."""
        return processes.pid_alive(pid) and processes.cwd(pid) == directory

    def _pid(self, directory: Path) -> int | None:
        """The daemon of `directory`, if its pid file names a live process working there."""
        return processes.pid_from_file(
            directory / "twistd.pid", lambda pid: self._works_in(pid, directory)
        )

    @property
    def master_pid(self) -> int | None:
        return self._pid(self.master_dir)

    @property
    def worker_pid(self) -> int | None:
        return self._pid(self.worker_dir)

    @property
    def running(self) -> bool:
        return self.master_pid is not None

    def _log_tail(self, directory: Path) -> str:
        return processes.log_tail(directory / "twistd.log", 25)

    # --- setup -------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 60) -> str:
        try:
            result = subprocess.run(
                list(args),
                cwd=self.base_dir,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                env=self._env(),
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildbotError(f"{' '.join(args[:2])} timed out after {timeout}s") from exc
        if result.returncode != 0:
            raise BuildbotError(
                f"{Path(args[0]).name} {' '.join(args[1:3])} failed ({result.returncode}):"
                f" {(result.stdout + result.stderr).strip()[-2000:]}"
            )
        return result.stdout

    def _env(self) -> dict[str, str]:
        """A small environment: build logs print the worker's whole environment, and
        the developer's tokens must not end up there (nor opsdash's venv in Buildbot's)."""
        return {
            "PATH": os.pathsep.join([str(buildbot_bin()), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.base_dir),
            "LANG": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        }

    def setup(self) -> None:
        """Create the master and worker directories (once) and write master.cfg."""
        if not available():
            raise BuildbotError(
                f"buildbot is not installed in {buildbot_bin().parent} (run scripts/test,"
                " or set OPSDASH_SERVERS_DIR)"
            )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        stale = not self.running and not (_port_free(self.www_port) and _port_free(self.pb_port))
        if not self.www_port or not self.pb_port or stale:
            # New ports: first start, or someone else took the old ones meanwhile.
            self.www_port, self.pb_port = free_port(), free_port()
            while self.pb_port == self.www_port:
                self.pb_port = free_port()
            (self.base_dir / _STATE_FILE).write_text(
                json.dumps({"www_port": self.www_port, "pb_port": self.pb_port}) + "\n"
            )
            if self.worker_pid is None:
                shutil.rmtree(self.worker_dir, ignore_errors=True)  # its .tac names the old port
        bindir = buildbot_bin()
        if not (self.master_dir / "buildbot.tac").exists():
            self._run(str(bindir / "buildbot"), "create-master", "-r", str(self.master_dir))
        config = _MASTER_CFG.format(
            title=TITLE,
            www_port=self.www_port,
            pb_port=self.pb_port,
            worker=WORKER_NAME,
            password=WORKER_PASSWORD,
            tricky=f"echo '{MARKUP_LINE}'; printf '{ESCAPES}'",
        )
        if self.users:
            config += _AUTH_CFG.format(users=self.users, names=sorted(self.users))
        (self.master_dir / "master.cfg").write_text(config)
        if not (self.worker_dir / "buildbot.tac").exists():
            self._run(
                str(bindir / "buildbot-worker"),
                "create-worker",
                str(self.worker_dir),
                f"127.0.0.1:{self.pb_port}",
                WORKER_NAME,
                WORKER_PASSWORD,
            )

    # --- process control -------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Set up, start the master and the worker, wait until the worker is connected.
        Idempotent: daemons already running are left alone."""
        deadline = time.monotonic() + timeout
        self.setup()
        self.start_master(timeout)
        if self.worker_pid is None:
            self._run(str(buildbot_bin() / "buildbot-worker"), "start", str(self.worker_dir))
        while time.monotonic() < deadline:
            if self.worker_connected():
                return
            if self.worker_pid is None:
                raise BuildbotError(
                    f"the buildbot worker exited:\n{self._log_tail(self.worker_dir)}"
                )
            time.sleep(0.1)
        raise BuildbotError(
            f"the worker did not connect within {timeout}s:\n{self._log_tail(self.worker_dir)}"
        )

    def start_master(self, timeout: float = 60) -> None:
        """Start only the master (e.g. after kill_master()) and wait until its API answers."""
        deadline = time.monotonic() + timeout
        if self.master_pid is None:
            with contextlib.suppress(FileNotFoundError):
                (self.master_dir / "twistd.pid").unlink()  # stale, after a kill
            try:
                self._run(
                    str(buildbot_bin() / "buildbot"),
                    "start",
                    "--start_timeout",
                    str(int(timeout)),
                    str(self.master_dir),
                    timeout=timeout + 10,
                )
            except BuildbotError as exc:
                raise BuildbotError(f"{exc}\n{self._log_tail(self.master_dir)}") from None
        while time.monotonic() < deadline:
            with contextlib.suppress(BuildbotError):
                self.get("/builders")
                return
            time.sleep(0.1)
        raise BuildbotError(
            f"the buildbot master does not answer on {self.url}:\n{self._log_tail(self.master_dir)}"
        )

    def worker_connected(self) -> bool:
        try:
            workers = self.get("/workers")["workers"]
        except BuildbotError:
            return False
        return any(w.get("name") == WORKER_NAME and w.get("connected_to") for w in workers)

    def kill_master(self) -> None:
        """SIGKILL the master, as a crash would. The worker keeps trying to reconnect."""
        pid = self.master_pid
        if pid is not None:
            processes.kill(pid)

    def stop(self, timeout: float = 15) -> None:
        """Stop the worker, then the master; remove base_dir if it was a temp dir.
        SIGKILL after `timeout` only while it still works in its directory. (twistd
        removes its pid file before it exits, so this waits on the pid.)"""
        for directory in (self.worker_dir, self.master_dir):
            pid = self._pid(directory)
            if pid is not None:
                processes.terminate(
                    pid, timeout, is_ours=lambda pid, d=directory: self._works_in(pid, d)
                )
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def cleanup(self) -> None:
        """Stop both daemons and remove base_dir, temp dir or not."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> BuildbotServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- REST and JSON-RPC -------------------------------------------------------

    def _http(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.api}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise BuildbotError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        except (OSError, ValueError) as exc:
            raise BuildbotError(f"{method} {path}: {exc}") from None

    def get(self, path: str, **params: Any) -> Any:
        """GET /api/v2{path}; list values become repeated parameters."""
        query = urllib.parse.urlencode(params, doseq=True)
        return self._http("GET", f"{path}?{query}" if query else path)

    def rpc(self, path: str, method: str, **params: Any) -> Any:
        """A JSON-RPC call on a resource; returns its result, raises on its error."""
        self._rpc_id += 1
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": self._rpc_id}
        reply = self._http("POST", path, body)
        if isinstance(reply, dict) and reply.get("error"):
            raise BuildbotError(f"{method} {path}: {reply['error']}")
        return reply.get("result") if isinstance(reply, dict) else reply

    def builder_id(self, name: str) -> int:
        builders = self.get(f"/builders/{name}")["builders"]
        if not builders:
            raise BuildbotError(f"no builder {name!r}")
        return int(builders[0]["builderid"])

    def force(
        self, scheduler: str = "force", builder: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Force a build through `scheduler` (for `builder`, default its only one);
        returns the new buildrequest (a dict of the REST API)."""
        name = builder or SCHEDULERS[scheduler]
        params = {"builderid": str(self.builder_id(name)), "reason": "forced by test", **fields}
        result = self.rpc(f"/forceschedulers/{scheduler}", "force", **params)
        try:
            brid = int(next(iter(result[1].values())))
        except (TypeError, IndexError, KeyError, StopIteration, ValueError):
            raise BuildbotError(f"force {scheduler}: unexpected result {result!r}") from None
        return self.get(f"/buildrequests/{brid}")["buildrequests"][0]

    def wait_build(
        self,
        buildrequestid: int,
        *,
        complete: bool = True,
        timeout: float = 60,
    ) -> dict[str, Any]:
        """The build of a build request, once it exists (and, by default, is complete)."""
        deadline = time.monotonic() + timeout
        build: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            builds = self.get(
                "/builds", buildrequestid=buildrequestid, order="-buildid", property="*"
            )["builds"]
            if builds:
                build = builds[0]
                if not complete or build.get("complete"):
                    return build
            time.sleep(0.2)
        state = "no build" if build is None else f"still {build.get('state_string')!r}"
        raise BuildbotError(f"build request {buildrequestid}: {state} after {timeout}s")


def _cli_start(server: BuildbotServer) -> str:
    server.start()
    return f"export BUILDBOT_URL={server.url}"


def main(argv: list[str]) -> int:
    return processes.cli(
        argv,
        "devstack.buildbot_server",
        BuildbotServer,
        {"start": _cli_start, "stop": BuildbotServer.stop, "cleanup": BuildbotServer.cleanup},
        BuildbotError,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
