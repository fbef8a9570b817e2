"""A [[redeploy]] action that runs a real ansible-playbook (docs/examples/
redeploy-container.yml, connection local) which recreates a container on the
private engine through the docker CLI, driven from the keyboard of the real app.

ansible-core lives in a venv of its own, `$OPSDASH_SERVERS_DIR/ansible` (else
.servers/ansible in the repo), which scripts/test creates."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
from textual.widgets import RichLog

from opsdash.config import RedeployCommand
from opsdash.screens.actions import AuditScreen, ConfirmScreen, ProgressScreen
from opsdash.store import Store
from tests.fakes import docker_config, run_isolated, unique
from tests.missing import missing
from tests.pilot import real_app, screen_text, select_container, wait_for

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "docs" / "examples" / "redeploy-container.yml"


def servers_dir() -> Path:
    """Where the server venvs live: $OPSDASH_SERVERS_DIR, else .servers in the repo."""
    return Path(os.environ.get("OPSDASH_SERVERS_DIR") or ROOT / ".servers")


@pytest.fixture
def ansible_playbook(tmp_path, monkeypatch) -> str:
    """The venv's ansible-playbook, with its state dirs in the test's tmp dir."""
    program = servers_dir() / "ansible" / "bin" / "ansible-playbook"
    if not os.access(program, os.X_OK):
        reason = (
            f"ansible-core is not installed in {program.parent.parent} (scripts/test installs it)"
        )
        missing(reason)
    monkeypatch.setenv("ANSIBLE_HOME", str(tmp_path / "ansible-home"))
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp_path / "ansible-home" / "tmp"))
    monkeypatch.setenv("ANSIBLE_REMOTE_TMP", str(tmp_path / "ansible-home" / "remote"))
    monkeypatch.setenv("ANSIBLE_NOCOLOR", "1")
    monkeypatch.setenv("ANSIBLE_RETRY_FILES_ENABLED", "0")
    return str(program)


def redeploy_action(engine, playbook: str, tmp_path: Path, name: str, check: list[str]):
    """What a user writes: the playbook, the container's own vars file, and the
    target's name and image from opsdash's placeholders."""
    container_vars = {
        "docker_cli": shutil.which("docker") or "docker",
        "docker_host": engine.docker_host,  # the private engine, never the system daemon
        "pull": False,
        "run_options": ["--network", "none", "--stop-timeout", "1", "--label", "app=ansible-t"],
        "run_command": ["sleep", "100000"],
        "check_command": check,
        "start_timeout": 20,
    }
    vars_file = tmp_path / f"{name}.json"
    vars_file.write_text(json.dumps(container_vars))
    return RedeployCommand(
        match_name=name,
        name="ansible",
        argv=(
            playbook,
            "-i",
            "localhost,",
            str(PLAYBOOK),
            "-e",
            f"@{vars_file}",
            "-e",
            "container={name}",
            "-e",
            "image={image}",
        ),
        timeout=300,
    )


def inspect(engine, name):
    return json.loads(engine.cli("inspect", name).stdout)[0]


def names_like(engine, name: str) -> set[str]:
    out = engine.cli("ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}}").stdout
    return set(out.split())


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of live processes whose argv holds `marker` (a zombie has none)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in argv:
            found.append(f"{proc.name}: {argv.strip()}")
    return found


def dialog_log(screen: ProgressScreen) -> str:
    """Every line the progress dialog holds (the screen shows only its last ones),
    with the dialog's wrapping undone: whitespace runs become one space."""
    return " ".join(" ".join(line.text for line in screen.query_one(RichLog).lines).split())


async def start_redeploy(pilot, app, name: str) -> ProgressScreen:
    await select_container(pilot, name)
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    text = screen_text(app)
    assert "ansible" in text and str(PLAYBOOK.name) in text
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
    return app.screen


