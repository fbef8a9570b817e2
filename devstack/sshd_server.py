"""A private sshd on 127.0.0.1 whose logins reach a private Docker engine, for tests.

Stdlib only. It runs Debian's openssh-server (/usr/sbin/sshd -D) with its own
config, host key, authorized_keys, pid file and log under ``base_dir``, on a free
port of 127.0.0.1, and signals only its own sshd and that sshd's children; the
system's sshd and the user's ~/.ssh are never read or touched.

Every login is a key with a forced command, so a client's ``ssh ... docker
system dial-stdio`` gets exactly what the docker CLI would get on a real host:

- ``docker``: ``docker system dial-stdio`` to the private engine's socket;
- ``nodocker``: a remote without docker on its PATH;
- ``nodaemon``: a remote whose docker finds no daemon;
- ``stranger``: a key the server does not accept.

The client side is a directory holding an ``ssh`` wrapper that runs the real ssh
with a config (that key, a known_hosts file, no agent) from the same directory:
put it first on PATH and plain ``ssh`` is that client. ``client()`` makes one.

    DOCKER_HOST=unix:///tmp/dk/docker.sock python -m devstack.sshd_server start DIR
    python -m devstack.sshd_server stop DIR      # stops it, keeps DIR
    python -m devstack.sshd_server cleanup DIR   # stops it and removes DIR
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack import processes
from devstack.processes import free_port

KEYS = ("docker", "nodocker", "nodaemon", "stranger")
# The privilege separation directory Debian's sshd insists on when started as root
# (the ssh service creates it at boot); an empty directory, shared with the system's.
_PRIVSEP_DIR = Path("/run/sshd")


class SSHServerError(RuntimeError):
    pass


def _binary(name: str, hint: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if not path:
        raise SSHServerError(f"{name} not found: install {hint}")
    return path


def available() -> bool:
    """Debian's openssh-server and openssh-client are both installed."""
    try:
        _binary("sshd", "openssh-server")
        _binary("ssh", "openssh-client")
    except SSHServerError:
        return False
    return True


