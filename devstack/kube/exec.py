"""The pods/exec subresource over a WebSocket, as kubectl 1.30+ speaks it.

https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/ (connect
GET/POST /api/v1/namespaces/{namespace}/pods/{name}/exec: command (repeated), container,
stdin, stdout, stderr, tty)
https://github.com/kubernetes/enhancements/tree/master/keps/sig-api-machinery/4006-transition-spdy-to-websockets
(KEP-4006: the client asks for `v5.channel.k8s.io`; v5 adds the close signal)
https://pkg.go.dev/k8s.io/apimachinery/pkg/util/httpstream/wsstream (the channel.k8s.io
subprotocols: every binary message starts with its channel byte)

Channels: 0 stdin, 1 stdout, 2 stderr, 3 the error stream (one metav1.Status JSON when
the command ends: Success, or Failure with reason NonZeroExitCode and the code as an
ExitCode cause), 4 resize ({"Width", "Height"}), 255 close (v5: [255, channel] says the
client closed that stream). The emulator's "container" is a local process: the command
runs in a temp directory, on a pty when tty=true (pipes otherwise), and the temp
directory is removed when it ends. A request that is not a WebSocket upgrade (SPDY) is
answered 400, so kubectl never needs its SPDY fallback here.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import termios
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage

from devstack.kube.objects import status

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")  # preferred first
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 4.2.2
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _bad(message: str, code: int = 400, reason: str = "BadRequest") -> tuple[int, Any]:
    return code, status(code, reason, message)


def exit_status(code: int, command: list[str]) -> dict[str, Any]:
    """The error channel's last word, as the kubelet writes it (client-go decodes
    NonZeroExitCode with an ExitCode cause into kubectl's own exit status)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            f"command terminated with non-zero exit code: error executing command "
            f"[{' '.join(command)}], exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def _chosen_protocol(headers: Any) -> str | None:
    offered = [
        p.strip()
        for value in headers.get_all("Sec-WebSocket-Protocol") or []
        for p in value.split(",")
    ]
    return next((p for p in PROTOCOLS if p in offered), None)


def serve_exec(handler: Any, ns: str, name: str) -> tuple[int, Any]:
    """(code, Status) for a refusal, or (101, None) once the session has run."""
    pod = handler.api.store.get("pods", ns, name)
    if pod is None:
        return _bad(f'pods "{name}" not found', 404, "NotFound")
    query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
    command = query.get("command") or []
    if not command:
        return _bad("you must specify at least 1 command")
    names = [c["name"] for c in pod["spec"]["containers"]]
    container = (query.get("container") or [""])[0] or names[0]
    if container not in names:
        return _bad(f"container {container} is not valid for pod {name}")
    if pod["status"].get("phase") != "Running":
        phase = pod["status"].get("phase")
        return _bad(f"cannot exec into a container in a {str(phase).lower()} pod")
    upgrade = (handler.headers.get("Upgrade") or "").lower()
    protocol = _chosen_protocol(handler.headers)
    if upgrade != "websocket" or protocol is None:
        return _bad("Upgrade request required: a WebSocket with v5.channel.k8s.io or v4")
    flags = {k: (query.get(k) or [""])[0] in ("1", "true") for k in ("stdin", "tty", "stderr")}
    key = handler.headers.get("Sec-WebSocket-Key", "")
    accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.send_header("Sec-WebSocket-Protocol", protocol)
    handler.end_headers()
    handler.close_connection = True
    ExecSession(handler, command, protocol, **flags).run()
    return 101, None


