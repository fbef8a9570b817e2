"""Redeploy, roll back, restart on the real private engine: data and settings survive."""

from __future__ import annotations

import json

import pytest

from opsdash.actions.base import ActionError
from opsdash.actions.docker import DockerActions
from opsdash.actions.runner import ActionRunner
from opsdash.actions.swarm import SwarmActions
from opsdash.sources.docker import DockerHostConfig, DockerSource
from opsdash.store import Store
from tests.fakes import run_isolated, unique

pytestmark = pytest.mark.docker

# Settings a redeploy must keep, compared field by field between inspects.
PRESERVED = [
    ("Config", "Cmd"),
    ("Config", "Entrypoint"),
    ("Config", "Env"),
    ("Config", "Labels"),
    ("Config", "Healthcheck"),
    ("Config", "User"),
    ("Config", "WorkingDir"),
    ("Config", "Image"),
    ("HostConfig", "Binds"),
    ("HostConfig", "PortBindings"),
    ("HostConfig", "RestartPolicy"),
    ("HostConfig", "NetworkMode"),
    ("HostConfig", "LogConfig"),
    ("HostConfig", "Memory"),
    ("HostConfig", "NanoCpus"),
    ("HostConfig", "PidsLimit"),
    ("HostConfig", "CapAdd"),
    ("HostConfig", "ExtraHosts"),
]


def inspect(engine, name):
    return json.loads(engine.cli("inspect", name).stdout)[0]


def preserved(raw):
    out = {f"{a}.{b}": raw[a].get(b) for a, b in PRESERVED}
    out["Name"] = raw["Name"]
    out["Aliases"] = sorted(
        alias
        for net in raw["NetworkSettings"]["Networks"].values()
        for alias in (net.get("Aliases") or [])
        if alias != raw["Id"][:12]
    )
    out["Networks"] = sorted(raw["NetworkSettings"]["Networks"])
    out["Mounts"] = sorted(
        (m["Type"], m.get("Name", m["Source"]), m["Destination"]) for m in raw["Mounts"]
    )
    return out


@pytest.fixture
def actions(engine, tmp_path):
    source = DockerSource(
        DockerHostConfig(name="test", host=engine.docker_host, timeout=20, pull=False)
    )
    store = Store(tmp_path / "opsdash.db")
    yield DockerActions(source, health_timeout=30, settle_seconds=2), ActionRunner(store), store
    source.close()
    store.close()


def progress_log():
    lines = []
    return lines, lambda step, text: lines.append(f"{step}: {text}")


def test_redeploy_twenty_times_keeps_data_and_every_setting(engine, actions):
    docker_actions, runner, store = actions
    name, volume, net = unique("keep"), unique("vol"), unique("net")
    engine.cli("volume", "create", volume)
    engine.cli("network", "create", net)
    engine.cli(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        net,
        "--network-alias",
        "db-alias",
        "-v",
        f"{volume}:/data",
        "-v",
        "/anon",
        "-e",
        "MODE=prod",
        "-e",
        "DB_PASSWORD=s3cret-value",
        "--label",
        "com.docker.compose.project=shop",
        "--label",
        "com.docker.compose.service=keep",
        "--restart",
        "unless-stopped",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "--user",
        "0",
        "--workdir",
        "/data",
        "--stop-timeout",
        "1",
        "--log-opt",
        "max-size=1m",
        "--add-host",
        "example.internal:127.0.0.1",
        "--health-cmd",
        "test -f /data/marker",
        "--health-interval",
        "1s",
        "--health-retries",
        "3",
        "local/busybox:1",
        "sh",
        "-c",
        "echo keep > /anon/a; sleep 100000",
    )
    engine.cli("exec", name, "sh", "-c", "echo precious > /data/marker")
    before = preserved(inspect(engine, name))
    anon_before = [
        m["Name"] for m in inspect(engine, name)["Mounts"] if m["Destination"] == "/anon"
    ]
    for _ in range(20):
        cid = inspect(engine, name)["Id"]
        plan = docker_actions.plan_redeploy(cid)
        lines, progress = progress_log()
        result = runner.execute(
            plan, lambda p=plan, pr=progress: docker_actions.run_redeploy(p, pr, lambda _m: True)
        )
        assert result.ok, lines
    after_raw = inspect(engine, name)
    assert preserved(after_raw) == before
    assert [m["Name"] for m in after_raw["Mounts"] if m["Destination"] == "/anon"] == anon_before
    assert engine.cli("exec", name, "cat", "/data/marker").stdout.strip() == "precious"
    assert engine.cli("exec", name, "cat", "/anon/a").stdout.strip() == "keep"
    assert after_raw["State"]["Health"]["Status"] == "healthy"
    # no backups left behind
    names = engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(name)] == [name]
    audit = store.audit_entries()
    assert len(audit) == 20 and all(e.result == "ok" for e in audit)
    assert "s3cret-value" not in json.dumps([list(map(str, e.__repr__())) for e in audit])
    assert len(store.deployments()) == 20
    engine.cli("rm", "-f", name)
    engine.cli("volume", "rm", volume)
    engine.cli("network", "rm", net)


