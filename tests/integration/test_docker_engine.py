"""opsdash against a real private Docker engine (started by the harness)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from opsdash.model import DockerSnapshot, HealthState
from opsdash.safetext import ansi_text
from opsdash.screens.logs import LogsScreen
from opsdash.sources.docker import DockerHostConfig, DockerSource
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import real_app, screen_text, select_container, sync_wait, wait_for

pytestmark = pytest.mark.docker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def source_for(engine, **kw) -> DockerSource:
    return DockerSource(DockerHostConfig(name="test", host=engine.docker_host, timeout=10, **kw))


def by_name(snapshot: DockerSnapshot, name: str):
    return next((c for c in snapshot.containers if c.name == name), None)


def run(engine, *args: str) -> str:
    return engine.cli("run", "-d", "--stop-timeout", "1", *args).stdout.strip()


def test_containers_state_health_ports_labels(engine):
    web, stopped, exposed = unique("web"), unique("stopped"), unique("exposed")
    port = free_port()
    run(
        engine,
        "--name",
        web,
        "--network",
        "host",
        "-e",
        f"PORT={port}",
        "--label",
        "com.docker.compose.project=shop",
        "--label",
        "com.docker.compose.service=web",
        "--label",
        "tier=[b]front[/b]",
        "local/web:1",
    )
    engine.cli("network", "create", "opsdash-test-net", check=False)
    host_port = free_port()
    run(
        engine,
        "--name",
        exposed,
        "--network",
        "opsdash-test-net",
        "-p",
        f"127.0.0.1:{host_port}:80",
        "local/busybox:1",
        "sleep",
        "300",
    )
    engine.cli(
        "create", "--name", stopped, "--network", "none", "local/busybox:1", "sh", "-c", "exit 3"
    )
    engine.cli("start", stopped, check=False)
    source = source_for(engine)
    try:
        snap = sync_wait(
            lambda: (
                (s := source.poll())
                and (c := by_name(s, web)) is not None
                and c.health == "healthy"
                and c.memory_used
                and (st := by_name(s, stopped)) is not None
                and st.state == "exited"
                and s
            ),
            timeout=30,
        )
        c = by_name(snap, web)
        assert c.state == "running" and c.health == "healthy"
        assert c.compose_project == "shop" and c.compose_service == "web"
        assert ("tier", "[b]front[/b]") in c.labels
        assert c.image == "local/web:1" and c.started_at is not None
        assert c.memory_used and c.memory_used > 0
        st = by_name(snap, stopped)
        assert st.exit_code == 3 and st.cpu_percent is None
        ex = by_name(snap, exposed)
        assert [str(p) for p in ex.ports] == [f"127.0.0.1:{host_port}->80/tcp"]
        details = source.details(ex.id)
        assert ("opsdash-test-net", details.networks[0][1]) == details.networks[0]
        assert details.restart_policy == "no"
    finally:
        source.close()
        engine.cli("rm", "-f", web, stopped, exposed, check=False)


def test_busy_container_shows_cpu(engine):
    name = unique("busy")
    run_isolated(
        engine,
        name,
        "local/busybox:1",
        "sh",
        "-c",
        "while :; do :; done",
    )
    source = source_for(engine)
    try:
        c = sync_wait(
            lambda: (c := by_name(source.poll(), name)) and (c.cpu_percent or 0) > 5 and c,
            timeout=30,
            step=0.5,
        )
        assert c.cpu_percent > 5
    finally:
        source.close()
        engine.cli("rm", "-f", name, check=False)


def test_env_values_never_leave_the_source(engine):
    name = unique("secret")
    run_isolated(
        engine,
        name,
        "-e",
        "DB_PASSWORD=hunter2-secret",
        "local/busybox:1",
        "sleep",
        "300",
    )
    source = source_for(engine)
    try:
        cid = by_name(source.poll(), name).id
        details = source.details(cid)
        assert "DB_PASSWORD" in details.env_names
        assert "hunter2-secret" not in repr(details)
    finally:
        source.close()
        engine.cli("rm", "-f", name, check=False)


async def test_panel_follows_containers_started_and_stopped(engine):
    name = unique("live")
    app = real_app(docker_config(engine.docker_host))
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one("#containers-table", ResourceTable)

        def row_state():
            for record in table.records.values():
                if record.name == name:
                    return record.state
            return None

        run_isolated(engine, name, "local/busybox:1", "sleep", "300")
        await wait_for(pilot, lambda: row_state() == "running")
        engine.cli("stop", "-t", "1", name)
        await wait_for(pilot, lambda: row_state() == "exited")
        engine.cli("rm", "-f", name)
        await wait_for(pilot, lambda: row_state() is None)


async def test_logs_render_markup_and_escapes_literally(engine):
    name = unique("noisy")
    script = (
        r"printf '[bold red]not markup[/]\n'; "
        r"printf '\033]0;pwned\007title-change\n'; "
        r"printf '\033[31mred line\033[0m\n'; "
        r"printf '\033]52;c;ZXZpbA==\007clip\033[2Jclear\n'; "
        r"i=0; while [ $i -lt 50 ]; do echo line-$i; i=$((i+1)); done; sleep 300"
    )
    run_isolated(engine, name, "local/busybox:1", "sh", "-c", script)
    app = real_app(docker_config(engine.docker_host))
    async with app.run_test(size=(120, 40)) as pilot:
        await select_container(pilot, name)
        await pilot.press("l")
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        await wait_for(pilot, lambda: len(screen.lines) >= 54)
        # The buffer keeps lines as read; what is drawn is their literal Text.
        drawn = [ansi_text(line) for line in screen.lines]
        plain = [text.plain for text in drawn]
        assert plain[0] == "[bold red]not markup[/]"
        assert plain[1] == "title-change"
        assert plain[2] == "red line" and drawn[2].spans  # colour kept
        assert plain[3] == "clipclear"
        assert all("\x1b" not in p and "\x07" not in p for p in plain)
        await pilot.press("slash", *"line-4[0-9]")
        await pilot.pause()
        from textual.widgets import RichLog

        assert len(screen.query_one(RichLog).lines) == 10
        await pilot.press("escape")  # clears the filter
        await pilot.press("f")
        assert screen.follow is False
        await pilot.press("escape")  # back to the dashboard
        assert not isinstance(app.screen, LogsScreen)
    engine.cli("rm", "-f", name, check=False)


async def test_daemon_killed_mid_session_shows_error_then_recovers(own_engine):
    name = unique("survivor")
    run_isolated(own_engine, name, "local/busybox:1", "sleep", "600")
    app = real_app(docker_config(own_engine.docker_host), max_backoff=1.0)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one("#containers-table", ResourceTable)
        await wait_for(pilot, lambda: any(r.name == name for r in table.records.values()))
        own_engine.kill()
        label = "docker:test"
        status = app.screen.query_one("#containers-status")
        await wait_for(pilot, lambda: "daemon not running" in str(status.render()))
        assert app.poller.health(label).state is HealthState.ERROR
        assert "docker:test error" in str(status.render())
        assert "docker:test error" in str(app.screen.query_one("#health").render())
        # the rest keeps working: host panel still polls, keys still answer
        await pilot.press("2")
        await pilot.press("1")
        assert any(r.name == name for r in table.records.values())  # last good data kept
        own_engine.restart()
        await wait_for(pilot, lambda: app.poller.health(label).state is HealthState.OK, timeout=60)
        assert not app.screen.query_one("#containers-status").display


async def test_swarm_services_appear_after_init(own_engine):
    app = real_app(docker_config(own_engine.docker_host))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.poller.health("docker:test").state is HealthState.OK)
        services = app.screen.query_one("#services-table", ResourceTable)
        assert not services.display or services.row_count == 0
        own_engine.swarm_init()
        own_engine.cli(
            "service",
            "create",
            "--detach",
            "--name",
            "opsdash-svc",
            "--replicas",
            "2",
            "--stop-grace-period",
            "1s",
            "local/busybox:1",
            "sleep",
            "600",
        )
        await wait_for(
            pilot,
            lambda: any(
                s.name == "opsdash-svc" and s.replicas_running == 2
                for s in services.records.values()
            ),
            timeout=60,
        )
        assert services.display
        record = next(iter(services.records.values()))
        assert record.replicas_desired == 2 and record.mode == "replicated"


def test_cli_check_and_snapshot_json(engine, tmp_path):
    name = unique("cli")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    config = tmp_path / "config.toml"
    config.write_text(f'[[docker]]\nname = "test"\nhost = "{engine.docker_host}"\n')
    base = [sys.executable, "-m", "opsdash", "--config", str(config)]
    check = subprocess.run([*base, "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "docker:test" in check.stdout and "ok" in check.stdout
    snap = subprocess.run([*base, "snapshot", "--json"], capture_output=True, text=True, timeout=60)
    assert snap.returncode == 0, snap.stderr
    payload = json.loads(snap.stdout)
    docker = next(s for s in payload["sources"] if s["source"] == "docker:test")
    assert any(c["name"] == name for c in docker["data"]["containers"])
    table = subprocess.run([*base, "snapshot"], capture_output=True, text=True, timeout=60)
    assert name in table.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[[docker]]\nhost = "unix:///nonexistent/docker.sock"\n')
    failed = subprocess.run(
        [sys.executable, "-m", "opsdash", "--config", str(bad), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1 and "error" in failed.stdout and "Traceback" not in failed.stderr
    engine.cli("rm", "-f", name, check=False)


async def test_details_screen_masks_env_values_and_logs_write_to_file(
    engine, tmp_path, monkeypatch
):
    name = unique("detail")
    run_isolated(
        engine,
        name,
        "-e",
        "API_TOKEN=tok-very-secret-42",
        "--label",
        "team=[red]ops[/]",
        "--restart",
        "on-failure:3",
        "-v",
        "opsdash-test-vol:/data",
        "local/busybox:1",
        "sh",
        "-c",
        "echo started; sleep 300",
    )
    monkeypatch.chdir(tmp_path)
    app = real_app(docker_config(engine.docker_host))
    async with app.run_test(size=(160, 48)) as pilot:
        await select_container(pilot, name)
        await pilot.press("enter")
        from opsdash.screens.details import DetailsScreen

        assert isinstance(app.screen, DetailsScreen)

        await wait_for(pilot, lambda: "API_TOKEN" in screen_text(app))
        shot = screen_text(app)
        assert "tok-very-secret-42" not in shot
        assert "on-failure (max 3 retries)" in shot
        assert "opsdash-test-vol" in shot
        assert "[red]ops[/]" in shot.replace("&#160;", " ").replace("&#91;", "[").replace(
            "&#93;", "]"
        )
        await pilot.press("l")  # logs straight from the details screen
        assert isinstance(app.screen, LogsScreen)
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.lines) >= 1)
        await pilot.press("w")
        # `w` writes into $XDG_STATE_HOME/opsdash/logs (tests/conftest.py points it here).
        logs_dir = tmp_path / "xdg-state" / "opsdash" / "logs"
        written = await wait_for(pilot, lambda: list(logs_dir.glob("opsdash-*.log")))
        assert len(written) == 1 and written[0].read_text() == "started\n"
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, (LogsScreen, DetailsScreen))
    engine.cli("rm", "-f", name, check=False)
    engine.cli("volume", "rm", "opsdash-test-vol", check=False)


async def test_two_hosts_unix_and_tcp_with_tls_side_by_side(tmp_path):
    from devstack.docker_engine import PrivateDockerEngine
    from opsdash.config import Config
    from opsdash.sources.host import HostConfig
    from tests.conftest import _need_docker

    _need_docker()
    with PrivateDockerEngine(tls=True) as eng:
        name = unique("both")
        run_isolated(eng, name, "local/busybox:1", "sleep", "300")
        config = Config(
            path=None,
            refresh=0.5,
            sources=(
                DockerHostConfig(name="unix", host=eng.docker_host, refresh=0.5),
                DockerHostConfig(
                    name="tls",
                    host=eng.tcp_host,
                    tls_verify=True,
                    cert_path=str(eng.cert_dir),
                    refresh=0.5,
                ),
                DockerHostConfig(
                    name="badcert",
                    host=eng.tcp_host,
                    tls_verify=True,
                    cert_path=str(tmp_path),  # no certificates there
                    refresh=0.5,
                ),
                HostConfig(name="h", refresh=0.5),
            ),
        )
        app = real_app(config)
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.screen.query_one("#containers-table", ResourceTable)
            await wait_for(
                pilot,
                lambda: (
                    sorted(r.host for r in table.records.values() if r.name == name)
                    == ["tls", "unix"]
                ),
            )
            assert "host" in [c.key for c in table.visible_columns]
            assert app.poller.health("docker:tls").state is HealthState.OK
            await wait_for(
                pilot, lambda: app.poller.health("docker:badcert").state is HealthState.ERROR
            )
            message = app.poller.health("docker:badcert").message
            assert "\n" not in message and "Traceback" not in message
