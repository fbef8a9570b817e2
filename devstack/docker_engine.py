"""A private Docker daemon for tests, benchmarks, screenshots and the demo.

Stdlib only, so every script can use it. It never talks to a daemon it did not
start: every docker command gets ``--host`` and ``DOCKER_HOST`` pointing at its
own socket, and only processes whose command line names its own directory are
ever signalled. Needs root, Debian's docker.io (dockerd) and busybox-static.

    python -m devstack.docker_engine start DIR    # prints: export DOCKER_HOST=...
    python -m devstack.docker_engine stop DIR     # stops it, keeps DIR/data
    python -m devstack.docker_engine cleanup DIR  # stops it and removes DIR
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from devstack import processes
from devstack.processes import free_port

BUSYBOX_IMAGE = "local/busybox:1"
WEB_IMAGE = "local/web:1"

# $PORT is expanded at run time by the shell in both the probe and the command.
_WEB_DOCKERFILE = """\
FROM local/busybox:1
ENV PORT=18080
HEALTHCHECK --interval=1s --timeout=2s --start-period=1s --retries=2 \\
  CMD wget -q -O /dev/null http://127.0.0.1:$PORT/health || exit 1
CMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]
"""

# The longest unix socket dockerd/containerd create under base_dir; sun_path holds 107 bytes.
_LONGEST_SOCKET = "exec/containerd/containerd-debug.sock"


# Programs dockerd starts that carry a path under base_dir in their arguments (besides
# containerd and its shims). redirector is swarm's ingress helper; it outlives a killed dockerd.
_OUR_PROGRAMS = ("dockerd", "docker-proxy", "redirector")


class DockerEngineError(RuntimeError):
    pass


def _which(name: str, hint: str) -> str:
    path = shutil.which(name) or next(
        (
            p
            for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}", f"/sbin/{name}", f"/bin/{name}")
            if os.access(p, os.X_OK)
        ),
        None,
    )
    if not path:
        raise DockerEngineError(f"{name} not found: install {hint}")
    return path


def _is_dynamic_elf(path: str) -> bool:
    """True if the ELF file has a PT_INTERP header (needs a loader and libc)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return False
        order = "little" if head[5] == 1 else "big"
        is64 = head[4] == 2
        if is64:
            phoff = int.from_bytes(head[32:40], order)
            phentsize = int.from_bytes(head[54:56], order)
            phnum = int.from_bytes(head[56:58], order)
        else:
            phoff = int.from_bytes(head[28:32], order)
            phentsize = int.from_bytes(head[42:44], order)
            phnum = int.from_bytes(head[44:46], order)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return any(
        int.from_bytes(table[i * phentsize : i * phentsize + 4], order) == 3  # PT_INTERP
        for i in range(phnum)
    )


def _proc_table() -> dict[int, tuple[int, list[str], str]]:
    """pid -> (ppid, argv, state) for every process we can read."""
    table: dict[int, tuple[int, list[str], str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), [a for a in argv if a], fields[0])
    return table


