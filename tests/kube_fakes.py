"""Kubernetes test doubles: fixed contexts (real `Source` subclasses that return
canned `ClusterSnapshot`s and answer the `Cluster` calls the screens make),
their sample workloads, pods, revisions, events and log lines, and an app of them.

Kept apart from tests/fakes.py (which is long enough). Nothing here imports
Textual at module level: `kube_app` imports the app when called.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdash.config import Config, DoraConfig
from opsdash.model.kube import (
    ClusterSnapshot,
    Condition,
    KubeEvent,
    KubePod,
    KubeWorkload,
    PodContainer,
    Revision,
    RolloutState,
    WorkloadDetails,
)
from opsdash.sources.base import Source
from opsdash.sources.kubernetes import KubernetesConfig

LOG_LINES = ("starting web", "\x1b[31mred line\x1b[0m", "[bold]not markup[/bold]", "ready")
PREVIOUS_LINES = ("panic: boom", "exit 2")


def _now() -> datetime:
    return datetime.now().astimezone()


def workload(context: str, name: str, kind: str = "Deployment", **kw) -> KubeWorkload:
    now = _now()
    base = dict(
        context=context,
        kind=kind,
        namespace="shop",
        name=name,
        uid=f"uid-{context}-{kind}-{name}",
        desired=3,
        ready=3,
        updated=3,
        available=3,
        containers=((name, f"registry.local/{name}:1.4"),),
        revision="4",
        created=now - timedelta(days=2, hours=3),
        selector=(("app", name),),
        labels=(("app", name),),
        conditions=(Condition("Available", "True", "MinimumReplicasAvailable"),),
    )
    base.update(kw)
    return KubeWorkload(**base)  # type: ignore[arg-type]


def container(name: str, **kw) -> PodContainer:
    base = dict(name=name, image=f"registry.local/{name}:1.4", ready=True, restarts=0)
    base["state"] = "running"
    base.update(kw)
    return PodContainer(**base)  # type: ignore[arg-type]


def pod(context: str, name: str, app: str, containers=None, **kw) -> KubePod:
    base = dict(
        context=context,
        namespace="shop",
        name=name,
        uid=f"uid-{context}-{name}",
        phase="Running",
        containers=tuple(containers or (container(app),)),
        node="node-1",
        created=_now() - timedelta(hours=5, minutes=20),
        labels=(("app", app),),
    )
    base.update(kw)
    return KubePod(**base)  # type: ignore[arg-type]


def prod_records(context: str) -> tuple[tuple[KubeWorkload, ...], tuple[KubePod, ...]]:
    workloads = (
        workload(context, "web"),
        workload(
            context,
            "db",
            "StatefulSet",
            ready=2,
            updated=2,
            available=2,
            revision="db-7c9f",
            rollout=RolloutState.PROGRESSING,
            rollout_message="Waiting for 1 pods to be ready",
        ),
        workload(context, "node-agent", "DaemonSet", namespace="kube-system", desired=2, ready=2),
    )
    pods = (
        pod(context, "web-5d9c7-abcde", "web", (container("web"), container("sidecar"))),
        pod(context, "web-5d9c7-fghij", "web", (container("web"), container("sidecar"))),
        pod(
            context,
            "db-0",
            "db",
            (
                container(
                    "db",
                    ready=False,
                    restarts=7,
                    state="waiting",
                    reason="CrashLoopBackOff",
                    last_reason="Error",
                    last_exit=2,
                ),
            ),
        ),
        pod(context, "db-1", "db"),
    )
    return workloads, pods


def staging_records(context: str) -> tuple[tuple[KubeWorkload, ...], tuple[KubePod, ...]]:
    workloads = (
        workload(
            context,
            "web",
            namespace="shop-staging",
            ready=1,
            updated=1,
            available=1,
            revision="9",
            rollout=RolloutState.FAILED,
            rollout_message='ReplicaSet "web-6f8b" has timed out progressing.',
        ),
        workload(
            context, "api", namespace="shop-staging", paused=True, rollout=RolloutState.PAUSED
        ),
    )
    pods = (
        pod(
            context,
            "web-6f8b-xyz12",
            "web",
            (container("web", ready=False, state="waiting", reason="ImagePullBackOff"),),
            namespace="shop-staging",
        ),
    )
    return workloads, pods


class FakeStream:
    def __init__(self, lines):
        self.lines = list(lines)
        self.closed = False

    def __iter__(self):
        return iter(self.lines)

    def close(self) -> None:
        self.closed = True


class FixedClusterSource(Source):
    """One context with fixed records; it records what the screens asked."""

    kind = "kubernetes"
    feeds = ClusterSnapshot
    config_class = KubernetesConfig
    auto_undo = False

    def __init__(self, name: str, context: str, records, *, notes=(), read_only=False):
        super().__init__(name, refresh=3600, timeout=5)
        self._context = context
        self.workloads, self.pods = records
        self.notes = tuple(notes)
        self.read_only = read_only
        self.calls: list[tuple] = []
        self.fail_details = ""

    @property
    def context(self) -> str:
        return self._context

    def poll(self) -> ClusterSnapshot:
        return ClusterSnapshot(
            context=self._context,
            source=self.label,
            namespaces=(),
            workloads=self.workloads,
            pods=self.pods,
            taken_at=datetime.now(UTC),
            server="https://127.0.0.1:6443",
            read_only=self.read_only,
            notes=self.notes,
        )

    def current(self, kind, namespace, name):
        records = self.pods if kind == "Pod" else self.workloads
        return next((r for r in records if r.namespace == namespace and r.name == name), None)

    def read(self, kind, namespace, name):
        return self.current(kind, namespace, name)

    def replicasets(self, workload):
        return []

    def details(self, workload: KubeWorkload) -> WorkloadDetails:
        self.calls.append(("details", workload.key))
        if self.fail_details:
            raise RuntimeError(self.fail_details)
        now = _now()
        image = workload.images[0] if workload.images else "-"
        revisions = (
            Revision(
                4,
                f"{workload.name}-5d9c7",
                ((workload.name, image),),
                3,
                now - timedelta(hours=5),
                "deploy 1.4",
                True,
            ),
            Revision(
                3,
                f"{workload.name}-4b8a6",
                ((workload.name, "registry.local/web:1.3"),),
                0,
                now - timedelta(days=1),
                "deploy 1.3",
            ),
            Revision(
                2,
                f"{workload.name}-3a7f5",
                ((workload.name, "registry.local/web:1.2"),),
                0,
                now - timedelta(days=2),
                "",
            ),
        )
        events = (
            KubeEvent(
                now - timedelta(minutes=2),
                "Warning",
                "BackOff",
                "Back-off restarting failed container",
                f"Pod/{workload.name}-0",
                7,
            ),
            KubeEvent(
                now - timedelta(hours=5),
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {workload.name}-5d9c7 to 3",
                f"Deployment/{workload.name}",
            ),
        )
        pods = tuple(p for p in self.pods if workload.owns(p))
        return WorkloadDetails(workload, pods, revisions, events)

    def pod_logs(self, pod, container, *, tail=1000, follow=True, previous=False):
        self.calls.append(("logs", pod.name, container, previous))
        return FakeStream(PREVIOUS_LINES if previous else LOG_LINES)

    def delete_pod(self, pod):
        self.calls.append(("delete", pod.name))
        return {}


def two_contexts() -> list[FixedClusterSource]:
    """prod (its context named otherwise, as a [[kubernetes]] `name` may be) and staging."""
    return [
        FixedClusterSource("prod", "gke_acme_prod", prod_records("gke_acme_prod")),
        FixedClusterSource(
            "staging",
            "staging",
            staging_records("staging"),
            notes=("daemonsets: forbidden by RBAC (list daemonsets.apps)",),
        ),
    ]


def kube_app(clusters=None, *, others: bool = False):
    """The real app on fixed contexts (and, with `others`, the fixed sources of
    every other panel)."""
    from opsdash.app import OpsdashApp
    from opsdash.poller import Poller
    from tests.fakes import FixedDockerSource, FixedHostSource, midday_zone

    config = Config(path=None, refresh=3600, dora=DoraConfig(timezone=midday_zone()))
    sources: list[Source] = [FixedDockerSource(), FixedHostSource()] if others else []
    sources += list(two_contexts() if clusters is None else clusters)
    return OpsdashApp(config, Poller(sources))


def spy_cluster_actions(app) -> list[tuple]:
    """Every (action, target, value) handed to the app's cluster flow, from now on."""
    calls: list[tuple] = []
    app.cluster_actions.start = lambda action, target, value=None: calls.append(
        (action, target, value)
    )
    return calls
