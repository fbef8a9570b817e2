"""The Kubernetes panel through the real app: two fixed contexts, the `:` prompt,
`/`, and the keys that post ClusterAction (the cluster flow is spied on)."""

from __future__ import annotations

from opsdash.model.kube import KubePod, KubeWorkload
from opsdash.screens.main import MainScreen
from opsdash.sources.base import SourceError
from opsdash.widgets.cluster_panel import ClusterPanel, ResourcePrompt
from opsdash.widgets.resource_table import ResourceTable
from tests.kube_fakes import (
    FixedClusterSource,
    kube_app,
    prod_records,
    spy_cluster_actions,
    staging_records,
)
from tests.pilot import select_row, settle, spy_notifications, wait_for


def panel(app) -> ClusterPanel:
    return app.screen.query_one(ClusterPanel)


def names(table: ResourceTable) -> list[str]:
    """What the view holds (before `/`)."""
    return sorted(r.name for r in table.records.values())


def rows(table: ResourceTable) -> list[str]:
    """What the table shows (after `/`)."""
    return sorted(table.records[key.value].name for key in table.rows)


async def open_panel(pilot) -> ClusterPanel:
    await settle(pilot)
    await pilot.press("6")
    await wait_for(pilot, lambda: isinstance(pilot.app.focused, ResourceTable))
    return panel(pilot.app)


async def command(pilot, text: str) -> None:
    await pilot.press("colon")
    await wait_for(pilot, lambda: isinstance(pilot.app.focused, ResourcePrompt))
    if text:
        await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


async def test_the_panel_shows_both_contexts_with_a_context_column():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        assert app.focused is p.table and app.screen.active_panel == 6
        contexts = {r.context for r in p.table.records.values()}
        assert contexts == {"gke_acme_prod", "staging"}
        assert "context" not in p.table.hidden_columns
        assert str(p.border_title).endswith("6 Kubernetes · workloads · ctx all · ns all")
        status = str(p.query_one("#kube-status").render())
        assert "deployment/web (shop-staging) failed" in status  # a failed rollout, in words
        assert "forbidden by RBAC" in status  # a context's note


async def test_one_context_hides_the_context_column():
    app = kube_app([FixedClusterSource("prod", "prod", prod_records("prod"))])
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        assert p.table.hidden_columns == {"context"}


async def test_resource_prompt_switches_the_view_and_the_title():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        await command(pilot, "pods")
        assert p.view.resource == "pods" and p.table.id == "kube-pods-table"
        assert app.focused is p.table
        assert "db-0" in names(p.table) and "· pods ·" in str(p.border_title)
        await command(pilot, "sts")
        assert names(p.table) == ["db"] and "· sts ·" in str(p.border_title)
        await command(pilot, "workloads")
        assert len(p.table.records) == 5
        await command(pilot, "ns shop-staging")
        assert names(p.table) == ["api", "web"]
        assert str(p.border_title).endswith("ns shop-staging")
        await command(pilot, "ns")
        assert len(p.table.records) == 5
        await command(pilot, "ctx gke_acme_prod")
        assert {r.context for r in p.table.records.values()} == {"gke_acme_prod"}
        assert "ctx gke_acme_prod" in str(p.border_title)
        await command(pilot, "ctx")
        assert len(p.table.records) == 5


async def test_an_unknown_word_is_refused_in_one_line_and_changes_nothing():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        notes = spy_notifications(app)
        before = p.view
        await command(pilot, "jobs")
        assert p.view == before
        assert notes and "unknown resource 'jobs'" in notes[-1] and "\n" not in notes[-1]
        await command(pilot, "ctx nowhere")
        assert p.view == before and "no context 'nowhere'" in notes[-1]


async def test_escape_closes_the_prompt_and_colon_jumps_from_another_panel():
    app = kube_app(others=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.screen.active_panel == 1
        await pilot.press("colon")
        await wait_for(pilot, lambda: isinstance(app.focused, ResourcePrompt))
        assert app.screen.active_panel == 6
        await pilot.press("escape")
        p = panel(app)
        assert app.focused is p.table and not p.prompt.has_class("-visible")


async def test_tab_completes_words_namespaces_and_contexts():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        for typed, completed in (
            ("st", "sts"),
            ("ns shop-s", "ns shop-staging"),
            ("ctx g", "ctx gke_acme_prod"),
        ):
            await pilot.press("colon", *typed)
            prompt = p.prompt
            await wait_for(pilot, lambda: prompt._suggestion)  # noqa: B023
            await pilot.press("tab")
            assert prompt.value == completed and app.focused is prompt
            await pilot.press("escape")


async def test_slash_filters_the_table_in_view():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        await command(pilot, "pods")
        await pilot.press("slash", *"crashloop")
        assert rows(p.table) == ["db-0"]
        await pilot.press("enter", "escape")
        assert len(p.table.records) == 5 and p.table.row_count == 5


async def test_action_keys_post_cluster_actions_by_the_rows_type():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_panel(pilot)
        calls = spy_cluster_actions(app)
        await select_row(
            pilot, "kube-workloads-table", lambda r: r.name == "web" and r.context == "staging"
        )
        for key in ("R", "r", "u", "i", "s"):
            await pilot.press(key)
        assert [(a, v) for a, _t, v in calls] == [
            ("restart", None),
            ("restart", None),
            ("undo", None),
            ("set-image", None),
            ("scale", None),
        ]
        assert all(isinstance(t, KubeWorkload) and t.context == "staging" for _a, t, _v in calls)
        notes = spy_notifications(app)
        await pilot.press("x")  # delete takes a pod
        assert len(calls) == 5 and "select a pod" in notes[-1]
        await command(pilot, "pods")
        await select_row(pilot, "kube-pods-table", lambda r: r.name == "db-0")
        await pilot.press("x")
        assert calls[-1][0] == "delete" and isinstance(calls[-1][1], KubePod)
        assert calls[-1][1].name == "db-0"
        await pilot.press("s")  # scale takes a workload
        assert len(calls) == 6


async def test_a_failing_context_says_so_while_the_other_keeps_working():
    class Broken(FixedClusterSource):
        def poll(self):
            raise SourceError("connection refused [/etc/kube]")

    broken = Broken("staging", "staging", staging_records("staging"))
    app = kube_app([FixedClusterSource("prod", "prod", prod_records("prod")), broken])
    async with app.run_test(size=(160, 48)) as pilot:
        p = await open_panel(pilot)
        status = str(p.query_one("#kube-status").render())
        assert "kubernetes:staging error: connection refused [/etc/kube]" in status
        assert names(p.table) == ["db", "node-agent", "web"]


async def test_at_80x24_the_panel_is_a_tab_that_6_and_tab_reach():
    app = kube_app(others=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.has_class("-narrow")
        await pilot.press("6")
        await wait_for(pilot, lambda: app.focused is panel(app).table)
        assert panel(app).region.height > 0 and panel(app).table.row_count == 5
        await pilot.press("1")
        await pilot.pause()
        seen = set()
        for _ in range(8):
            await pilot.press("tab")
            await pilot.pause()
            seen.add(screen.active_panel)
        assert 6 in seen


async def test_help_lists_the_kubernetes_keys_where_they_are_declared():
    from opsdash.screens.help import HelpScreen
    from tests.pilot import screen_text

    app = kube_app()
    async with app.run_test(size=(160, 120)) as pilot:  # the help lists the replay keys too
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        text = screen_text(app)
        for binding_id in ("kube-resource", "kube-scale", "kube-delete", "kube-previous-log"):
            assert binding_id in text
        assert "workload-undo" in text and "picker-cancel" in text
