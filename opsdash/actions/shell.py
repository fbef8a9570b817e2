"""`E`: an interactive shell in a container, through the docker CLI, and the
session both backends hand to the shell flow (`ShellSession`; a pod's is
`opsdash.actions.kube_shell`).

`docker exec -it` does what an interactive session needs and docker-py does
not: it puts the terminal in raw mode, gives the exec a TTY of the terminal's
size and follows SIGWINCH. So opsdash hands the terminal to the CLI, pointed
with `--host` and the TLS flags at exactly the engine it polls (a context's,
an ssh:// host through the CLI's own ssh, a tcp:// one with its certificates),
and waits for it. The argv is audited, never what is typed or shown.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsdash.actions.base import ActionPlan
from opsdash.sources.docker_contexts import ContextError, endpoint_of

DEFAULT_SHELL = ("/bin/sh",)
QUICK_EXIT_SECONDS = 3.0  # a session this short that failed most likely never started
# Variables that would point the CLI somewhere else than the flags say.
_POINTING = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")
# What `docker exec` itself answers when the command cannot start.
_EXIT_HINTS = {
    126: "the command cannot be run in the container",
    127: "the command is not in the container",
}


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ShellSession:
    """What `E` would run on one row, built without running anything: the plan
    (audited, shown on a protected target), the shell it opens, the CLI's
    environment, why it cannot run ("" if it can), and what to remove after
    (a private file the CLI reads; called on every path, refused ones too)."""

    plan: ActionPlan
    command: tuple[str, ...]
    env: dict[str, str]
    problem: str = ""
    host_read_only: bool = False
    protected: bool = False
    table: str = "[[docker]]"  # where `shell` is set, for the exit note
    cleanup: Callable[[], None] = field(default=_nothing)


def docker_cli(path: str | None = None) -> str | None:
    """The docker CLI on PATH, or None."""
    return shutil.which("docker", path=path)


def connection_flags(config: Any) -> list[str]:
    """The CLI's global flags for the engine a [[docker]] record points at."""
    host, tls = endpoint_of(config)
    flags = ["--host", host]
    if tls is not None:
        flags.append("--tlsverify" if tls.verify else "--tls")
        if tls.ca:
            flags += ["--tlscacert", tls.ca]
        if tls.cert:
            flags += ["--tlscert", tls.cert, "--tlskey", tls.key]
    return flags


def exec_argv(docker: str, config: Any, container_id: str) -> tuple[str, ...]:
    """`docker --host ... exec -it <id> <shell>`: the id, so a container
    recreated under the same name meanwhile is not entered by mistake."""
    command = tuple(getattr(config, "shell", ()) or DEFAULT_SHELL)
    return (docker, *connection_flags(config), "exec", "-it", container_id, *command)


def exec_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment for the CLI: the user's, minus what would contradict the flags."""
    return {k: v for k, v in environ.items() if k not in _POINTING}


def shell_plan(
    *, target: str, target_id: str, host: str, argv: tuple[str, ...], image: str = ""
) -> ActionPlan:
    """What E does, for the audit log and, on a protected container, the dialog."""
    shown = " ".join(argv[1:]) if argv else "docker exec -it"
    return ActionPlan(
        action="shell",
        kind="container",
        target=target,
        target_id=target_id,
        host=host,
        old_image=image,
        argv=argv,
        mutating=False,
        steps=(
            "Suspend the dashboard and open a shell in the container:",
            f"  docker {shown}",
            "The dashboard comes back when the shell exits.",
        ),
    )


def _cannot(target: Any, source: Any, config: Any, docker: str | None) -> str:
    """Why E cannot open a shell here, beyond the runner's refusals; "" if it can."""
    if source is None:
        return f"{target.host} is not a configured Docker host"
    if config is None:
        return f"{target.host} is not an engine opsdash can reach with the docker CLI"
    if docker is None:
        return "the docker CLI is not on PATH (E runs docker exec -it): install it"
    if target.state != "running":
        return f"{target.name} is {target.state or 'not running'}: a shell needs it running"
    return ""


def container_session(target: Any, source: Any, *, protected: bool) -> ShellSession:
    """E on a container (`opsdash.model.Container`) of the engine `source` polls."""
    config = getattr(source, "config", None)
    docker = docker_cli()
    argv: tuple[str, ...] = ()
    problem = ""
    if docker and config is not None:
        try:
            argv = exec_argv(docker, config, target.id)
        except ContextError as exc:
            problem = str(exc)
    plan = shell_plan(
        target=target.name, target_id=target.id, host=target.host, argv=argv, image=target.image
    )
    return ShellSession(
        plan=plan,
        command=tuple(getattr(config, "shell", ()) or DEFAULT_SHELL),
        env=exec_env(),
        problem=problem or _cannot(target, source, config, docker),
        host_read_only=source is not None and source.read_only,
        protected=protected,
    )


@contextlib.contextmanager
def _keyboard_signals_to_child() -> Iterator[None]:
    """Ctrl+C and Ctrl+\\ belong to the shell while it runs: opsdash shares its
    process group, so it catches them and does nothing. A handler (not SIG_IGN)
    is reset to the default in the child at exec."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGQUIT)}
    for number in saved:
        signal.signal(number, lambda *_: None)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def run_interactive(argv: tuple[str, ...], env: Mapping[str, str]) -> int:
    """Run `argv` on this terminal (stdin, stdout, stderr inherited); its exit status."""
    with _keyboard_signals_to_child():
        return subprocess.run(list(argv), env=dict(env), check=False).returncode


def exit_note(
    code: int, command: tuple[str, ...], seconds: float, table: str = "[[docker]]"
) -> str:
    """One line on how the session ended; a status docker (or kubectl) exec gives
    a command that could not start (126, 127) names the cause when it came at
    once (a shell left after a while returns its last command's status instead)."""
    hint = _EXIT_HINTS.get(code) if seconds < QUICK_EXIT_SECONDS else None
    if hint:
        name = command[0] if command else DEFAULT_SHELL[0]
        return f"exited with status {code}: {hint} ({name}: set shell in its {table} table)"
    return f"exited with status {code}"
