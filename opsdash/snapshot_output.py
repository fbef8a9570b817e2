"""What `opsdash check` and `opsdash snapshot` print for each snapshot type:
the one-line summary and the tables. Sources are routed here by what their
poll returns, so a new source of a known snapshot type needs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.table import Table

from opsdash.formatting import human_bytes, human_duration
from opsdash.model import DockerSnapshot, HostStats, PipelineSnapshot, RunStatus, SourceResult
from opsdash.model.deployments import DeploymentsSnapshot
from opsdash.model.kube import ClusterSnapshot, RolloutState
from opsdash.model.ml import ModelsSnapshot
from opsdash.safetext import literal
from opsdash.views.common import Column
from opsdash.views.containers import CONTAINER_COLUMNS, SERVICE_COLUMNS
from opsdash.views.deployments import DEPLOYMENT_COLUMNS
from opsdash.views.kube import POD_COLUMNS, WORKLOAD_COLUMNS
from opsdash.views.models import MODEL_COLUMNS
from opsdash.views.pipelines import RUN_COLUMNS, hidden_run_columns


def _docker_summary(data: DockerSnapshot) -> str:
    running = sum(1 for c in data.containers if c.running)
    text = f"engine {data.engine_version}, {running}/{len(data.containers)} containers running"
    if data.swarm_manager:
        text += f", {len(data.services)} services"
    return text


def _host_summary(data: HostStats) -> str:
    return f"{data.hostname}: cpu {data.cpu_percent:.0f}%, mem {data.memory_percent:.0f}%"


def _pipeline_summary(data: PipelineSnapshot) -> str:
    failed = sum(1 for r in data.runs if r.status is RunStatus.FAILED)
    running = sum(1 for r in data.runs if not r.status.finished)
    text = f"{len(data.runs)} runs, {running} running or queued, {failed} failed"
    return f"{text}; {data.quota}" if data.quota else text


def _cluster_summary(data: ClusterSnapshot) -> str:
    failing = sum(1 for w in data.workloads if w.rollout is RolloutState.FAILED)
    trouble = sum(1 for p in data.pods if p.trouble)

    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    return (
        f"context {data.context}: {n(len(data.workloads), 'workload', 'workloads')}, "
        f"{n(len(data.pods), 'pod', 'pods')}, "
        f"{n(failing, 'failing rollout', 'failing rollouts')}, "
        f"{n(trouble, 'pod in trouble', 'pods in trouble')}"
    )


def summary(result: SourceResult) -> str:
    """The `opsdash check` line of one poll."""
    if not result.ok:
        return result.error or ""
    summary = _by_type(SUMMARIES, result.data)
    return summary(result.data) if summary is not None else ""


def _by_type(table: dict[type, Any], data: object) -> Any:
    """The entry for the snapshot's type (or a base of it): sources are routed by
    what they return, so a new source of a known snapshot type needs nothing here."""
    return next((entry for t, entry in table.items() if isinstance(data, t)), None)


def _table(title: str, columns: list[Column], rows: list, skip: set[str]) -> Table:
    now = datetime.now().astimezone()
    shown = [c for c in columns if c.key not in skip]
    table = Table(
        *[c.label for c in shown],
        title=literal(title, "table.title"),
        title_justify="left",
        box=None,
    )
    for row in rows:
        table.add_row(*[c.render(row, now) for c in shown])
    return table


def _docker_tables(label: str, data: DockerSnapshot) -> list[Table]:
    tables = [_table(f"{label}: containers", CONTAINER_COLUMNS, list(data.containers), {"host"})]
    if data.swarm_manager:
        tables.append(_table(f"{label}: services", SERVICE_COLUMNS, list(data.services), {"host"}))
    return tables


def _pipeline_tables(label: str, data: PipelineSnapshot) -> list[Table]:
    hidden = hidden_run_columns(data.runs, multi_source=True)
    return [_table(f"{label}: pipeline runs", RUN_COLUMNS, list(data.runs), hidden)]


def _deployment_tables(_label: str, data: DeploymentsSnapshot) -> list[Table]:
    title = f"DORA keys over 30 days ({data.timezone})"
    return [_table(title, DEPLOYMENT_COLUMNS, list(data.services), set())]


def _model_tables(label: str, data: ModelsSnapshot) -> list[Table]:
    return [_table(f"{label}: models", MODEL_COLUMNS, list(data.rows), set())]


def _cluster_tables(label: str, data: ClusterSnapshot) -> list[Table]:
    return [
        _table(f"{label}: workloads", WORKLOAD_COLUMNS, list(data.workloads), {"context"}),
        _table(f"{label}: pods", POD_COLUMNS, list(data.pods), {"context"}),
    ]


def _host_table(label: str, host: HostStats) -> Table:
    table = Table(
        "METRIC",
        "VALUE",
        title=literal(f"{label}: host", "table.title"),
        title_justify="left",
        box=None,
    )
    uptime = (datetime.now().astimezone() - host.boot_time).total_seconds()
    table.add_row("cpu", f"{host.cpu_percent:.1f}% of {host.cpu_count} cores")
    table.add_row("load", " ".join(f"{x:.2f}" for x in host.load))
    table.add_row(
        "memory",
        f"{human_bytes(host.memory_used)} / {human_bytes(host.memory_total)} "
        f"({host.memory_percent:.0f}%)",
    )
    table.add_row("swap", f"{human_bytes(host.swap_used)} / {human_bytes(host.swap_total)}")
    for disk in host.disks:
        table.add_row(
            literal(f"disk {disk.path}"),
            f"{human_bytes(disk.used)} / {human_bytes(disk.total)} ({disk.percent:.0f}%)",
        )
    table.add_row("uptime", human_duration(uptime))
    return table


# Snapshot type -> its line in `opsdash check` and its tables in `opsdash snapshot`.
SUMMARIES: dict[type, Callable[[Any], str]] = {
    DockerSnapshot: _docker_summary,
    HostStats: _host_summary,
    PipelineSnapshot: _pipeline_summary,
    ClusterSnapshot: _cluster_summary,
}
TABLES: dict[type, Callable[[str, Any], list[Table]]] = {
    DockerSnapshot: _docker_tables,
    HostStats: lambda label, data: [_host_table(label, data)],
    PipelineSnapshot: _pipeline_tables,
    DeploymentsSnapshot: _deployment_tables,
    ModelsSnapshot: _model_tables,
    ClusterSnapshot: _cluster_tables,
}


def snapshot_tables(label: str, data: object) -> list[Table]:
    """The `opsdash snapshot` tables of one poll (none for an unknown type)."""
    tables = _by_type(TABLES, data)
    return tables(label, data) if tables is not None else []
