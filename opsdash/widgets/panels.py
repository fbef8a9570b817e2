"""The dashboard's panels. Each renders only what the screen hands it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from opsdash.formatting import human_bytes, human_duration
from opsdash.model import (
    Container,
    DockerSnapshot,
    HostStats,
    PipelineRun,
    PipelineSnapshot,
    Service,
    SourceHealth,
)
from opsdash.model.deployments import DeploymentsSnapshot, ServiceDeployments
from opsdash.model.ml import ModelRow, ModelsSnapshot
from opsdash.safetext import literal
from opsdash.views.column_fit import cut_note
from opsdash.views.containers import (
    CONTAINER_COLUMNS,
    SERVICE_COLUMNS,
    container_search_text,
    service_search_text,
)
from opsdash.views.deployments import DEPLOYMENT_COLUMNS, deployment_search_text
from opsdash.views.models import MODEL_COLUMNS, model_search_text
from opsdash.views.pipelines import RUN_COLUMNS, hidden_run_columns, run_search_text
from opsdash.widgets.fitted_table import FittedTable
from opsdash.widgets.literal_input import LiteralInput
from opsdash.widgets.panel_frame import PANEL_TITLES, WAITING
from opsdash.widgets.quiet_static import QuietStatic
from opsdash.widgets.resource_table import ResourceTable
from opsdash.widgets.when_seen import SeenOnly, when_seen


def setup_text(noun: str, kinds: Sequence[tuple[str, str]]) -> str:
    """What an empty panel says: the [[kind]] tables that would feed it and what
    autodetection looks for, from the installed sources (third-party ones too)."""
    tables = [f"[[{kind}]]" for kind, _hint in kinds]
    either = ", ".join(tables[:-1]) + f" or {tables[-1]}" if len(tables) > 1 else tables[0]
    text = f"No {noun} configured. Add {either} (docs/config.md)"
    hints = [hint for _kind, hint in kinds if hint]
    return text + "".join(f", or {hint}" for hint in hints) + "."


class Panel(SeenOnly, Vertical):
    """A bordered, numbered panel; `focus_target` is what 1..6 and tab focus.
    Its `update_data` is `when_seen`: out of view it keeps the latest data only.

    `FEEDS` is the snapshot type whose data it shows; `NOUN` names its sources
    in the line it shows while none is configured."""

    FEEDS: type = object
    NOUN: str = "source"
    NOT_CONFIGURED: str = ""

    def __init__(self, number: int, *, id: str):
        super().__init__(id=id, classes="panel")
        self.number = number
        self.border_title = f"{number} {PANEL_TITLES[number - 1]}"
        self.not_configured = self.NOT_CONFIGURED

    def explain_unconfigured(self, kinds: Sequence[tuple[str, str]]) -> None:
        """`kinds`: (kind, setup hint) of every installed source that could feed it."""
        if kinds:
            self.not_configured = setup_text(self.NOUN, kinds)

    @property
    def focus_targets(self) -> list:
        return [self]


class FilterInput(LiteralInput):
    """The `/` filter line of a table; hidden until used."""

    def __init__(self, table_id: str, **kwargs):
        super().__init__(placeholder="filter: words match name, image, state, labels", **kwargs)
        self.table_id = table_id


def status_line(problems: Sequence[SourceHealth]) -> Text:
    text = Text()
    for health in problems:
        if text:
            text.append("\n")
        text.append(f"{health.label} {health.state.value}: ", style="bold red")
        text.append_text(literal(health.message))
    return text


class ContainersPanel(Panel):
    """Containers of every Docker host, then Swarm services when there are any."""

    FEEDS = DockerSnapshot
    NOUN = "container engine"

    def compose(self) -> ComposeResult:
        yield QuietStatic(id="containers-status", classes="panel-status", hide_empty=True)
        yield FilterInput("containers-table", id="containers-filter", classes="filter")
        yield FittedTable(CONTAINER_COLUMNS, container_search_text, id="containers-table")
        yield Static(Text("Swarm services", style="bold"), id="services-title")
        yield FilterInput("services-table", id="services-filter", classes="filter")
        yield FittedTable(SERVICE_COLUMNS, service_search_text, id="services-table")

    @on(FittedTable.ColumnsCut)
    def _say_what_is_cut(self, event: FittedTable.ColumnsCut) -> None:
        """Columns too wide for the panel are named: the containers' in its title
        (the bottom border is where toasts go), the services' beside their own."""
        event.stop()
        note = cut_note(event.labels)
        if event.table.id == "containers-table":
            self.border_title = f"{self.number} {PANEL_TITLES[0]}" + (f" · {note}" if note else "")
            return
        title = Text("Swarm services", style="bold")
        if note:
            title.append(f"  {note}", style="dim")
        self.query_one("#services-title", Static).update(title)

    def on_mount(self) -> None:
        self.query_one("#containers-table", ResourceTable).set_hidden_columns({"host"})
        self.query_one("#services-table", ResourceTable).set_hidden_columns({"host"})
        self.set_class(True, "-no-services")
        self.show_message(Text(WAITING, style="dim"))

    @property
    def focus_targets(self) -> list:
        targets: list = [self.query_one("#containers-table")]
        if not self.has_class("-no-services"):
            targets.append(self.query_one("#services-table"))
        return targets

    def show_message(self, message: Text | None) -> None:
        self.query_one("#containers-status", QuietStatic).show(message)

    @when_seen
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
            self.show_message(Text(self.not_configured, style="yellow"))
        elif problems:
            self.show_message(status_line(problems))
        else:
            self.show_message(None)


