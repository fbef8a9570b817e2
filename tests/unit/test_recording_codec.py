"""The recorder's wire format: every snapshot type survives encode, pack, unpack
and decode unchanged (property-based), and a delta rebuilds the next snapshot."""

from __future__ import annotations

import enum
import math
import types
import typing
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdash import recording_codec as codec
from opsdash.dora.records import KINDS, RESULTS, Deploy
from opsdash.model import DockerSnapshot, HostStats
from tests.fakes import FixedDockerSource, FixedHostSource, sample_containers

_TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.none()
)
_ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_AWARE = st.builds(lambda d, z: d.replace(tzinfo=UTC).astimezone(z), _TIMES, _ZONES)


def strategy(hint) -> st.SearchStrategy:
    """Values of a model field's type, nested records included."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is type(None):
        return st.none()
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy(a) for a in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy(a) for a in args))
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**53), 2**53)
    if hint is float:
        return st.floats(allow_nan=False)
    if hint is str:
        return st.text(max_size=8)
    if hint is datetime:
        return st.one_of(_AWARE, _TIMES)
    if hint is date:
        return st.dates()
    if hint is timedelta:
        return st.timedeltas(min_value=timedelta(days=-9999), max_value=timedelta(days=9999))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if hint is object:
        return st.none()
    return records(hint)


def records(cls: type) -> st.SearchStrategy:
    if cls is Deploy:  # checked on construction: an aware time, known words
        return st.builds(
            Deploy,
            service=st.text(max_size=8),
            at=_AWARE,
            version=st.text(max_size=8),
            result=st.sampled_from(sorted(RESULTS)),
            kind=st.sampled_from(sorted(KINDS)),
            environment=st.text(max_size=8),
            source=st.text(max_size=8),
        )
    hints = typing.get_type_hints(cls)
    return st.builds(
        cls, **{f.name: st.deferred(lambda h=hints[f.name]: strategy(h)) for f in fields(cls)}
    )


def round_trip(value):
    return codec.decode(codec.unpack(codec.pack(codec.encode(value))))


@pytest.mark.parametrize("cls", list(codec._CLASSES.values()), ids=lambda c: c.__name__)
def test_every_record_type_round_trips(cls):
    @settings(max_examples=40, deadline=None)
    @given(records(cls))
    def check(value):
        assert round_trip(value) == value

    check()


@pytest.mark.parametrize("cls", codec.SNAPSHOT_TYPES, ids=lambda c: c.__name__)
def test_a_delta_between_two_snapshots_rebuilds_the_second(cls):
    @settings(max_examples=25, deadline=None)
    @given(records(cls), records(cls))
    def check(old, new):
        change = codec.delta(old, new)
        if change is codec.SAME:
            assert old == new
            return
        assert codec.apply(old, codec.unpack(codec.pack(change))) == new

    check()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 5), max_size=8),  # which old containers the next poll keeps
    st.lists(st.integers(0, 5), max_size=4),  # which of them changed state
    st.integers(0, 3),  # how many new ones appear
)
def test_a_delta_on_containers_matched_by_key(kept, changed, added):
    old = DockerSnapshot(host="h", containers=sample_containers())
    containers = [old.containers[i % len(old.containers)] for i in kept]
    for i in changed:
        if containers:
            j = i % len(containers)
            containers[j] = replace(containers[j], state="exited", cpu_percent=None)
    for n in range(added):
        containers.append(replace(old.containers[0], id=f"new{n}", name=f"new{n}"))
    new = replace(old, containers=tuple(containers))
    change = codec.delta(old, new)
    rebuilt = old if change is codec.SAME else codec.apply(old, change)
    assert rebuilt == new


def test_a_small_change_costs_little():
    """One container of the sample changes: the delta names it, not the rest."""
    old = FixedDockerSource().poll()
    new = replace(old, containers=(replace(old.containers[0], state="exited"), *old.containers[1:]))
    whole = len(codec.pack(codec.encode(new)))
    change = len(codec.pack(codec.delta(old, new)))
    assert change < whole / 4, (change, whole)


def test_nan_and_infinity_and_zones_survive():
    host = replace(FixedHostSource().poll(), cpu_percent=math.inf)
    assert round_trip(host) == host
    back = round_trip(replace(host, cpu_percent=math.nan))
    assert math.isnan(back.cpu_percent)
    moment = datetime(2026, 12, 3, 3, 12, 5, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert round_trip(moment) == moment
    assert round_trip(moment).utcoffset() == timedelta(hours=-5)


def test_hostile_text_survives():
    host = replace(FixedHostSource().poll(), hostname="a\udcc3b\x1b[2J\u202e")
    assert round_trip(host) == host


def test_unknown_types_are_refused_not_pickled():
    class Foreign:
        pass

    with pytest.raises(codec.UnknownType):
        codec.encode(Foreign())
    with pytest.raises(codec.UnknownType):
        codec.decode(["NoSuchTag", 1])
    assert isinstance(FixedHostSource().poll(), HostStats)
