"""--read-only: every mutating key press is refused out loud and audited, once
per press (the README says refused actions are audited), never silently dropped."""

from __future__ import annotations

import pytest

from opsdash.screens.actions import ConfirmScreen
from opsdash.store import Store
from tests.pilot import fixed_app, select_container, select_row, settle


async def press_and_look(pilot, key: str) -> None:
    await pilot.press(key)
    await pilot.pause(0.2)
    await pilot.app.workers.wait_for_complete()
    assert not isinstance(pilot.app.screen, ConfirmScreen)


@pytest.mark.parametrize(
    ("panel", "table", "match", "key", "action"),
    [
        ("1", None, "db", "r", "restart"),
        ("3", "pipelines-table", lambda r: r.number == 44, "r", "rerun"),
        ("5", "models-table", lambda r: r.model == "churn", "P", "promote"),
    ],
)
async def test_read_only_key_press_is_refused_notified_and_audited(
    tmp_path, panel, table, match, key, action
):
    store = Store(tmp_path / "db.sqlite")
    app = fixed_app(read_only=True, store=store)
    notes: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        if table is None:
            await select_container(pilot, match)
        else:
            await pilot.press(panel)
            await select_row(pilot, table, match)
        await press_and_look(pilot, key)
        await press_and_look(pilot, key)
    refused = [e for e in store.audit_entries() if e.action == action]
    assert len(refused) == 2  # once per key press
    assert all(e.result.startswith("refused: ") for e in refused)
    assert len([n for n in notes if n.startswith("Refused")]) == 2
    store.close()
