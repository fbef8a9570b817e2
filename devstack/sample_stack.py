"""A realistic demo stack on a private Docker engine (for the demo and the screenshots).

What it starts, and which dashboard feature each one shows:

- ``shop-web-1`` and ``shop-worker-1``: a compose-like project "shop" (the
  labels ``docker compose`` sets). The web container serves HTTP on the host
  network with a healthcheck; its environment includes ``DB_PASSWORD``, whose
  value the details screen must never show. The worker prints a line five
  times a second, so it has some CPU and a lively log.
- ``nightly-backup``: ran once and exited with code 1.
- ``flaky-consumer``: crashes every two seconds under ``--restart on-failure``,
  so its restart count climbs (and Docker's back-off sets it "restarting").
- ``noisy-logger``: its log holds Rich markup and terminal escape sequences
  (colour, window title, clipboard, clear screen) that must show as plain text.
- Swarm service ``api``: two replicas of ``sleep``, after ``swarm init``.

Only ever call it with a `PrivateDockerEngine`: it removes containers and the
``api`` service by name before creating them again, so running it twice is fine.
"""

from __future__ import annotations

import json
import time

from devstack.docker_engine import (
    BUSYBOX_IMAGE,
    WEB_IMAGE,
    DockerEngineError,
    PrivateDockerEngine,
    free_port,
)

PROJECT = "shop"
WEB = "shop-web-1"
WORKER = "shop-worker-1"
BACKUP = "nightly-backup"
FLAKY = "flaky-consumer"
NOISY = "noisy-logger"
CONTAINERS = (WEB, WORKER, BACKUP, FLAKY, NOISY)
SERVICE = "api"
SERVICE_REPLICAS = 2

# Demo-only; the dashboard must never show it (the screenshot script checks).
DEMO_SECRET = "demo-only-s3cret-7f3a"

# Printed once when the container starts, then a heartbeat every 5 seconds.
_NOISY_SCRIPT = r"""
printf '[bold red]ALERT[/] this is log text, not Rich markup\n'
printf '[link=https://example.invalid]click me[/link] [reverse]still text[/reverse]\n'
printf '\033[32mINFO\033[0m colour is kept: green INFO, \033[31mred\033[0m, \033[1;33mbold yellow\033[0m\n'
printf '\033]0;pwned window title\007title-change sequence dropped\n'
printf '\033]52;c;ZXZpbA==\007clipboard write dropped\n'
printf 'clear-screen \033[2J\033[Hand cursor-home dropped\n'
printf 'bell\007 and backspace\010 dropped\n'
printf 'tab\tseparated\tcolumns\n'
i=0
while :; do
  sleep 5
  i=$((i+1))
  echo "$(date -u +%H:%M:%S) heartbeat $i [dim]ok[/dim]"
done
"""

_WORKER_SCRIPT = "while :; do echo tick; sleep 0.2; done"
_BACKUP_SCRIPT = (
    "echo 'backup: starting dump of shop database'; "
    "echo 'backup: error: /backups is not mounted' >&2; exit 1"
)
_FLAKY_SCRIPT = (
    "echo 'consumer: connecting to queue at 127.0.0.1:5672'; sleep 2; "
    "echo 'consumer: fatal: connection refused' >&2; exit 3"
)


def _compose_labels(service: str) -> list[str]:
    labels = {
        "com.docker.compose.project": PROJECT,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
    }
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]


def _run(engine: PrivateDockerEngine, name: str, *args: str) -> None:
    engine.cli("run", "--detach", "--name", name, "--stop-timeout", "1", *args)


def remove_sample_stack(engine: PrivateDockerEngine) -> None:
    """Remove what `start_sample_stack` created (missing ones are fine)."""
    engine.cli("service", "rm", SERVICE, check=False)
    engine.cli("rm", "--force", *CONTAINERS, check=False)