def _unescape_mount(path: str) -> str:
    """/proc/self/mounts writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def make_test_certificates(cert_dir: Path) -> None:
    """A throwaway CA plus server (127.0.0.1) and client certificates, named as
    the docker CLI expects them: ca.pem, cert.pem, key.pem (+ server-*.pem)."""
    openssl = _which("openssl", "Debian's openssl")
    cert_dir.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=cert_dir, capture_output=True, check=True)

    (cert_dir / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    (cert_dir / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    new_key = ("-newkey", "rsa:2048", "-nodes")
    run(
        "req",
        "-x509",
        *new_key,
        "-days",
        "2",
        "-subj",
        "/CN=opsdash-test-ca",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    )
    for name, cn, ext in (
        ("server", "127.0.0.1", "server.ext"),
        ("client", "client", "client.ext"),
    ):
        key, cert = (
            ("server-key.pem", "server-cert.pem") if name == "server" else ("key.pem", "cert.pem")
        )
        run("req", *new_key, "-subj", f"/CN={cn}", "-keyout", key, "-out", f"{name}.csr")
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            cert,
            "-extfile",
            ext,
        )


class PrivateDockerEngine(processes.ServerUnderDir):
    """One dockerd with its own socket, data root and exec root under ``base_dir``."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None, *, tls: bool = False):
        """`tls=True` also listens on tcp://127.0.0.1:<free port> with mutual TLS
        (a throwaway CA, server and client certificates in base_dir/certs)."""
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-dk-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        longest = self.base_dir / _LONGEST_SOCKET
        if len(os.fsencode(longest)) > 107:
            raise DockerEngineError(
                f"base_dir {self.base_dir} is too long for unix sockets "
                f"({longest} must be at most 107 bytes): use a short path such as /tmp/dk"
            )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path = self.base_dir / "docker.sock"
        self.docker_host = f"unix://{self.socket_path}"
        self.pid_file = self.base_dir / "docker.pid"
        self.log_file = self.base_dir / "dockerd.log"
        self.data_root = self.base_dir / "data"
        self.exec_root = self.base_dir / "exec"
        self.api_version: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.tls = tls
        self.cert_dir = self.base_dir / "certs"
        self.tcp_host: str | None = None

    def __repr__(self) -> str:
        return f"PrivateDockerEngine({str(self.base_dir)!r}, running={self.running})"

    # --- state -----------------------------------------------------------------

    def _is_ours(self, pid: int) -> bool:
        argv = processes.cmdline(pid)
        return bool(argv) and os.path.basename(argv[0]) == "dockerd" and self.docker_host in argv

    def env(self) -> dict[str, str]:
        """os.environ with DOCKER_HOST set to this daemon (and nothing pointing elsewhere)."""
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.docker_host
        for key in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            env.pop(key, None)
        return env

    def _request(self, path: str, timeout: float = 2) -> tuple[int, bytes]:
        """GET over the unix socket; (status, body). Raises OSError."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.socket_path))
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), body

    def _answers(self) -> bool:
        """The API is up: GET /version (what `docker version` asks) returns 200."""
        if not self.socket_path.exists():
            return False
        try:
            status, body = self._request("/version")
            if status != 200:
                return False
            self.api_version = json.loads(body).get("ApiVersion")
        except (OSError, ValueError):
            return False
        return True

    # --- process control ---------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        """Launch dockerd and wait until its API answers. Idempotent."""
        deadline = time.monotonic() + timeout
        if self.running:
            # Ours already (maybe still restoring containers): just wait for it.
            while time.monotonic() < deadline:
                if self._answers():
                    return
                if not self.running:
                    break
                time.sleep(0.1)
            else:
                raise DockerEngineError(
                    f"dockerd {self.pid} does not answer on {self.socket_path}:\n"
                    f"{processes.log_tail(self.log_file)}"
                )
        if os.geteuid() != 0:
            raise DockerEngineError("dockerd needs root (run the tests as root or with sudo)")
        dockerd = _which("dockerd", "Debian's docker.io")
        # After a crash (kill()) the shims and their containers are still there; a
        # fresh dockerd would stop each one with its full stop timeout while it
        # starts, so finish them off now, as a reboot would.
        self._kill_leftovers()
        # exec/containerd/containerd.pid too: dockerd reuses a containerd that is still
        # "alive", and a just-killed one can linger as a zombie until init reaps it.
        for stale in (
            self.socket_path,
            self.pid_file,
            self.exec_root / "containerd/containerd.pid",
        ):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        env = self.env()
        path = env.get("PATH", "").split(os.pathsep)
        for extra in (
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ):
            if extra not in path:
                path.append(extra)  # containerd, runc, docker-proxy, docker-init
        env["PATH"] = os.pathsep.join(p for p in path if p)
        self._proc = proc = processes.launch(
            [
                dockerd,
                "--host",
                self.docker_host,
                "--data-root",
                str(self.data_root),
                "--exec-root",
                str(self.exec_root),
                "--pidfile",
                str(self.pid_file),
                "--iptables=false",
                "--bridge=none",
                *self._tls_args(),
            ],
            self.log_file,
            "dockerd",
            cwd=self.base_dir,
            env=env,
        )
        if processes.wait_ready(self._answers, deadline, proc):
            return
        if proc.poll() is not None:
            self._proc = None
            raise DockerEngineError(
                f"dockerd exited with status {proc.returncode}; "
                f"{self.log_file}:\n{processes.log_tail(self.log_file)}"
            )
        self.stop(timeout=5)
        raise DockerEngineError(
            f"dockerd did not answer within {timeout}s; {self.log_file}:\n"
            f"{processes.log_tail(self.log_file)}"
        )

    def _tls_args(self) -> list[str]:
        if not self.tls:
            return []
        if not (self.cert_dir / "cert.pem").exists():
            make_test_certificates(self.cert_dir)
        if self.tcp_host is None:
            self.tcp_host = f"tcp://127.0.0.1:{free_port()}"
        return [
            "--host",
            self.tcp_host,
            "--tlsverify",
            "--tlscacert",
            str(self.cert_dir / "ca.pem"),
            "--tlscert",
            str(self.cert_dir / "server-cert.pem"),
            "--tlskey",
            str(self.cert_dir / "server-key.pem"),
        ]

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM dockerd (it stops its containers), SIGKILL after timeout, then make sure
        no containerd, shim or container process of this engine is left. Keeps the data."""
        pid = self.pid
        if pid is not None:
            processes.terminate(pid, timeout, proc=self._proc)
        self._kill_leftovers()
        self._proc = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def kill(self) -> None:
        """SIGKILL dockerd, as a crash would. containerd dies with it (its parent-death
        signal); the shims and containers survive until the next start()/stop()."""
        pid = self.pid
        if pid is not None:
            processes.kill(pid, proc=self._proc)
        self._proc = None

    def restart(self, timeout: float = 30) -> None:
        """stop() if running, then start(); after kill() this is just start()."""
        if self.running:
            self.stop()
        self.start(timeout=timeout)

    def _kill_leftovers(self) -> None:
        """SIGKILL what this engine started and is still around: containers (children of
        the shims), shims, containerd, docker-proxy, and a dockerd without a pid file.
        A process is ours only if an argument lies under base_dir."""
        marker = os.fsdecode(self.base_dir) + "/"
        table = _proc_table()
        roots: list[int] = []
        for pid, (_ppid, argv, _state) in table.items():
            if not argv or pid == os.getpid():
                continue
            name = os.path.basename(argv[0])
            if (name in _OUR_PROGRAMS or name.startswith("containerd")) and any(
                marker in arg for arg in argv[1:]
            ):
                roots.append(pid)
        if not roots:
            return
        children: dict[int, list[int]] = {}
        for pid, (ppid, _argv, _state) in table.items():
            children.setdefault(ppid, []).append(pid)
        # Leaves first: container processes, then shims, then containerd and dockerd.
        order: list[int] = []
        seen: set[int] = set()

        def visit(pid: int) -> None:
            if pid in seen:
                return
            seen.add(pid)
            for child in children.get(pid, []):
                visit(child)
            order.append(pid)

        for root in roots:
            visit(root)
        for pid in order:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in order:
            processes.wait_gone(pid, 5, proc=self._proc)

    # --- docker CLI ------------------------------------------------------------------

    def cli(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker --host <ours> ARGS``; text output. Raises DockerEngineError if it
        fails and check is true, or if it times out."""
        docker = _which("docker", "Debian's docker.io")
        cmd = [docker, "--host", self.docker_host, *args]
        try:
            raw = subprocess.run(
                cmd,
                env=self.env(),
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise DockerEngineError(f"docker {' '.join(args)} timed out after {timeout}s") from exc
        result = subprocess.CompletedProcess(
            raw.args,
            raw.returncode,
            raw.stdout.decode(errors="replace"),
            raw.stderr.decode(errors="replace"),
        )
        if check and result.returncode != 0:
            raise DockerEngineError(
                f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def _has_image(self, ref: str) -> bool:
        return self.cli("image", "inspect", "--format", "{{.Id}}", ref, check=False).returncode == 0

    @staticmethod
    def _busybox_rootfs_tar() -> bytes:
        """A tar of a tiny root filesystem: static busybox with a link per applet."""
        busybox = _which("busybox", "Debian's busybox-static")
        if _is_dynamic_elf(busybox):
            raise DockerEngineError(
                f"{busybox} is dynamically linked: install Debian's busybox-static"
            )
        applets = subprocess.run(
            [busybox, "--list"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.split()
        buf = io.BytesIO()
        now = int(time.time())

        def info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.size, ti.mtime = kind, mode, size, now
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            return ti

        with tarfile.open(fileobj=buf, mode="w") as tar:
            for d in ("bin", "etc", "root", "www", "data", "proc", "sys", "dev"):
                tar.addfile(info(d, tarfile.DIRTYPE, 0o755))
            tar.addfile(info("tmp", tarfile.DIRTYPE, 0o1777))
            with open(busybox, "rb") as f:
                data = f.read()
            tar.addfile(info("bin/busybox", tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
            for applet in applets:
                if applet != "busybox" and "/" not in applet:
                    link = info(f"bin/{applet}", tarfile.SYMTYPE, 0o777)
                    link.linkname = "busybox"
                    tar.addfile(link)
            files = {
                "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
                "etc/group": "root:x:0:\nnogroup:x:65534:\n",
                "www/index.html": "<h1>opsdash ok</h1>\n",
                "www/health": "ok\n",
            }
            for name, text in files.items():
                blob = text.encode()
                tar.addfile(info(name, tarfile.REGTYPE, 0o644, len(blob)), io.BytesIO(blob))
        return buf.getvalue()

    def ensure_images(self) -> None:
        """Build BUSYBOX_IMAGE (docker import) and WEB_IMAGE (docker build) if missing."""
        if not self._has_image(BUSYBOX_IMAGE):
            self.cli(
                "import",
                "--change",
                'CMD ["/bin/sh"]',
                "-",
                BUSYBOX_IMAGE,
                input=self._busybox_rootfs_tar(),
            )
        if not self._has_image(WEB_IMAGE):
            # Dockerfile on stdin, no context. DOCKER_BUILDKIT=0: there is no buildx
            # plugin, and the legacy builder works offline from the local base image.
            docker = _which("docker", "Debian's docker.io")
            env = self.env()
            env["DOCKER_BUILDKIT"] = "0"
            try:
                result = subprocess.run(
                    [docker, "--host", self.docker_host, "build", "-q", "-t", WEB_IMAGE, "-"],
                    env=env,
                    input=_WEB_DOCKERFILE.encode(),
                    capture_output=True,
                    timeout=120,
                )
            except subprocess.TimeoutExpired as exc:
                raise DockerEngineError(f"docker build {WEB_IMAGE} timed out") from exc
            if result.returncode != 0:
                raise DockerEngineError(
                    f"docker build {WEB_IMAGE} failed: {result.stderr.decode(errors='replace')}"
                )

    def swarm_init(self) -> None:
        """Make this engine a one-node swarm manager on 127.0.0.1 only. Idempotent."""
        state = self.cli("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
        if state == "active":
            return
        self.cli(
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--listen-addr",
            f"127.0.0.1:{free_port()}",
        )

    # --- cleanup ---------------------------------------------------------------------

    def _unmount_all(self) -> None:
        prefix = os.fsdecode(self.base_dir) + "/"
        try:
            lines = Path("/proc/self/mounts").read_text().splitlines()
        except OSError:
            return
        targets = [
            target
            for line in lines
            if len(line.split()) > 1
            and (target := _unescape_mount(line.split()[1])).startswith(prefix)
        ]
        for target in sorted(set(targets), key=len, reverse=True):  # deepest first
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)

    def cleanup(self) -> None:
        """Stop the daemon (fast: swarm left, containers removed first) and delete base_dir."""
        if self.running:
            with contextlib.suppress(DockerEngineError):
                if self._answers():
                    state = self.cli(
                        "info", "--format", "{{.Swarm.LocalNodeState}}", check=False, timeout=30
                    ).stdout.strip()
                    if state not in ("inactive", ""):
                        self.cli("swarm", "leave", "--force", check=False, timeout=60)
                    ids = self.cli("ps", "-aq", check=False, timeout=30).stdout.split()
                    if ids:
                        self.cli("rm", "-f", *ids, check=False, timeout=60)
                    # Networks' bridge interfaces outlive dockerd and its data dir: without
                    # this, repeated runs exhaust the address pools ("non-overlapping").
                    self.cli("network", "prune", "-f", check=False, timeout=60)
        self.stop()
        self._unmount_all()
        shutil.rmtree(self.base_dir, ignore_errors=True)
        if self.base_dir.exists():  # something was still busy: one more round
            time.sleep(0.5)
            self._unmount_all()
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PrivateDockerEngine:
        try:
            self.start()
            self.ensure_images()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _cli_start(engine: PrivateDockerEngine) -> str:
    engine.start()
    engine.ensure_images()
    return f"export DOCKER_HOST={engine.docker_host}"


def main(argv: list[str]) -> int:
    return processes.cli(
        argv,
        "devstack.docker_engine",
        PrivateDockerEngine,
        {
            "start": _cli_start,
            "stop": PrivateDockerEngine.stop,
            "cleanup": PrivateDockerEngine.cleanup,
        },
        DockerEngineError,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