@pytest.mark.parametrize("failure", ["exits", "unhealthy"])
def test_failed_redeploy_rolls_back_to_the_old_container(engine, actions, failure):
    docker_actions, runner, store = actions
    name, volume = unique(f"rb-{failure}"), unique("vol")
    bad_image = unique("local/bad").lower() + ":1"
    if failure == "exits":
        engine.cli(
            "build",
            "-q",
            "-t",
            bad_image,
            "-",
            input=b'FROM local/busybox:1\nENTRYPOINT ["sh", "-c", "exit 7"]\n',
        )
        extra = []
    else:
        engine.cli(
            "build",
            "-q",
            "-t",
            bad_image,
            "-",
            input=b'FROM local/busybox:1\nCMD ["sleep", "100000"]\n',
        )
        extra = [
            "--health-cmd",
            "test -f /nonexistent",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ]
    run_isolated(
        engine,
        name,
        "-v",
        f"{volume}:/data",
        *extra,
        "local/busybox:1",
        "sleep",
        "100000",
    )
    old_id = inspect(engine, name)["Id"]
    if failure == "unhealthy":
        # the old one is unhealthy too, but it must come back as it was: running
        pass
    plan = docker_actions.plan_redeploy(old_id, image=bad_image)
    lines, progress = progress_log()
    with pytest.raises(ActionError) as err:
        runner.execute(plan, lambda: docker_actions.run_redeploy(plan, progress, lambda _m: True))
    assert err.value.rolled_back
    raw = inspect(engine, name)
    assert raw["Id"] == old_id and raw["State"]["Running"]
    assert any("rollback" in line for line in lines)
    entry = store.audit_entries()[0]
    assert entry.result == "rolled back" and entry.target == name
    assert (
        ("exited with code 7" in entry.error)
        if failure == "exits"
        else ("unhealthy" in entry.error)
    )
    names = engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(name)] == [name]
    engine.cli("rm", "-f", name)
    engine.cli("volume", "rm", volume)


def test_rollback_returns_to_previous_image(engine, actions):
    docker_actions, runner, store = actions
    name = unique("undo")
    v2 = unique("local/undo").lower() + ":2"
    engine.cli("build", "-q", "-t", v2, "-", input=b"FROM local/busybox:1\nLABEL version=2\n")
    run_isolated(
        engine,
        name,
        "local/busybox:1",
        "sleep",
        "100000",
    )
    v1_id = inspect(engine, name)["Image"]
    plan = docker_actions.plan_redeploy(inspect(engine, name)["Id"], image=v2)
    runner.execute(
        plan, lambda: docker_actions.run_redeploy(plan, lambda *_: None, lambda _m: True)
    )
    assert inspect(engine, name)["Config"]["Image"] == v2
    previous = store.previous_image("test", name)
    assert previous == (v1_id, "local/busybox:1")
    back = docker_actions.plan_rollback(inspect(engine, name)["Id"], *previous)
    runner.execute(back, lambda: docker_actions.run_rollback(back, lambda *_: None))
    raw = inspect(engine, name)
    assert raw["Image"] == v1_id and raw["State"]["Running"]
    assert [d.source for d in store.deployments()] == ["container-rollback", "container-redeploy"]
    engine.cli("rm", "-f", name)


