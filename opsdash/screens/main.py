"""The dashboard: header, panels side by side (or one at a time when narrow), footer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from opsdash.screens.selected_row import SelectedRowKeys, with_panels
from opsdash.widgets.health_bar import HealthBar, PanelTabs
from opsdash.widgets.panel_frame import PANEL_LAYOUT, PANEL_TITLES, panel_frames
from opsdash.widgets.when_seen import PanelsWhenSeen

if TYPE_CHECKING:
    # The panels, their tables and the records they hold are imported once the
    # first frame is out (`mount_panels`); here only for the annotations.
    from textual.widgets import Footer, Input

    from opsdash.model import PipelineRun, SourceHealth
    from opsdash.widgets.cluster_panel import ClusterPanel
    from opsdash.widgets.panels import (
        ContainersPanel,
        DeploymentsPanel,
        HostPanel,
        ModelsPanel,
        Panel,
        PipelinesPanel,
    )
    from opsdash.widgets.resource_table import ResourceTable


def _footer() -> Footer:
    from textual.widgets import Footer

    return Footer(compact=True, show_command_palette=False)


def _panel_widgets() -> list[Widget]:
    """The real panels, in the grid's order (`PANEL_LAYOUT`)."""
    from opsdash.widgets.cluster_panel import ClusterPanel
    from opsdash.widgets.panels import (
        ContainersPanel,
        DeploymentsPanel,
        HostPanel,
        ModelsPanel,
        PipelinesPanel,
    )

    kinds = {
        "panel-containers": ContainersPanel,
        "panel-host": HostPanel,
        "panel-deployments": DeploymentsPanel,
        "panel-pipelines": PipelinesPanel,
        "panel-models": ModelsPanel,
        "panel-kubernetes": ClusterPanel,
    }
    return [kinds[panel_id](number, id=panel_id) for number, panel_id in PANEL_LAYOUT]


