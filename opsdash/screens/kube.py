"""Enter on a Kubernetes workload: its rollout, conditions, pods, revision
history and events; and the container picker `l` opens on a pod of several.

The details are read from the context's server (`Cluster.details`), not
watched, so the screen reads them in a thread worker when it opens and again
REFRESH_SECONDS after each read ends (a one-shot timer, so reads never overlap
and a slow server is not asked twice at once). While another screen covers it,
the timer re-arms without reading. The panel feed hands it the watched record
on every poll (`show_workload`), so the summary line is never older than the panel.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from opsdash.messages import ClusterAction, ShowPodLogs
from opsdash.model.kube import KubePod, KubeWorkload, Revision, RolloutState, WorkloadDetails
from opsdash.poller import describe_error
from opsdash.safetext import literal
from opsdash.views.kube import (
    EVENT_COLUMNS,
    POD_COLUMNS,
    REVISION_COLUMNS,
    conditions_text,
    event_rows,
    event_search_text,
    pod_search_text,
    revision_search_text,
    workload_summary,
)
from opsdash.widgets.resource_table import KubeTable, ResourceTable

REFRESH_SECONDS = 5.0


class WorkloadScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="workload-back"),
        Binding("q", "back", "Back", show=False, id="workload-back-q"),
        Binding("l", "logs", "Logs", id="workload-logs"),
        Binding("p", "logs(True)", "Previous log", id="workload-previous-log"),
        Binding("R", "cluster('restart')", "Restart", id="workload-restart"),
        Binding("u", "undo", "Undo to revision", id="workload-undo"),
        Binding("s", "cluster('scale')", "Scale", id="workload-scale"),
        Binding("i", "cluster('set-image')", "Set image", id="workload-set-image"),
    ]

    def __init__(self, workload: KubeWorkload, source: Any | None):
        super().__init__()
        self.workload = workload
        self.source = source
        self.details: WorkloadDetails | None = None
        self.reads = 0  # finished reads, for tests that wait for a refresh
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="workload-title", classes="screen-title")
        yield Static(id="workload-summary")
        yield Static(id="workload-conditions")
        yield Static(id="workload-status", classes="section-title")
        yield Static(Text("Pods", style="bold"), classes="section-title")
        yield KubeTable(POD_COLUMNS, pod_search_text, id="workload-pods")
        yield Static(Text("Revisions (newest first)", style="bold"), classes="section-title")
        yield KubeTable(
            REVISION_COLUMNS,
            revision_search_text,
            id="workload-revisions",
            sort_column="number",
            key=lambda r: str(r.number),
        )
        yield Static(Text("Events (newest first)", style="bold"), classes="section-title")
        yield KubeTable(EVENT_COLUMNS, event_search_text, id="workload-events")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        pods = self.query_one("#workload-pods", ResourceTable)
        pods.set_hidden_columns({"context", "namespace"})
        self.show_workload(self.workload)
        pods.focus()
        if self.source is None:
            self._status(Text("Its Kubernetes context is not configured.", style="yellow"))
            return
        self._status(Text("loading…", style="dim"))
        self.load()

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    # --- reading ------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="workload-details")
    def load(self) -> None:
        try:
            details = self.source.details(self.workload)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - shown in one line
            self.app.call_from_thread(self._failed, describe_error(exc))
            return
        self.app.call_from_thread(self.show_details, details)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "workload-details":
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.reads += 1
            self._rearm()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.is_attached:
            self._timer = self.set_timer(REFRESH_SECONDS, self._tick)

    def _tick(self) -> None:
        if self.is_current:
            self.load()
        else:
            self._rearm()  # covered (a log screen): look again later, read nothing now

    def _failed(self, message: str) -> None:
        text = Text("could not read the details: ", style="bold red")
        text.append_text(literal(message))
        self._status(text)

    def _status(self, text: Text | None) -> None:
        status = self.query_one("#workload-status", Static)
        status.display = bool(text)
        status.update(text or "")

    # --- data in --------------------------------------------------------------

    def show_workload(self, workload: KubeWorkload) -> None:
        """The summary, rollout message and conditions of `workload` (cheap: three Statics)."""
        self.workload = workload
        title = literal(f"{workload.kind} {workload.namespace}/{workload.name}", "bold")
        title.append_text(literal(f"  ctx {workload.context}", "dim"))
        self.query_one("#workload-title", Static).update(title)
        summary = workload_summary(workload)
        images = ", ".join(f"{name}={image}" for name, image in workload.containers)
        summary.append("\n")
        summary.append_text(literal(f"images: {images or '-'}", "dim"))
        if workload.rollout_message:
            failed = workload.rollout is RolloutState.FAILED
            summary.append("\n")
            summary.append_text(literal(workload.rollout_message, "bold red" if failed else "dim"))
        self.query_one("#workload-summary", Static).update(summary)
        self.query_one("#workload-conditions", Static).update(conditions_text(workload))

    def show_details(self, details: WorkloadDetails) -> None:
        if not self.is_attached:
            return
        self.details = details
        self._status(None)
        self.show_workload(details.workload)
        with self.app.batch_update():
            self.query_one("#workload-pods", ResourceTable).update_records(details.pods)
            self.query_one("#workload-revisions", ResourceTable).update_records(details.revisions)
            self.query_one("#workload-events", ResourceTable).update_records(
                event_rows(details.events)
            )

    # --- keys -----------------------------------------------------------------

    def _selected(self, table_id: str) -> Any | None:
        return self.query_one(f"#{table_id}", ResourceTable).selected

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_logs(self, previous: bool = False) -> None:
        pod = self._selected("workload-pods")
        if not isinstance(pod, KubePod):
            self.notify("Select a pod first.", severity="warning", timeout=3)
            return
        self.post_message(ShowPodLogs(pod, previous=previous))

    def action_cluster(self, action: str) -> None:
        self.post_message(ClusterAction(action, self.workload))

    def action_undo(self) -> None:
        """To the revision under the cursor when the revisions list has focus;
        else to the previous one (the action decides which that is)."""
        table = self.query_one("#workload-revisions", ResourceTable)
        revision = table.selected if table.has_focus else None
        if isinstance(revision, Revision):
            if revision.current:
                self.notify(f"Revision {revision.number} is the current one.", timeout=3)
                return
            self.post_message(ClusterAction("undo", self.workload, str(revision.number)))
            return
        self.post_message(ClusterAction("undo", self.workload))

    @on(ResourceTable.Activated)
    def _pod_logs(self, event: ResourceTable.Activated) -> None:
        event.stop()
        pod = event.table.records.get(event.key)  # Enter on a pod; other rows open nothing
        if isinstance(pod, KubePod):
            self.post_message(ShowPodLogs(pod))


class ContainerPicker(ModalScreen[str | None]):
    """Which container of a pod: Enter picks, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker-cancel")]

    def __init__(self, pod: KubePod, names: tuple[str, ...], *, previous: bool = False):
        super().__init__()
        self.pod = pod
        self.names = names
        self.previous = previous

    def compose(self) -> ComposeResult:
        what = "previous log" if self.previous else "log"
        title = literal(f"{what} of {self.pod.name}: which container?", "bold")
        with_options = OptionList(
            *[Option(literal(name), id=str(i)) for i, name in enumerate(self.names)],
            id="picker-list",
        )
        with_options.border_title = title
        yield with_options

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.names[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)


def pod_logs_screen(source: Any | None, pod: KubePod, container: str, *, previous: bool = False):
    """The log screen of one container of `pod` (its last crashed run's, `previous`)."""
    from opsdash.screens.logs import LogsScreen

    def open_stream():
        if source is None:
            raise RuntimeError("its Kubernetes context is not configured")
        return source.pod_logs(pod, container, follow=not previous, previous=previous)

    which = " (previous)" if previous else ""
    crashed = not previous and container in pod.crashed
    return LogsScreen(
        f"{pod.namespace}/{pod.name} {container}{which}",
        open_stream,
        file_name=f"{pod.name}-{container}{'-previous' if previous else ''}",
        ended="end of the previous log" if previous else "stream ended (the pod stopped?)",
        previous=(lambda: ShowPodLogs(pod, container, previous=True)) if crashed else None,
    )
