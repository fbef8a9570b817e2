"""`E` on a pod: a shell in its running container through `kubectl exec -it`,
pointed at the kubeconfig file(s) and context the source reads (never a
credential on the argv). Refused (audited, said) in read-only mode, without
kubectl, on a pod that is not Running; a protected pod needs its name typed.
The real terminal hand-over is tests/integration/test_kube_shell_pty.py."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest

from opsdash.actions import kube_shell, shell
from opsdash.app import OpsdashApp
from opsdash.config import Config, Matcher
from opsdash.poller import Poller
from opsdash.screens.actions import ConfirmScreen
from opsdash.shell_flow import ShellFlow
from opsdash.sources.kubeconfig import KubectlAccess
from opsdash.store import Store
from tests.kube_fakes import FixedClusterSource, container, pod, prod_records
from tests.pilot import select_row, settle, spy_notifications, wait_for

KUBECONFIG = Path("/etc/opsdash-test/kubeconfig")


class ReachableCluster(FixedClusterSource):
    """Fixed records, from a context kubectl can be pointed at."""

    def __init__(self, files=(KUBECONFIG,), *, in_cluster=False, read_only=False):
        workloads, pods = prod_records("gke_acme_prod")
        pods = (
            *pods,
            pod("gke_acme_prod", "batch-x1", "batch", phase="Succeeded"),
            pod("gke_acme_prod", "web-old", "web", deleting=True),
            pod(
                "gke_acme_prod",
                "two-7f",
                "two",
                (container("init-ish", state="terminated"), container("app")),
            ),
        )
        super().__init__("prod", "gke_acme_prod", (workloads, pods), read_only=read_only)
        self.access = KubectlAccess(
            tuple(files), "gke_acme_prod", in_cluster=in_cluster, shell=("/bin/bash", "-l")
        )

    def kubectl_access(self) -> KubectlAccess:
        return self.access


def pod_app(tmp_path, source=None, **config) -> tuple[OpsdashApp, Store]:
    store = Store(tmp_path / "db.sqlite")
    app = OpsdashApp(
        Config(path=None, refresh=3600, **config),
        Poller([source or ReachableCluster()]),
        store=store,
    )
    return app, store


@pytest.fixture
def sessions(monkeypatch):
    """What E would run, recorded instead of run; the terminal is not suspended."""
    ran: list[tuple[tuple[str, ...], dict[str, str]]] = []

    def fake(argv, env):
        ran.append((argv, dict(env)))
        if "--kubeconfig" in argv:  # what kubectl would read exists while it runs
            path = Path(argv[argv.index("--kubeconfig") + 1])
            ran.append((("exists", str(path.exists())), {}))
        return 0

    monkeypatch.setattr(ShellFlow, "run_command", staticmethod(fake))
    monkeypatch.setattr(kube_shell, "kubectl_cli", lambda path=None: "/usr/bin/kubectl")
    monkeypatch.setattr(OpsdashApp, "suspend", lambda self: contextlib.nullcontext())
    monkeypatch.setenv("KUBECONFIG", "/elsewhere/config")
    return ran


async def press_e_on(pilot, name: str) -> None:
    await settle(pilot)
    await pilot.press("6")
    await pilot.press("colon", *"pods", "enter")
    await wait_for(pilot, lambda: pilot.app.screen.query("#kube-pods-table"))
    await select_row(pilot, "kube-pods-table", lambda r: r.name == name)
    await pilot.press("E")
    await pilot.pause(0.1)


def shell_rows(store: Store):
    return [e for e in store.audit_entries() if e.action == "shell"]


async def test_e_on_a_pod_runs_kubectl_exec_at_the_sources_context(tmp_path, sessions):
    app, store = pod_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await press_e_on(pilot, "two-7f")
    (argv, env), *_ = sessions
    assert argv == (
        "/usr/bin/kubectl",
        "--kubeconfig",
        str(KUBECONFIG),
        "--context",
        "gke_acme_prod",
        "exec",
        "-it",
        "-n",
        "shop",
        "two-7f",
        "-c",
        "app",  # the running one, not the first of the spec
        "--",
        "/bin/bash",
        "-l",
    )
    assert "KUBECONFIG" not in env  # the flag alone says which file
    (entry,) = shell_rows(store)
    assert (entry.target, entry.host, entry.result) == ("two-7f", "prod", "ok")
    assert entry.steps[0][1] == "exec" and "exec -it -n shop two-7f -c app" in entry.steps[0][2]
    assert "Shell in two-7f exited with status 0." in notes
    store.close()


async def test_several_kubeconfig_files_go_to_kubectl_as_kubeconfig(tmp_path, sessions):
    files = (Path("/etc/opsdash-test/a"), Path("/etc/opsdash-test/b"))
    app, store = pod_app(tmp_path, ReachableCluster(files))
    async with app.run_test(size=(160, 48)) as pilot:
        await press_e_on(pilot, "db-1")
    (argv, env), *_ = sessions
    assert "--kubeconfig" not in argv and argv[1:3] == ("--context", "gke_acme_prod")
    assert env["KUBECONFIG"] == os.pathsep.join(str(f) for f in files)  # kubectl merges them
    store.close()


async def test_in_cluster_kubeconfig_is_private_and_removed_after(tmp_path, sessions, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    written: list[Path] = []
    real = kube_shell._in_cluster_kubeconfig

    def spy(environ):
        path, cleanup = real(environ)
        written.append(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert "tokenFile" in path.read_text() and "10.0.0.1" in path.read_text()
        return path, cleanup

    monkeypatch.setattr(kube_shell, "_in_cluster_kubeconfig", spy)
    app, store = pod_app(tmp_path, ReachableCluster((), in_cluster=True))
    async with app.run_test(size=(160, 48)) as pilot:
        await press_e_on(pilot, "db-1")
    (path,) = written
    assert sessions[0][0][1:5] == ("--kubeconfig", str(path), "--context", "in-cluster")
    assert sessions[1][0] == ("exists", "True")
    assert not path.exists() and not path.parent.exists()
    store.close()


async def test_read_only_e_on_a_pod_is_refused_and_audited(tmp_path, sessions):
    app, store = pod_app(tmp_path, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await press_e_on(pilot, "db-1")
    assert sessions == []
    (entry,) = shell_rows(store)
    assert entry.result.startswith("refused: opsdash runs read-only")
    assert any(n.startswith("Refused: opsdash runs read-only") for n in notes)
    store.close()


async def test_a_read_only_context_refuses_e(tmp_path, sessions):
    app, store = pod_app(tmp_path, ReachableCluster(read_only=True))
    async with app.run_test(size=(160, 48)) as pilot:
        await press_e_on(pilot, "db-1")
    assert sessions == []
    (entry,) = shell_rows(store)
    assert entry.result == "refused: prod is read-only in the config"
    store.close()


async def test_e_without_kubectl_says_so(tmp_path, sessions, monkeypatch):
    monkeypatch.setattr(kube_shell, "kubectl_cli", lambda path=None: None)
    app, store = pod_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await press_e_on(pilot, "db-1")
    assert sessions == []
    assert any("kubectl is not on PATH" in n for n in notes)
    (entry,) = shell_rows(store)
    assert entry.result.startswith("refused: kubectl is not on PATH")
    store.close()


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("batch-x1", "batch-x1 is Succeeded: a shell needs it Running"),
        ("web-old", "web-old is Terminating: a shell needs it Running"),
        ("db-0", "no container of db-0 is running"),
    ],
)
async def test_e_on_a_pod_not_running_is_refused(tmp_path, sessions, name, said):
    app, store = pod_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        notes = spy_notifications(app)
        await press_e_on(pilot, name)
    assert sessions == []
    assert any(said in n for n in notes)
    (entry,) = shell_rows(store)
    assert entry.result.startswith(f"refused: {said}")
    store.close()


async def test_e_on_a_protected_pod_needs_its_name_typed(tmp_path, sessions):
    app, store = pod_app(tmp_path, protect=(Matcher(match_name="db-*"),))
    async with app.run_test(size=(160, 48)) as pilot:
        await press_e_on(pilot, "db-1")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.plan.protected
        await pilot.press("y")  # not enough on a protected target
        await pilot.pause(0.1)
        assert sessions == []
        await pilot.press("escape")
        await pilot.pause(0.1)
        await pilot.press("E")
        await pilot.pause(0.1)
        await pilot.press(*"db-1", "enter")
        await pilot.pause(0.1)
    assert len([s for s in sessions if s[0][0] != "exists"]) == 1
    assert [e.result for e in shell_rows(store)] == ["ok", "cancelled"]  # newest first
    store.close()


async def test_e_is_live_on_a_pod_and_off_on_a_workload(tmp_path, sessions):
    app, store = pod_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await select_row(pilot, "kube-workloads-table", lambda r: r.name == "web")
        assert app.screen.check_action("shell", ()) is None
        await pilot.press("colon", *"pods", "enter")
        await wait_for(pilot, lambda: app.screen.query("#kube-pods-table"))
        await select_row(pilot, "kube-pods-table", lambda r: r.name == "db-1")
        assert app.screen.check_action("shell", ()) is True
    store.close()


def test_a_quick_127_names_the_kubernetes_table():
    note = shell.exit_note(127, ("/bin/bash",), 0.5, "[[kubernetes]]")
    assert "(/bin/bash: set shell in its [[kubernetes]] table)" in note
