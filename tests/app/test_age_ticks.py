"""What ticks on a settled dashboard of CI runs, models and DORA keys (issue 14,
"the other panels"): a panel whose cells show ages is redrawn when one of those
ages reads differently, not every second while a run is running; an unchanged
poll of the DORA keys draws nothing and computes nothing."""

from __future__ import annotations

from datetime import timedelta

import opsdash.dora.source as dora_source
import opsdash.panel_feed as panel_feed
from opsdash.model import PipelineSnapshot
from opsdash.model.deployments import DeploymentsSnapshot
from opsdash.model.ml import ModelsSnapshot
from tests.pilot import fixed_app, settle


def count_draws(monkeypatch, table) -> list[int]:
    draws: list[int] = []
    original = table.update_records

    def update_records(records):
        draws.append(len(records))
        original(records)

    monkeypatch.setattr(table, "update_records", update_records)
    return draws


async def test_running_runs_redraw_when_an_age_changes_not_every_second(monkeypatch):
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert any(not r.status.finished for r in app.feed.pipeline_runs())  # one runs
        due = app.feed._ages_due[PipelineSnapshot]
        assert due is not None
        draws = count_draws(monkeypatch, app.main.pipelines_panel.table)
        for before in (30.0, 10.0, 1.0, 0.001):  # ticks before it: "2m ago" still reads so
            monkeypatch.setattr(panel_feed, "_now", lambda s=before: due - timedelta(seconds=s))
            app.feed.tick()
        assert draws == []
        monkeypatch.setattr(panel_feed, "_now", lambda: due)
        app.feed.tick()
        assert len(draws) == 1  # drawn once, and the next redraw is later
        assert app.feed._ages_due[PipelineSnapshot] > due


async def test_every_panel_of_ages_has_its_next_redraw(monkeypatch):
    """Models ("serving since 3d ago") and the DORA keys ("last deploy 5h ago")
    advance too, though their polls return what they returned before."""
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        for feeds in (ModelsSnapshot, DeploymentsSnapshot):
            assert app.feed._ages_due.get(feeds) is not None, feeds


async def test_an_unchanged_dora_poll_computes_and_draws_nothing(monkeypatch):
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        label = app.feed.labels(DeploymentsSnapshot)[0]
        drawn = app.poller.data(label)
        computed: list[int] = []
        original = dora_source.per_service
        monkeypatch.setattr(
            dora_source, "per_service", lambda *a, **k: computed.append(1) or original(*a, **k)
        )
        draws = count_draws(monkeypatch, app.main.deployments_panel.table)
        result = app._poll(label)  # what the poll worker runs
        app._apply(result)
        assert result.data is drawn
        assert computed == [] and draws == []
