"""The header shows a source's age only once its poll is late: a poll that
takes a while (MLflow with 50 models) is not late, and its age must not flash
on and off the header at every poll (a redraw of the line each time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdash.model import HealthState, SourceHealth
from opsdash.views.health import health_badge

LAST_OK = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def badge(latency: float, after: float) -> str:
    health = SourceHealth("registry", "mlflow", HealthState.OK, "", LAST_OK, LAST_OK, latency)
    return health_badge(health, LAST_OK + timedelta(seconds=after), refresh=15.0).plain


def test_a_slow_poll_in_flight_shows_no_age():
    assert "ago" not in badge(latency=1.5, after=17.5)  # refresh + its usual latency


def test_a_late_poll_shows_the_age():
    assert badge(latency=1.5, after=30) == "mlflow:registry ok 30s ago"
    assert badge(latency=0.0, after=16.5) == "mlflow:registry ok 16s ago"  # as before
