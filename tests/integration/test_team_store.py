"""Two real opsdash processes sharing one PostgreSQL store, on one private dockerd.

Two engineers of a rotation: each runs `opsdash` in a terminal (a pty here,
tests/tui_process.py), with its own poller and deployment watcher, and both
configs point `[store] url` at the same database. Engineer A's opsdash runs
in a UTS namespace of its own with another host name (`unshare --uts`), as if
on another laptop: a lease held by a process of another machine is trusted
until it expires, where one of this machine whose process is gone is taken
over at once (`opsdash.actions.lease.dead_here`).

- A container replaced outside opsdash (another image) is seen by both and
  recorded once: the watched version is swapped by one of them only, and the
  deployment's external id is unique in the store.
- A redeploy from A, held mid-action by the test hook (OPSDASH_TEST_HOLD: right
  after it journaled its first step, with the lease taken and renewed), makes
  B's redeploy of the same container refused with who and since when; the
  refusal is audited under B's user@host.
- A killed with SIGKILL stops renewing: its lease is still there until
  `lease_timeout` (a few seconds here) has passed, then it is gone and B's
  redeploy of the container runs to its end.

Every wait is for a condition, with generous timeouts: nothing is timed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time

import pytest

from opsdash.actions.runner import current_actor
from opsdash.store import Store
from tests.fakes import run_isolated, unique
from tests.tui_process import TuiProcess, press_redeploy

pytestmark = pytest.mark.docker

LEASE_TIMEOUT_S = 6  # short, so the test waits seconds for a dead holder, not minutes
OTHER_MACHINE = "engineer-a-laptop"
DEADLINE = 120.0  # the longest any condition may take on a loaded machine
LOOP = "trap : TERM; while true; do sleep 1; done"  # as a shell PID 1: ignores SIGTERM


def _wait(condition, what: str, timeout: float = DEADLINE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _image_id(engine, ref: str) -> str:
    return engine.cli("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


def _state(engine, name: str) -> dict:
    out = engine.cli("inspect", name, check=False).stdout
    rows = json.loads(out) if out.strip() else []
    return rows[0] if rows else {}


@pytest.fixture
def team(engine, postgres, tmp_path):
    """The shared store's URL, the config both opsdash read, and a way to start
    one (`start(who, **env)`), each with its own data dir and --log file."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs util-linux's unshare and root (a UTS namespace of its own)")
    if socket.gethostname() == OTHER_MACHINE:
        pytest.skip(f"this machine is called {OTHER_MACHINE}")
    url = postgres.new_database("team")
    config = tmp_path / "config.toml"
    config.write_text(
        f'refresh = 1\n[store]\nurl = "{url}"\nlease_timeout = {LEASE_TIMEOUT_S}\n'
        f'[[docker]]\nname = "local"\nhost = "{engine.docker_host}"\npull = false\n'
    )
    started: list[TuiProcess] = []

    def start(who: str, *, other_machine: bool = False, **env: str) -> TuiProcess:
        data = tmp_path / who
        data.mkdir()
        wrapper = None
        if other_machine:  # its own host name: a laptop of its own, to the lease
            wrapper = [
                "unshare",
                "--uts",
                "sh",
                "-c",
                f'hostname {OTHER_MACHINE} && exec "$@"',
                "-",
            ]
        tui = TuiProcess(
            ["--config", str(config), "--log", str(data / "opsdash.log")],
            {"OPSDASH_DATA_DIR": str(data), **env},
            wrapper=wrapper,
        )
        started.append(tui)
        return tui

    yield url, start
    for tui in started:
        tui.close()


def _store(url: str) -> Store:
    store = Store.open_url(url)
    assert store.problem is None, store.problem
    return store


