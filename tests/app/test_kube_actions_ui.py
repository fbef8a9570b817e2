"""Kubernetes actions through the real app: a KubernetesSource on the API
emulator (devstack.kube) in the app's poller, ClusterAction posted as the
cluster panel posts it, the dialogs answered from the keyboard."""

from __future__ import annotations

import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from opsdash.app import OpsdashApp
from opsdash.config import Config, Matcher
from opsdash.messages import ClusterAction
from opsdash.model.kube import KubeWorkload, RolloutState
from opsdash.poller import Poller
from opsdash.screens.actions import AskScreen, ConfirmScreen, ProgressScreen
from opsdash.sources.kubernetes import KubernetesConfig, KubernetesSource
from opsdash.store import Store
from tests.pilot import screen_text, spy_notifications, wait_for

TOKEN = "ui-secret-token-5150"


@pytest.fixture
def cluster():
    with KubeApiServer(token=TOKEN, ready_delay=0.05) as server:
        server.add_deployment("default", "web", "nginx:1", replicas=2)
        yield server


def build(tmp_path, cluster, *, read_only=False, context_read_only=False, protect=()):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"prod": cluster})
    kube = KubernetesConfig(
        name="prod", context="prod", kubeconfig=str(kubeconfig), read_only=context_read_only
    )
    config = Config(path=None, refresh=3600, read_only=read_only, protect=tuple(protect))
    store = Store(tmp_path / "opsdash.db")
    source = KubernetesSource(kube, environ={})
    return OpsdashApp(config, Poller([source]), store=store), source, store


async def rolled_out(pilot, source, name="web") -> KubeWorkload:
    def ready():
        record = source.current("Deployment", "default", name)
        if record and record.rollout is RolloutState.COMPLETE and record.ready == record.desired:
            return record
        return None

    await wait_for(pilot, lambda: pilot.app.all_polled)
    return await wait_for(pilot, ready)


async def until_done(pilot) -> ProgressScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProgressScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.done)
    return screen


async def test_restart_is_confirmed_and_its_rollout_followed_to_the_end(tmp_path, cluster):
    app, source, store = build(tmp_path, cluster)
    async with app.run_test(size=(160, 50)) as pilot:
        notes = spy_notifications(app)
        web = await rolled_out(pilot, source)
        app.post_message(ClusterAction("restart", web))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "kubectl --context prod -n default rollout restart deployment/web" in text
        assert "application/strategic-merge-patch+json" in text
        assert "kubectl.kubernetes.io/restartedAt" in text
        await pilot.press("y")
        screen = await until_done(pilot)
        log = "\n".join(str(line.text) for line in screen.query_one("#progress-log").lines)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProgressScreen))
    source.close()
    assert 'deployment "web" successfully rolled out' in screen.outcome
    assert 'Waiting for deployment "web" rollout to finish' in log
    (entry,) = store.audit_entries()
    assert (entry.action, entry.target, entry.result) == ("restart", "web", "ok")
    assert any("successfully rolled out" in n for n in notes)
    assert not any(TOKEN in n for n in notes)
    assert (
        cluster.deployment("default", "web")["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        == "2"
    )


async def test_set_image_asks_for_the_image_then_shows_before_and_after(tmp_path, cluster):
    app, source, store = build(tmp_path, cluster)
    async with app.run_test(size=(160, 50)) as pilot:
        web = await rolled_out(pilot, source)
        app.cluster_actions.start("set-image", web)
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        box = app.screen.query_one("#ask-value")
        box.value = ""
        await pilot.press(*"nginx:2", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "web=nginx:1 -> web=nginx:2" in text
        assert "set image deployment/web web=nginx:2" in text
        await pilot.press("y")
        screen = await until_done(pilot)
    source.close()
    assert "nginx:2" in screen.outcome
    (entry,) = store.audit_entries()
    assert (entry.old_image, entry.new_image, entry.result) == ("web=nginx:1", "web=nginx:2", "ok")


@pytest.mark.parametrize(
    ("read_only", "context_read_only", "reason"),
    [
        (True, False, "opsdash runs read-only"),
        (False, True, "context prod (prod) is read-only in the config"),
    ],
)
async def test_read_only_refuses_and_audits(
    tmp_path, cluster, read_only, context_read_only, reason
):
    app, source, store = build(
        tmp_path, cluster, read_only=read_only, context_read_only=context_read_only
    )
    async with app.run_test(size=(160, 50)) as pilot:
        notes = spy_notifications(app)
        web = await rolled_out(pilot, source)
        app.post_message(ClusterAction("scale", web, "0"))
        await wait_for(pilot, lambda: any(n.startswith("Refused") for n in notes))
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, ConfirmScreen)
    source.close()
    assert any(reason in n for n in notes)
    (entry,) = store.audit_entries()
    assert entry.action == "scale" and entry.result.startswith(f"refused: {reason}")
    assert not cluster.calls()  # nothing was sent


async def test_a_protected_workload_needs_its_name_typed(tmp_path, cluster):
    app, source, store = build(tmp_path, cluster, protect=[Matcher(match_label="app=web")])
    async with app.run_test(size=(160, 50)) as pilot:
        notes = spy_notifications(app)
        web = await rolled_out(pilot, source)
        app.post_message(ClusterAction("restart", web))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await wait_for(pilot, lambda: "web is protected: type its name" in screen_text(app))
        await pilot.press("y")  # not a confirmation here: it is typed into the name box
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("does not match" in n for n in notes))
        assert isinstance(app.screen, ConfirmScreen) and not cluster.calls("PATCH")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        app.post_message(ClusterAction("restart", web))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"web", "enter")
        screen = await until_done(pilot)
    source.close()
    assert "successfully rolled out" in screen.outcome
    results = [e.result for e in reversed(store.audit_entries())]
    assert results == ["cancelled", "ok"]


async def test_scale_to_zero_needs_the_name_and_a_paused_restart_is_refused(tmp_path, cluster):
    app, source, store = build(tmp_path, cluster)
    async with app.run_test(size=(160, 50)) as pilot:
        notes = spy_notifications(app)
        web = await rolled_out(pilot, source)
        app.post_message(ClusterAction("scale", web, "0"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Scaling to 0 stops every pod of web" in screen_text(app)
        await pilot.press("y")  # typed into the name box, not a yes
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConfirmScreen) and not cluster.calls("PATCH")
        await pilot.press("backspace", *"web", "enter")
        await until_done(pilot)
        await pilot.press("escape")
        deploy = cluster.deployment("default", "web")
        deploy["spec"]["paused"] = True
        cluster.store.update("deployments", deploy)
        app.post_message(ClusterAction("restart", web))
        await wait_for(pilot, lambda: any("paused" in n for n in notes))
    source.close()
    assert any(
        n == "Refused: can't restart paused deployment (run rollout resume first)." for n in notes
    )
    assert cluster.deployment("default", "web")["spec"]["replicas"] == 0
    results = [(e.action, e.result) for e in reversed(store.audit_entries())]
    assert results == [
        ("scale", "ok"),
        ("restart", "refused: can't restart paused deployment (run rollout resume first)"),
    ]
