"""A private Docker daemon for tests, benchmarks, screenshots and the demo.

Stdlib only, so every script can use it. It never touches a daemon it did not
start: every docker command gets DOCKER_HOST pointing at its own socket.
Needs Debian's docker.io (dockerd) and busybox-static.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSYBOX_IMAGE = "local/busybox:1"
WEB_IMAGE = "local/web:1"

_WEB_DOCKERFILE = """\
FROM local/busybox:1
ENV PORT=18080
HEALTHCHECK --interval=1s --timeout=2s --start-period=1s --retries=2 \\
  CMD wget -q -O /dev/null http://127.0.0.1:$PORT/health || exit 1
CMD ["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]
"""


class DockerEngineError(RuntimeError):
    pass


def _which(name: str, hint: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}", f"/bin/{name}") if Path(p).exists()),
        None,
    )
    if not path:
        raise DockerEngineError(f"{name} not found: install {hint}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateDockerEngine:
    def __init__(self, base_dir: str | os.PathLike[str] | None = None):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="opsdash-dk-", dir="/tmp")
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path = self.base_dir / "docker.sock"
        self.docker_host = f"unix://{self.socket_path}"
        self.pid_file = self.base_dir / "docker.pid"
        self.log_file = self.base_dir / "dockerd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # --- process control ------------------------------------------------------

    @property
    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    @property
    def running(self) -> bool:
        return self.pid is not None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.docker_host
        for key in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            env.pop(key, None)
        return env

    def start(self, timeout: float = 30) -> None:
        if self.running and self._answers():
            return
        dockerd = _which("dockerd", "Debian's docker.io")
        self._kill_leftovers()  # a containerd orphaned by a killed dockerd blocks a new one
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        log = self.log_file.open("ab")
        self._proc = subprocess.Popen(
            [
                dockerd,
                "--host",
                self.docker_host,
                "--data-root",
                str(self.base_dir / "data"),
                "--exec-root",
                str(self.base_dir / "exec"),
                "--pidfile",
                str(self.pid_file),
                "--iptables=false",
                "--ip6tables=false" if self._supports_ip6tables(dockerd) else "--ipv6=false",
                "--bridge=none",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise DockerEngineError(f"dockerd exited: {self._log_tail()}")
            if self._answers():
                return
            time.sleep(0.1)
        raise DockerEngineError(f"dockerd did not answer within {timeout}s: {self._log_tail()}")

    @staticmethod
    def _supports_ip6tables(dockerd: str) -> bool:
        try:
            out = subprocess.run([dockerd, "--help"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return "--ip6tables" in out.stdout

    def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(str(self.socket_path))
                s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b" 200 " in s.recv(64)
        except OSError:
            return False

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])

    def _signal(self, sig: int) -> int | None:
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:
                    return True
            else:
                try:
                    os.kill(pid, 0)
                except OSError:
                    return True
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 20) -> None:
        pid = self._signal(signal.SIGTERM)
        if pid is not None and not self._wait_gone(pid, timeout):
            self._signal(signal.SIGKILL)
            self._wait_gone(pid, 5)
        self._kill_leftovers()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL dockerd, as a crash would."""
        pid = self._signal(signal.SIGKILL)
        if pid is not None:
            self._wait_gone(pid, 10)
        self._proc = None

    def restart(self) -> None:
        self.start()

    def _kill_leftovers(self) -> None:
        """containerd and shims started for this daemon live under our exec-root."""
        marker = str(self.base_dir)
        killed: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and ("containerd" in cmdline or "dockerd" in cmdline):
                with contextlib.suppress(OSError):
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed.append(int(entry.name))
        deadline = time.monotonic() + 5
        while killed and time.monotonic() < deadline:
            killed = [pid for pid in killed if Path(f"/proc/{pid}").exists()]
            time.sleep(0.05)

    # --- docker CLI -------------------------------------------------------------

    def cli(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        docker = _which("docker", "Debian's docker.io")
        result = subprocess.run(
            [docker, *args],
            env=self.env(),
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise DockerEngineError(
                f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def _has_image(self, ref: str) -> bool:
        return self.cli("image", "inspect", ref, check=False).returncode == 0

    def ensure_images(self) -> None:
        if not self._has_image(BUSYBOX_IMAGE):
            busybox = _which("busybox", "Debian's busybox-static")
            rootfs = self.base_dir / "rootfs"
            for sub in ("bin", "etc", "tmp", "www", "data", "proc", "sys", "dev"):
                (rootfs / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy2(busybox, rootfs / "bin" / "busybox")
            applets = subprocess.run(
                [busybox, "--list"], capture_output=True, text=True, check=True
            ).stdout.split()
            for applet in applets:
                link = rootfs / "bin" / applet
                if applet != "busybox" and not link.exists():
                    link.symlink_to("busybox")
            (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
            (rootfs / "etc" / "group").write_text("root:x:0:\n")
            (rootfs / "www" / "health").write_text("ok\n")
            (rootfs / "www" / "index.html").write_text("<h1>opsdash ok</h1>\n")
            tar = subprocess.run(
                ["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True
            )
            docker = _which("docker", "Debian's docker.io")
            subprocess.run(
                [docker, "import", "-c", 'CMD ["/bin/sh"]', "-", BUSYBOX_IMAGE],
                input=tar.stdout,
                env=self.env(),
                capture_output=True,
                check=True,
                timeout=120,
            )
            shutil.rmtree(rootfs, ignore_errors=True)
        if not self._has_image(WEB_IMAGE):
            build = self.base_dir / "build-web"
            build.mkdir(exist_ok=True)
            (build / "Dockerfile").write_text(_WEB_DOCKERFILE)
            env = self.env()
            env["DOCKER_BUILDKIT"] = "0"
            docker = _which("docker", "Debian's docker.io")
            result = subprocess.run(
                [docker, "build", "-q", "-t", WEB_IMAGE, str(build)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if result.returncode != 0:
                raise DockerEngineError(f"docker build {WEB_IMAGE} failed: {result.stderr.strip()}")

    def swarm_init(self) -> None:
        info = self.cli("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
        if info == "active":
            return
        port = free_port()
        self.cli(
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--listen-addr",
            f"127.0.0.1:{port}",
        )

    # --- cleanup -------------------------------------------------------------------

    def cleanup(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                ids = self.cli("ps", "-aq", check=False, timeout=30).stdout.split()
                if ids:
                    self.cli("rm", "-f", *ids, check=False, timeout=60)
        self.stop()
        with contextlib.suppress(OSError):
            mounts = Path("/proc/self/mounts").read_text().splitlines()
            for line in reversed(mounts):
                target = line.split()[1]
                if target.startswith(str(self.base_dir)):
                    subprocess.run(["umount", "-l", target], capture_output=True, check=False)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PrivateDockerEngine:
        self.start()
        self.ensure_images()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m devstack.docker_engine start|stop DIR", file=sys.stderr)
        return 2
    engine = PrivateDockerEngine(argv[1])
    if argv[0] == "start":
        engine.start()
        engine.ensure_images()
        print(f"export DOCKER_HOST={engine.docker_host}")
    else:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
