"""One model: its metric's history as a chart and every version with its metrics.

Renders what the panel already polled (no I/O of its own); P and u go through
the same confirm/audit flow as the panel's keys.
"""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from opsdash.formatting import age, metric_value, shown_now
from opsdash.messages import ModelAction, ShowRun
from opsdash.model.ml import ModelRow, ModelVersion, ThresholdState
from opsdash.model.pipelines import PipelineRun
from opsdash.safetext import literal
from opsdash.views.models import produced_by_text, threshold_text, version_columns
from opsdash.widgets.resource_table import ResourceTable


def _now() -> datetime:
    return shown_now()


def fixes_text(row: ModelRow, retrain: str, can_retrain: bool) -> Text:
    """A breach's two fixes side by side: roll the alias back (u), retrain (D)."""
    text = Text()
    back = f"v{row.previous_version}" if row.previous_version else "the previous version"
    text.append("u", style="bold")
    text.append_text(literal(f" rolls {row.alias or 'the alias'} back to {back}"))
    text.append("   or   ")
    text.append("D" if can_retrain else "D (unavailable)", style="bold")
    text.append_text(literal(f" {retrain}" if retrain else " retrains the model"))
    return text


def model_facts(
    row: ModelRow, now: datetime, retrain: str = "", can_retrain: bool = False
) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    state = Text.assemble(threshold_text(row.state))
    limits = []
    if row.warning is not None:
        limits.append(f"warning {row.warning:g}")
    if row.breach is not None:
        limits.append(f"breach {row.breach:g}")
    better = "higher" if row.higher_is_better else "lower"
    state.append("  ")
    state.append_text(literal(f"({', '.join(limits) or 'no thresholds'}; {better} is better)"))
    table.add_row("State", state)
    table.add_row("Metric", literal(f"{row.metric} = {metric_value(row.value)}"))
    if row.version:
        serving = f"v{row.version}" + (f" ({row.alias})" if row.alias else " (newest, no alias)")
        table.add_row("Serving", literal(serving))
    if row.challenger_version:
        diff = row.difference
        text = f"v{row.challenger_version} ({row.challenger_alias}) = "
        text += metric_value(row.challenger_value)
        if diff is not None:
            text += f", {diff:+.4g} vs serving"
        table.add_row("Challenger", literal(text))
    if row.labels:
        table.add_row("Labels", literal(", ".join(f"{k}={v}" for k, v in row.labels)))
    if row.serving_changed_at is not None:
        when = row.serving_changed_at
        table.add_row("Serving since", literal(f"{when:%Y-%m-%d %H:%M} ({age(when, now)} ago)"))
    if row.previous_version:
        table.add_row("Roll back to", literal(f"v{row.previous_version} (u)"))
    if row.note:
        table.add_row("Note", literal(row.note, "yellow"))
    if row.state is ThresholdState.BREACH:
        table.add_row(Text("Fix", style="bold red"), fixes_text(row, retrain, can_retrain))
    table.add_row("Source", literal(row.source, "dim"))
    return table


def trend_caption(row: ModelRow) -> Text:
    values = [p.value for p in row.trend if p.value == p.value]
    if not values:
        return Text("No history for this metric.", style="dim")
    first, last = row.trend[0], row.trend[-1]
    span = ""
    if first.step is not None and last.step is not None:
        span = f"steps {first.step}-{last.step}"
    elif first.at is not None and last.at is not None:
        span = f"{first.at:%H:%M}-{last.at:%H:%M}"
    return Text(
        f"History of {row.metric}: {len(values)} points {span}   "
        f"min {min(values):.4g}   max {max(values):.4g}   last {values[-1]:.4g}",
        style="dim",
    )


class ModelScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="model-back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="model-back-q"),
        Binding("P", "act('promote')", "Promote version", id="model-screen-promote"),
        Binding("u", "act('rollback')", "Roll back alias", id="model-screen-rollback"),
        Binding("D", "retrain", "Retrain", id="model-screen-retrain"),
    ]

    def __init__(
        self,
        row: ModelRow,
        versions: tuple[ModelVersion, ...],
        metrics: tuple[str, ...],
        *,
        moves_aliases: bool = False,
        produced_by: dict[str, PipelineRun] | None = None,
        retrain: str = "",
        can_retrain: bool = False,
    ):
        super().__init__()
        self.row = row
        self.versions = versions
        self.metrics = metrics
        # Whether the row's source is a registry whose aliases P and u move.
        self.moves_aliases = moves_aliases
        # Version key -> the pipeline run that produced it (the lineage).
        self.produced_by = produced_by or {}
        # What D does on a breach ("with train_churn on <source>"), or why it cannot.
        self.retrain = retrain
        self.can_retrain = can_retrain

    def compose(self) -> ComposeResult:
        yield Static(literal(f"Model: {self.row.model}", "bold"), classes="screen-title")
        facts = model_facts(self.row, _now(), self.retrain, self.can_retrain)
        yield Static(facts, id="model-facts")
        yield Static(trend_caption(self.row), id="model-trend-caption")
        yield Sparkline([p.value for p in self.row.trend if p.value == p.value], id="model-trend")
        if self.versions:
            title = "Versions (P promotes the selected one to the serving alias"
            title += "; enter opens the run that produced it)" if self.produced_by else ")"
            yield Static(Text(title, style="bold"), id="model-versions-title")
            produced = self.produced_by.get
            columns = version_columns(
                self.metrics, (lambda v: produced(v.key)) if self.produced_by else None
            )
            yield ResourceTable(
                columns,
                lambda v: f"{v.version} {produced_by_text(produced(v.key))}".lower(),
                id="model-versions",
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.versions:
            table = self.query_one("#model-versions", ResourceTable)
            table.update_records(self.versions)
            table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and not self.moves_aliases:  # shown disabled
            return None
        if action == "retrain":  # only a breach offers it; disabled without a trainer
            if self.row.state is not ThresholdState.BREACH:
                return False
            return True if self.can_retrain else None
        return True

    def action_retrain(self) -> None:
        self.post_message(ModelAction("retrain", self.row))

    def on_resource_table_activated(self, event: ResourceTable.Activated) -> None:
        version = event.table.records.get(event.key)
        run = self.produced_by.get(version.key) if isinstance(version, ModelVersion) else None
        if run is None:
            self.notify("No polled pipeline run produced this version.", timeout=3)
            return
        self.post_message(ShowRun(run))

    @property
    def selected_version(self) -> ModelVersion | None:
        if not self.versions:
            return None
        record = self.query_one("#model-versions", ResourceTable).selected
        return record if isinstance(record, ModelVersion) else None

    def action_act(self, action: str) -> None:
        version = self.selected_version if action == "promote" else None
        self.post_message(ModelAction(action, self.row, version.version if version else None))
