"""ssh:// Docker hosts through the system `ssh` binary, as the docker CLI reaches them.

Each HTTP connection to the engine is one `ssh [-l USER] [-p PORT] -- HOST
docker system dial-stdio`, the command the docker CLI runs: the user's
~/.ssh/config (aliases, jump hosts, ControlMaster), agent and known_hosts are
honoured because ssh itself reads them.

Why not docker-py's own ssh transport, even with `use_ssh_client=True`:
- its module imports paramiko at the top, so without paramiko the ssh-client
  mode fails too ("Install paramiko package to enable ssh:// support");
- its shell-out "socket" is a pipe pair: timeouts are set but never apply (a
  blackholed host blocks a read forever) and urllib3 cannot tell a dead
  connection from a live one;
- ssh inherits our stderr and terminal: its messages land on top of the TUI, and
  a password or host-key prompt would take the keyboard;
- a failure reaches the caller as "Connection aborted", without ssh's reason.

Here ssh's stdin and stdout are one end of a socketpair, so the HTTP layer
holds a real socket (timeouts, keep-alive checks, raw reads for streams all
work); ssh runs in a session of its own with BatchMode (it never prompts),
and its stderr goes to a file that is read when it fails, giving one line:
"Host key verification failed.", "Permission denied (publickey).", ...
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass
from typing import IO, Any

import docker
import docker.constants
import urllib3.connection
import urllib3.connectionpool
from docker.transport.basehttpadapter import BaseHTTPAdapter

from opsdash.safetext import strip_unsafe

# sshd's default MaxStartups (10:30:100) refuses some connections once more than
# ten are authenticating at once, and a first poll opens all of them together.
MAX_SSH_CONNECTIONS = 8
# ssh's lines that are not the reason it failed.
_NOISE = ("Warning: Permanently added",)
_STRICT = " and you have requested strict checking."
# How long a failed ssh may take to exit once it has closed its end of the socket.
_EXIT_WAIT = 2.0
# How long a closed connection's ssh gets to end its remote command and exit by itself.
_CLOSE_GRACE = 0.5


class SSHError(OSError):
    """ssh (or the remote `docker system dial-stdio`) failed; the message is its reason."""


@dataclass(frozen=True)
class SSHTarget:
    """The parts of an ssh:// URL that ssh is given; the rest comes from the ssh config."""

    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, url: str) -> SSHTarget:
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise SSHError(f"{url}: the port is not a number") from None
        if parts.scheme != "ssh" or not parts.hostname:
            raise SSHError(f"{url}: expected ssh://[user@]host[:port]")
        return cls(host=parts.hostname, user=parts.username or None, port=port)

    def argv(self, ssh: str, timeout: float) -> list[str]:
        """The docker CLI's command line, plus: never prompt, give up connecting in time."""
        args = [ssh, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(timeout))}", "-T"]
        if self.user:
            args += ["-l", self.user]
        if self.port:
            args += ["-p", str(self.port)]
        # "--": a host starting with "-" is a host, never an option.
        return [*args, "--", self.host, "docker", "system", "dial-stdio"]


def ssh_reason(exc: BaseException) -> str | None:
    """The SSHError message somewhere in `exc`'s chain (requests and urllib3 wrap it)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, SSHError):
            return str(item)
        todo += [item.__cause__, item.__context__, *item.args]
        todo += [getattr(item, "reason", None), getattr(item, "original_error", None)]
    return None


def _reason_from(stderr: IO[bytes]) -> str:
    """ssh's last line (its reason), with the cause of a host key failure added."""
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, stderr.tell() - 8192))
    text = stderr.read().decode("utf-8", errors="replace")
    lines = [" ".join(strip_unsafe(line).split()) for line in text.splitlines()]
    lines = [line[:300] for line in lines if line and not line.startswith(_NOISE)]
    if not lines:
        return ""
    reason = lines[-1]
    if reason == "Host key verification failed.":
        changed = next((line for line in lines if line.endswith(_STRICT)), "")
        if "has changed" in changed:
            return f"Host key verification failed ({changed.removesuffix(_STRICT)})"
        return (
            "Host key verification failed (the host key is not in known_hosts: "
            "connect once with ssh to check and accept it)"
        )
    return reason


