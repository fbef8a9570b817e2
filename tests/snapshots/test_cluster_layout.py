"""The Kubernetes panel and the workload screen pinned at 80x24 and 160x48, on
two fixed contexts (a failed rollout in one, a pod in CrashLoopBackOff in the other).

Update after reviewing the report: pytest tests/snapshots --snapshot-update
"""

from __future__ import annotations

from tests.kube_fakes import kube_app
from tests.pilot import select_row, settle, wait_for


async def _panel(pilot, *keys: str) -> None:
    await settle(pilot)
    await pilot.press("6")
    await pilot.pause()
    if keys:
        await pilot.press(*keys)
    await settle(pilot)


def test_kubernetes_wide(snap_compare):
    assert snap_compare(kube_app(others=True), terminal_size=(160, 48), run_before=_panel)


def test_kubernetes_narrow_workloads(snap_compare):
    assert snap_compare(kube_app(others=True), terminal_size=(80, 24), run_before=_panel)


def test_kubernetes_narrow_pods(snap_compare):
    async def go(pilot):
        await _panel(pilot, "colon", *"pods", "enter")

    assert snap_compare(kube_app(others=True), terminal_size=(80, 24), run_before=go)


def test_kubernetes_prompt_completion_narrow(snap_compare):
    async def go(pilot):
        await _panel(pilot, "colon", *"ns shop-s")
        prompt = pilot.app.screen.query_one("#kube-prompt")
        await wait_for(pilot, lambda: prompt._suggestion)
        await settle(pilot)

    assert snap_compare(kube_app(others=True), terminal_size=(80, 24), run_before=go)


async def _workload(pilot) -> None:
    from opsdash.screens.kube import WorkloadScreen

    await _panel(pilot)
    await select_row(
        pilot, "kube-workloads-table", lambda r: r.name == "web" and r.context == "gke_acme_prod"
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, WorkloadScreen))
    await wait_for(pilot, lambda: pilot.app.screen.details is not None)
    await settle(pilot)


def test_workload_screen_wide(snap_compare):
    assert snap_compare(kube_app(), terminal_size=(160, 48), run_before=_workload)


def test_workload_screen_narrow(snap_compare):
    assert snap_compare(kube_app(), terminal_size=(80, 24), run_before=_workload)
