"""The dashboard's panels. Each renders only what the screen hands it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from opsdash.formatting import human_bytes, human_duration
from opsdash.model import Container, HostStats, PipelineRun, Service, SourceHealth
from opsdash.model.deployments import ServiceDeployments
from opsdash.model.ml import ModelRow
from opsdash.safetext import literal
from opsdash.views import (
    CONTAINER_COLUMNS,
    DEPLOYMENT_COLUMNS,
    MODEL_COLUMNS,
    RUN_COLUMNS,
    SERVICE_COLUMNS,
    container_search_text,
    deployment_search_text,
    model_search_text,
    run_search_text,
    service_search_text,
)
from opsdash.widgets.resource_table import ResourceTable

PANEL_TITLES = ("Containers", "Host", "Pipelines", "Deployments", "Models")


class Panel(Vertical):
    """A bordered, numbered panel; `focus_target` is what 1..5 and tab focus."""

    def __init__(self, number: int, *, id: str):
        super().__init__(id=id, classes="panel")
        self.number = number
        self.border_title = f"{number} {PANEL_TITLES[number - 1]}"

    @property
    def focus_targets(self) -> list:
        return [self]


class FilterInput(Input):
    """The `/` filter line of a table; hidden until used."""

    def __init__(self, table_id: str, **kwargs):
        super().__init__(placeholder="filter: words match name, image, state, labels", **kwargs)
        self.table_id = table_id


def _status_line(problems: Sequence[SourceHealth]) -> Text:
    text = Text()
    for health in problems:
        if text:
            text.append("\n")
        text.append(f"{health.kind}:{health.source} {health.state.value}: ", style="bold red")
        text.append_text(literal(health.message))
    return text


class ContainersPanel(Panel):
    """Containers of every Docker host, then Swarm services when there are any."""

    def compose(self) -> ComposeResult:
        yield Static(id="containers-status", classes="panel-status")
        yield FilterInput("containers-table", id="containers-filter", classes="filter")
        yield ResourceTable(CONTAINER_COLUMNS, container_search_text, id="containers-table")
        yield Static(Text("Swarm services", style="bold"), id="services-title")
        yield FilterInput("services-table", id="services-filter", classes="filter")
        yield ResourceTable(SERVICE_COLUMNS, service_search_text, id="services-table")

    def on_mount(self) -> None:
        self.query_one("#containers-table", ResourceTable).set_hidden_columns({"host"})
        self.query_one("#services-table", ResourceTable).set_hidden_columns({"host"})
        self.set_class(True, "-no-services")
        self.show_message(Text("Waiting for the first poll…", style="dim"))

    @property
    def focus_targets(self) -> list:
        targets: list = [self.query_one("#containers-table")]
        if not self.has_class("-no-services"):
            targets.append(self.query_one("#services-table"))
        return targets

    def show_message(self, message: Text | None) -> None:
        status = self.query_one("#containers-status", Static)
        status.display = bool(message)
        status.update(message or "")

    def update_data(
        self,
        containers: Sequence[Container],
        services: Sequence[Service],
        *,
        multi_host: bool,
        problems: Sequence[SourceHealth],
        configured: bool,
    ) -> None:
        containers_table = self.query_one("#containers-table", ResourceTable)
        services_table = self.query_one("#services-table", ResourceTable)
        hidden = set() if multi_host else {"host"}
        containers_table.set_hidden_columns(hidden)
        services_table.set_hidden_columns(hidden)
        containers_table.update_records(containers)
        services_table.update_records(services)
        self.set_class(not services, "-no-services")
        if not configured:
            self.show_message(
                Text(
                    "No Docker engine found: DOCKER_HOST is unset and /var/run/docker.sock "
                    "does not exist. Add a [[docker]] table (see docs/config.md).",
                    style="yellow",
                )
            )
        elif problems:
            self.show_message(_status_line(problems))
        else:
            self.show_message(None)


class PipelinesPanel(Panel):
    """Runs of every CI source, newest first. Its keys act on the selected run."""

    BINDINGS = [
        Binding("r", "screen.pipeline('rerun')", "Rerun", id="pipeline-rerun"),
        Binding("F", "screen.pipeline('rerun-failed')", "Rerun failed", id="pipeline-rerun-failed"),
        Binding("c", "screen.pipeline('cancel')", "Cancel run", id="pipeline-cancel"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="pipelines-status", classes="panel-status")
        yield FilterInput("pipelines-table", id="pipelines-filter", classes="filter")
        yield ResourceTable(
            RUN_COLUMNS, run_search_text, id="pipelines-table", sort_column="started"
        )

    def on_mount(self) -> None:
        self.show_message(Text("Waiting for the first poll…", style="dim"))

    @property
    def focus_targets(self) -> list:
        return [self.query_one("#pipelines-table")]

    def show_message(self, message: Text | None) -> None:
        status = self.query_one("#pipelines-status", Static)
        status.display = bool(message)
        status.update(message or "")

    def update_data(
        self,
        runs: Sequence[PipelineRun],
        *,
        problems: Sequence[SourceHealth],
        configured: bool,
        multi_source: bool,
    ) -> None:
        table = self.query_one("#pipelines-table", ResourceTable)
        table.set_hidden_columns(set() if multi_source else {"source"})
        table.update_records(runs)
        if not configured:
            self.show_message(
                Text(
                    "No CI source configured. Add [[github]], [[gitlab]], [[jenkins]] or "
                    "[[buildbot]] (docs/config.md), or run opsdash inside a GitHub/GitLab "
                    "checkout with GITHUB_TOKEN or GITLAB_TOKEN set.",
                    style="yellow",
                )
            )
        elif problems:
            self.show_message(_status_line(problems))
        else:
            self.show_message(None)


class DeploymentsPanel(Panel):
    """The DORA keys per service (apps and models) over 30 days, with trends."""

    def compose(self) -> ComposeResult:
        yield Static(id="deployments-status", classes="panel-status")
        yield FilterInput("deployments-table", id="deployments-filter", classes="filter")
        yield ResourceTable(DEPLOYMENT_COLUMNS, deployment_search_text, id="deployments-table")

    def on_mount(self) -> None:
        self.show_message(Text("Waiting for the first poll…", style="dim"))

    @property
    def focus_targets(self) -> list:
        return [self.query_one("#deployments-table")]

    def show_message(self, message: Text | None) -> None:
        status = self.query_one("#deployments-status", Static)
        status.display = bool(message)
        status.update(message or "")

    def update_data(
        self,
        rows: Sequence[ServiceDeployments],
        *,
        problems: Sequence[SourceHealth],
        configured: bool,
    ) -> None:
        self.query_one("#deployments-table", ResourceTable).update_records(rows)
        if not configured:
            self.show_message(
                Text("The DORA keys need the data store; it could not be opened.", style="yellow")
            )
        elif problems:
            self.show_message(_status_line(problems))
        elif not rows:
            self.show_message(
                Text(
                    "No deployment yet. Redeploys, rollbacks, CI deploy runs, image changes and "
                    "model promotions land here (docs/dora.md).",
                    style="dim",
                )
            )
        else:
            self.show_message(None)


class ModelsPanel(Panel):
    """Model quality per model and metric: serving vs challenger, trend, thresholds."""

    BINDINGS = [
        Binding("P", "screen.model('promote')", "Promote", id="model-promote"),
        Binding("u", "screen.model('rollback')", "Roll back alias", id="model-rollback"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="models-status", classes="panel-status")
        yield FilterInput("models-table", id="models-filter", classes="filter")
        yield ResourceTable(MODEL_COLUMNS, model_search_text, id="models-table")

    def on_mount(self) -> None:
        self.show_message(Text("Waiting for the first poll…", style="dim"))

    @property
    def focus_targets(self) -> list:
        return [self.query_one("#models-table")]

    def show_message(self, message: Text | None) -> None:
        status = self.query_one("#models-status", Static)
        status.display = bool(message)
        status.update(message or "")

    def update_data(
        self,
        rows: Sequence[ModelRow],
        *,
        problems: Sequence[SourceHealth],
        notes: Sequence[str],
        configured: bool,
        multi_source: bool,
    ) -> None:
        table = self.query_one("#models-table", ResourceTable)
        table.set_hidden_columns(set() if multi_source else {"source"})
        table.update_records(rows)
        if not configured:
            self.show_message(
                Text(
                    "No model source configured. Add [[mlflow]] or [[prometheus]] "
                    "(docs/config.md), or set MLFLOW_TRACKING_URI.",
                    style="yellow",
                )
            )
        elif problems or notes:
            text = _status_line(problems)
            for note in notes:
                if text:
                    text.append("\n")
                text.append_text(literal(note, "yellow"))
            self.show_message(text)
        else:
            self.show_message(None)


class HostPanel(Panel):
    """CPU, load, memory, swap, disks and uptime of each host source."""

    can_focus = True

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="host-scroll"):
            yield Static(Text("Waiting for the first poll…", style="dim"), id="host-body")

    def update_data(
        self, hosts: Sequence[HostStats], problems: Sequence[SourceHealth], now: datetime
    ) -> None:
        parts: list = [_status_line(problems)] if problems else []
        for host in hosts:
            parts.append(_host_table(host, now))
        body = self.query_one("#host-body", Static)
        body.update(Group(*parts) if parts else Text("No host source configured.", style="dim"))


def _bar(percent: float, width: int = 12) -> Text:
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    style = "green" if percent < 70 else "yellow" if percent < 90 else "red"
    return Text("|" * filled, style=style) + Text("." * (width - filled), style="dim")


def _host_table(host: HostStats, now: datetime) -> Table:
    table = Table.grid(padding=(0, 1))
    table.title = host.hostname
    table.title_justify = "left"
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_row("CPU", _bar(host.cpu_percent), f"{host.cpu_percent:5.1f}% of {host.cpu_count}")
    table.add_row("Load", "", " ".join(f"{x:.2f}" for x in host.load))
    table.add_row(
        "Mem",
        _bar(host.memory_percent),
        f"{human_bytes(host.memory_used)}/{human_bytes(host.memory_total)}",
    )
    table.add_row(
        "Swap",
        _bar(host.swap_percent),
        f"{human_bytes(host.swap_used)}/{human_bytes(host.swap_total)}"
        if host.swap_total
        else "none",
    )
    for disk in host.disks:
        table.add_row(
            literal(f"Disk {disk.path}"),
            _bar(disk.percent),
            f"{human_bytes(disk.used)}/{human_bytes(disk.total)}",
        )
    table.add_row("Up", "", human_duration((now - host.boot_time).total_seconds()))
    return table
