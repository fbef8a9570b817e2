"""PostgreSQL killed and restarted mid-session, on a real private cluster:
writes made while it is away are queued in the local spool (and kept across an
opsdash that stops meanwhile), flushed once and in order when it is back;
no caller waits for it; actions are refused clearly; the dashboard stays
responsive to keys and says `store: reconnecting` in its header."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from opsdash.actions.base import ActionPlan
from opsdash.actions.runner import ActionRunner
from opsdash.app import OpsdashApp
from opsdash.config import Config
from opsdash.model import HealthState, SourceHealth
from opsdash.poller import Poller
from opsdash.store import AuditEntry, DeploymentEvent, Store
from opsdash.store import recording as table
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import FixedDockerSource, FixedHostSource
from tests.hostile import screen_lines
from tests.pilot import settle, wait_for

pytest.importorskip("psycopg")

T0 = datetime(2026, 12, 3, 3, 12, tzinfo=UTC)
PLAN = ActionPlan(action="restart", target="web", target_id="x", host="prod")


def deploy(n: int) -> DeploymentEvent:
    return DeploymentEvent(
        T0.isoformat(), "shop", "", "app", "", "", "success", "ci", external_id=f"d{n}"
    )


def refused(n: int) -> AuditEntry:
    return AuditEntry(
        T0.isoformat(), "alice@box", "restart", "container", f"web-{n}", "prod",
        "", "", "", "", "refused: busy", None, "",
    )  # fmt: skip


def until(condition, what: str, limit: float = 30.0) -> None:
    """Wait for what the reconnect thread does (it reconnects at once, then backs off)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"not within {limit:g} s: {what}"
        time.sleep(0.05)


def write_all(store: Store, n: int) -> None:
    assert store.add_deployment(deploy(n))
    store.add_audit(refused(n))
    store.record_health(SourceHealth(f"h{n}", "docker", HealthState.ERROR, "gone"))
    assert table.add_record(store, T0, "docker:demo", table.ERROR, 1, f"err {n}".encode())
    store.open_issue("shop", f"docker:h{n}", "shop-web-1 unhealthy", T0)


def counts(store: Store) -> dict[str, int]:
    return {
        "deployments": len(store.deployments()),
        "audit": len(store.audit_entries()),
        "health": len(store.health_events()),
        "records": len(table.record_index(store)),
        "issues": len(store.health_issues()),
    }


def test_writes_while_away_are_queued_kept_and_flushed_once(postgres):
    url = postgres.new_database()
    store = Store.open_url(url)
    write_all(store, 1)
    assert counts(store) == dict.fromkeys(counts(store), 1)

    postgres.kill()  # as a crash: no goodbye to the clients
    write_all(store, 2)  # meets the lost connection: queued, never raised
    write_all(store, 3)  # away: queued without trying
    assert store.store_state == "reconnecting" and store.queued == 10
    assert store.notice == "store: reconnecting (10 queued)"
    assert not store.writes_work()
    assert "the store is unreachable" in ActionRunner(store).refusal(PLAN)
    started = time.monotonic()
    assert store.deployments() == []  # a read while away: empty, at once
    assert time.monotonic() - started < 1.0
    store.close()  # this opsdash stops during the outage: its queue stays on disk

    again = Store.open_url(url)  # the next start, still away
    assert again.queued == 10 and again.store_state == "reconnecting"
    write_all(again, 4)
    postgres.start()
    until(lambda: again.store_state == "ok", "reconnected and flushed")
    assert counts(again) == dict.fromkeys(counts(again), 4)
    assert [e.external_id for e in again.deployments()] == ["d4", "d3", "d2", "d1"]  # in order
    assert again.flushed == 15 and again.queued == 0 and again.problem is None
    assert again.writes_work()
    again.close()


def test_a_flush_repeated_after_its_commit_writes_nothing_twice(postgres):
    """The crash window: PostgreSQL committed a spooled row, the spool kept it."""
    store = Store.open_url(postgres.new_database())
    spool = store._spool
    assert spool is not None
    spool.add(
        "INSERT INTO audit_log(at, actor, action, kind, target, host, old_image, old_digest,"
        " new_image, new_digest, result, duration_s, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(refused(1).__getattribute__(f) for f in (
            "at", "actor", "action", "kind", "target", "host", "old_image", "old_digest",
            "new_image", "new_digest", "result", "duration_s", "error",
        )),
    )  # fmt: skip
    item = spool.oldest()[0]
    assert store.flush_spool() == 1
    spool.add(item.sql, item.params)  # as if never deleted ...
    store._backend.execute("UPDATE spool_flushed SET key = ? WHERE key = ?", (
        spool.oldest()[0].key, item.key))  # fmt: skip  # ... with the key it had
    assert store.flush_spool() == 0
    assert len(store.audit_entries()) == 1 and store.queued == 0
    store.add_deployment(deploy(1))
    store._spool.add(  # the same vendor deployment queued again: kept once by its id
        "INSERT INTO deployments(at, service, host, kind, image, digest, result, source,"
        " environment, version, external_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [T0.isoformat(), "shop", "", "app", "", "", "success", "ci", "", "", "d1"],
    )
    store.flush_spool()
    assert len(store.deployments()) == 1
    store.close()


def containers(app) -> ResourceTable:
    return app.main.query_one("#containers-table", ResourceTable)


async def test_the_dashboard_answers_keys_while_the_store_is_away(postgres):
    url = postgres.new_database()
    store = Store.open_url(url)
    app = OpsdashApp(
        Config(path=None, refresh=3600),
        Poller([FixedDockerSource(), FixedHostSource()]),
        store=store,
    )
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            postgres.kill()
            app.poll_now(quiet=True)  # polls recorded while away: queued
            await wait_for(pilot, lambda: "store: reconnecting" in screen_lines(app)[0])
            table_ = containers(app)
            for row in (1, 2, 3):  # each key answered while the store is away
                await pilot.press("j")
                await wait_for(pilot, lambda row=row: table_.cursor_row == row)
            await pilot.press("g")
            await wait_for(pilot, lambda: table_.cursor_row == 0)
            postgres.start()
            await wait_for(pilot, lambda: store.store_state == "ok", timeout=60)
            await wait_for(pilot, lambda: "store:" not in screen_lines(app)[0])
            assert store.flushed >= 1 and store.queued == 0
    finally:
        if not postgres.running:
            postgres.start()
        store.close()
