"""Column.uses_clock: a table redraws an unchanged record only in the columns
that use the clock, so a column that says it does not must never change with
the time alone (else its cells would go stale)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from opsdash.views.common import Column
from opsdash.views.containers import CONTAINER_COLUMNS, SERVICE_COLUMNS
from opsdash.views.models import MODEL_COLUMNS
from opsdash.views.pipelines import RUN_COLUMNS
from tests.fakes import sample_containers, sample_model_rows, sample_runs, sample_services

CASES = [
    (CONTAINER_COLUMNS, sample_containers),
    (SERVICE_COLUMNS, sample_services),
    (RUN_COLUMNS, sample_runs),
    (MODEL_COLUMNS, sample_model_rows),
]


@pytest.mark.parametrize(("columns", "records"), CASES)
def test_a_column_without_the_clock_renders_the_same_at_any_time(columns, records):
    from datetime import datetime

    now = datetime.now().astimezone()
    later = now + timedelta(days=3, minutes=7, seconds=11)
    for column in columns:
        if column.uses_clock:
            continue
        for record in records():
            assert column.render(record, now) == column.render(record, later), column.key


def test_ages_and_durations_use_the_clock():
    clocked = {c.key for c in CONTAINER_COLUMNS if c.uses_clock}
    assert clocked == {"uptime"}
    assert {c.key for c in SERVICE_COLUMNS if c.uses_clock} == {"updated"}
    assert {"started", "duration"} <= {c.key for c in RUN_COLUMNS if c.uses_clock}


def test_a_renderer_it_cannot_read_counts_as_using_the_clock():
    class Render:
        def __call__(self, record, now):
            return now

    column = Column("x", "X", Render(), lambda r: 0)
    assert column.uses_clock


def test_the_uptime_column_is_coarse_and_the_details_exact():
    from datetime import datetime

    from opsdash.views.containers import container_uptime

    now = datetime.now().astimezone()
    c = replace(sample_containers()[0], started_at=now - timedelta(hours=3, minutes=5))
    assert container_uptime(c, now, coarse=True) == "up 3h"
    assert container_uptime(c, now) == "up 3h05m"
    c = replace(c, started_at=now - timedelta(days=2, hours=4))
    assert container_uptime(c, now, coarse=True) == "up 2d"
    c = replace(c, started_at=now - timedelta(minutes=42, seconds=20))
    assert container_uptime(c, now, coarse=True) == "up 42m"
    c = replace(c, started_at=now - timedelta(seconds=45))
    assert container_uptime(c, now, coarse=True) == "up 45s"
