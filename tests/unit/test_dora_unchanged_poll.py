"""An unchanged poll of the DORA keys costs next to nothing: while the store
holds what it held and the local date is the same, DoraSource returns the very
snapshot it returned last (the app then records and draws nothing), without
computing the keys again; any write, by this connection or another, or a new
day, or an event dated later becoming known, computes them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import opsdash.dora.source as dora_source
from opsdash.config import Config, DoraConfig, ServiceConfig
from opsdash.dora.source import DoraSource
from opsdash.store import DeploymentEvent, Store

MIDDAY = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """DoraSource's `datetime.now()`, set by the test."""
    clock = Clock(MIDDAY)

    class FixedNow(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now if tz is None else clock.now.astimezone(tz)

    monkeypatch.setattr(dora_source, "datetime", FixedNow)
    return clock


@pytest.fixture
def computed(monkeypatch) -> list[int]:
    """How many times the keys were computed."""
    calls: list[int] = []
    original = dora_source.per_service

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(dora_source, "per_service", counting)
    return calls


def deploy(store: Store, at: datetime, number: int, service: str = "shop") -> None:
    store.add_deployment(
        DeploymentEvent(
            at=at.isoformat(),
            service=service,
            host="h",
            kind="app",
            image=f"shop:{number}",
            digest="",
            result="success",
            source="redeploy",
            environment="production",
            version=f"v{number}",
            external_id=f"t:{number}",
        )
    )


def source_on(store: Store, **service) -> DoraSource:
    config = Config(
        path=None,
        dora=DoraConfig(timezone="UTC"),
        services=(ServiceConfig(name="shop", **service),),
    )
    return DoraSource(config, store)


def events(snapshot) -> int:
    return snapshot.events


def shop(snapshot):
    return next(row for row in snapshot.services if row.service == "shop")


def test_an_unchanged_store_returns_the_same_snapshot_uncomputed(
    new_store, tmp_path, clock, computed
):
    store = new_store()
    for n in range(5):
        deploy(store, MIDDAY - timedelta(days=n + 1), n)
    source = source_on(store)
    first = source.poll()
    runs = len(computed)
    clock.now += timedelta(seconds=10)
    assert source.poll() is first
    clock.now += timedelta(hours=3)  # the same local date
    assert source.poll() is first
    assert len(computed) == runs  # not computed again


def test_a_write_shows_at_the_next_poll(new_store, tmp_path, clock):
    store = new_store()
    deploy(store, MIDDAY - timedelta(days=1), 1)
    source = source_on(store)
    first = source.poll()
    deploy(store, MIDDAY - timedelta(hours=1), 2)  # this connection
    second = source.poll()
    assert second is not first and events(second) == events(first) + 1
    other = new_store()  # another opsdash on the same file
    try:
        deploy(other, MIDDAY - timedelta(minutes=30), 3)
    finally:
        other.close()
    third = source.poll()
    assert third is not second and events(third) == events(second) + 1


def test_a_new_local_date_computes_again(new_store, tmp_path, clock, computed):
    store = new_store()
    deploy(store, MIDDAY - timedelta(days=1), 1)
    source = source_on(store)
    first = source.poll()
    runs = len(computed)
    clock.now = MIDDAY + timedelta(hours=13)  # past midnight: the windows moved
    assert source.poll() is not first
    assert len(computed) > runs


def test_an_event_dated_later_counts_once_its_time_has_come(new_store, tmp_path, clock):
    store = new_store()
    deploy(store, MIDDAY - timedelta(days=1), 1)
    deploy(store, MIDDAY + timedelta(hours=1), 2)  # a clock ahead of ours recorded it
    source = source_on(store)
    first = source.poll()
    clock.now = MIDDAY + timedelta(minutes=30)
    assert source.poll() is first  # still ahead
    clock.now = MIDDAY + timedelta(hours=2)  # the same local date
    later = source.poll()
    assert later is not first
    assert shop(later).reports != shop(first).reports  # the second deploy counts now


def test_a_git_checkout_is_read_at_every_poll(new_store, tmp_path, clock, computed, monkeypatch):
    """Commits land outside the store: with a repo the keys are computed each poll."""
    store = new_store()
    deploy(store, MIDDAY - timedelta(days=1), 1)
    source = source_on(store, repo=str(tmp_path))
    monkeypatch.setattr(source, "changes", lambda deploys: ({}, {}))
    source.poll()
    runs = len(computed)
    source.poll()
    assert len(computed) > runs
