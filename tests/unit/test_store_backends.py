"""What a team shares through one store: each test runs on SQLite and on a real
private PostgreSQL (the `new_store` fixture), with two stores on one database
standing for two opsdash of the rotation."""

from __future__ import annotations

import socket
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest

from opsdash.actions.base import ActionError, ActionPlan, ActionResult
from opsdash.actions.runner import ActionRunner
from opsdash.dora.watcher import record_events
from opsdash.store import DeploymentEvent, Store
from opsdash.store.schema import _MIGRATIONS
from tests.unit.test_deployments import LABEL, NO_CONFIG, T0, box, docker, new_id

PLAN = ActionPlan(action="restart", target="web", target_id="x", host="prod")


def test_the_migrations_reach_the_newest_version(new_store):
    store = new_store()
    assert store.schema_version == len(_MIGRATIONS)
    again = new_store()  # a second start migrates nothing
    assert again.schema_version == len(_MIGRATIONS) and again.problem is None


def test_two_opsdash_watching_one_engine_count_a_deploy_once(new_store):
    alice, bob = new_store(), new_store()
    for store in (alice, bob):
        assert record_events(store, NO_CONFIG, LABEL, docker(box()), T0) == []  # first sight
    t1 = T0 + timedelta(minutes=10)
    changed = docker(box(image_id=new_id("2"), created=t1))
    seen = [
        record_events(s, NO_CONFIG, LABEL, changed, t1 + timedelta(seconds=5)) for s in (alice, bob)
    ]
    assert sorted(map(len, seen)) == [0, 1]
    assert len(alice.deployments()) == len(bob.deployments()) == 1


def test_a_change_both_see_at_the_same_moment_goes_to_one_of_them(new_store):
    """The race the sequential test cannot show: both read the old version first."""
    alice, bob = new_store(), new_store()
    alice.swap_watched_version("container:web", "web", None, "v1", T0)
    won = [s.swap_watched_version("container:web", "web", "v1", "v2", T0) for s in (alice, bob)]
    assert won == [True, False]
    assert bob.watched_version("container:web") == "v2"


def test_a_vendor_deployment_and_an_open_issue_are_kept_once(new_store):
    alice, bob = new_store(), new_store()
    event = DeploymentEvent(
        T0.isoformat(), "shop", "", "app", "", "", "success", "github:shop", external_id="run:7"
    )
    assert [alice.add_deployment(event), bob.add_deployment(event)] == [True, False]
    assert alice.open_issue("shop", "docker:prod", "shop-web-1 unhealthy", T0)
    assert not bob.open_issue("shop", "docker:prod", "shop-web-1 unhealthy", T0)
    assert bob.close_issue("shop", "docker:prod", T0 + timedelta(minutes=3))
    (issue,) = alice.health_issues()
    assert issue.end == (T0 + timedelta(minutes=3)).isoformat()


def test_an_action_in_one_opsdash_refuses_the_other_with_who_and_since(new_store):
    alice = ActionRunner(new_store(), actor="alice@laptop-a")
    bob = ActionRunner(new_store(), actor="bob@laptop-b")
    refusals: list[str] = []

    def work() -> ActionResult:
        refusals.append(bob.refusal(PLAN) or "")
        with pytest.raises(ActionError) as refused:
            bob.execute(PLAN, lambda: ActionResult(True, "should not run"))
        refusals.append(str(refused.value))
        assert "web" in bob.acting_services  # bob's watchers leave it to alice
        return ActionResult(True, "restarted")

    assert alice.execute(PLAN, work).ok
    assert all("already running (by alice@laptop-a since " in r for r in refusals), refusals
    assert bob.refusal(PLAN) is None  # released at the end
    assert bob.execute(PLAN, lambda: ActionResult(True, "restarted")).ok
    # One audit log: who did what, and the refusal with its reason.
    entries = bob.store.audit_entries()
    assert [(e.actor, e.result.split(" (")[0]) for e in reversed(entries)] == [
        ("alice@laptop-a", "ok"),
        ("bob@laptop-b", "refused: an action on web is already running"),
        ("bob@laptop-b", "ok"),
    ]