async def test_playbook_recreates_the_container_streams_and_audits(
    engine, ansible_playbook, tmp_path
):
    name = unique("ans-ok")
    old_id = run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    command = redeploy_action(engine, ansible_playbook, tmp_path, name, ["true"])
    store = Store(tmp_path / "db.sqlite")
    config = dataclasses.replace(docker_config(engine.docker_host), redeploy=(command,))
    app = real_app(config, store=store)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await start_redeploy(pilot, app, name)
            await wait_for(pilot, lambda: screen.done, timeout=180)
            text = screen_text(app)
            assert "done:" in text and "ansible-playbook exited with status 0" in text
            log = dialog_log(screen)
            assert f"TASK [Rename {name}-next to {name}]" in log and "PLAY RECAP" in log
            await pilot.press("escape")
            await pilot.press("a")
            assert isinstance(app.screen, AuditScreen)
            assert "redeploy (ansible)" in screen_text(app)
        raw = inspect(engine, name)
        assert raw["Id"] != old_id and raw["State"]["Running"]
        assert raw["Config"]["Labels"].get("app") == "ansible-t"  # the playbook's container
        assert names_like(engine, name) == {name}  # no -next, no -old left
        entry = store.audit_entries()[0]
        assert (entry.action, entry.result, entry.error) == ("redeploy (ansible)", "ok", "")
        assert entry.duration_s is not None and entry.duration_s > 0.5
        assert ("exit", "status 0") in {(step, detail) for _at, step, detail in entry.steps}
        assert any("PLAY RECAP" in detail for _at, _step, detail in entry.steps)
    finally:
        engine.cli("rm", "-f", name, f"{name}-next", f"{name}-old", check=False)


async def test_failing_check_leaves_the_old_container_running(engine, ansible_playbook, tmp_path):
    name = unique("ans-fail")
    old_id = run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    command = redeploy_action(engine, ansible_playbook, tmp_path, name, ["false"])
    store = Store(tmp_path / "db.sqlite")
    config = dataclasses.replace(docker_config(engine.docker_host), redeploy=(command,))
    app = real_app(config, store=store)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await start_redeploy(pilot, app, name)
            await wait_for(pilot, lambda: screen.done, timeout=180)
            text = screen_text(app)
            assert "failed: ansible-playbook exited with status 2" in text
            assert f"{name}-next failed its checks; {name} still runs as it did" in dialog_log(
                screen
            )
        raw = inspect(engine, name)
        assert raw["Id"] == old_id and raw["State"]["Running"]
        assert names_like(engine, name) == {name}  # the new one was removed
        entry = store.audit_entries()[0]
        assert entry.result == "failed" and entry.error == "ansible-playbook exited with status 2"
        assert entry.duration_s is not None and entry.duration_s > 0.5
        assert ("exit", "status 2") in {(step, detail) for _at, step, detail in entry.steps}
    finally:
        engine.cli("rm", "-f", name, f"{name}-next", f"{name}-old", check=False)


async def test_cancel_kills_every_process_of_the_run(engine, ansible_playbook, tmp_path):
    name = unique("ans-cancel")
    old_id = run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    # The check hangs: the run is cancelled while a task's docker CLI is running.
    command = redeploy_action(engine, ansible_playbook, tmp_path, name, ["sleep", "300"])
    store = Store(tmp_path / "db.sqlite")
    config = dataclasses.replace(docker_config(engine.docker_host), redeploy=(command,))
    app = real_app(config, store=store)
    marker = str(tmp_path)  # in the playbook's argv and every module's path
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await start_redeploy(pilot, app, name)
            # The output streams: the running task shows while the playbook still runs.
            await wait_for(
                pilot, lambda: f"TASK [Run the check in {name}-next]" in dialog_log(screen), 120
            )
            assert not screen.done
            await wait_for(pilot, lambda: len(processes_mentioning(marker)) > 1, timeout=30)
            await wait_for(pilot, lambda: processes_mentioning(f"exec {name}-next"), timeout=30)
            await pilot.press("c")
            await wait_for(pilot, lambda: screen.done, timeout=30)
            assert "failed: cancelled after" in screen_text(app)
        left = processes_mentioning(marker) + processes_mentioning(f"exec {name}-next")
        assert not left, f"still running after cancel: {left}"
        raw = inspect(engine, name)
        assert raw["Id"] == old_id and raw["State"]["Running"]
        entry = store.audit_entries()[0]
        assert entry.result == "cancelled" and entry.duration_s is not None
        assert entry.error.startswith("cancelled after")
        exits = [detail for _at, step, detail in entry.steps if step == "exit"]
        assert exits and exits[0].startswith("killed by")
    finally:
        engine.cli("rm", "-f", name, f"{name}-next", f"{name}-old", check=False)
