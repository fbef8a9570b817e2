"""Kubernetes: the Deployments, StatefulSets, DaemonSets and pods of one
kubeconfig context, kept current by watches.

One `[[kubernetes]]` table per context (several at once); with no config, the
kubeconfig's current-context (`KUBECONFIG` with several files merged as
kubectl merges them), or the pod's service account when opsdash runs inside
a cluster. Each resource type of each watched namespace is one list+watch
loop (`kube_watch`); a poll reads what the loops hold, so 5,000 pods cost
nothing until one of them changes. Connections come from `kube_api`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from opsdash.model.kube import (
    ClusterSnapshot,
    KubeEvent,
    KubePod,
    KubeWorkload,
    WorkloadDetails,
)
from opsdash.sources import kube_map, kubeconfig
from opsdash.sources.base import (
    DEFAULT_REFRESH,
    DEFAULT_TIMEOUT,
    Detection,
    Source,
    SourceError,
)
from opsdash.sources.http import _Loop, run_sync
from opsdash.sources.kube_api import KubeApi, PodLogStream
from opsdash.sources.kube_watch import ResourceWatch
from opsdash.sources.settings import option

# (kind, API group path, plural) of what is watched.
# https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/
RESOURCES = (
    ("Deployment", "/apis/apps/v1", "deployments"),
    ("StatefulSet", "/apis/apps/v1", "statefulsets"),
    ("DaemonSet", "/apis/apps/v1", "daemonsets"),
    ("Pod", "/api/v1", "pods"),
)
PLURALS = {kind: (group, plural) for kind, group, plural in RESOURCES}
MAX_EVENTS = 100
# Watches that bring nothing for this long may hang on a server that stopped
# answering (a quiet cluster looks the same): then each poll asks /version.
QUIET_SECONDS = 30.0


def object_path(kind: str, namespace: str, name: str = "", sub: str = "") -> str:
    group, plural = PLURALS[kind]
    path = f"{group}/namespaces/{namespace}/{plural}"
    return path + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class KubernetesConfig:
    """One [[kubernetes]] table: one context of a kubeconfig."""

    kind: ClassVar[str] = "kubernetes"
    name: str = option(
        "", doc="shown in the header and the CONTEXT column; unique", default_doc="the context"
    )
    context: str = option("", doc="the kubeconfig context", default_doc="its current-context")
    kubeconfig: str = option(
        "",
        doc="kubeconfig file(s), separated as in $KUBECONFIG",
        default_doc="$KUBECONFIG, else ~/.kube/config",
    )
    in_cluster: bool = option(False, doc="use the pod's service account instead of a kubeconfig")
    namespaces: tuple[str, ...] = option((), doc="namespaces to watch", default_doc="all")
    read_only: bool = option(False, doc="refuse actions on this context only")
    auto_undo: bool = option(
        False, doc="undo a rollout opsdash started when it fails (ProgressDeadlineExceeded)"
    )
    rollout_timeout: float = option(
        600.0,
        doc="seconds an action follows its rollout before it says it is still going",
    )
    refresh: float = option(DEFAULT_REFRESH, doc="seconds between redraws", from_refresh=True)
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one API call may take")
    shell: tuple[str, ...] = option(
        ("/bin/sh",),
        doc='what E runs in the selected pod\'s container (kubectl exec -it), e.g. ["/bin/bash"]',
        blank_is_default=True,
    )

    @classmethod
    def default_name(cls, index: int, values: dict[str, Any]) -> str:
        return str(values.get("context") or "") or (f"kube{index}" if index else "kube")


class KubernetesSource(Source):
    kind: ClassVar[str] = "kubernetes"
    feeds = ClusterSnapshot
    config_class = KubernetesConfig
    setup_hint: ClassVar[str] = "a kubeconfig ($KUBECONFIG or ~/.kube/config)"

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[KubernetesConfig, ...]:
        """The current context of $KUBECONFIG (or ~/.kube/config), else the pod's
        service account; nothing when neither is there or the file is unreadable
        (a broken kubeconfig should not stop a dashboard nobody asked to watch it)."""
        env = detection.environ
        files = kubeconfig.kubeconfig_files("", env)
        if any(f.is_file() for f in files):
            try:
                current = kubeconfig.load(files).current_context
            except SourceError:
                current = ""
            if current:
                return (KubernetesConfig(name=current, context=current, refresh=detection.refresh),)
        if kubeconfig.in_cluster(env):
            return (
                KubernetesConfig(name="in-cluster", in_cluster=True, refresh=detection.refresh),
            )
        return ()

    def __init__(self, config: KubernetesConfig, environ: Any = None):
        import os

        name = config.name or config.context or "kube"
        super().__init__(name, config.refresh, config.timeout)
        self.config = config
        self.read_only = config.read_only
        self.auto_undo = config.auto_undo
        self.api = KubeApi(config, os.environ if environ is None else environ)
        self._watches: dict[tuple[str, str], ResourceWatch] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._version = 0
        self._built: tuple[int, ClusterSnapshot] | None = None

    @property
    def context(self) -> str:
        return self.api.context or self.config.context or self.name

    # --- watching -------------------------------------------------------------------

    def _changed(self) -> None:
        self._version += 1

    def _scopes(self) -> tuple[str, ...]:
        return self.config.namespaces or ("",)

    def _start(self) -> None:
        """On the HTTP loop: one list+watch per resource type and namespace."""
        if self._tasks:
            return
        for kind, group, plural in RESOURCES:
            for namespace in self._scopes():
                path = (
                    f"{group}/namespaces/{namespace}/{plural}" if namespace else f"{group}/{plural}"
                )
                # Records name the source (unique), which is the context unless the
                # table calls it otherwise: Poller.source_of finds it by that name.
                if kind == "Pod":
                    record = partial(kube_map.pod, self.name)
                else:
                    record = partial(kube_map.workload, self.name, kind)
                watch = ResourceWatch(self.api, path, record, self._changed)
                self._watches[(kind, namespace)] = watch
                self._tasks.append(asyncio.get_running_loop().create_task(watch.run()))

    async def _first_sync(self) -> None:
        self._start()
        pending = [w.synced.wait() for w in self._watches.values() if not w.synced.is_set()]
        if pending:
            _done, waiting = await asyncio.wait(
                [asyncio.ensure_future(p) for p in pending], timeout=self.config.timeout
            )
            for future in waiting:
                future.cancel()

    async def _snapshot(self) -> ClusterSnapshot:
        await self._first_sync()
        await self._probe_if_quiet()
        errors = [w.error for w in self._watches.values() if w.error]
        unsynced = [w for w in self._watches.values() if not w.synced.is_set()]
        if errors:
            raise SourceError(errors[0])
        if unsynced:
            raise SourceError(f"{unsynced[0].path}: no list within {self.config.timeout:g}s")
        if self._built is not None and self._built[0] == self._version:
            return self._built[1]
        version = self._version
        workloads: list[KubeWorkload] = []
        pods: list[KubePod] = []
        for (kind, _ns), watch in self._watches.items():
            (pods if kind == "Pod" else workloads).extend(watch.items.values())
        workloads.sort(key=lambda w: (w.namespace, w.name, w.kind))
        pods.sort(key=lambda p: (p.namespace, p.name))
        snapshot = ClusterSnapshot(
            context=self.name,
            kube_context=self.context,
            source=self.label,
            namespaces=self.config.namespaces,
            workloads=tuple(workloads),
            pods=tuple(pods),
            taken_at=datetime.now(UTC),
            server=self.api.server,
            read_only=self.read_only,
            notes=tuple(w.unavailable for w in self._watches.values() if w.unavailable),
        )
        self._built = (version, snapshot)
        return snapshot

    async def _probe_if_quiet(self) -> None:
        heard = max((w.last_data for w in self._watches.values()), default=0.0)
        if not heard or asyncio.get_running_loop().time() - heard < QUIET_SECONDS:
            return
        await self.api.get("/version")  # raises: the poll's error; the watches carry on
        for watch in self._watches.values():
            watch.last_data = asyncio.get_running_loop().time()

    def poll(self) -> ClusterSnapshot:
        # Read the kubeconfig (and import lightkube) here in the poller's thread,
        # not on the HTTP loop every source shares; its problems are the poll's error.
        self.api.client()
        return run_sync(self._snapshot(), timeout=self.config.timeout + 5)

    def health_note(self) -> str:
        if self._built is None:
            return ""
        pods = len(self._built[1].pods)
        return "1 pod" if pods == 1 else f"{pods} pods"  # short: several contexts share the header

    def watch_stats(self) -> dict[str, int]:
        """How often each loop listed, reconnected and was told of a change (tests, benchmark)."""
        watches = list(self._watches.values())
        return {
            "lists": sum(w.lists for w in watches),
            "events": sum(w.events for w in watches),
            "reconnects": sum(w.reconnects for w in watches),
        }

    def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        loop = _Loop.get()
        for task in tasks:
            loop.call_soon_threadsafe(task.cancel)
        self.api.close()

    # --- what the screens and actions ask ------------------------------------------

    async def _current(self, kind: str, namespace: str, name: str) -> Any:
        for (watched, _ns), watch in self._watches.items():
            if watched != kind:
                continue
            for record in watch.items.values():
                if record.namespace == namespace and record.name == name:
                    return record
        return None

    def current(self, kind: str, namespace: str, name: str) -> KubeWorkload | KubePod | None:
        """The record the watches hold now (fresh within an event's delay)."""
        return run_sync(self._current(kind, namespace, name), timeout=self.config.timeout)

    def read(self, kind: str, namespace: str, name: str) -> KubeWorkload:
        """A workload read from the server now, not from the watch."""
        obj = self.api.call("GET", object_path(kind, namespace, name))
        return kube_map.workload(self.name, kind, obj)

    def replicasets(self, workload: KubeWorkload) -> list[dict[str, Any]]:
        """The raw ReplicaSets a Deployment owns (undo needs their templates)."""
        selector = ",".join(f"{k}={v}" for k, v in workload.selector)
        body = self.api.call(
            "GET",
            f"/apis/apps/v1/namespaces/{workload.namespace}/replicasets",
            params={"labelSelector": selector} if selector else None,
        )
        return [
            rs
            for rs in body.get("items") or []
            if any(
                o.get("uid") == workload.uid and o.get("controller")
                for o in (rs.get("metadata") or {}).get("ownerReferences") or []
            )
        ]

    def details(self, workload: KubeWorkload) -> WorkloadDetails:
        """Enter on a workload: its pods, its history and its events, newest first."""
        snapshot = self._built[1] if self._built else None
        pods = snapshot.pods_of(workload) if snapshot else ()
        revisions = []
        if workload.kind == "Deployment":
            owned = self.replicasets(workload)
            revisions = sorted(
                (kube_map.revision(rs, workload.revision) for rs in owned),
                key=lambda r: r.number,
                reverse=True,
            )
        return WorkloadDetails(
            workload=workload,
            pods=pods,
            revisions=tuple(revisions),
            events=tuple(self.events(workload, pods)),
        )

    def events(self, workload: KubeWorkload, pods: tuple[KubePod, ...] = ()) -> list[KubeEvent]:
        """Events of the workload, its ReplicaSets and its pods, newest first."""
        body = self.api.call(
            "GET", f"/api/v1/namespaces/{workload.namespace}/events", params={"limit": 500}
        )
        names = {workload.name} | {p.name for p in pods}
        prefix = f"{workload.name}-"  # its ReplicaSets and their pods

        def about_it(e: Any) -> bool:
            name = str((e.get("involvedObject") or {}).get("name", ""))
            return name in names or name.startswith(prefix)

        items = [e for e in body.get("items") or [] if isinstance(e, dict)]
        events = [kube_map.event(e) for e in items if about_it(e)]
        floor = datetime.min.replace(tzinfo=UTC)
        events.sort(key=lambda e: e.at or floor, reverse=True)
        return events[:MAX_EVENTS]

    def pod_logs(
        self,
        pod: KubePod,
        container: str,
        *,
        tail: int = 1000,
        follow: bool = True,
        previous: bool = False,
    ) -> PodLogStream:
        params: dict[str, Any] = {"container": container, "tailLines": tail}
        if follow and not previous:
            params["follow"] = "true"
        if previous:
            params["previous"] = "true"
        return PodLogStream(self.api, object_path("Pod", pod.namespace, pod.name, "log"), params)

    def kubectl_access(self) -> kubeconfig.KubectlAccess:
        """`E` on a pod: the files and context this source reads (no I/O; the
        context is the one the first poll resolved, else the configured one)."""
        shell = self.config.shell or ("/bin/sh",)
        if self.config.in_cluster:
            return kubeconfig.KubectlAccess((), "", in_cluster=True, shell=shell)
        files = kubeconfig.kubeconfig_files(self.config.kubeconfig, self.api.environ)
        return kubeconfig.KubectlAccess(files, self.api.context or self.config.context, shell=shell)

    def delete_pod(self, pod: KubePod) -> dict[str, Any]:
        return self.api.call("DELETE", object_path("Pod", pod.namespace, pod.name))