def test_a_dead_holders_lease_expires_after_its_timeout(new_store):
    alice, bob = new_store(), new_store()
    alice.lease_timeout = bob.lease_timeout = 30.0
    assert alice.take_lease("prod/container/web", "alice@a", "token-a", now=1000.0) is None
    held = bob.take_lease("prod/container/web", "bob@b", "token-b", now=1029.0)
    assert held is not None and held.holder == "alice@a"
    datetime.fromisoformat(held.since)  # the time the refusal shows
    # Alice's opsdash died: no renewal. At its expiry the target is free.
    assert bob.lease("prod/container/web", now=1030.0) is None
    assert bob.take_lease("prod/container/web", "bob@b", "token-b", now=1030.0) is None
    assert not alice.renew_lease("prod/container/web", "token-a", now=1031.0)  # it is bob's


def test_a_renewed_lease_outlives_its_first_timeout_and_release_frees_it(new_store):
    alice, bob = new_store(), new_store()
    alice.lease_timeout = bob.lease_timeout = 30.0
    assert alice.take_lease("k", "alice@a", "token-a", service="web", now=1000.0) is None
    assert alice.renew_lease("k", "token-a", now=1020.0)
    assert bob.take_lease("k", "bob@b", "token-b", now=1045.0) is not None
    assert [(lease.target, lease.service) for lease in bob.leases(now=1045.0)] == [("k", "web")]
    alice.release_lease("k", "token-a")
    assert bob.take_lease("k", "bob@b", "token-b", now=1046.0) is None


def test_a_holder_that_died_on_this_machine_is_taken_over_at_once(new_store):
    """opsdash restarted after a crash need not wait for its own dead lease."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    store = new_store()
    dead = f"{socket.gethostname()}:{gone.pid}:crashed"
    assert store.take_lease(PLAN.key, "alice@here", dead, service="web") is None
    runner = ActionRunner(store, actor="alice@here")
    assert runner.refusal(PLAN) is None and "web" not in runner.acting_services
    assert runner.execute(PLAN, lambda: ActionResult(True, "restarted")).ok
    assert store.lease(PLAN.key) is None  # released at its end


def test_several_opsdash_starting_at_once_migrate_once(postgres):
    url = postgres.new_database()
    stores: list[Store] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        stores.append(Store.open_url(url))

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [s.problem for s in stores] == [None] * 4
    assert {s.schema_version for s in stores} == {len(_MIGRATIONS)}
    for store in stores:
        store.close()


def test_an_unreachable_database_never_stops_opsdash():
    pytest.importorskip("psycopg")
    from devstack.processes import free_port

    url = f"postgresql://opsdash:hunter22@127.0.0.1:{free_port()}/opsdash?connect_timeout=2"
    store = Store.open_url(url)
    assert store.problem is not None and "hunter22" not in store.problem
    assert "the store is unreachable" in store.problem and "actions are refused" in store.problem
    assert not store.writes_work()
    assert store.deployments() == [] and store.audit_entries() == []
    assert ActionRunner(store).refusal(PLAN).startswith("the audit log cannot be written")


def _until(condition, what: str, limit: float = 30.0) -> None:
    """Wait for a condition another thread makes true (the reconnect and flush)."""
    import time

    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"not within {limit:g} s: {what}"
        time.sleep(0.05)


def test_a_restarted_database_is_used_again(postgres):
    store = Store.open_url(postgres.new_database())
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).isoformat()

    def deploy(n: int) -> bool:
        return store.add_deployment(
            DeploymentEvent(at, "shop", "", "app", "", "", "success", "ci", external_id=f"d{n}")
        )

    assert deploy(1)
    postgres.restart()
    assert deploy(2)  # met the lost connection: queued, and flushed once reconnected
    _until(lambda: store.store_state == "ok", "reconnected and flushed")
    assert store.problem is None and store.writes_work()
    assert {e.external_id for e in store.deployments()} == {"d1", "d2"}
    store.close()


def test_a_database_away_at_start_is_used_once_it_is_back(postgres):
    url = postgres.new_database()
    postgres.stop()
    try:
        store = Store.open_url(url)
        assert store.problem is not None and "the store is unreachable" in store.problem
        assert store.notice == "store: reconnecting (0 queued)"
        assert store.deployments() == []
    finally:
        postgres.start()
    _until(lambda: store.store_state == "ok", "connected in the background")
    assert store.writes_work()  # connected, and migrated
    assert store.problem is None and store.schema_version == len(_MIGRATIONS)
    store.close()
