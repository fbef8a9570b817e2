"""ssh:// Docker hosts through the ssh binary, against a real sshd on 127.0.0.1.

The sshd (devstack/sshd_server.py) forwards `docker system dial-stdio` to the
private engine; the client is the system ssh with a config, key and
known_hosts of the test's own (never ~/.ssh), put first on PATH.
"""

from __future__ import annotations

import os
import threading

import psutil
import pytest

from devstack.sshd_server import SSHServer, available
from opsdash.actions.docker import DockerActions
from opsdash.actions.runner import ActionRunner
from opsdash.model import HealthState
from opsdash.sources.base import SourceError
from opsdash.sources.docker import DockerHostConfig, DockerSource
from opsdash.sources.docker_ssh import MAX_SSH_CONNECTIONS, SSHError, SSHTarget
from opsdash.store import Store
from tests.fakes import docker_config, run_isolated, unique
from tests.missing import missing
from tests.pilot import real_app, sync_wait, wait_for

pytestmark = pytest.mark.docker  # all but the first three need the private engine


def _ssh_children() -> list[psutil.Process]:
    """The ssh processes this test process started (one per engine connection)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "ssh" and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture(scope="module")
def sshd(engine):
    if not available():
        missing("openssh-server missing: the test command installs it")
    with SSHServer(engine.socket_path) as server:
        yield server


@pytest.fixture
def use_client(sshd, monkeypatch):
    """use_client(key, host_key=...): plain `ssh` is now that client (see SSHServer.client)."""
    path = os.environ["PATH"]

    def use(key: str = "docker", *, host_key: str = "right") -> None:
        monkeypatch.setenv("PATH", f"{sshd.client(key, host_key=host_key)}{os.pathsep}{path}")

    use()
    return use


@pytest.fixture
def source(sshd, use_client):
    src = DockerSource(DockerHostConfig(name="ssh", host=sshd.url, timeout=10, pull=False))
    yield src
    src.close()


# --- the ssh command line -------------------------------------------------------------


def test_target_gives_ssh_what_the_docker_cli_gives_it():
    target = SSHTarget.parse("ssh://deploy@prod-1.example.com:2222")
    assert target.argv("ssh", 7) == [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=7",
        "-T",
        "-l",
        "deploy",
        "-p",
        "2222",
        "--",
        "prod-1.example.com",
        "docker",
        "system",
        "dial-stdio",
    ]
    # No user or port: ssh takes them from ~/.ssh/config, as for the docker CLI.
    assert SSHTarget.parse("ssh://box").argv("ssh", 5)[-5:] == [
        "--",
        "box",
        "docker",
        "system",
        "dial-stdio",
    ]
    assert "-l" not in SSHTarget.parse("ssh://box").argv("ssh", 5)
    assert SSHTarget.parse("ssh://ops@[::1]:22").host == "::1"
    # A host that looks like an option stays a host: it comes after "--".
    argv = SSHTarget.parse("ssh://-oProxyCommand=x").argv("ssh", 5)
    assert argv.index("--") < argv.index("-oproxycommand=x")
    for bad in ("ssh://", "ssh://box:port", "tcp://box:2375"):
        with pytest.raises(SSHError):
            SSHTarget.parse(bad)


def test_paramiko_mode_without_paramiko_says_how_to_fix_it():
    pytest.importorskip("docker")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("paramiko is installed here")
    src = DockerSource(
        DockerHostConfig(name="p", host="ssh://ops@127.0.0.1:1", use_ssh_client=False, timeout=2)
    )
    with pytest.raises(SourceError) as caught:
        src.poll()
    src.close()
    message = str(caught.value)
    assert "use_ssh_client = false needs the paramiko package" in message
    assert "\n" not in message


def test_no_ssh_client_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ssh anywhere on it
    src = DockerSource(DockerHostConfig(name="n", host="ssh://ops@127.0.0.1:1", timeout=2))
    with pytest.raises(SourceError) as caught:
        src.poll()
    src.close()
    assert str(caught.value) == (
        "ssh://ops@127.0.0.1:1: the ssh client is not installed (ssh:// hosts need `ssh` on PATH)"
    )


# --- against the real sshd ------------------------------------------------------------


def test_ssh_host_lists_containers_reads_logs_and_stats(engine, source):
    name = unique("over-ssh")
    run_isolated(
        engine,
        name,
        "local/busybox:1",
        "sh",
        "-c",
        "echo hello-over-ssh; i=0; while true; do i=$((i+1)); [ $((i % 20000)) = 0 ] && echo n$i; done",
    )
    source.blocking_stats = True

    def sampled():
        snap = source.poll()
        found = [c for c in snap.containers if c.name == name]
        ok = found and found[0].cpu_percent is not None and found[0].memory_used
        return found[0] if ok else None

    container = sync_wait(sampled, timeout=60)
    assert container.state == "running" and container.cpu_percent > 0

    assert "hello-over-ssh" in list(source.logs(container.id, tail=100000, follow=False))

    stream = source.logs(container.id, tail=1, follow=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
    reader.start()
    sync_wait(lambda: len(lines) >= 3, timeout=30)
    stream.close()
    reader.join(30)
    assert not reader.is_alive()
    assert all(line.startswith("n") for line in lines[1:])

    source.close()
    sync_wait(lambda: not _ssh_children(), timeout=10)  # every ssh ended with the source
    engine.cli("rm", "-f", name)


def test_stats_of_many_containers_use_a_bounded_number_of_ssh_connections(engine, source):
    names = [unique("many") for _ in range(MAX_SSH_CONNECTIONS + 6)]
    for name in names:
        run_isolated(engine, name, "local/busybox:1", "sleep", "600")
    source.blocking_stats = True
    most = 0

    def all_sampled():
        nonlocal most
        snap = source.poll()
        most = max(most, len(_ssh_children()))
        mine = [c for c in snap.containers if c.name in names]
        return len(mine) == len(names) and all(c.memory_used for c in mine)

    sync_wait(all_sampled, timeout=90)
    assert 0 < most <= MAX_SSH_CONNECTIONS
    engine.cli("rm", "-f", *names)


def test_restart_and_redeploy_over_ssh_keep_the_volume(engine, source, tmp_path):
    name, volume = unique("ssh-act"), unique("vol")
    engine.cli("volume", "create", volume)
    engine.cli(
        "run", "-d", "--name", name, "--network", "none", "--stop-timeout", "1",
        "-v", f"{volume}:/data", "local/busybox:1", "sh", "-c", "sleep 100000",
    )  # fmt: skip
    engine.cli("exec", name, "sh", "-c", "echo precious > /data/marker")
    store = Store(tmp_path / "opsdash.db")
    actions, runner = (
        DockerActions(source, health_timeout=30, settle_seconds=1),
        ActionRunner(store),
    )
    steps: list[str] = []

    def progress(step, text):
        steps.append(f"{step}: {text}")

    old_id = engine.cli("inspect", "-f", "{{.Id}}", name).stdout.strip()
    plan = actions.plan_restart(old_id)
    assert runner.execute(plan, lambda: actions.run_restart(plan, progress)).ok, steps
    plan = actions.plan_redeploy(old_id)
    result = runner.execute(plan, lambda: actions.run_redeploy(plan, progress, lambda _m: True))
    assert result.ok, steps

    new_id = engine.cli("inspect", "-f", "{{.Id}}", name).stdout.strip()
    assert new_id != old_id
    assert engine.cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
    assert engine.cli("exec", name, "cat", "/data/marker").stdout.strip() == "precious"
    names = engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(name)] == [name]
    audit = store.audit_entries()  # newest first
    assert [(e.action, e.result) for e in audit] == [("redeploy", "ok"), ("restart", "ok")]
    store.close()
    engine.cli("rm", "-f", name)
    engine.cli("volume", "rm", volume)


@pytest.mark.parametrize(
    ("key", "host_key", "expected"),
    [
        ("docker", "wrong", "Host key verification failed (Host key for [127.0.0.1]:{port} has changed)"),
        ("docker", "none", "Host key verification failed (the host key is not in known_hosts"),
        ("stranger", "right", "Permission denied (publickey)."),
        ("nodocker", "right", "(is docker installed on the remote host?)"),
        ("nodaemon", "right", "no-daemon.sock"),
    ],
)  # fmt: skip
def test_ssh_failures_are_one_clear_line(sshd, use_client, source, capfd, key, host_key, expected):
    use_client(key, host_key=host_key)
    for _ in range(2):  # and the same again on the next poll (a new connection)
        with pytest.raises(SourceError) as caught:
            source.poll()
        message = str(caught.value)
        assert message.startswith(f"{sshd.url}: ")
        assert expected.format(port=sshd.port) in message
        assert "\n" not in message and "Traceback" not in message and len(message) < 400
    # ssh wrote nothing to our terminal: its messages went to opsdash, not over the screen.
    captured = capfd.readouterr()
    assert "Host key" not in captured.err and "Permission denied" not in captured.err
    assert "docker" not in captured.err


async def test_sshd_stopped_shows_one_line_in_the_header_then_recovers(engine, sshd, use_client):
    name = unique("ssh-survivor")
    run_isolated(engine, name, "local/busybox:1", "sleep", "600")
    app = real_app(docker_config(sshd.url), max_backoff=1.0)
    label = "docker:test"
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.screen.query_one("#containers-table")
            await wait_for(pilot, lambda: any(r.name == name for r in table.records.values()))
            sshd.stop()
            status = app.screen.query_one("#containers-status")
            await wait_for(pilot, lambda: "Connection refused" in str(status.render()))
            assert app.poller.health(label).state is HealthState.ERROR
            message = app.poller.health(label).message
            assert message == (
                f"{sshd.url}: ssh: connect to host 127.0.0.1 port {sshd.port}: Connection refused"
            )
            assert "docker:test error" in str(app.screen.query_one("#health").render())
            assert any(r.name == name for r in table.records.values())  # last good data kept
            sshd.start()
            await wait_for(pilot, lambda: app.poller.health(label).state is HealthState.OK)
            await wait_for(pilot, lambda: not app.screen.query_one("#containers-status").display)
    finally:
        sshd.start()
        engine.cli("rm", "-f", name)
