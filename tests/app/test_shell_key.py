"""`E`: a shell in the selected container. Refused (audited, said) in read-only
mode and where it cannot run; otherwise the terminal goes to `docker exec -it`
pointed at the engine the row came from, and the argv (never what is typed) is
in the audit log. The real terminal hand-over is tests/integration/test_shell_pty.py."""

from __future__ import annotations

import contextlib

import pytest

from opsdash.actions import shell
from opsdash.app import OpsdashApp
from opsdash.config import Config, Matcher
from opsdash.poller import Poller
from opsdash.screens.actions import ConfirmScreen
from opsdash.shell_flow import ShellFlow
from opsdash.sources.docker import DockerHostConfig
from opsdash.store import Store
from tests.fakes import FixedDockerSource, FixedHostSource
from tests.pilot import fixed_app, select_container, settle, spy_notifications


class ReachableDocker(FixedDockerSource):
    """Fixed rows, from an engine with a config the docker CLI can be pointed at."""

    def __init__(self):
        super().__init__(services=False)
        self.config = DockerHostConfig(
            name="demo",
            host="tcp://10.1.2.3:2376",
            tls_verify=True,
            cert_path="/certs",
            shell=("/bin/bash", "-l"),
        )


def shell_app(tmp_path, **config) -> tuple[OpsdashApp, Store]:
    store = Store(tmp_path / "db.sqlite")
    app = OpsdashApp(
        Config(path=None, refresh=3600, **config),
        Poller([ReachableDocker(), FixedHostSource()]),
        store=store,
    )
    return app, store


@pytest.fixture
def sessions(monkeypatch):
    """What E would run, recorded instead of run; the terminal is not suspended."""
    ran: list[tuple[tuple[str, ...], dict[str, str]]] = []

    def fake(argv, env):
        ran.append((argv, dict(env)))
        return 0

    monkeypatch.setattr(ShellFlow, "run_command", staticmethod(fake))
    monkeypatch.setattr(shell, "docker_cli", lambda path=None: "/usr/bin/docker")
    monkeypatch.setattr(OpsdashApp, "suspend", lambda self: contextlib.nullcontext())
    monkeypatch.setenv("DOCKER_HOST", "unix:///elsewhere.sock")
    return ran


async def test_read_only_e_is_refused_said_and_audited_once_per_press(tmp_path, sessions):
    store = Store(tmp_path / "db.sqlite")
    app = fixed_app(read_only=True, store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await settle(pilot)
        await select_container(pilot, "db")
        await pilot.press("E")
        await pilot.press("E")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
    refused = [e for e in store.audit_entries() if e.action == "shell"]
    assert len(refused) == 2
    assert all(e.result.startswith("refused: opsdash runs read-only") for e in refused)
    assert len([n for n in notes if n.startswith("Refused")]) == 2
    assert sessions == []  # nothing ran
    store.close()


async def test_e_runs_docker_exec_at_the_rows_engine_and_audits_the_argv(tmp_path, sessions):
    app, store = shell_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await settle(pilot)
        await select_container(pilot, "db")
        await pilot.press("E")
        await pilot.pause(0.1)
    (argv, env), *_ = sessions
    db_id = "db" + "0" * 10 + "f" * 52
    assert argv == (
        "/usr/bin/docker",
        "--host",
        "tcp://10.1.2.3:2376",
        "--tlsverify",
        "--tlscacert",
        "/certs/ca.pem",
        "--tlscert",
        "/certs/cert.pem",
        "--tlskey",
        "/certs/key.pem",
        "exec",
        "-it",
        db_id,
        "/bin/bash",
        "-l",
    )
    assert "DOCKER_HOST" not in env  # the flags alone say where
    (entry,) = [e for e in store.audit_entries() if e.action == "shell"]
    assert (entry.target, entry.host, entry.result) == ("db", "demo", "ok")
    assert entry.steps[0][1] == "exec" and f"exec -it {db_id} /bin/bash -l" in entry.steps[0][2]
    assert "Shell in db exited with status 0." in notes
    store.close()


async def test_e_on_a_stopped_container_is_refused(tmp_path, sessions):
    app, store = shell_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await settle(pilot)
        await select_container(pilot, "batch-job")
        await pilot.press("E")
        await pilot.pause(0.1)
    assert sessions == []
    assert any("batch-job is exited: a shell needs it running" in n for n in notes)
    (entry,) = [e for e in store.audit_entries() if e.action == "shell"]
    assert entry.result.startswith("refused: batch-job is exited")
    store.close()


async def test_e_without_the_docker_cli_says_so(tmp_path, sessions, monkeypatch):
    monkeypatch.setattr(shell, "docker_cli", lambda path=None: None)
    app, store = shell_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await settle(pilot)
        await select_container(pilot, "db")
        await pilot.press("E")
        await pilot.pause(0.1)
    assert sessions == []
    assert any("the docker CLI is not on PATH" in n for n in notes)
    store.close()


async def test_e_on_a_protected_container_needs_its_name_typed(tmp_path, sessions):
    app, store = shell_app(tmp_path, protect=(Matcher(match_name="db"),))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_container(pilot, "db")
        await pilot.press("E")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmScreen) and app.screen.plan.protected
        await pilot.press("y")  # not enough on a protected target
        await pilot.pause(0.1)
        assert sessions == []
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("E")
        await pilot.pause(0.1)
        await pilot.press(*"db", "enter")
        await pilot.pause(0.1)
    assert len(sessions) == 1
    results = [e.result for e in store.audit_entries() if e.action == "shell"]
    assert results == ["ok", "cancelled"]  # newest first
    store.close()


async def test_a_shell_that_could_not_start_names_the_shell_key(tmp_path, sessions, monkeypatch):
    monkeypatch.setattr(ShellFlow, "run_command", staticmethod(lambda argv, env: 127))
    app, store = shell_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await settle(pilot)
        await select_container(pilot, "db")
        await pilot.press("E")
        await pilot.pause(0.1)
    assert any(
        "status 127: the command is not in the container (/bin/bash: set shell" in n for n in notes
    )
    store.close()


def test_e_is_in_the_help_screen_with_its_id():
    from opsdash.keys import binding_groups

    dashboard = dict(binding_groups())["Dashboard"]
    assert any(b.key == "E" and b.id == "shell" for b in dashboard)
