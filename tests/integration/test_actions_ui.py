"""The redeploy keys driven through the real app on the real engine."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from opsdash.config import Matcher, RedeployCommand
from opsdash.screens.actions import AuditScreen, ConfirmScreen, ProgressScreen
from opsdash.store import Store
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import real_app, screen_text, select_container, wait_for

pytestmark = pytest.mark.docker


def image_of(engine, name):
    return json.loads(engine.cli("inspect", name).stdout)[0]["Config"]["Image"]


async def test_redeploy_key_confirms_shows_progress_and_audits(engine, tmp_path):
    name = unique("ui-rd")
    # A registry on a closed loopback port: the pull fails at once, and stays on this machine.
    ref = "127.0.0.1:9/opsdash/busybox:1"
    engine.cli("tag", "local/busybox:1", ref)
    run_isolated(engine, name, "-e", "API_KEY=very-secret-value", ref, "sleep", "100000")
    store = Store(tmp_path / "db.sqlite")
    config = docker_config(engine.docker_host)
    docker, *others = config.sources
    config = dataclasses.replace(config, sources=(dataclasses.replace(docker, pull=True), *others))
    app = real_app(config, store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert f"container {name} on test" in text
        assert f"{ref} (sha256:" in text and f"-> {ref}" in text
        assert "very-secret-value" not in text
        await pilot.press("y")
        # No registry answers here: opsdash says so and asks before using the local image.
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.question)
        assert "Recreate from the local image?" in screen_text(app)
        await pilot.press("y")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.done, timeout=60
        )
        progress = screen_text(app)
        assert "pull" in progress and "create" in progress and "done:" in progress
        await pilot.press("escape")
        await pilot.press("a")
        assert isinstance(app.screen, AuditScreen)
        await pilot.pause(0.5)
        audit = screen_text(app)
        assert name in audit and "redeploy container" in audit
        assert "very-secret-value" not in audit
    entry = store.audit_entries()[0]
    assert (entry.action, entry.result, entry.target) == ("redeploy", "ok", name)
    assert store.deployments()[0].service == name
    engine.cli("rm", "-f", name)


async def test_cancel_in_dialog_does_nothing_and_restart_and_toggle_work(engine, tmp_path):
    name = unique("ui-rs")
    run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    store = Store(tmp_path / "db.sqlite")
    app = real_app(docker_config(engine.docker_host), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert store.audit_entries()[0].result == "cancelled"
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.done, timeout=60
        )
        await pilot.press("escape")
        await pilot.press("S")  # stop
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.done, timeout=60
        )
        await pilot.press("escape")
        table = app.screen.query_one("#containers-table")
        await wait_for(
            pilot,
            lambda: any(r.name == name and r.state == "exited" for r in table.records.values()),
        )
    assert [e.action for e in store.audit_entries()] == ["stop", "restart", "restart"]
    engine.cli("rm", "-f", name)


async def test_read_only_refuses_every_key_and_host_read_only_refuses(engine, tmp_path):
    name = unique("ui-ro")
    run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    store = Store(tmp_path / "db.sqlite")
    app = real_app(docker_config(engine.docker_host, read_only=True), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("R", "r", "S", "u")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        # Each press is refused out loud and audited (none is silently disabled).
        await wait_for(pilot, lambda: len(store.audit_entries()) >= 4)
        assert all(
            e.result.startswith("refused: opsdash runs read-only") for e in store.audit_entries()
        )
    config = docker_config(engine.docker_host)
    docker, *others = config.sources
    config = dataclasses.replace(
        config, sources=(dataclasses.replace(docker, read_only=True), *others)
    )
    app = real_app(config, store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("R")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert store.audit_entries()[0].result == "refused: test is read-only in the config"
    engine.cli("rm", "-f", name)


async def test_protected_target_needs_its_name_typed(engine, tmp_path):
    name = unique("ui-prot")
    run_isolated(engine, name, "--label", "tier=db", "local/busybox:1", "sleep", "100000")
    store = Store(tmp_path / "db.sqlite")
    config = dataclasses.replace(
        docker_config(engine.docker_host), protect=(Matcher(match_label="tier=db"),)
    )
    app = real_app(config, store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "is protected" in screen_text(app)
        await pilot.press("y")  # not enough
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"wrong", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*name, "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.done, timeout=60
        )
    assert store.audit_entries()[0].result == "ok"
    engine.cli("rm", "-f", name)


async def test_custom_command_gets_placeholders_as_literal_arguments(engine, tmp_path):
    name = unique("ui-cmd")
    hostile = "x; touch /tmp/opsdash-pwned $(id) `id`"
    run_isolated(
        engine,
        name,
        "--label",
        f"com.docker.compose.project={hostile}",
        "local/busybox:1",
        "sleep",
        "100000",
    )
    out = tmp_path / "argv.json"
    script = f"import json, sys; open({str(out)!r}, 'w').write(json.dumps(sys.argv[1:])); print('deployed', sys.argv[1])"
    command = RedeployCommand(
        match_name=name,
        name="deploy script",
        argv=(sys.executable, "-c", script, "{name}", "{project}", "{host}"),
    )
    store = Store(tmp_path / "db.sqlite")
    config = dataclasses.replace(docker_config(engine.docker_host), redeploy=(command,))
    app = real_app(config, store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "deploy script" in screen_text(app)
        await pilot.press("y")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.done, timeout=60
        )
        assert f"deployed {name}" in screen_text(app)
    assert json.loads(out.read_text()) == [name, hostile, "test"]
    entry = store.audit_entries()[0]
    assert entry.action == "redeploy (deploy script)" and entry.result == "ok"
    engine.cli("rm", "-f", name)


async def test_service_rolling_update_and_rollback_from_the_keyboard(own_engine, tmp_path):
    own_engine.swarm_init()
    own_engine.cli(
        "service", "create", "--detach", "--name", "web-svc", "--replicas", "2",
        "--stop-grace-period", "1s", "--update-delay", "1s", "--update-monitor", "1s",
        "--rollback-monitor", "1s", "--no-resolve-image", "local/busybox:1", "sleep", "100000",
    )  # fmt: skip
    store = Store(tmp_path / "db.sqlite")
    app = real_app(docker_config(own_engine.docker_host), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        services = app.screen.query_one("#services-table")
        await wait_for(
            pilot,
            lambda: any(s.replicas_running == 2 for s in services.records.values()),
            timeout=60,
        )
        await pilot.press("tab")  # the services list
        assert app.focused is services
        assert app.screen.check_action("act", ("restart",)) is None  # containers only
        for key in ("R", "u"):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "service web-svc" in screen_text(app)
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, ProgressScreen) and app.screen.done,
                timeout=120,
            )
            text = screen_text(app)
            assert "done:" in text and "task slot" in text
            assert "task task" not in text and "rollback_completed" not in text
            await pilot.press("escape")
        assert "web-svc: rolled back" in text
        # The UPDATE column says it in words too.
        await wait_for(
            pilot, lambda: "rolled back" in {c.plain for c in services.get_column("update")}
        )
    assert [(e.action, e.kind, e.result) for e in store.audit_entries()] == [
        ("rollback", "service", "ok"),
        ("redeploy", "service", "ok"),
    ]


async def test_redeploy_to_another_image_chosen_in_the_dialog(engine, tmp_path):
    name = unique("ui-img")
    v2 = unique("local/other").lower() + ":2"
    engine.cli("build", "-q", "-t", v2, "-", input=b"FROM local/busybox:1\nLABEL v=2\n")
    run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    store = Store(tmp_path / "db.sqlite")
    app = real_app(docker_config(engine.docker_host), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("i")
        box = app.screen.query_one("#confirm-image")
        assert app.focused is box and box.value == "local/busybox:1"
        box.value = v2
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and f"-> {v2}" in screen_text(app)
        )
        await pilot.press("y")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.done, timeout=60
        )
    raw = json.loads(engine.cli("inspect", name).stdout)[0]
    assert raw["Config"]["Image"] == v2 and raw["State"]["Running"]
    assert store.previous_image("test", name)[1] == "local/busybox:1"
    engine.cli("rm", "-f", name)