class TablePanel(Panel):
    """A panel that is one filterable table with a status line above it.

    Subclasses name the table (`PREFIX`), its columns and what to say when
    nothing is configured; `show_status` picks the line: not configured,
    source problems (and notes), empty, or nothing.
    """

    PREFIX: str = ""

    def __init__(self, number: int, *, id: str, columns, search_text, sort_column=None):
        super().__init__(number, id=id)
        self._table_args = (columns, search_text, sort_column)

    def compose(self) -> ComposeResult:
        columns, search_text, sort_column = self._table_args
        yield QuietStatic(id=f"{self.PREFIX}-status", classes="panel-status", hide_empty=True)
        yield FilterInput(f"{self.PREFIX}-table", id=f"{self.PREFIX}-filter", classes="filter")
        yield ResourceTable(
            columns, search_text, id=f"{self.PREFIX}-table", sort_column=sort_column
        )

    def on_mount(self) -> None:
        self.show_message(Text(WAITING, style="dim"))

    @property
    def table(self) -> ResourceTable:
        return self.query_one(f"#{self.PREFIX}-table", ResourceTable)

    @property
    def focus_targets(self) -> list:
        return [self.table]

    def show_message(self, message: Text | None) -> None:
        self.query_one(f"#{self.PREFIX}-status", QuietStatic).show(message)

    def show_status(
        self,
        problems: Sequence[SourceHealth],
        *,
        configured: bool,
        notes: Sequence[str] = (),
        empty: str = "",
    ) -> None:
        if not configured:
            self.show_message(Text(self.not_configured, style="yellow"))
        elif problems or notes:
            text = status_line(problems)
            for note in notes:
                if text:
                    text.append("\n")
                text.append_text(literal(note, "yellow"))
            self.show_message(text)
        elif empty and not self.table.records:
            self.show_message(Text(empty, style="dim"))
        else:
            self.show_message(None)


class PipelinesPanel(TablePanel):
    """Runs of every CI source, newest first. Its keys act on the selected run."""

    PREFIX = "pipelines"
    FEEDS = PipelineSnapshot
    NOUN = "CI source"
    BINDINGS = [
        Binding("r", "screen.pipeline('rerun')", "Rerun", id="pipeline-rerun"),
        Binding("F", "screen.pipeline('rerun-failed')", "Rerun failed", id="pipeline-rerun-failed"),
        Binding("c", "screen.pipeline('cancel')", "Cancel run", id="pipeline-cancel"),
        Binding("p", "screen.pipeline('pause')", "Pause", id="pipeline-pause"),
        Binding("m", "screen.pipeline('mark')", "Mark run", id="pipeline-mark"),
        Binding("P", "screen.pipelines", "Pipelines", id="pipeline-list"),
    ]

    def __init__(self, number: int, *, id: str):
        super().__init__(
            number, id=id, columns=RUN_COLUMNS, search_text=run_search_text, sort_column="started"
        )

    @when_seen
    def update_data(
        self,
        runs: Sequence[PipelineRun],
        *,
        problems: Sequence[SourceHealth],
        configured: bool,
        multi_source: bool,
        notes: Sequence[str] = (),
    ) -> None:
        """`notes`: the sources' own problems that are not a failed poll (a DAG
        file that does not import)."""
        self.table.set_hidden_columns(hidden_run_columns(runs, multi_source=multi_source))
        self.table.update_records(runs)
        self.show_status(problems, configured=configured, notes=notes)

    def filter_to(self, words: str) -> None:
        """Show only the runs `/` finds for `words` (Enter on the `P` screen)."""
        box = self.query_one(f"#{self.PREFIX}-filter", FilterInput)
        box.value = words
        box.set_class(bool(words), "-visible")
        self.table.set_filter(words)


