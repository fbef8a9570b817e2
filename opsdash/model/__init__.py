"""The plain domain model: what sources report and widgets render.

Frozen dataclasses only. Nothing here knows about Textual, Rich or any SDK, so
the same records serve the TUI, `opsdash snapshot --json` and later history.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta


class HealthState(enum.StrEnum):
    """How much the data shown for a source can be trusted."""

    PENDING = "pending"  # never polled yet
    OK = "ok"  # the last poll succeeded
    STALE = "stale"  # a poll is overdue (slow or hung); last good data is shown
    ERROR = "error"  # the last poll failed; a retry is scheduled


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    kind: str
    state: HealthState = HealthState.PENDING
    message: str = ""
    last_ok: datetime | None = None
    last_attempt: datetime | None = None
    latency_s: float | None = None
    failures: int = 0
    next_retry: datetime | None = None

    @property
    def label(self) -> str:
        """kind:name, the key the poller and the store know the source by."""
        return f"{self.kind}:{self.source}"


@dataclass(frozen=True, slots=True)
class Port:
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int | None = None

    def __str__(self) -> str:
        if self.host_port is None:
            return f"{self.container_port}/{self.protocol}"
        ip = f"{self.host_ip}:" if self.host_ip and self.host_ip not in ("0.0.0.0", "::") else ""
        return f"{ip}{self.host_port}->{self.container_port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Container:
    host: str  # name of the Docker host (config entry) it runs on
    id: str
    name: str
    image: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    status: str  # Docker's human status, e.g. "Up 5 minutes (healthy)"
    health: str = ""  # healthy, unhealthy, starting, or "" without a healthcheck
    created: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    restart_count: int = 0
    ports: tuple[Port, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    compose_project: str = ""
    compose_service: str = ""
    cpu_percent: float | None = None
    memory_used: int | None = None
    memory_limit: int | None = None
    image_id: str = ""  # sha256:...: what a redeploy or an outside image change changes

    @property
    def key(self) -> str:
        return f"{self.host}/{self.id}"

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def image_tag(self) -> str:
        """The tag part of the image reference, "latest" when none is given."""
        ref = self.image.split("@", 1)[0]
        last = ref.rsplit("/", 1)[-1]
        return last.split(":", 1)[1] if ":" in last else ("" if "@" in self.image else "latest")


@dataclass(frozen=True, slots=True)
class Mount:
    type: str
    source: str
    destination: str
    mode: str = ""
    read_write: bool = True


@dataclass(frozen=True, slots=True)
class HealthProbe:
    start: str
    exit_code: int
    output: str


@dataclass(frozen=True, slots=True)
class ContainerDetails:
    """Everything `inspect` tells about one container, secrets already masked."""

    container: Container
    image_id: str = ""
    image_digests: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    mounts: tuple[Mount, ...] = ()
    networks: tuple[tuple[str, str], ...] = ()  # (network name, IP address)
    restart_policy: str = ""
    env_names: tuple[str, ...] = ()  # names only: values are never kept
    health_log: tuple[HealthProbe, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    """A Swarm service as seen from a manager."""

    host: str
    id: str
    name: str
    image: str
    mode: str  # replicated, global, replicated-job, global-job
    replicas_running: int
    replicas_desired: int | None  # None for global services
    update_state: str = ""  # updating, paused, completed, rollback_started, ... or ""
    update_message: str = ""
    created: datetime | None = None
    updated: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.host}/{self.id}"

    @property
    def update_words(self) -> str:
        """The update state as people say it: `rolled back`, not `rollback_completed`."""
        return swarm_update_words(self.update_state)


# Swarm's UpdateStatus.State values, in words (an unknown one keeps its own, less `_`).
SWARM_UPDATE_WORDS = {
    "updating": "updating",
    "paused": "paused",
    "completed": "completed",
    "rollback_started": "rolling back",
    "rollback_paused": "rollback paused",
    "rollback_completed": "rolled back",
}


def swarm_update_words(state: str) -> str:
    return SWARM_UPDATE_WORDS.get(state, state.replace("_", " "))


@dataclass(frozen=True, slots=True)
class DiskUsage:
    path: str
    total: int
    used: int
    percent: float


@dataclass(frozen=True, slots=True)
class HostStats:
    hostname: str
    cpu_percent: float
    cpu_count: int
    load: tuple[float, float, float]
    memory_total: int
    memory_used: int
    memory_percent: float
    swap_total: int
    swap_used: int
    swap_percent: float
    disks: tuple[DiskUsage, ...]
    boot_time: datetime


@dataclass(frozen=True, slots=True)
class DockerSnapshot:
    """One poll of a Docker host."""

    host: str
    containers: tuple[Container, ...] = ()
    services: tuple[Service, ...] = ()
    swarm_manager: bool = False
    engine_version: str = ""


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What one poll of one source produced: data or an error, and timing."""

    source: str
    data: object | None
    error: str | None = None
    latency_s: float = 0.0
    finished: datetime = field(default_factory=lambda: datetime.now().astimezone())

    @property
    def ok(self) -> bool:
        return self.error is None


def to_jsonable(value: object) -> object:
    """Turn model records into JSON-ready structures (for `snapshot --json`)."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}  # type: ignore[arg-type]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    return value


# Re-exported so callers import every record from `opsdash.model`.
from opsdash.model.ml import (  # noqa: E402
    AliasChange,
    AliasPlan,
    MetricPoint,
    ModelRow,
    ModelsSnapshot,
    ModelVersion,
    ThresholdState,
    threshold_state,
)
from opsdash.model.pipelines import (  # noqa: E402
    PipelineDefinition,
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    PipelineStep,
    RunStatus,
    VendorDeployment,
)

__all__ = [
    "AliasChange",
    "AliasPlan",
    "Container",
    "ContainerDetails",
    "DiskUsage",
    "DockerSnapshot",
    "HealthProbe",
    "HealthState",
    "HostStats",
    "MetricPoint",
    "ModelRow",
    "ModelVersion",
    "ModelsSnapshot",
    "Mount",
    "PipelineDefinition",
    "PipelineJob",
    "PipelineRun",
    "PipelineSnapshot",
    "PipelineStep",
    "Port",
    "RunStatus",
    "Service",
    "SourceHealth",
    "SourceResult",
    "ThresholdState",
    "VendorDeployment",
    "threshold_state",
    "to_jsonable",
]
