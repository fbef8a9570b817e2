"""next_age_change: the instant an age shown by human_duration next reads
differently, so a panel of ages redraws then and not every second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsdash.formatting import age, next_age_change

NOW = datetime(2026, 12, 3, 12, 0, 0, 250_000, tzinfo=UTC)


@given(st.floats(min_value=-30, max_value=20 * 86400, allow_nan=False))
def test_the_text_holds_until_the_instant_and_changes_at_it(ago):
    moment = NOW - timedelta(seconds=ago)
    due = next_age_change([moment], NOW)
    assert due is not None and due > NOW
    shown = age(moment, NOW)
    assert age(moment, due - timedelta(microseconds=1)) == shown
    assert age(moment, due) != shown


def test_granularity_follows_what_is_shown():
    def wait(ago: float) -> float:
        due = next_age_change([NOW - timedelta(seconds=ago)], NOW)
        return (due - NOW).total_seconds()

    assert wait(41.0) == 1.0  # "41s": next second
    assert wait(90.0) == 30.0  # "1m": at 2m
    assert wait(3 * 3600 + 5 * 60) == 60.0  # "3h05m": next minute
    assert wait(2 * 86400 + 600) == 3000.0  # "2d00h": next hour


def test_the_soonest_of_many_and_none_without_any():
    moments = [NOW - timedelta(hours=5), None, NOW - timedelta(seconds=10.5)]
    assert next_age_change(moments, NOW) == NOW + timedelta(seconds=0.5)
    assert next_age_change([None, None], NOW) is None
    assert next_age_change([], NOW) is None
