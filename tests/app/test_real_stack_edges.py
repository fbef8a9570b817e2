"""Rough edges seen on the real stack, driven through the app with Pilot: the
UPDATE column in words, the `i` box that edits rather than replaces, and the
LAST DEPLOY column that keeps an image's tag."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from textual.widgets import Input

from opsdash.actions.base import ActionPlan
from opsdash.screens.actions import ConfirmScreen
from opsdash.store import DeploymentEvent, Store
from opsdash.views.containers import service_search_text
from tests import fakes
from tests.pilot import fixed_app, screen_text, settle, wait_for

SAMPLE_SERVICES = fakes.sample_services


def rolled_back_services():
    first, second = SAMPLE_SERVICES()
    return (
        dataclasses.replace(first, update_state="rollback_completed"),
        dataclasses.replace(second, update_state="rollback_paused"),
    )


async def test_update_column_says_rolled_back_not_the_engines_word(monkeypatch):
    monkeypatch.setattr(fakes, "sample_services", rolled_back_services)
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        services = app.screen.query_one("#services-table")
        cells = [cell.plain for cell in services.get_column("update")]
        assert sorted(cells) == ["rollback paused", "rolled back"]
        text = screen_text(app)
        assert "rolled back" in text and "rollback_completed" not in text
        assert "rollback_paused" not in text
        # `/` finds them by the words shown.
        found = {service_search_text(s) for s in services.records.values()}
        assert any("rolled back" in text for text in found)


def redeploy_plan() -> ActionPlan:
    return ActionPlan(
        action="redeploy",
        kind="container",
        target="acc-web",
        target_id="c0ffee",
        host="demo",
        old_image="acc/busybox:1",
        new_image="acc/busybox:1",
        steps=("Recreate it.",),
    )


async def test_i_opens_with_the_cursor_at_the_end_and_nothing_selected():
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        chosen: list[object] = []
        app.push_screen(ConfirmScreen(redeploy_plan(), image_editable=True), chosen.append)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("i")
        box = app.screen.query_one("#confirm-image", Input)
        assert app.focused is box
        assert box.selection.start == box.selection.end == len("acc/busybox:1")
        await pilot.press("backspace", "2")  # the tag, edited
        assert box.value == "acc/busybox:2"
        await pilot.press("end", "backspace", "backspace", "3", "4")
        assert box.value == "acc/busybox34"
        await pilot.press("backspace", "backspace", ":", "5", "enter")
        assert chosen == ["acc/busybox:5"]


async def test_last_deploy_shows_the_tag(tmp_path: Path):
    store = Store(tmp_path / "db.sqlite")
    at = (datetime.now().astimezone() - timedelta(minutes=5)).isoformat(timespec="seconds")
    for service, version in (
        ("acc-web", "acc/busybox:1"),
        ("shop", "registry.example.com:5000/acme/shop-web:2026.12.03-rc1"),
    ):
        store.add_deployment(
            DeploymentEvent(
                at,
                service,
                "demo",
                "app",
                version,
                "",
                "success",
                "container-redeploy",
                "",
                version,
            )
        )
    app = fixed_app(store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#deployments-table")
        await wait_for(pilot, lambda: table.row_count >= 2)
        cells = " | ".join(cell.plain for cell in table.get_column("last"))
        assert "acc/busybox:1 success" in cells
        assert "…shop-web:2026.12.03-rc1 success" in cells
    store.close()
