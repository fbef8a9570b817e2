"""A data directory that is read-only, or a disk that fills up under a running
opsdash: real filesystems (tmpfs mounts the test makes and removes), the real
engine and the real app. Nothing may crash, stick or run unaudited."""

from __future__ import annotations

import contextlib
import os
import subprocess
from datetime import datetime

import pytest

from opsdash.actions.base import ActionError, ActionPlan, ActionResult
from opsdash.actions.runner import ActionRunner
from opsdash.model import HealthState, SourceHealth
from opsdash.screens.actions import ConfirmScreen, ProgressScreen
from opsdash.store import DeploymentEvent, Store, StoreError
from tests.fakes import docker_config, run_isolated, unique
from tests.missing import missing
from tests.pilot import real_app, screen_text, select_container, spy_notifications, wait_for


def _mount(path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        missing(reason)


@pytest.fixture
def disk(tmp_path):
    """A 2 MiB filesystem of the test's own; `disk.fill()` fills it to the last byte."""
    path = tmp_path / "disk"
    _mount(path, "size=2m,mode=0755")

    class Disk:
        root = path

        @staticmethod
        def fill() -> None:
            fd = os.open(path / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            try:
                for size in (65536, 4096, 1):
                    with contextlib.suppress(OSError):
                        while True:
                            os.write(fd, b"\0" * size)
            finally:
                os.close(fd)

        @staticmethod
        def free() -> None:
            (path / "filler").unlink(missing_ok=True)

        @staticmethod
        def read_only() -> None:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)

    yield Disk
    subprocess.run(["umount", "-l", str(path)], check=False)


def _plan(target="web") -> ActionPlan:
    return ActionPlan(action="restart", target=target, target_id="x", host="test")


def _health(message="") -> SourceHealth:
    return SourceHealth(
        source="local", kind="docker", state=HealthState.ERROR, message=message or "down"
    )


def _fill_under(store: Store, disk) -> None:
    """Fill the disk under an open store until its writes fail. The WAL is emptied
    first: SQLite rightly goes on writing into WAL room it already has, so only
    then does every later write need room the disk does not have."""
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    disk.fill()
    for number in range(20_000):
        store.record_health(_health(f"filling {number} " + "x" * 200))
        if store.problem:
            return
    raise AssertionError("the full disk never refused a write")


def test_a_new_read_only_data_dir_opens_in_memory_and_refuses_actions(tmp_path):
    ro = tmp_path / "ro"
    _mount(ro, "size=1m,ro")
    store = Store.open_at(ro / "opsdash" / "opsdash.db")
    assert store.problem and "cannot be written" in store.problem and str(ro) in store.problem
    assert store.audit_entries() == [] and store.deployments() == []
    store.record_health(_health())  # history writes are lost quietly
    runner = ActionRunner(store)
    ran = []
    reason = runner.refusal(_plan())
    assert reason and reason.startswith("the audit log cannot be written")
    with pytest.raises(ActionError, match="audit log cannot be written"):
        runner.execute(_plan(), lambda: ran.append(1) or ActionResult(True, "done"))
    assert ran == []
    runner.cancelled(_plan())  # a refusal that cannot be audited is still no crash
    store.close()
    subprocess.run(["umount", "-l", str(ro)], check=False)


def test_disk_fills_under_an_open_store_then_frees(disk):
    store = Store(disk.root / "opsdash.db")
    store.add_deployment(
        DeploymentEvent(datetime.now().astimezone().isoformat(), "web", "test", "app", "i", "d",
                        "success", "redeploy")
    )  # fmt: skip
    _fill_under(store, disk)
    assert "database or disk is full" in store.problem
    with pytest.raises(StoreError):
        store.add_audit(ActionRunner(store)._entry(_plan(), "ok", None, ""))
    runner = ActionRunner(store)
    ran = []
    with pytest.raises(ActionError, match="audit log cannot be written"):
        runner.execute(_plan(), lambda: ran.append(1) or ActionResult(True, "done"))
    assert ran == []  # no audit row, no action
    assert len(store.deployments()) == 1  # what was there is still read
    disk.free()
    result = runner.execute(_plan(), lambda: ActionResult(True, "done"))
    assert result.ok and store.problem is None
    assert store.audit_entries()[0].result == "ok"
    store.close()


def test_store_on_a_disk_turned_read_only_keeps_its_history(disk):
    path = disk.root / "opsdash.db"
    store = Store(path)
    runner = ActionRunner(store)
    runner.execute(_plan(), lambda: ActionResult(True, "restarted"))
    store.close()
    disk.read_only()
    again = Store.open_at(path)
    assert again.problem and "its history is shown" in again.problem
    assert [e.result for e in again.audit_entries()] == ["ok"]
    assert ActionRunner(again).refusal(_plan()).startswith("the audit log cannot be written")
    again.close()


@pytest.mark.docker
async def test_dashboard_on_a_full_disk_says_so_and_refuses_without_crashing(engine, disk):
    name = unique("full")
    run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    started = engine.cli("inspect", "-f", "{{.State.StartedAt}}", name).stdout
    store = Store(disk.root / "opsdash.db")
    _fill_under(store, disk)
    app = real_app(docker_config(engine.docker_host), store=store)
    notes = spy_notifications(app)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                "store not writable (database or disk is full): actions refused" in screen_text(app)
            ),
        )
        await select_container(pilot, name)
        await pilot.press("S")  # stop: refused before any dialog, no traceback
        await wait_for(pilot, lambda: any("Refused: the audit log" in m for m in notes))
        assert not isinstance(app.screen, ConfirmScreen | ProgressScreen)
        disk.free()  # room again: the next action is allowed and audited
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # cancelled: audited
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        _fill_under(store, disk)  # the disk fills while the dialog is open
        await pilot.press("y")  # the audit row cannot be written: refused, dialog ends
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ProgressScreen) and app.screen.done,
            timeout=30,
        )
        assert "audit log cannot be written" in app.screen.outcome
    after = engine.cli("inspect", "-f", "{{.State.StartedAt}}", name).stdout
    engine.cli("rm", "-f", name)
    store.close()
    assert after == started  # never stopped or restarted without its audit row
    assert [e.result for e in Store.open_at(disk.root / "opsdash.db").audit_entries()][:1] == [
        "cancelled"
    ]
