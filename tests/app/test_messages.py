"""Screens ask the app through typed messages (opsdash.messages), not by calling it.

Harlequin's way: `run_test(message_hook=...)` records every message, and the
test asserts on the typed one a key posted, then on what the app made of it.
"""

from __future__ import annotations

from opsdash.messages import ShowAudit, ShowDetails
from opsdash.model import Container
from opsdash.screens.actions import AuditScreen
from opsdash.screens.details import DetailsScreen
from opsdash.screens.main import MainScreen
from opsdash.widgets.resource_table import ResourceTable
from tests.pilot import fixed_app, settle, wait_for


async def test_keys_post_typed_messages_and_the_app_answers_them():
    app = fixed_app()
    seen: list[object] = []
    async with app.run_test(size=(160, 48), message_hook=seen.append) as pilot:
        await settle(pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        # handed down when pushed: the app's, which asks its pipeline flow
        assert main.pipeline_source(None) is app.pipeline_actions.pipeline_source(None)
        assert main.pipeline_source(None) is not None  # the fixed CI source deploys

        table = main.query_one("#containers-table", ResourceTable)
        selected = table.selected
        assert isinstance(selected, Container)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        # one message, seen by the hook at the screen and again where it bubbled to
        shown = {id(m): m for m in seen if isinstance(m, ShowDetails)}
        assert [m.container for m in shown.values()] == [selected]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        assert any(isinstance(m, ShowAudit) for m in seen)