def test_read_only_and_busy_targets_are_refused_and_audited(engine, actions, tmp_path):
    docker_actions, runner, store = actions
    name = unique("guard")
    run_isolated(
        engine,
        name,
        "local/busybox:1",
        "sleep",
        "100000",
    )
    plan = docker_actions.plan_restart(inspect(engine, name)["Id"])
    read_only = ActionRunner(store, read_only=True)
    with pytest.raises(ActionError, match="refused: opsdash runs read-only"):
        read_only.execute(plan, lambda: docker_actions.run_restart(plan, lambda *_: None))
    assert store.audit_entries()[0].result.startswith("refused: opsdash runs read-only")
    # a second action while the first runs
    import threading

    entered, release = threading.Event(), threading.Event()

    def slow():
        entered.set()
        release.wait(10)
        return docker_actions.run_restart(plan, lambda *_: None)

    worker = threading.Thread(target=lambda: runner.execute(plan, slow))
    worker.start()
    entered.wait(10)
    with pytest.raises(ActionError, match="already running"):
        runner.execute(plan, lambda: docker_actions.run_restart(plan, lambda *_: None))
    release.set()
    worker.join(30)
    # Newest first by when each began: the running restart's row was written
    # when it started, before the refusal, and says "ok" once it ended.
    results = [e.result for e in store.audit_entries()]
    assert results[0].startswith("refused: an action on") and results[1] == "ok"
    engine.cli("rm", "-f", name)


def test_swarm_rolling_update_and_rollback(own_engine, tmp_path):
    own_engine.swarm_init()
    own_engine.cli(
        "service",
        "create",
        "--detach",
        "--name",
        "roll",
        "--replicas",
        "2",
        "--stop-grace-period",
        "1s",
        "--update-parallelism",
        "1",
        "--update-delay",
        "1s",
        "--update-monitor",
        "1s",
        "--rollback-monitor",
        "1s",
        "--no-resolve-image",
        "local/busybox:1",
        "sleep",
        "100000",
    )
    v2 = "local/roll:2"
    own_engine.cli("build", "-q", "-t", v2, "-", input=b"FROM local/busybox:1\nLABEL v=2\n")
    source = DockerSource(DockerHostConfig(name="swarm", host=own_engine.docker_host, timeout=20))
    store = Store(tmp_path / "s.db")
    swarm, runner = SwarmActions(source, timeout=120), ActionRunner(store)
    try:
        from tests.pilot import sync_wait

        sync_wait(
            lambda: "2/2" in own_engine.cli("service", "ls", "--format", "{{.Replicas}}").stdout, 60
        )
        sid = own_engine.cli("service", "inspect", "-f", "{{.ID}}", "roll").stdout.strip()
        plan = swarm.plan_update(sid, image=v2)
        lines, progress = progress_log()
        result = runner.execute(plan, lambda: swarm.run_update(plan, progress))
        assert result.ok
        image = own_engine.cli(
            "service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "roll"
        ).stdout
        assert image.startswith(v2)
        task_lines = [line for line in lines if line.startswith("task:")]
        assert len({line.split()[3] for line in task_lines}) >= 4  # two old and two new tasks seen
        assert all(line.startswith("task: slot ") for line in task_lines)  # not "task task 1"
        first_tasks = {line.split()[3] for line in task_lines if "(wants shutdown)" in line}
        back = swarm.plan_rollback(sid)
        lines, progress = progress_log()
        result = runner.execute(back, lambda: swarm.run_rollback(back, progress))
        assert result.ok and result.message == "roll: rolled back"
        # Only the rollback's own tasks: the ones the update started, and new ones.
        rollback_tasks = {line.split()[3] for line in lines if line.startswith("task:")}
        assert rollback_tasks and not rollback_tasks & first_tasks
        image = own_engine.cli(
            "service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "roll"
        ).stdout
        assert image.startswith("local/busybox:1")
        assert [e.action for e in store.audit_entries()] == ["rollback", "redeploy"]
    finally:
        source.close()
        store.close()
