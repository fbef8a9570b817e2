"""The hostile corpus (tests/hostile.py) as a cluster's names, labels, images,
rollout messages, conditions, events, change-causes and log lines: shown as
written, nothing reaching the terminal, no crash."""

from __future__ import annotations

from dataclasses import replace

from opsdash.model.kube import Condition, KubeEvent, Revision, RolloutState, WorkloadDetails
from opsdash.safetext import strip_unsafe
from opsdash.screens.kube import WorkloadScreen
from opsdash.screens.logs import LogsScreen
from opsdash.views.common import NAME_WIDTH, short
from opsdash.widgets.resource_table import ResourceTable
from tests.hostile import HOSTILE, MARKUP, assert_clean_screen, shown
from tests.kube_fakes import FakeStream, FixedClusterSource, container, pod, workload
from tests.pilot import select_row, settle, wait_for

VALUES = list(HOSTILE.values())


class HostileCluster(FixedClusterSource):
    def details(self, w):
        details = super().details(w)
        events = tuple(KubeEvent(None, "Warning", value, value, f"Pod/{value}") for value in VALUES)
        revisions = (
            Revision(2, VALUES[0], (("c", VALUES[1]),), 1, None, VALUES[2], True),
            Revision(1, VALUES[3], (("c", VALUES[4]),), 0, None, VALUES[5]),
        )
        return WorkloadDetails(details.workload, details.pods, revisions, events)

    def pod_logs(self, p, c, *, tail=1000, follow=True, previous=False):
        return FakeStream(VALUES)


def hostile_cluster() -> HostileCluster:
    workloads = tuple(
        workload(
            "ctx",
            value,
            namespace=f"ns{i}",
            containers=((value, value),),
            labels=((value, value),),
            rollout=RolloutState.FAILED,
            rollout_message=value,
            conditions=(Condition(value, "False", value, value),),
            selector=(("app", "x"),),
        )
        for i, value in enumerate(VALUES)
    )
    pods = tuple(
        pod(
            "ctx",
            value,
            "x",
            (container(value, image=value, reason=value, state="waiting"),),
            namespace=f"ns{i}",
            node=value,
            phase=value,
        )
        for i, value in enumerate(VALUES)
    )
    return HostileCluster("hostile", "ctx", (workloads, pods), notes=tuple(VALUES[:3]))


def _app():
    from tests.kube_fakes import kube_app

    return kube_app([hostile_cluster()])


async def test_hostile_workloads_pods_and_notes_are_literal():
    app = _app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("6", "z")
        await settle(pilot)
        assert_clean_screen(app)
        table = app.screen.query_one("#kube-workloads-table", ResourceTable)
        shown_names = {t.plain for t in table.get_column("name")}
        for value in MARKUP.values():
            assert short(value, NAME_WIDTH) in shown_names  # as written, cut at the width
        assert shown(app, MARKUP["rich-style"])
        await pilot.press("colon", *"pods", "enter")
        await settle(pilot)
        assert_clean_screen(app)
        statuses = {t.plain for t in app.screen.query_one("#kube-pods-table").get_column("status")}
        assert {strip_unsafe(v) for v in MARKUP.values()} <= statuses
        await pilot.press("colon", *MARKUP["link"], "enter")  # a hostile prompt word
        await settle(pilot)
        assert_clean_screen(app)


async def test_hostile_workload_screen_and_log_lines_are_literal():
    app = _app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await pilot.pause()
        await select_row(pilot, "kube-workloads-table", lambda r: r.name == MARKUP["rich-style"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkloadScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.details is not None)
        await settle(pilot)
        text = assert_clean_screen(app)
        assert MARKUP["rich-style"] in text
        source = app.poller.sources["kubernetes:hostile"]
        source.pods = tuple(replace(p, labels=(("app", "x"),)) for p in source.pods)
        fake_pod = source.pods[0]
        screen.show_details(WorkloadDetails(screen.workload, (fake_pod,), (), ()))
        await select_row(pilot, "workload-pods", lambda r: r is fake_pod)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        logs = app.screen
        await wait_for(pilot, lambda: len(logs.lines) == len(VALUES))
        await settle(pilot)
        assert_clean_screen(app)
