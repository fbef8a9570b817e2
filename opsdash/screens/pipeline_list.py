"""`P` in the Pipelines panel: every pipeline the orchestrators can start (DAGs,
pipeline versions), with or without runs.

Renders what the sources' last polls listed (no I/O of its own); D and p go
through the same confirm/audit flow as the panel's keys, Enter goes back with
the Pipelines panel filtered to that pipeline's runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from opsdash.messages import PipelineAction
from opsdash.model import PipelineDefinition
from opsdash.views.pipeline_defs import DEFINITION_COLUMNS, definition_search_text
from opsdash.widgets.literal_input import LiteralInput
from opsdash.widgets.resource_table import ResourceTable


class PipelineListScreen(Screen[PipelineDefinition | None]):
    """Dismisses with the pipeline whose runs the panel should show (Enter), or None."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="pipelines-back"),
        Binding("q", "back", "Back", show=False, id="pipelines-back-q"),
        Binding("slash", "filter", "Filter", id="pipelines-filter"),
        Binding("D", "act('trigger')", "Trigger", id="pipelines-trigger"),
        Binding("p", "act('pause')", "Pause/unpause", id="pipelines-pause"),
    ]

    def __init__(self, pipelines: Sequence[PipelineDefinition]):
        super().__init__()
        self.pipelines = tuple(pipelines)

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="pipelines-title", classes="screen-title")
        yield LiteralInput(
            placeholder="filter: words match pipeline, tags, schedule, problem, source",
            id="pipelines-list-filter",
            classes="filter",
        )
        yield ResourceTable(DEFINITION_COLUMNS, definition_search_text, id="pipelines-list")
        yield Footer(compact=True)

    def _title(self) -> Text:
        count = len(self.pipelines)
        text = Text(f"Pipelines: {count}", style="bold")
        text.append("   enter: show its runs   D: trigger   p: pause/unpause", style="dim")
        return text

    def on_mount(self) -> None:
        table = self.table
        table.update_records(self.pipelines)
        self._hide_columns()
        table.focus()

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#pipelines-list", ResourceTable)

    def _hide_columns(self) -> None:
        hidden = set()
        if len({p.source for p in self.pipelines}) <= 1:
            hidden.add("source")
        if not any(p.problem for p in self.pipelines):
            hidden.add("problem")
        self.table.set_hidden_columns(hidden)

    def show_pipelines(self, pipelines: Sequence[PipelineDefinition]) -> None:
        """A newer poll: the rows change in place, the cursor stays."""
        self.pipelines = tuple(pipelines)
        self.table.update_records(self.pipelines)
        self._hide_columns()
        self.query_one("#pipelines-title", Static).update(self._title())

    @property
    def selected(self) -> PipelineDefinition | None:
        record = self.table.selected
        return record if isinstance(record, PipelineDefinition) else None

    def action_filter(self) -> None:
        box = self.query_one("#pipelines-list-filter", Input)
        box.add_class("-visible")
        box.focus()

    @on(Input.Changed, "#pipelines-list-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)

    @on(Input.Submitted, "#pipelines-list-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("-visible")
        self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#pipelines-list-filter", Input)
        if box.has_focus or box.value:
            box.value = ""
            box.remove_class("-visible")
            self.table.set_filter("")
            self.table.focus()
            return
        self.dismiss(None)

    def action_act(self, action: str) -> None:
        pipeline = self.selected
        if pipeline is None:
            self.notify("No pipeline selected.", severity="warning", timeout=3)
            return
        self.post_message(PipelineAction(action, None, pipeline))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and parameters == ("pause",):
            pipeline = self.selected
            return None if pipeline is not None and pipeline.paused is None else True
        return True

    @on(ResourceTable.Activated)
    def _open(self, event: ResourceTable.Activated) -> None:
        pipeline = self.table.records.get(event.key)
        if isinstance(pipeline, PipelineDefinition):
            self.dismiss(pipeline)