class _DialConnection(urllib3.connection.HTTPConnection):
    """One HTTP connection = one ssh process speaking through a socketpair."""

    def __init__(self, target: SSHTarget, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.target = target
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._reason: str | None = None

    def connect(self) -> None:
        ssh = shutil.which("ssh")
        if ssh is None:
            raise SSHError("the ssh client is not installed (ssh:// hosts need `ssh` on PATH)")
        self._reap(grace=0)
        self._reason = None
        ours, theirs = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as ssh does
        try:
            self._proc = subprocess.Popen(
                self.target.argv(ssh, self.timeout),
                stdin=theirs,
                stdout=theirs,
                stderr=self._stderr,
                # No controlling terminal: ssh can neither prompt nor see our Ctrl-C.
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            self._stderr.close()
            self._stderr = None
            raise SSHError(f"cannot run ssh: {exc}") from None
        finally:
            theirs.close()
        ours.settimeout(self.timeout)
        self.sock = ours

    def failure(self, *, wait: bool) -> str | None:
        """ssh's reason if it exited with an error (waiting briefly for it when `wait`).

        http.client closes the connection on a reset before the caller sees the
        error, so close() already reaped ssh and kept its reason.
        """
        proc = self._proc
        if proc is not None and (wait or proc.poll() is not None):
            self._reap(grace=_EXIT_WAIT)
        return self._reason

    def _reap(self, grace: float) -> None:
        """Wait for ssh to end (stop it after `grace`) and keep its reason if it failed."""
        proc, stderr = self._proc, self._stderr
        self._proc = self._stderr = None
        if proc is None or stderr is None:
            return
        try:
            code: int | None = proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(_EXIT_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            code = None  # stopped by us: not ssh's failure
        if code:
            reason = _reason_from(stderr) or f"ssh exited with status {code}"
            if code == 127:  # the remote shell found no `docker`
                reason += " (is docker installed on the remote host?)"
            self._reason = reason
        stderr.close()

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().getresponse(*args, **kwargs)
        except (OSError, http.client.HTTPException) as exc:
            # A timeout leaves ssh running; anything else means it closed the socket.
            reason = self.failure(wait=not isinstance(exc, TimeoutError))
            if reason is None:
                raise
            raise SSHError(reason) from exc

    def close(self) -> None:
        # Our end closed, ssh reads EOF, ends the remote dial-stdio and exits by itself.
        super().close()
        self._reap(grace=_CLOSE_GRACE)


class _DialPool(urllib3.connectionpool.HTTPConnectionPool):
    """At most MAX_SSH_CONNECTIONS ssh processes; a caller waits (up to the timeout) for one."""

    def __init__(self, target: SSHTarget, timeout: float, maxsize: int):
        super().__init__("localhost", timeout=timeout, maxsize=maxsize, block=True)
        self.target = target
        self.wait_timeout = timeout

    def _new_conn(self) -> _DialConnection:
        return _DialConnection(self.target, self.wait_timeout)

    def _get_conn(self, timeout: float | None = None) -> Any:
        return super()._get_conn(self.wait_timeout if timeout is None else timeout)


class SSHDialAdapter(BaseHTTPAdapter):
    """requests adapter whose single pool dials the engine over ssh."""

    def __init__(self, target: SSHTarget, timeout: float, max_pool_size: int):
        self.target = target
        self.timeout = timeout
        self.max_pool_size = min(max_pool_size, MAX_SSH_CONNECTIONS)
        self.pools: dict[str, _DialPool] = {}
        self._pools_lock = threading.Lock()
        super().__init__()

    def get_connection(self, url: Any, proxies: Any = None) -> _DialPool:
        with self._pools_lock:
            if "engine" not in self.pools:
                self.pools["engine"] = _DialPool(self.target, self.timeout, self.max_pool_size)
            return self.pools["engine"]

    def request_url(self, request: Any, proxies: Any) -> str:
        return request.path_url  # no proxies, no host: the URL's path is the request

    def close(self) -> None:
        for pool in list(self.pools.values()):
            pool.close()
        super().close()


class SSHAPIClient(docker.APIClient):
    """docker's APIClient with every request going through SSHDialAdapter.

    APIClient has no hook for a custom transport, so it is built for a unix
    socket it never dials (no connection is made until the first request, and
    the version is asked only below), then the ssh adapter replaces that one.
    base_url keeps docker's unix form ("http+docker://localhost"): streams
    (logs) then find the raw socket where docker-py looks for a unix one.
    """

    def __init__(self, url: str, *, timeout: int, max_pool_size: int):
        target = SSHTarget.parse(url)
        super().__init__(
            base_url="unix:///var/run/docker.sock",  # replaced below, never dialled
            version=docker.constants.DEFAULT_DOCKER_API_VERSION,
            timeout=timeout,
        )
        self._custom_adapter.close()
        self._custom_adapter = SSHDialAdapter(target, timeout, max_pool_size)
        self.mount("http+docker://", self._custom_adapter)
        self.base_url = "http+docker://localhost"
        self._version = self._retrieve_server_version()