def start_sample_stack(engine: PrivateDockerEngine) -> None:
    """Populate a running private engine with the demo containers and Swarm service."""
    engine.ensure_images()
    remove_sample_stack(engine)

    _run(
        engine,
        WEB,
        "--network",
        "host",
        "--restart",
        "unless-stopped",
        "-e",
        f"PORT={free_port()}",
        "-e",
        "DB_HOST=127.0.0.1",
        "-e",
        "DB_USER=shop",
        "-e",
        f"DB_PASSWORD={DEMO_SECRET}",
        "-e",
        "LOG_LEVEL=info",
        *_compose_labels("web"),
        WEB_IMAGE,  # its HEALTHCHECK fetches /health every second
    )
    _run(
        engine,
        WORKER,
        "--network",
        "none",
        "--restart",
        "unless-stopped",
        *_compose_labels("worker"),
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        _WORKER_SCRIPT,
    )
    _run(engine, BACKUP, "--network", "none", BUSYBOX_IMAGE, "sh", "-c", _BACKUP_SCRIPT)
    _run(
        engine,
        FLAKY,
        "--network",
        "none",
        "--restart",
        "on-failure",
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        _FLAKY_SCRIPT,
    )
    _run(
        engine,
        NOISY,
        "--network",
        "none",
        "--label",
        "team=[red]ops[/]",
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        _NOISY_SCRIPT,
    )

    engine.swarm_init()
    engine.cli(
        "service",
        "create",
        "--detach",
        "--no-resolve-image",  # a local image: there is no registry to ask
        "--name",
        SERVICE,
        "--replicas",
        str(SERVICE_REPLICAS),
        "--stop-grace-period",
        "1s",
        BUSYBOX_IMAGE,
        "sleep",
        "100000",
    )


def _inspect(engine: PrivateDockerEngine) -> dict[str, dict]:
    out = engine.cli("inspect", *CONTAINERS, check=False).stdout
    try:
        return {c["Name"].lstrip("/"): c for c in json.loads(out or "[]")}
    except ValueError:
        return {}


def _running_tasks(engine: PrivateDockerEngine) -> int:
    out = engine.cli(
        "service",
        "ps",
        SERVICE,
        "--filter",
        "desired-state=running",
        "--format",
        "{{.CurrentState}}",
        check=False,
    ).stdout
    return sum(1 for line in out.splitlines() if line.startswith("Running"))


def sample_stack_problems(engine: PrivateDockerEngine) -> list[str]:
    """What is not yet in its demo state (empty when everything is)."""
    found = _inspect(engine)
    problems = []
    for name in CONTAINERS:
        if name not in found:
            problems.append(f"{name} missing")
    state = {name: c.get("State") or {} for name, c in found.items()}
    web = state.get(WEB, {})
    if web and (web.get("Health") or {}).get("Status") != "healthy":
        problems.append(f"{WEB} not healthy yet")
    for name in (WORKER, NOISY):
        if name in state and state[name].get("Status") != "running":
            problems.append(f"{name} not running")
    backup = state.get(BACKUP, {})
    if backup and not (backup.get("Status") == "exited" and backup.get("ExitCode") == 1):
        problems.append(f"{BACKUP} has not exited with code 1 yet")
    if FLAKY in found and int(found[FLAKY].get("RestartCount") or 0) < 1:
        problems.append(f"{FLAKY} has not restarted yet")
    if (running := _running_tasks(engine)) < SERVICE_REPLICAS:
        problems.append(f"service {SERVICE} has {running}/{SERVICE_REPLICAS} replicas running")
    return problems


def wait_for_sample_stack(engine: PrivateDockerEngine, timeout: float = 90) -> None:
    """Block until every part of the stack is in its demo state."""
    deadline = time.monotonic() + timeout
    while True:
        problems = sample_stack_problems(engine)
        if not problems:
            return
        if time.monotonic() > deadline:
            raise DockerEngineError(
                f"sample stack not ready after {timeout:g}s: {'; '.join(problems)}"
            )
        time.sleep(0.5)