class MainScreen(SelectedRowKeys, PanelsWhenSeen, Screen):
    """Composes the panels and routes keys between them; its panels draw only
    while they are seen (`PanelsWhenSeen`).

    With `panels_later` its first frame draws each panel's frame only
    (`PanelFrame`), and `mount_panels` puts the panels in their places once
    that frame is out: the TUI's start, whose data comes after it anyway."""

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
        Binding(
            "L",
            "project_logs",
            "Merged logs (service, replicas, project)",
            show=False,
            id="logs-project",
        ),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("r", "act('restart')", "Restart", id="restart"),
        Binding("R", "act('redeploy')", "Redeploy", id="redeploy"),
        Binding("u", "act('rollback')", "Rollback", id="rollback"),
        Binding("S", "act('toggle')", "Stop/start", show=False, id="stop-start"),
        Binding("E", "shell", "Container/pod shell", show=False, id="shell"),
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
        panels_later: bool = False,
    ):
        super().__init__()
        self.panels_ready = not panels_later
        self.read_only = read_only
        # The CI source a run belongs to (for D without a run: the deploy source),
        # handed down by the app so the screen never reaches up into it; without
        # one no run has a source, so F shows as disabled.
        self.pipeline_source = pipeline_source or _no_source
        self.active_panel = 1
        self._focus_target: Widget | None = None
        # Kept, not queried: the header is redrawn once a second, and a query
        # walks every node of the screen (some 1,900 with the panels full).
        self._health_bar = HealthBar(read_only=self.read_only, id="health")

    def compose(self) -> ComposeResult:
        yield self._health_bar
        yield PanelTabs(id="tabs")
        with Grid(id="panels"):
            yield from _panel_widgets() if self.panels_ready else panel_frames(1)
        # The footer's keys (a widget each, restyled as it goes compact) come
        # with the panels; its line is kept for them meanwhile (no relayout).
        yield _footer() if self.panels_ready else Static(id="footer-frame")

    def on_mount(self) -> None:
        self.query_one(PanelTabs).show(PANEL_TITLES, self.active_panel)
        if self.panels_ready:
            self._panels_mounted()
        else:  # the header, until the feed shows the sources' health
            self.show_health((), datetime.now().astimezone(), ())

    def _panels_mounted(self) -> None:
        self._set_active(self.active_panel)
        self.query_one("#containers-table").focus()

    async def mount_panels(self) -> None:
        """The panels take their frames' places (once: the first frame is out).
        No frame is drawn between: the frames go and the panels come in one update."""
        if self.panels_ready:
            return
        self.panels_ready = True
        grid = self.query_one("#panels", Grid)
        frames = list(grid.children)
        with self.app.batch_update():
            await grid.remove_children(frames)
            await grid.mount_all(_panel_widgets())
            await self.query_one("#footer-frame").remove()
            await self.mount(_footer())
            self._panels_mounted()

    # --- data in ----------------------------------------------------------

    def explain_unconfigured(self, feeds: type, kinds: Sequence[tuple[str, str]]) -> None:
        """The panel showing `feeds` says how to configure a source of it."""
        for panel in self.panels:
            if issubclass(feeds, panel.FEEDS) and panel.FEEDS is not object:
                panel.explain_unconfigured(kinds)

    def show_health(
        self,
        healths: Sequence[SourceHealth],
        now: datetime,
        refresh: Sequence[float],
        notice: str | None = None,
    ) -> None:
        if self._health_bar.is_mounted:  # not yet while the screen composes
            self._health_bar.show(healths, now, refresh, notice)

    @property
    def containers_panel(self) -> ContainersPanel:
        return self.query_one("#panel-containers")  # type: ignore[return-value]

    @property
    def host_panel(self) -> HostPanel:
        return self.query_one("#panel-host")  # type: ignore[return-value]

    @property
    def pipelines_panel(self) -> PipelinesPanel:
        return self.query_one("#panel-pipelines")  # type: ignore[return-value]

    @property
    def deployments_panel(self) -> DeploymentsPanel:
        return self.query_one("#panel-deployments")  # type: ignore[return-value]

    @property
    def models_panel(self) -> ModelsPanel:
        return self.query_one("#panel-models")  # type: ignore[return-value]

    @property
    def cluster_panel(self) -> ClusterPanel:
        return self.query_one("#panel-kubernetes")  # type: ignore[return-value]

    # --- focus and panels ---------------------------------------------------

    @property
    def panels(self) -> list[Panel]:
        """In number order (the grid's compose order differs for layout); none
        while the first frame's frames stand in for them."""
        if not self.panels_ready:
            return []
        from opsdash.widgets.panels import Panel

        return sorted(self.query(Panel), key=lambda panel: panel.number)

    def _stops(self) -> list[Widget]:
        return [target for panel in self.panels for target in panel.focus_targets]

    def _panel_of(self, widget: Widget | None) -> Panel | None:
        from opsdash.widgets.panels import Panel

        while widget is not None and not isinstance(widget, Panel):
            widget = widget.parent  # type: ignore[assignment]
        return widget

    def _set_active(self, number: int) -> None:
        self.active_panel = number
        for panel in self.panels or self.query(".panel-frame"):
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
        from opsdash.widgets.cluster_panel import ResourcePrompt
        from opsdash.widgets.panels import FilterInput

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

    @with_panels
    def action_panel_next(self) -> None:
        self._step(1)

    @with_panels
    def action_panel_prev(self) -> None:
        self._step(-1)

    @with_panels
    def action_panel(self, number: int) -> None:
        panel = next(p for p in self.panels if p.number == number)
        self._focus(panel.focus_targets[0])

    # --- filter -------------------------------------------------------------

    def _focused_table(self) -> ResourceTable | None:
        focused = self.focused
        if focused is None:
            return None
        from opsdash.widgets.panels import FilterInput
        from opsdash.widgets.resource_table import ResourceTable

        if isinstance(focused, ResourceTable):
            return focused
        if isinstance(focused, FilterInput):
            return self.query_one(f"#{focused.table_id}", ResourceTable)
        return None

    def _filter_of(self, table: ResourceTable) -> Any:
        from opsdash.widgets.panels import FilterInput

        return next(f for f in self.query(FilterInput) if f.table_id == table.id)

    @with_panels
    def action_filter(self) -> None:
        table = self._focused_table()
        if table is None:
            self.notify("Filter works on a list: press 1 for Containers first.", timeout=3)
            return
        box = self._filter_of(table)
        box.add_class("-visible")
        box.focus()

    @with_panels
    def action_resource(self) -> None:
        """`:` opens the Kubernetes panel's resource prompt, from any panel."""
        self._focus(self.cluster_panel.open_prompt())

    @with_panels
    def action_clear_filter(self) -> None:
        from opsdash.widgets.cluster_panel import ResourcePrompt

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

    # The filter lines' events (`Input` is imported with the panels).
    def on_input_changed(self, event: Input.Changed) -> None:
        if not event.input.has_class("filter"):
            return
        self.query_one(f"#{event.input.table_id}").set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.input.has_class("filter"):
            return
        if not event.value.strip():
            event.input.remove_class("-visible")
        self.query_one(f"#{event.input.table_id}").focus()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def action_pipelines(self) -> None:
        from opsdash.messages import ShowPipelines

        self.post_message(ShowPipelines())

    @with_panels
    def action_zoom(self) -> None:
        """The active panel fills the screen (again: all panels side by side)."""
        self.toggle_class("-zoomed")
        self._focus(self.panels[self.active_panel - 1].focus_targets[0])

    def action_recover(self) -> None:
        from opsdash.messages import FindInterrupted

        self.post_message(FindInterrupted())

    def action_audit(self) -> None:
        from opsdash.messages import ShowAudit

        self.post_message(ShowAudit())

    def action_refresh(self) -> None:
        from opsdash.messages import RefreshNow

        self.post_message(RefreshNow())


def _no_source(run: PipelineRun | None) -> None:
    """Outside opsdash's app no run has a source."""
    return None
