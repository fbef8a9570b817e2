"""opsdash killed at every step of a redeploy, on the real engine, from the keyboard.

The real `opsdash` runs in a pty (tests/tui_process.py). A test hook
(OPSDASH_TEST_HOLD, opsdash/actions/journal.py) stops the action right after it
journaled a step and before doing it; the test then kills opsdash with SIGKILL,
starts it again, and answers `y` to the dialog that shows the interrupted
action. In every case exactly one container has the name, running, with its
volume's data; nothing opsdash made is left; the audit log tells the story.
SIGHUP (a dropped SSH connection) and SIGTERM mid-action carry the action to its
end before opsdash exits.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from opsdash.actions.base import TargetBusy
from opsdash.actions.docker import DockerActions
from opsdash.sources.docker import DockerHostConfig, DockerSource
from opsdash.store import Store
from tests.fakes import run_isolated, unique
from tests.tui_process import TuiProcess

pytestmark = pytest.mark.docker

LOOP = "trap : TERM; while true; do sleep 1; done"  # ignores SIGTERM, as a shell PID 1 does


def _names(engine) -> dict[str, str]:
    """name -> state of every container on the engine."""
    out = engine.cli("ps", "-a", "--format", "{{json .}}").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {row["Names"]: row["State"] for row in rows}


@pytest.fixture
def stack(engine, tmp_path):
    """A container with a named volume holding data, and a config for it."""
    from devstack.docker_engine import BUSYBOX_IMAGE

    name = unique("acc-web")
    stop_timeout = "1"
    run_isolated(
        engine, name, "-v", f"{name}-data:/data", "--stop-timeout", stop_timeout,
        BUSYBOX_IMAGE, "sh", "-c", LOOP,
    )  # fmt: skip
    engine.cli("exec", name, "sh", "-c", "echo survived > /data/marker")
    config = tmp_path / "config.toml"
    config.write_text(
        f'refresh = 1\n[[docker]]\nname = "local"\nhost = "{engine.docker_host}"\npull = false\n'
    )
    data = tmp_path / "data"
    yield name, config, data
    engine.cli("rm", "-f", name, check=False)
    for other in _names(engine):
        if other.startswith(name):
            engine.cli("rm", "-f", other, check=False)
    engine.cli("volume", "rm", f"{name}-data", check=False)


def _start(config, data, **env) -> TuiProcess:
    return TuiProcess(["--config", str(config)], {"OPSDASH_DATA_DIR": str(data), **env})


def _audit(data):
    store = Store(data / "opsdash.db")
    try:
        return store.audit_entries()
    finally:
        store.close()


def _redeploy_from_the_keyboard(tui: TuiProcess, name: str, data) -> None:
    tui.wait_text(name)
    for _attempt in range(5):  # a key sent while the app is still settling can be lost
        if _typed(tui, "/", "filter: words match"):
            time.sleep(0.5)  # the box has focus a moment after it shows
            tui.keys(*name, "\r")
            time.sleep(0.5)
            if _typed(tui, "R", f"Redeploy {name}?"):
                break
        tui.keys("\x1b", "\x1b")
    else:
        raise AssertionError(f"no redeploy dialog for {name}:\n{tui.text[-3000:]}")

    def started():
        if any(e.action == "redeploy" and e.target == name for e in _audit(data)):
            return True
        tui.keys("y")  # until the dialog has taken it
        return False

    tui.wait_for(started, "the redeploy to start", timeout=60)


def _typed(tui: TuiProcess, key: str, shows: str) -> bool:
    """Press `key` until the screen shows `shows` (a key sent while the app is
    still settling can be lost)."""
    tui.clear()
    tui.keys(key)
    deadline = 20
    while deadline and shows not in tui.text:
        time.sleep(0.1)
        deadline -= 1
    return shows in tui.text


def _put_right(engine, name, config, data) -> None:
    tui = _start(config, data)
    try:
        tui.wait_text("interrupted action")
        tui.keys("y")
        tui.wait_for(
            lambda: any(e.action == "recover" and e.result == "ok" for e in _audit(data)),
            "the recovery to finish",
            timeout=90,
        )
        tui.keys("\x1b", "q")  # close the progress dialog, quit
        try:
            tui.wait_exit(30)
        except Exception:
            print(tui.text[-4000:])
            raise
    finally:
        tui.close()


def _assert_whole(engine, name) -> None:
    names = _names(engine)
    ours = {n: state for n, state in names.items() if n == name or n.startswith(f"{name}-opsdash")}
    assert ours == {name: "running"}, ours
    marker = engine.cli("exec", name, "cat", "/data/marker").stdout.strip()
    assert marker == "survived"


@pytest.mark.parametrize("step", ["lock", "stop", "rename", "create", "start", "cleanup"])
def test_sigkill_at_each_step_then_one_key_puts_it_right(engine, stack, tmp_path, step):
    name, config, data = stack
    held = tmp_path / "held"
    tui = _start(config, data, OPSDASH_TEST_HOLD=f"{step}={held}")
    try:
        _redeploy_from_the_keyboard(tui, name, data)
        tui.wait_for(held.exists, f"the action to reach {step}")
        if step == "start":
            # A second opsdash on the same engine refuses while the first is alive.
            source = DockerSource(DockerHostConfig(name="other", host=engine.docker_host))
            try:
                with pytest.raises(TargetBusy, match="in progress, by"):
                    DockerActions(source).plan_redeploy(name)
            finally:
                source.close()
        tui.signal(signal.SIGKILL)
        tui.wait_exit(10)
    finally:
        tui.close()

    story = next(e for e in _audit(data) if e.action == "redeploy")
    assert story.result == "running"  # as the killed opsdash left it
    assert story.steps[-1][1] == step
    _put_right(engine, name, config, data)
    _assert_whole(engine, name)
    entries = _audit(data)
    story = next(e for e in entries if e.action == "redeploy")
    assert story.result.startswith(f"interrupted at {step}; put right"), story.result
    recover = next(e for e in entries if e.action == "recover")
    assert recover.result == "ok" and recover.target == name
    if step == "cleanup":  # the redeploy is kept: u can still go back to the old image
        store = Store(data / "opsdash.db")
        assert store.previous_image("local", name) is not None
        store.close()


def _signal_during_the_stop(name, config, data, number: int) -> None:
    """Redeploy from the keyboard; send `number` once the stop has begun; wait for exit."""
    tui = _start(config, data)
    try:
        _redeploy_from_the_keyboard(tui, name, data)
        tui.wait_for(
            lambda: any(s[1] == "stop" for e in _audit(data) for s in e.steps),
            "the stop to begin",
        )
        tui.signal(number)
        tui.wait_exit(120)
    finally:
        tui.close()


def test_sigkill_while_the_old_container_is_stopping(engine, stack):
    """Killed during the stop's grace period: the engine gives up the stop with its
    client (seen: the old container keeps running), or has stopped it; either
    way it is not renamed, and putting it right leaves it running."""
    name, config, data = stack
    _signal_during_the_stop(name, config, data, signal.SIGKILL)
    _put_right(engine, name, config, data)
    _assert_whole(engine, name)


@pytest.mark.parametrize("number", [signal.SIGHUP, signal.SIGTERM])
def test_hangup_or_term_mid_action_finishes_it_first(engine, stack, number):
    name, config, data = stack
    _signal_during_the_stop(name, config, data, number)
    _assert_whole(engine, name)
    story = next(e for e in _audit(data) if e.action == "redeploy")
    assert story.result == "ok", story
    steps = [s[1] for s in story.steps]
    assert steps[steps.index("lock") :][:4] == ["lock", "stop", "rename", "create"]
    assert "cleanup" in steps
