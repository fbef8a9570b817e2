"""The dashboard: header, panels side by side (or one at a time when narrow), footer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input

from opsdash.messages import (
    ClusterAction,
    ContainerAction,
    FindInterrupted,
    ModelAction,
    PipelineAction,
    RefreshNow,
    ShowAudit,
    ShowLogs,
    ShowPipelines,
    ShowPodLogs,
    ShowProjectLogs,
    ShowRun,
)
from opsdash.model import Container, PipelineRun, Service, SourceHealth
from opsdash.model.kube import KubePod, KubeWorkload
from opsdash.model.ml import ModelRow
from opsdash.screens.row_keys import CLUSTER_KEYS, opens
from opsdash.sources.capabilities import MarksRuns, PausesPipelines, RerunsRuns
from opsdash.widgets.cluster_panel import ClusterPanel, ResourcePrompt
from opsdash.widgets.health_bar import HealthBar, PanelTabs
from opsdash.widgets.panels import (
    PANEL_TITLES,
    ContainersPanel,
    DeploymentsPanel,
    FilterInput,
    HostPanel,
    ModelsPanel,
    Panel,
    PipelinesPanel,
)
from opsdash.widgets.resource_table import ResourceTable
from opsdash.widgets.when_seen import PanelsWhenSeen

# Pipeline keys that apply only where the run's source can: by capability.
PIPELINE_KEYS: dict[str, type] = {
    "rerun-failed": RerunsRuns,
    "pause": PausesPipelines,
    "mark": MarksRuns,
}


class MainScreen(PanelsWhenSeen, Screen):
    """Composes the panels and routes keys between them; its panels draw only
    while they are seen (`PanelsWhenSeen`)."""

    # Below 120 columns one panel shows at a time (tabs); wider, all side by side.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding("tab", "panel_next", "Next panel", show=False, id="panel-next", priority=True),
        Binding(
            "shift+tab", "panel_prev", "Prev panel", show=False, id="panel-prev", priority=True
        ),
        *[
            Binding(str(n), f"panel({n})", title, show=False, id=f"panel-{n}")
            for n, title in enumerate(PANEL_TITLES, start=1)
        ],
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("colon", "resource", "Kubernetes resource", id="kube-resource"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="filter-clear"),
        Binding("l", "logs", "Logs", id="logs"),
        Binding("L", "project_logs", "Project logs", show=False, id="logs-project"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("r", "act('restart')", "Restart", id="restart"),
        Binding("R", "act('redeploy')", "Redeploy", id="redeploy"),
        Binding("u", "act('rollback')", "Rollback", id="rollback"),
        Binding("S", "act('toggle')", "Stop/start", show=False, id="stop-start"),
        Binding("D", "pipeline('deploy')", "Deploy", show=False, id="pipeline-deploy"),
        Binding("a", "audit", "Audit", show=False, id="audit"),
        Binding("exclamation_mark", "recover", "Interrupted actions", show=False, id="recover"),
        Binding("z", "zoom", "Zoom panel", show=False, id="zoom"),
    ]

    def __init__(
        self,
        *,
        read_only: bool = False,
        pipeline_source: Callable[[PipelineRun | None], Any] | None = None,
    ):
        super().__init__()
        self.read_only = read_only
        # The CI source a run belongs to (for D without a run: the deploy source),
        # handed down by the app so the screen never reaches up into it; without
        # one no run has a source, so F shows as disabled.
        self.pipeline_source = pipeline_source or _no_source
        self.active_panel = 1
        self._focus_target: Widget | None = None

    def compose(self) -> ComposeResult:
        yield HealthBar(read_only=self.read_only, id="health")
        yield PanelTabs(id="tabs")
        with Grid(id="panels"):
            yield ContainersPanel(1, id="panel-containers")
            yield HostPanel(2, id="panel-host")
            yield DeploymentsPanel(4, id="panel-deployments")
            yield PipelinesPanel(3, id="panel-pipelines")
            yield ModelsPanel(5, id="panel-models")
            yield ClusterPanel(6, id="panel-kubernetes")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(PanelTabs).show(PANEL_TITLES, self.active_panel)
        self._set_active(1)
        self.query_one("#containers-table").focus()

    # --- data in ----------------------------------------------------------

    def explain_unconfigured(self, feeds: type, kinds: Sequence[tuple[str, str]]) -> None:
        """The panel showing `feeds` says how to configure a source of it."""
        for panel in self.query(Panel):
            if issubclass(feeds, panel.FEEDS) and panel.FEEDS is not object:
                panel.explain_unconfigured(kinds)

    def show_health(
        self,
        healths: Sequence[SourceHealth],
        now: datetime,
        refresh: Sequence[float],
        notice: str | None = None,
    ) -> None:
        for bar in self.query(HealthBar):  # none yet while the screen composes
            bar.show(healths, now, refresh, notice)

    @property
    def containers_panel(self) -> ContainersPanel:
        return self.query_one(ContainersPanel)

    @property
    def host_panel(self) -> HostPanel:
        return self.query_one(HostPanel)

    @property
    def pipelines_panel(self) -> PipelinesPanel:
        return self.query_one(PipelinesPanel)

    @property
    def deployments_panel(self) -> DeploymentsPanel:
        return self.query_one(DeploymentsPanel)

    @property
    def models_panel(self) -> ModelsPanel:
        return self.query_one(ModelsPanel)

    @property
    def cluster_panel(self) -> ClusterPanel:
        return self.query_one(ClusterPanel)

    # --- focus and panels ---------------------------------------------------

    @property
    def panels(self) -> list[Panel]:
        """In number order (the grid's compose order differs for layout)."""
        return sorted(self.query(Panel), key=lambda panel: panel.number)

    def _stops(self) -> list[Widget]:
        return [target for panel in self.panels for target in panel.focus_targets]

    def _panel_of(self, widget: Widget | None) -> Panel | None:
        while widget is not None and not isinstance(widget, Panel):
            widget = widget.parent  # type: ignore[assignment]
        return widget

    def _set_active(self, number: int) -> None:
        self.active_panel = number
        for panel in self.panels:
            panel.set_class(panel.number == number, "-active")
        self.query_one(PanelTabs).show(PANEL_TITLES, number)

    def _focus(self, widget: Widget) -> None:
        panel = self._panel_of(widget)
        if panel is not None and panel.number != self.active_panel:
            self._focus_target = widget
            self.set_focus(None)  # else hiding the focused panel moves focus on its own
            self._set_active(panel.number)
        # A panel that was hidden (narrow layout) can take focus only after the
        # refresh that shows it; remember the target so fast key presses chain.
        self._focus_target = widget
        self.call_after_refresh(self._finish_focus, widget)

    def _finish_focus(self, widget: Widget, tries: int = 0) -> None:
        if self._focus_target is not widget:
            return  # a later key press chose another target
        if not widget.region.area and tries < 20:
            self.call_after_refresh(self._finish_focus, widget, tries + 1)
            return
        widget.focus()
        self._focus_target = None

    def on_descendant_focus(self, event) -> None:
        self.refresh_bindings()
        if self._focus_target is not None:
            return
        panel = self._panel_of(event.widget)
        if panel is not None and panel.number != self.active_panel:
            self._set_active(panel.number)

    def _step(self, delta: int) -> None:
        stops = self._stops()
        focused = self._focus_target or self.focused
        if isinstance(focused, ResourcePrompt):
            if delta > 0 and focused.complete():
                return  # tab completes the resource prompt first
            focused = self.cluster_panel.table
        if isinstance(focused, FilterInput):
            focused = self.query_one(f"#{focused.table_id}")
        index = stops.index(focused) if focused in stops else -1
        self._focus(stops[(index + delta) % len(stops)])

    def action_panel_next(self) -> None:
        self._step(1)

    def action_panel_prev(self) -> None:
        self._step(-1)

    def action_panel(self, number: int) -> None:
        panel = next(p for p in self.panels if p.number == number)
        self._focus(panel.focus_targets[0])

    # --- filter -------------------------------------------------------------

    def _focused_table(self) -> ResourceTable | None:
        focused = self.focused
        if isinstance(focused, ResourceTable):
            return focused
        if isinstance(focused, FilterInput):
            return self.query_one(f"#{focused.table_id}", ResourceTable)
        return None

    def _filter_of(self, table: ResourceTable) -> FilterInput:
        return next(f for f in self.query(FilterInput) if f.table_id == table.id)

    def action_filter(self) -> None:
        table = self._focused_table()
        if table is None:
            self.notify("Filter works on a list: press 1 for Containers first.", timeout=3)
            return
        box = self._filter_of(table)
        box.add_class("-visible")
        box.focus()

    def action_resource(self) -> None:
        """`:` opens the Kubernetes panel's resource prompt, from any panel."""
        self._focus(self.cluster_panel.open_prompt())

    def action_clear_filter(self) -> None:
        if isinstance(self.focused, ResourcePrompt):
            self.cluster_panel.close_prompt()
            return
        table = self._focused_table()
        if table is None:
            return
        box = self._filter_of(table)
        box.value = ""
        box.remove_class("-visible")
        table.set_filter("")
        table.focus()

    @on(Input.Changed, ".filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        assert isinstance(event.input, FilterInput)
        self.query_one(f"#{event.input.table_id}", ResourceTable).set_filter(event.value)

    @on(Input.Submitted, ".filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        assert isinstance(event.input, FilterInput)
        if not event.value.strip():
            event.input.remove_class("-visible")
        self.query_one(f"#{event.input.table_id}").focus()

    # --- container actions ---------------------------------------------------

    @property
    def selected_container(self) -> Container | None:
        table = self.query_one("#containers-table", ResourceTable)
        record = table.selected
        return record if isinstance(record, Container) else None

    @property
    def selected_run(self) -> PipelineRun | None:
        table = self._focused_table()
        record = table.selected if table is not None else None
        return record if isinstance(record, PipelineRun) else None

    def action_logs(self) -> None:
        run = self.selected_run
        if run is not None:
            self.post_message(ShowRun(run))
            return
        record = self._selected_record()
        if isinstance(record, KubePod):
            self.post_message(ShowPodLogs(record))
            return
        if isinstance(record, KubeWorkload):
            self.notify("Logs are a pod's: Enter shows the workload's pods.", timeout=3)
            return
        container = self.selected_container
        if container is None:
            self.notify("No container selected.", severity="warning", timeout=3)
            return
        self.post_message(ShowLogs(container))

    def action_project_logs(self) -> None:
        """`L`: the logs of every container of the selected one's compose project."""
        container = self._selected_record()
        if not isinstance(container, Container):
            self.notify("L works on a container of a compose project.", timeout=3)
            return
        if not container.compose_project:
            self.notify("This container is not in a compose project: l shows its logs.", timeout=3)
            return
        self.post_message(ShowProjectLogs(container))

    def _selected_record(self) -> object | None:
        table = self._focused_table()
        return table.selected if table is not None else None

    def _selected_target(self) -> Container | Service | KubeWorkload | KubePod | None:
        record = self._selected_record()
        targets = Container | Service | KubeWorkload | KubePod
        return record if isinstance(record, targets) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Mutating keys show as disabled where they do not apply. In read-only
        mode they stay live: the action flow refuses them, audited and said."""
        if action == "model":
            return True
        if action == "pipeline":
            run = self.selected_run
            wanted = PIPELINE_KEYS.get(str(parameters[0])) if parameters else None
            if wanted is not None:
                source = self.pipeline_source(run)
                if parameters == ("rerun-failed",):
                    can = isinstance(source, RerunsRuns) and source.can_rerun_failed
                else:
                    can = isinstance(source, wanted)
                return True if can else None
            return True
        if action != "act":
            return True
        target = self._selected_target()
        if isinstance(target, Service) and parameters and parameters[0] in ("restart", "toggle"):
            return None
        keys = CLUSTER_KEYS.get(type(target))
        if keys is not None and parameters and parameters[0] not in keys:
            return None
        return True

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def action_act(self, action: str) -> None:
        target = self._selected_target()
        if target is None:
            self.notify("Select a container (or a service) first.", severity="warning", timeout=3)
            return
        if isinstance(target, KubeWorkload | KubePod):
            cluster_action = CLUSTER_KEYS[type(target)].get(action)
            if cluster_action is None:
                self.notify(f"{action} does not apply to this row.", severity="warning", timeout=3)
                return
            self.post_message(ClusterAction(cluster_action, target))
            return
        self.post_message(ContainerAction(action, target))

    def action_pipeline(self, action: str) -> None:
        run = self.selected_run
        if run is None and action != "deploy":
            self.notify("Select a run in the Pipelines panel first.", severity="warning", timeout=3)
            return
        self.post_message(PipelineAction(action, run))

    def action_pipelines(self) -> None:
        self.post_message(ShowPipelines())

    def action_model(self, action: str) -> None:
        table = self._focused_table()
        row = table.selected if table is not None else None
        if not isinstance(row, ModelRow):
            self.notify("Select a model in the Models panel first.", severity="warning", timeout=3)
            return
        self.post_message(ModelAction(action, row))

    def action_zoom(self) -> None:
        """The active panel fills the screen (again: all panels side by side)."""
        self.toggle_class("-zoomed")
        self._focus(self.panels[self.active_panel - 1].focus_targets[0])

    def action_recover(self) -> None:
        self.post_message(FindInterrupted())

    def action_audit(self) -> None:
        self.post_message(ShowAudit())

    def action_refresh(self) -> None:
        self.post_message(RefreshNow())

    @on(ResourceTable.Activated)
    def _open_details(self, event: ResourceTable.Activated) -> None:
        record = event.table.records.get(event.key)
        if record is not None:
            self.post_message(opens(record))


def _no_source(run: PipelineRun | None) -> None:
    """Outside opsdash's app no run has a source."""
    return None