def test_two_opsdash_on_one_postgres_share_deploys_and_leases(engine, team, tmp_path):
    url, start = team
    from devstack.docker_engine import BUSYBOX_IMAGE

    project = unique("team")
    name = f"{project}-web-1"
    service = f"{project}/web"
    labels = ["--label", f"com.docker.compose.project={project}"]
    labels += ["--label", "com.docker.compose.service=web"]
    run_isolated(engine, name, *labels, BUSYBOX_IMAGE, "sh", "-c", LOOP)
    held = tmp_path / "held"
    a = start("a", other_machine=True, OPSDASH_TEST_HOLD=f"lock={held}")
    b = start("b")
    store = _store(url)
    tick = unique("team-tick")
    try:
        for tui in (a, b):
            tui.wait_text(name, timeout=DEADLINE)
        # Both watchers have seen the first image: remembered, not a deploy.
        _wait(lambda: store.watched_version(f"container:local:{service}"), "the first sighting")

        # (a) Replaced outside opsdash with another image: one deploy in the store.
        # Another image (no healthcheck, so B's redeploy below needs none to pass).
        new_ref = f"local/{project}:2"
        engine.cli("commit", "--change", f"LABEL {project}=2", name, new_ref)
        for tui in (a, b):
            tui.clear()
        engine.cli("rm", "-f", name)
        run_isolated(engine, name, *labels, new_ref, "sh", "-c", LOOP)
        new_image = _image_id(engine, new_ref)
        for tui in (a, b):
            tui.wait_text(new_ref, timeout=DEADLINE)
        _wait(
            lambda: [e for e in store.deployments() if e.service == service],
            "the deploy to be recorded",
        )
        # Both have polled (and watched) again since: a container each has to show.
        for tui in (a, b):
            tui.clear()
        run_isolated(engine, tick, BUSYBOX_IMAGE, "sleep", "100000")
        for tui in (a, b):
            tui.wait_text(tick, timeout=DEADLINE)
        (deploy,) = [e for e in store.deployments() if e.service == service]
        assert (deploy.source, deploy.version, deploy.image) == ("docker", new_image, new_ref)
        assert deploy.external_id and deploy.external_id.startswith(f"docker:local:{service}:")
        logged = [
            line
            for who in ("a", "b")
            for line in (tmp_path / who / "opsdash.log").read_text().splitlines()
            if f"deploy {service}" in line
        ]
        assert len(logged) == 1, logged  # recorded by one of the two only

        # (b) A's redeploy holds the lease; B's redeploy of the same container is refused.
        press_redeploy(a, name)
        a.wait_for(lambda: _yes_until(a, held), "A's redeploy to take its lease", DEADLINE)
        key = f"local/container/{name}"
        lease = store.lease(key)
        assert lease is not None and lease.holder.endswith(f"@{OTHER_MACHINE}")
        press_redeploy(b, name, shows="Refused: an action on")
        b.wait_text(f"by {lease.holder} since", timeout=30)
        refusal = _wait(
            lambda: [
                e
                for e in store.audit_entries()
                if e.target == name and e.result.startswith("refused:")
            ],
            "B's refusal in the audit log",
        )[0]
        assert refusal.actor == current_actor()  # B's user@host, this machine's
        assert refusal.action == "redeploy"
        assert f"(by {lease.holder} since " in refusal.result
        (running,) = [e for e in store.audit_entries() if e.result == "running"]
        assert (running.actor, running.target) == (lease.holder, name)

        # (c) A killed: its lease outlives it until the timeout, then B may redeploy.
        a.signal(signal.SIGKILL)
        a.wait_exit(30)
        killed_at = store._backend.now()
        still = store.lease(key)
        assert still is not None and still.token == lease.token  # not released by anyone
        _wait(lambda: store.lease(key) is None, "A's lease to expire", LEASE_TIMEOUT_S + DEADLINE)
        assert store._backend.now() >= killed_at  # expiry is by the store's clock
        press_redeploy(b, name)
        b.wait_for(
            lambda: _yes_until_audited(b, store, name), "B's redeploy to run to its end", DEADLINE
        )
        assert _state(engine, name).get("State", {}).get("Running")
        assert store.lease(key) is None  # released at its end
    finally:
        store.close()
        for other in (name, tick):
            engine.cli("rm", "-f", other, check=False)
        for row in engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.split():
            if row.startswith(name):
                engine.cli("rm", "-f", row, check=False)
        engine.cli("rmi", "-f", f"local/{project}:2", check=False)


def _yes_until(tui: TuiProcess, held) -> bool:
    """Answer the dialog until the action has reached the hold."""
    if held.exists():
        return True
    tui.keys("y")
    time.sleep(0.3)
    return held.exists()


def _yes_until_audited(tui: TuiProcess, store: Store, name: str) -> bool:
    done = [
        e
        for e in store.audit_entries()
        if e.target == name
        and e.action == "redeploy"
        and e.actor == current_actor()
        and e.result == "ok"
    ]
    if done:
        return True
    if not any(
        e.target == name and e.result == "running" and e.actor == current_actor()
        for e in store.audit_entries()
    ):
        tui.keys("y")  # until the dialog has taken it
    time.sleep(0.3)
    return False