class ExecSession:
    """One command bridged to one WebSocket: a thread copies its output out, the
    request's thread reads the client's messages in."""

    def __init__(
        self,
        handler: Any,
        command: list[str],
        protocol: str,
        *,
        stdin: bool,
        tty: bool,
        stderr: bool,
    ):
        self.handler = handler
        self.command = command
        self.v5 = protocol.startswith("v5.")
        self.tty = tty
        self.ws = Connection(ConnectionType.SERVER)
        self._send_lock = threading.Lock()
        self.workdir = tempfile.mkdtemp(prefix="kube-exec-")
        self.stdin_open = stdin
        self.master: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawn_error: OSError | None = None
        try:
            self.proc = self._spawn(stdin, stderr)
        except OSError as exc:  # what a runtime says of a command not in the image
            self.spawn_error = exc

    def _spawn(self, stdin: bool, stderr: bool) -> subprocess.Popen[bytes]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir,
            "TERM": "xterm",
            "PS1": "$ ",
        }
        if self.tty:
            master, slave = os.openpty()
            self.master = master

            def controlling_tty() -> None:  # the shell's job control wants one
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

            try:
                return subprocess.Popen(
                    self.command,
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    cwd=self.workdir,
                    env=env,
                    start_new_session=True,
                    preexec_fn=controlling_tty,  # only an ioctl between fork and exec
                )
            finally:
                os.close(slave)
        return subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
        )

    # --- to the client ------------------------------------------------------------

    def _send(self, event: Any) -> None:
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self.handler.wfile.write(self.ws.send(event))

    def _channel(self, channel: int, data: bytes) -> None:
        self._send(BytesMessage(data=bytes([channel]) + data))

    def _pump(self) -> None:
        """Output to channels 1 and 2 until the command ends; then its Status, and close."""
        streams = (
            [(self.master, STDOUT)]
            if self.master is not None
            else [
                (s.fileno(), ch)
                for s, ch in ((self.proc.stdout, STDOUT), (self.proc.stderr, STDERR))
                if s
            ]
        )
        open_fds = dict(streams)
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [], 0.5)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the pty's last holder exited
                    data = b""
                if data:
                    self._channel(open_fds[fd], data)
                else:
                    del open_fds[fd]
        code = self.proc.wait()
        self._channel(ERROR, json.dumps(exit_status(code, self.command)).encode())
        self._send(CloseConnection(code=1000))
        # The reading side may be waiting on a client that never closes: wake it up.
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)

    # --- from the client ----------------------------------------------------------

    def _stdin(self, data: bytes) -> None:
        if not self.stdin_open:
            return
        with contextlib.suppress(OSError):
            if self.master is not None:
                os.write(self.master, data)
            elif self.proc.stdin is not None:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()

    def _close_stdin(self) -> None:
        self.stdin_open = False
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, b"\x04")  # end of input on a terminal
        elif self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def _resize(self, data: bytes) -> None:
        try:
            size = json.loads(data)
            rows, cols = int(size["Height"]), int(size["Width"])
        except (ValueError, KeyError, TypeError):
            return
        if self.master is not None and 0 < rows < 65536 and 0 < cols < 65536:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _message(self, data: bytes) -> None:
        if not data:
            return
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            self._stdin(payload)
        elif channel == RESIZE:
            self._resize(payload)
        elif channel == CLOSE and self.v5 and payload[:1] == bytes([STDIN]):
            self._close_stdin()

    def _read_client(self) -> None:
        partial = b""
        while True:
            try:
                chunk = self.handler.rfile.read1(65536)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            self.ws.receive_data(chunk)
            for event in self.ws.events():
                if isinstance(event, Ping):
                    self._send(event.response())
                elif isinstance(event, CloseConnection):
                    with contextlib.suppress(Exception):
                        self._send(event.response())
                    return
                elif isinstance(event, Message):
                    data = event.data.encode() if isinstance(event, TextMessage) else event.data
                    partial += data
                    if event.message_finished:
                        self._message(partial)
                        partial = b""

    def _not_started(self, exc: OSError) -> None:
        """The command could not start: the runtime's line, then exit status 127
        (not there) or 126 (not executable), as a shell would report them."""
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        line = f'exec: "{self.command[0]}": {exc.strerror or exc}\r\n'.encode()
        self._channel(STDOUT if self.tty else STDERR, line)
        self._channel(ERROR, json.dumps(exit_status(code, self.command)).encode())
        self._send(CloseConnection(code=1000))

    def run(self) -> None:
        if self.proc is None:
            if self.master is not None:
                os.close(self.master)
            if self.spawn_error is not None:
                self._not_started(self.spawn_error)
            shutil.rmtree(self.workdir, ignore_errors=True)
            return
        pump = threading.Thread(target=self._pump, name="kube-exec-out", daemon=True)
        pump.start()
        try:
            self._read_client()
        finally:
            if self.proc.poll() is None:  # the client went away: end the command
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, 9)
            pump.join(10)
            if self.master is not None:
                with contextlib.suppress(OSError):
                    os.close(self.master)
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            shutil.rmtree(self.workdir, ignore_errors=True)
