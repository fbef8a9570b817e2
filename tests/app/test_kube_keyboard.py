"""From the keyboard, end to end: two kubeconfig contexts on API emulators side
by side in panel 6; `i` sets a failing image on a context with auto_undo and
the rollout is undone by itself; `s` scales; the staging API server killed
mid-session shows `error` while prod goes on, and comes back by itself."""

from __future__ import annotations

import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from opsdash.app import OpsdashApp
from opsdash.config import Config
from opsdash.model import HealthState
from opsdash.poller import Poller
from opsdash.screens.actions import AskScreen, ConfirmScreen, ProgressScreen
from opsdash.sources.kubernetes import KubernetesConfig, KubernetesSource
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.pilot import screen_text, wait_for


@pytest.fixture
def clusters():
    with (
        KubeApiServer(token="prod-token-kbd-0001", ready_delay=0.05) as prod,
        KubeApiServer(token="staging-token-kbd-02", ready_delay=0.05) as staging,
    ):
        prod.add_deployment("shop", "web", "acme/web:1", replicas=2, progress_deadline=2)
        staging.add_deployment("shop", "api", "acme/api:1", replicas=1)
        yield prod, staging


def build(tmp_path, prod, staging):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"prod": prod, "staging": staging})
    sources = [
        KubernetesSource(
            KubernetesConfig(
                name=name, context=name, kubeconfig=str(kubeconfig), auto_undo=True, timeout=2
            ),
            environ={},
        )
        for name in ("prod", "staging")
    ]
    config = Config(path=None, refresh=0.5)
    store = Store(tmp_path / "opsdash.db")
    return OpsdashApp(config, Poller(sources, max_backoff=1.0), store=store), sources, store


def rows(app) -> dict:
    return app.screen.query_one("#kube-workloads-table", ResourceTable).records


async def select(pilot, name: str) -> None:
    table = pilot.app.screen.query_one("#kube-workloads-table", ResourceTable)
    key = next(k for k, w in table.records.items() if w.name == name)
    table.focus()
    table.move_cursor(row=table.get_row_index(key))
    await wait_for(pilot, lambda: table.selected is not None and table.selected.name == name)


async def finish(pilot) -> ProgressScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProgressScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.done, timeout=60)
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ProgressScreen))
    return screen


async def test_two_contexts_auto_undo_scale_and_a_dead_server(tmp_path, clusters):
    prod, staging = clusters
    app, sources, store = build(tmp_path, prod, staging)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("6")
        await wait_for(
            pilot,
            lambda: (
                {(w.context, w.name, w.ready) for w in rows(app).values()}
                == {("prod", "web", 2), ("staging", "api", 1)}
            ),
        )

        # i: a failing image on web; auto_undo puts the old template back
        await select(pilot, "web")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"acme/web:2-fail", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        undone = await finish(pilot)
        assert "undone automatically (auto_undo)" in undone.outcome
        web = sources[0].current("Deployment", "shop", "web")
        assert web is not None and web.images == ("acme/web:1",)

        # s: scale web to 3
        await select(pilot, "web")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press("3", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        scaled = await finish(pilot)
        assert "successfully rolled out" in scaled.outcome
        await wait_for(pilot, lambda: any(w.ready == 3 for w in rows(app).values()))

        # the staging API server dies: error in the header, prod goes on
        staging.stop()
        await wait_for(
            pilot,
            lambda: app.poller.health("kubernetes:staging").state is HealthState.ERROR,
            timeout=30,
        )
        # The header is drawn from the health a moment after the poller records it.
        await wait_for(pilot, lambda: "kubernetes:staging error" in screen_text(app))
        assert app.poller.health("kubernetes:prod").state is HealthState.OK
        assert "staging-token-kbd" not in screen_text(app)
        staging.start()
        staging.add_deployment("shop", "worker", "acme/worker:1")
        await wait_for(
            pilot, lambda: any(w.name == "worker" for w in rows(app).values()), timeout=60
        )
    for source in sources:
        source.close()
    actions = [(e.action, e.result) for e in reversed(store.audit_entries())]
    assert actions == [("set-image", "rolled back"), ("scale", "ok")]