def _children(pid: int) -> list[int]:
    """Every live descendant of `pid` (sshd's per-connection processes start sessions of
    their own, so the listener's process group does not hold them)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if processes.pid_alive(child):
                found.append(child)
                todo.append(child)
    return found


class SSHServer(processes.ServerUnderDir):
    """One sshd with its keys, config and log under ``base_dir``."""

    def __init__(
        self,
        docker_socket: str | os.PathLike[str],
        base_dir: str | os.PathLike[str] | None = None,
        port: int | None = None,
    ):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-sshd-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.docker_socket = Path(docker_socket)
        self.port = port or free_port()
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.config_file = self.base_dir / "sshd_config"
        self.host_key = self.base_dir / "host_ed25519"
        self.other_host_key = self.base_dir / "other_host_ed25519"  # for "wrong key" clients
        self.authorized_keys = self.base_dir / "authorized_keys"
        self.pid_file = self.base_dir / "sshd.pid"
        self.log_file = self.base_dir / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"SSHServer({str(self.base_dir)!r}, port={self.port}, running={self.running})"

    @property
    def url(self) -> str:
        """The ssh:// Docker host URL for opsdash."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    def key(self, name: str) -> Path:
        return self.base_dir / "keys" / name

    # --- state -------------------------------------------------------------------

    def _is_ours(self, pid: int) -> bool:
        # sshd rewrites its argv into one title line ("sshd: /usr/sbin/sshd -D ... [listener]").
        return any(str(self.config_file) in a for a in processes.cmdline(pid))

    def ready(self) -> bool:
        """sshd sends its version banner."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                return s.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def sessions(self) -> list[int]:
        """pids of sshd's per-connection processes and what they run."""
        pid = self.pid
        return [] if pid is None else _children(pid)

    # --- files ------------------------------------------------------------------------

    def _keygen(self, path: Path, comment: str) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        keygen = _binary("ssh-keygen", "openssh-client")
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )

    def _forced_commands(self) -> dict[str, str]:
        docker_cli = shutil.which("docker") or "docker"
        # The remote docker CLI reads no config of this machine's users.
        isolated = f"DOCKER_CONFIG={shlex.quote(str(self.base_dir / 'docker-config'))}"
        return {
            "docker": f"env {isolated} DOCKER_HOST=unix://{self.docker_socket} "
            f"{docker_cli} system dial-stdio",
            "nodocker": "env PATH=/nonexistent docker system dial-stdio",
            "nodaemon": f"env {isolated} DOCKER_HOST=unix://{self.base_dir / 'no-daemon.sock'} "
            f"{docker_cli} system dial-stdio",
        }

    def write_files(self) -> None:
        self._keygen(self.host_key, "opsdash-test-host")
        self._keygen(self.other_host_key, "opsdash-other-host")
        for name in KEYS:
            self._keygen(self.key(name), f"opsdash-test-{name}")
        restrictions = "no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding"
        lines = []
        for name, command in self._forced_commands().items():
            public = self.key(name).with_suffix(".pub").read_text().strip()
            quoted = command.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'command="{quoted}",{restrictions} {public}')
        self.authorized_keys.write_text("\n".join(lines) + "\n")
        self.config_file.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.pid_file}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\n"
            f"AllowUsers {self.user}\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PermitRootLogin forced-commands-only\n"
            "AllowTcpForwarding no\n"
            "AllowAgentForwarding no\n"
            "X11Forwarding no\n"
            "PermitTTY no\n"
            "PrintMotd no\n"
            "LogLevel VERBOSE\n"
        )

    def client(self, key: str = "docker", *, host_key: str = "right") -> Path:
        """A directory with an ``ssh`` wrapper for one client: put it first on PATH.

        `key` is one of KEYS; `host_key` is what its known_hosts holds for this
        server: "right", "wrong" (another key: the host "changed") or "none".
        """
        if key not in KEYS or host_key not in ("right", "wrong", "none"):
            raise SSHServerError(f"unknown client key {key!r} or host_key {host_key!r}")
        directory = self.base_dir / "clients" / f"{key}-{host_key}"
        directory.mkdir(parents=True, exist_ok=True)
        known_hosts = directory / "known_hosts"
        entries = {"right": self.host_key, "wrong": self.other_host_key}
        if host_key in entries:
            public = entries[host_key].with_suffix(".pub").read_text().split()[:2]
            known_hosts.write_text(f"[127.0.0.1]:{self.port} {' '.join(public)}\n")
        else:
            known_hosts.write_text("")
        config = directory / "ssh_config"
        config.write_text(
            "Host *\n"
            f"  IdentityFile {self.key(key)}\n"
            "  IdentitiesOnly yes\n"
            "  IdentityAgent none\n"
            f"  UserKnownHostsFile {known_hosts}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  UpdateHostKeys no\n"
            "  ControlMaster no\n"
            "  ControlPath none\n"
        )
        wrapper = directory / "ssh"
        # The real ssh, not another client's wrapper already on PATH.
        search = [d for d in os.get_exec_path() if not d.startswith(str(self.base_dir))]
        real_ssh = shutil.which("ssh", path=os.pathsep.join(search)) or _binary(
            "ssh", "openssh-client"
        )
        wrapper.write_text(
            f'#!/bin/sh\nexec {shlex.quote(real_ssh)} -F {shlex.quote(str(config))} "$@"\n'
        )
        wrapper.chmod(0o755)
        return directory

    # --- process control --------------------------------------------------------------

    def start(self, timeout: float = 20) -> None:
        """Write keys and config (keys once: a restart keeps its host key), launch sshd
        and wait for its banner. Idempotent."""
        deadline = time.monotonic() + timeout
        if not self.running:
            sshd = _binary("sshd", "openssh-server")
            self.write_files()
            if os.getuid() == 0:
                _PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
            self._proc = processes.launch(
                [sshd, "-D", "-e", "-f", str(self.config_file)],
                self.log_file,
                "sshd",
                cwd=self.base_dir,
            )
        if not processes.wait_ready(self.ready, deadline, self._proc):
            tail = processes.log_tail(self.log_file)
            self.stop()
            raise SSHServerError(f"sshd did not start on 127.0.0.1:{self.port}:\n{tail}")

    def stop(self) -> None:
        """Stop sshd and every connection it serves, as a host going away would."""
        pid = self.pid
        if pid is None:
            return
        sessions = _children(pid)
        processes.terminate(pid, 5, proc=self._proc, is_ours=self._is_ours)
        for child in sessions:
            processes.send(child, signal.SIGKILL)
        for child in sessions:
            processes.wait_gone(child, 5)
        self._proc = None
        with contextlib.suppress(OSError):
            self.pid_file.unlink()


def _cli_start(server: SSHServer) -> str:
    if not server.docker_socket.name:
        raise SSHServerError("set DOCKER_HOST=unix://... to the private engine's socket")
    server.start()
    return f"export PATH={server.client()}:$PATH  # then: opsdash with host = {server.url}"


def _from_env(directory: str) -> SSHServer:
    docker_host = os.environ.get("DOCKER_HOST", "")
    socket_path = docker_host[len("unix://") :] if docker_host.startswith("unix://") else ""
    port_file = Path(directory) / "port"
    port = int(port_file.read_text()) if port_file.exists() else None
    server = SSHServer(socket_path, directory, port)
    port_file.write_text(str(server.port))
    return server


def main(argv: list[str]) -> int:
    return processes.cli(
        argv,
        "devstack.sshd_server",
        _from_env,
        {"start": _cli_start, "stop": SSHServer.stop, "cleanup": SSHServer.cleanup},
        SSHServerError,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
