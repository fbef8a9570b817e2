"""Driving the app in tests: build it (on real or fixed sources), wait for it,
put the cursor somewhere, read what the screen shows and what it notified."""

from __future__ import annotations

import time
from collections.abc import Callable

from opsdash.app import OpsdashApp
from opsdash.config import Config, DoraConfig
from opsdash.poller import Poller
from tests.fakes import (
    FixedDockerSource,
    FixedHostSource,
    FixedModelsSource,
    FixedPipelineSource,
    add_sample_deployments,
    midday_zone,
)


def real_app(config: Config, *, max_backoff: float = 2.0, store=None) -> OpsdashApp:
    from opsdash.sources.build import build_sources

    sources = build_sources(config, store)
    return OpsdashApp(config, Poller(sources, max_backoff=max_backoff), store=store)


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 30.0, step=0.1):
    """Let the app run until `condition()` is truthy; fail with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(step)
    raise AssertionError(f"condition not met within {timeout}s: {condition.__doc__ or condition}")


def sync_wait(condition: Callable[[], object], timeout: float = 30.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def fixed_app(
    *,
    read_only: bool = False,
    keys: dict | None = None,
    services=True,
    store=None,
    pipelines=None,
    models=None,
    extra=(),
) -> OpsdashApp:
    """Fixed data everywhere; the DORA keys come from a real store (sample
    deployments in a temp dir unless `store` is given); `extra`: more sources."""
    from pathlib import Path

    from opsdash.dora.source import DoraSource
    from opsdash.store import Store

    config = Config(
        path=None,
        refresh=3600,
        read_only=read_only,
        keys=keys or {},
        dora=DoraConfig(timezone=midday_zone()),
    )
    pipelines = pipelines or FixedPipelineSource()
    models = models or FixedModelsSource()
    if store is None:
        dora_store = Store(Path(":memory:"))  # nothing left behind on disk
        add_sample_deployments(dora_store)
    else:
        dora_store = store
    dora = DoraSource(config, dora_store, refresh=3600)
    sources = [FixedDockerSource(services=services), FixedHostSource(), pipelines, models, dora]
    sources += list(extra)  # more sources (a fixed orchestrator beside the CI)
    return OpsdashApp(config, Poller(sources), store=store)


async def settle(pilot) -> None:
    """Wait for the first polls to land."""
    await wait_for(pilot, lambda: pilot.app.all_polled, timeout=30, step=0.02)
    await pilot.app.workers.wait_for_complete()
    for _ in range(3):
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()


async def select_container(pilot, name: str):
    """Wait until the container `name` is listed, then put the cursor on it."""
    from opsdash.widgets.resource_table import ResourceTable

    table = pilot.app.screen.query_one("#containers-table", ResourceTable)
    await wait_for(pilot, lambda: any(r.name == name for r in table.records.values()))
    key = next(k for k, r in table.records.items() if r.name == name)
    table.move_cursor(row=table.get_row_index(key))
    return table


def spy_notifications(app) -> list[str]:
    """Every message the app notifies from now on, in order (toasts are not drawn
    in `run_test` unless asked, so tests read them here)."""
    notes: list[str] = []
    notify = app.notify

    def spy(message, *args, **kwargs):
        notes.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = spy
    return notes


def screen_text(app) -> str:
    """The visible text of the current screen, as a person would read it."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def confirm_and_finish(pilot, timeout: float = 60.0) -> str:
    """Answer y to the confirmation, wait for the action to end, close the dialog;
    returns the outcome line."""
    from opsdash.screens.actions import ConfirmScreen, ProgressScreen

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), timeout=timeout)
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProgressScreen), timeout=timeout)
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.done, timeout=timeout)
    await pilot.press("escape")
    return screen.outcome


async def select_row(pilot, table_id: str, match: Callable[[object], object]):
    """Focus the table `table_id` and put the cursor on the first record `match` accepts."""
    from opsdash.widgets.resource_table import ResourceTable

    table = pilot.app.screen.query_one(f"#{table_id}", ResourceTable)
    table.focus()
    await pilot.pause()
    key = next(k for k, r in table.records.items() if match(r))
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()
    return table
