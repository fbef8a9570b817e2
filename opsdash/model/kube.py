"""What a Kubernetes cluster shows: its workloads and pods, per kubeconfig context.

A `ClusterSnapshot` is what one context's source returns from `poll()`; the
cluster panel, the CLI tables, the actions and the deployment watcher reach it
by this type. The records are plain data: the source maps the API's objects
onto them (`opsdash.sources.kube_map`) as watch events arrive, so a poll that
sees no change costs nothing. Every string here came from the cluster and is
untrusted: render it literally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# The short names the resource prompt takes, as kubectl spells them.
RESOURCE_ALIASES = {
    "deploy": "Deployment",
    "deployment": "Deployment",
    "deployments": "Deployment",
    "sts": "StatefulSet",
    "statefulset": "StatefulSet",
    "statefulsets": "StatefulSet",
    "ds": "DaemonSet",
    "daemonset": "DaemonSet",
    "daemonsets": "DaemonSet",
    "po": "Pod",
    "pod": "Pod",
    "pods": "Pod",
}


class RolloutState(Enum):
    """A workload's rollout, decided as `kubectl rollout status` decides it."""

    COMPLETE = "complete"
    PROGRESSING = "progressing"
    FAILED = "failed"  # ProgressDeadlineExceeded
    PAUSED = "paused"
    UNKNOWN = "unknown"  # an update strategy kubectl does not follow (OnDelete)

    @property
    def finished(self) -> bool:
        return self in (RolloutState.COMPLETE, RolloutState.FAILED)


# Waiting and termination reasons the pod table highlights.
TROUBLE_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "OOMKilled",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "RunContainerError",
        "Error",
        "ContainerCannotRun",
        "Evicted",
    }
)


@dataclass(frozen=True, slots=True)
class PodContainer:
    name: str
    image: str
    ready: bool
    restarts: int
    state: str  # running, waiting, terminated
    reason: str = ""  # of the current state (CrashLoopBackOff, Completed, ...)
    last_reason: str = ""  # of the last termination (OOMKilled, Error, ...)
    last_exit: int | None = None


@dataclass(frozen=True, slots=True)
class KubePod:
    context: str
    namespace: str
    name: str
    uid: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    containers: tuple[PodContainer, ...]
    node: str = ""
    created: datetime | None = None
    owner: str = ""  # "ReplicaSet/web-5d9c7" of its controller
    labels: tuple[tuple[str, str], ...] = ()
    deleting: bool = False
    reason: str = ""  # the pod's own status.reason (Evicted, ...)

    @property
    def key(self) -> str:
        return f"{self.context}/{self.namespace}/{self.name}"

    @property
    def ready(self) -> int:
        return sum(1 for c in self.containers if c.ready)

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.containers)

    @property
    def trouble(self) -> str:
        """The reason worth highlighting, if any: the current waiting reason of a
        container first (CrashLoopBackOff, ImagePullBackOff), else its last
        termination's (OOMKilled), else the pod's own (Evicted)."""
        for c in self.containers:
            if c.reason in TROUBLE_REASONS:
                return c.reason
        for c in self.containers:
            if c.last_reason in TROUBLE_REASONS and not c.ready:
                return c.last_reason
        for c in self.containers:
            if c.last_reason == "OOMKilled":
                return c.last_reason
        return self.reason if self.reason in TROUBLE_REASONS else ""

    @property
    def status_word(self) -> str:
        """What kubectl's STATUS column says."""
        if self.deleting:
            return "Terminating"
        return self.trouble or self.reason or self.phase

    @property
    def container_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.containers)

    @property
    def crashed(self) -> tuple[str, ...]:
        """Containers that restarted: `previous` logs exist for them."""
        return tuple(c.name for c in self.containers if c.restarts > 0)


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class KubeWorkload:
    context: str
    kind: str  # Deployment, StatefulSet, DaemonSet
    namespace: str
    name: str
    uid: str
    desired: int
    ready: int
    updated: int
    available: int
    containers: tuple[tuple[str, str], ...]  # (container, image) of the pod template
    revision: str = ""  # Deployment: its revision annotation; else the update revision
    created: datetime | None = None
    generation: int = 0
    observed_generation: int = 0
    rollout: RolloutState = RolloutState.COMPLETE
    rollout_message: str = ""
    paused: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    selector: tuple[tuple[str, str], ...] = ()  # matchLabels
    conditions: tuple[Condition, ...] = ()
    change_cause: str = ""  # kubernetes.io/change-cause

    @property
    def key(self) -> str:
        return f"{self.context}/{self.kind}/{self.namespace}/{self.name}"

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(image for _name, image in self.containers)

    @property
    def short_kind(self) -> str:
        return {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds"}.get(
            self.kind, self.kind.lower()
        )

    @property
    def ref(self) -> str:
        """How kubectl names it: deployment/web."""
        return f"{self.kind.lower()}/{self.name}"

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")

    def owns(self, pod: KubePod) -> bool:
        """Whether `pod` is one of this workload's: same namespace and its
        selector's labels (what the controller itself goes by)."""
        if pod.context != self.context or pod.namespace != self.namespace or not self.selector:
            return False
        labels = dict(pod.labels)
        return all(labels.get(k) == v for k, v in self.selector)


@dataclass(frozen=True, slots=True)
class Revision:
    """One entry of a workload's history: a ReplicaSet (Deployment) or a
    ControllerRevision, with the images of its template."""

    number: int
    name: str
    containers: tuple[tuple[str, str], ...]
    replicas: int = 0
    created: datetime | None = None
    change_cause: str = ""
    current: bool = False


@dataclass(frozen=True, slots=True)
class KubeEvent:
    at: datetime | None
    type: str  # Normal, Warning
    reason: str
    message: str
    object: str  # "Pod/web-5d9c7-abcde"
    count: int = 1


@dataclass(frozen=True, slots=True)
class WorkloadDetails:
    """What Enter on a workload shows, read when asked (not watched)."""

    workload: KubeWorkload
    pods: tuple[KubePod, ...]
    revisions: tuple[Revision, ...]  # newest first
    events: tuple[KubeEvent, ...]  # newest first


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """One kubeconfig context: everything its watches hold right now.

    `context`, here and on every record, is the source's name: the kubeconfig
    context unless its [[kubernetes]] table names it otherwise (two tables may
    watch contexts of the same name in different files)."""

    context: str
    source: str  # the source's label, for the header and the actions
    namespaces: tuple[str, ...]  # () means all
    workloads: tuple[KubeWorkload, ...]
    pods: tuple[KubePod, ...]
    taken_at: datetime
    server: str = ""
    kube_context: str = ""  # the context's name in the kubeconfig
    read_only: bool = False
    notes: tuple[str, ...] = field(default=())

    def pods_of(self, workload: KubeWorkload) -> tuple[KubePod, ...]:
        return tuple(p for p in self.pods if workload.owns(p))
