"""One service's DORA keys over 7, 30 and 90 days, and its timeline (enter).

The keys come with the panel's row; the timeline (deploys, alias moves,
rollbacks, trouble, recoveries, pipeline runs, the model versions they
registered and the serving versions' metrics) is read from the store in a
worker, with the pipeline runs and models snapshots the panels hold (taken
afresh on ctrl+r), so a training run, its version, the alias move and the
accuracy after it read in order on one screen.
"""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from opsdash.formatting import shown_now
from opsdash.model import PipelineRun
from opsdash.model.deployments import WINDOWS, ServiceDeployments, TimelineEntry
from opsdash.model.ml import ModelsSnapshot
from opsdash.poller import describe_error
from opsdash.safetext import literal
from opsdash.sources.capabilities import HasTimeline
from opsdash.views.deployments import (
    TIMELINE_COLUMNS,
    cfr_cell,
    day_bars,
    frequency_cell,
    last_deploy_cell,
    lead_cell,
    recovery_cell,
    timeline_search_text,
)
from opsdash.widgets.resource_table import ResourceTable


def keys_table(row: ServiceDeployments, now: datetime) -> Table:
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("KEY (DORA 2024 level, ↑/↓ vs the period before)", no_wrap=True)
    for days in WINDOWS:
        table.add_column(f"{days} DAYS", no_wrap=True)
    reports = [row.report(days) for days in WINDOWS]
    table.add_row("Deployment frequency", *[frequency_cell(r) for r in reports])
    table.add_row(
        "  deploys (failed)",
        *[Text(f"{r.current.deploys} ({r.current.failed})") for r in reports],
    )
    table.add_row(
        "  Four Keys bucket",
        *[Text(r.current.frequency.bucket or "-") for r in reports],
    )
    table.add_row("Lead time for changes", *[lead_cell(r) for r in reports])
    table.add_row("Change failure rate", *[cfr_cell(r) for r in reports])
    table.add_row("Failed deployment recovery", *[recovery_cell(r) for r in reports])
    return table


def summary(row: ServiceDeployments, now: datetime) -> Text:
    text = Text("Last deploy: ", style="bold")
    text.append_text(last_deploy_cell(row, now))
    if row.undeployed is not None:
        text.append(
            f"   Commits not deployed: {row.undeployed}", style="yellow" if row.undeployed else ""
        )
    if row.note:
        text.append("   ")
        text.append_text(literal(row.note, "yellow"))
    return text


class ServiceScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="service-back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="service-back-q"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="service-reload"),
    ]

    def __init__(
        self,
        row: ServiceDeployments,
        source: HasTimeline | None,
        runs: list,
        models: list[ModelsSnapshot] | None = None,
    ):
        super().__init__()
        self.row = row
        self.source = source
        self.runs = runs
        self.models = models or []

    def compose(self) -> ComposeResult:
        now = shown_now()
        yield Static(literal(f"Deployments: {self.row.service}", "bold"), classes="screen-title")
        yield Static(keys_table(self.row, now), id="service-keys")
        bars = Text("Deploys per day, last 30 days: ", style="bold")
        bars.append_text(day_bars([count for _day, count in self.row.per_day]))
        yield Static(bars, id="service-bars")
        yield Static(summary(self.row, now), id="service-summary")
        yield Static(Text("Loading the timeline…", style="dim"), id="service-timeline-status")
        yield ResourceTable(TIMELINE_COLUMNS, timeline_search_text, id="timeline-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#timeline-table").focus()
        self.action_reload()

    def action_reload(self) -> None:
        """Read the panels' runs and models here, on the UI thread; the store in a worker."""
        feed = getattr(self.app, "feed", None)
        if feed is not None:
            self.runs = feed.pipeline_runs()
            self.models = feed.model_snapshots()
        self._load(list(self.runs), list(self.models))

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def _load(self, runs: list[PipelineRun], models: list[ModelsSnapshot]) -> None:
        service = None if self.row.overall else self.row.service
        if self.source is None:
            self.app.call_from_thread(self._show, None, "no deployments source")
            return
        try:
            entries = self.source.timeline(service, runs, models=models)
        except Exception as exc:  # noqa: BLE001 - one line to the user
            self.app.call_from_thread(self._show, None, describe_error(exc))
            return
        self.app.call_from_thread(self._show, entries, "")

    def _show(self, entries: list[TimelineEntry] | None, error: str) -> None:
        if not self.is_attached:
            return
        status = self.query_one("#service-timeline-status", Static)
        if entries is None:
            status.update(literal(f"Could not read the timeline: {error}", "red"))
            return
        status.update(Text(f"Timeline, newest first: {len(entries)} events", style="bold"))
        self.query_one("#timeline-table", ResourceTable).update_records(entries)