class DeploymentsPanel(TablePanel):
    """The DORA keys per service (apps and models) over 30 days, with trends."""

    PREFIX = "deployments"
    FEEDS = DeploymentsSnapshot
    NOT_CONFIGURED = "The DORA keys need the data store; it could not be opened."

    def __init__(self, number: int, *, id: str):
        super().__init__(
            number, id=id, columns=DEPLOYMENT_COLUMNS, search_text=deployment_search_text
        )

    @when_seen
    def update_data(
        self,
        rows: Sequence[ServiceDeployments],
        *,
        problems: Sequence[SourceHealth],
        configured: bool,
    ) -> None:
        self.table.update_records(rows)
        self.show_status(
            problems,
            configured=configured,
            empty="No deployment yet. Redeploys, rollbacks, CI deploy runs, image changes and "
            "model promotions land here (docs/dora.md).",
        )


class ModelsPanel(TablePanel):
    """Model quality per model and metric: serving vs challenger, trend, thresholds."""

    PREFIX = "models"
    FEEDS = ModelsSnapshot
    NOUN = "model source"
    BINDINGS = [
        Binding("P", "screen.model('promote')", "Promote", id="model-promote"),
        Binding("u", "screen.model('rollback')", "Roll back alias", id="model-rollback"),
    ]

    def __init__(self, number: int, *, id: str):
        super().__init__(number, id=id, columns=MODEL_COLUMNS, search_text=model_search_text)

    @when_seen
    def update_data(
        self,
        rows: Sequence[ModelRow],
        *,
        problems: Sequence[SourceHealth],
        notes: Sequence[str],
        configured: bool,
        multi_source: bool,
    ) -> None:
        self.table.set_hidden_columns(set() if multi_source else {"source"})
        self.table.update_records(rows)
        self.show_status(problems, configured=configured, notes=notes)


class HostPanel(Panel):
    """CPU, load, memory, swap, disks and uptime of each host source."""

    FEEDS = HostStats
    NOUN = "host source"
    NOT_CONFIGURED = "No host source configured."
    can_focus = True

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="host-scroll"):
            yield QuietStatic(Text(WAITING, style="dim"), id="host-body")

    @when_seen
    def update_data(
        self, hosts: Sequence[HostStats], problems: Sequence[SourceHealth], now: datetime
    ) -> None:
        # The same readings (and uptime text) draw the same tables: no redraw then.
        key = (
            tuple(problems),
            tuple(hosts),
            tuple(human_duration((now - h.boot_time).total_seconds()) for h in hosts),
            self.not_configured,
        )
        body = self.query_one("#host-body", QuietStatic)
        if not body.changes_to(key):
            return
        parts: list = [status_line(problems)] if problems else []
        for host in hosts:
            parts.append(_host_table(host, now))
        # New readings repaint the lines they change (CPU, load), without a
        # relayout of the screen (which repaints every table's scrollbars too).
        body.update_lines(Group(*parts) if parts else Text(self.not_configured, style="dim"))


def _bar(percent: float, width: int = 12) -> Text:
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    style = "green" if percent < 70 else "yellow" if percent < 90 else "red"
    return Text("|" * filled, style=style) + Text("." * (width - filled), style="dim")


def _host_table(host: HostStats, now: datetime) -> Table:
    table = Table.grid(padding=(0, 1))
    table.title = literal(host.hostname, "table.title")  # a Text keeps no default style
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
