"""The Textual app: wires the poller to the screens.

Each source is polled by its own thread worker; when it finishes, the result
is applied on the UI thread and a one-shot timer is re-armed for the next poll,
so polls of one source never overlap and a slow source never blocks another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from opsdash.config import Config
from opsdash.eventlog import event
from opsdash.literal_app import LiteralTextApp
from opsdash.messages import (
    ClusterAction,
    ContainerAction,
    FindInterrupted,
    ModelAction,
    PipelineAction,
    RefreshNow,
    ShowAudit,
    ShowDetails,
    ShowLogs,
    ShowModel,
    ShowPipelines,
    ShowPodLogs,
    ShowRecord,
    ShowRun,
    ShowService,
    ShowWorkload,
)
from opsdash.model import (
    Container,
    DockerSnapshot,
    PipelineRun,
    SourceResult,
)
from opsdash.model.deployments import DeploymentsSnapshot, ServiceDeployments
from opsdash.model.kube import ClusterSnapshot, KubePod, KubeWorkload
from opsdash.model.ml import ModelRow, ModelsSnapshot
from opsdash.poller import Poller
from opsdash.screens.main import MainScreen
from opsdash.widgets.panels import PANEL_TITLES


class OpsdashApp(LiteralTextApp):
    CSS_PATH = "opsdash.tcss"
    TITLE = "opsdash"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="command-palette"),
    ]

    def __init__(self, config: Config, poller: Poller, *, store: Any | None = None):
        super().__init__()
        self.config = config
        self.poller = poller
        self.store = store
        self.read_only = config.read_only
        self._poll_timers: dict[str, Timer] = {}
        self._applied: set[str] = set()
        self._drawn: dict[str, object] = {}  # each source's snapshot the panels show
        from opsdash.panel_feed import PanelFeed

        self.feed = PanelFeed(self)
        from opsdash.action_flow import ActionFlow
        from opsdash.actions.runner import ActionRunner

        self.runner = ActionRunner(store, read_only=config.read_only)
        self.actions = ActionFlow(self, config, poller, self.runner)
        from opsdash.cluster_flow import ClusterFlow

        self.cluster_actions = ClusterFlow(self.actions)
        from opsdash.pipeline_flow import PipelineFlow

        self.pipeline_actions = PipelineFlow(self.actions)
        from opsdash.recovery_flow import RecoveryFlow

        self.recovery = RecoveryFlow(self, self.actions)
        self.animation_level = "none"  # no animation work while idle or over SSH

    # --- lifecycle ----------------------------------------------------------

    async def on_mount(self) -> None:
        self._handle_exit_signals()
        if self.config.keys:
            self.set_keymap(self.config.keys)
        await self.push_screen(
            MainScreen(
                read_only=self.read_only, pipeline_source=self.pipeline_actions.pipeline_source
            )
        )
        self.feed.explain_unconfigured()
        for label in self.poller.sources:
            self._start_poll(label)
        self.set_interval(1.0, self.feed.tick)
        self.feed.tick()
        for feeds, render in self.feed.panels.items():
            if not self.feed.labels(feeds):
                render()  # says how to configure one

    def _handle_exit_signals(self) -> None:
        """SIGTERM, and SIGHUP (the SSH connection dropped), end opsdash cleanly,
        but never in the middle of an action: it is carried to its end first."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(number, self._exit_signal, number)

    def _exit_signal(self, number: int) -> None:
        import signal

        name = signal.Signals(number).name
        if self.actions.running:
            self.actions.exit_when_idle = True
            event(f"{name}: finishing the running action before exiting", warning=True)
            with contextlib.suppress(Exception):  # the terminal may be gone
                self.notify(f"{name}: exiting once the running action has ended.", timeout=10)
            return
        event(f"{name}: exiting")
        self.exit()

    def on_unmount(self) -> None:
        for timer in self._poll_timers.values():
            timer.stop()
        self.poller.close()

    @property
    def main(self) -> MainScreen:
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    # --- polling --------------------------------------------------------------

    def _poll(self, label: str) -> SourceResult:
        """In a worker thread: poll, then keep what must outlive the screen."""
        previous = self.poller.data(label)
        result = self.poller.run(label)
        if result.ok and result.data is previous:
            return result  # the source said nothing changed (same snapshot): nothing to record
        if self.store is not None and result.ok:
            from opsdash.dora.watcher import record_poll

            recorded = record_poll(
                self.store, self.config, label, result.data, acting=self.runner.acting_services
            )
            if recorded:  # the DORA keys change now, not at their next poll
                with contextlib.suppress(RuntimeError):  # the app is closing
                    self.call_from_thread(self.poll_now, quiet=True, feeds=DeploymentsSnapshot)
        return result

    def _start_poll(self, label: str) -> None:
        self.run_worker(
            lambda: self._poll(label),
            name=f"poll:{label}",
            group=f"poll:{label}",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if not (worker.name or "").startswith("poll:"):
            return
        label = worker.name.split(":", 1)[1]
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, SourceResult):
            self._apply(worker.result)
        elif event.state is WorkerState.ERROR:
            self.poller.record(label, None, f"internal error: {worker.error}", 0.0)
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._rearm(label)

    def _rearm(self, label: str) -> None:
        old = self._poll_timers.pop(label, None)
        if old is not None:
            old.stop()
        self._poll_timers[label] = self.set_timer(
            self.poller.next_delay(label), lambda: self._start_poll(label)
        )

    def poll_now(self, *, quiet: bool = False, feeds: type | None = None) -> None:
        """ctrl+r: poll every source (or those feeding `feeds`) now instead of waiting."""
        for label, source in self.poller.sources.items():
            if feeds is not None and not issubclass(source.feeds, feeds):
                continue
            running = [w for w in self.workers if w.name == f"poll:{label}" and w.is_running]
            if not running:
                timer = self._poll_timers.pop(label, None)
                if timer is not None:
                    timer.stop()
                self._start_poll(label)
        if not quiet:
            self.notify("Refreshing every source…", timeout=1.5)

    @property
    def all_polled(self) -> bool:
        """Every source has answered (or failed) at least once: the screen is complete."""
        return self._applied >= set(self.poller.sources)

    @property
    def has_main(self) -> bool:
        """False while shutting down (the panels are being removed): a finished
        poll then draws nothing. Polls start once the main screen is mounted."""
        return self.is_running and any(isinstance(s, MainScreen) for s in self.screen_stack)

    def _apply(self, result: SourceResult) -> None:
        if not self.has_main:
            return
        self.feed.tick()  # health first: a state change redraws its panels there
        drawn = self._drawn.get(result.source)
        unchanged = result.ok and (result.data is drawn or result.data == drawn)
        if unchanged and result.source in self._applied:
            return  # the same snapshot as last time: the panels already show it
        self._drawn[result.source] = result.data
        self._applied.add(result.source)
        self.feed.render(self.poller.sources[result.source].feeds)
        if isinstance(result.data, DockerSnapshot):
            self.recovery.after_docker_poll(result.data.containers)
        elif isinstance(result.data, ClusterSnapshot):
            self.recovery.after_cluster_poll()

    # --- screens -------------------------------------------------------------
    # Screens post what the user asked for (opsdash.messages); these handlers
    # decide what it means. The show_* methods stay the app's own verbs (the
    # command palette and tests call them); a handler only unpacks its message.

    def on_show_details(self, message: ShowDetails) -> None:
        self.show_details(message.container)

    def on_show_logs(self, message: ShowLogs) -> None:
        self.show_logs(message.container)

    def on_show_run(self, message: ShowRun) -> None:
        self.show_run(message.run)

    def on_show_model(self, message: ShowModel) -> None:
        self.show_model(message.row)

    def on_show_service(self, message: ShowService) -> None:
        self.show_service(message.row)

    def on_show_workload(self, message: ShowWorkload) -> None:
        self.show_workload(message.workload)

    def on_show_pod_logs(self, message: ShowPodLogs) -> None:
        self.show_pod_logs(message.pod, message.container, previous=message.previous)

    def on_show_record(self, message: ShowRecord) -> None:
        self.show_record(message.record)

    def on_show_audit(self, message: ShowAudit) -> None:
        self.show_audit()

    def on_refresh_now(self, message: RefreshNow) -> None:
        self.poll_now()

    def on_find_interrupted(self, message: FindInterrupted) -> None:
        self.recovery.scan(show_always=True)

    def on_container_action(self, message: ContainerAction) -> None:
        self.actions.start(message.action, message.target)

    def on_pipeline_action(self, message: PipelineAction) -> None:
        self.pipeline_actions.start(message.action, message.run, pipeline=message.pipeline)

    def on_show_pipelines(self, message: ShowPipelines) -> None:
        self.show_pipelines()

    def on_model_action(self, message: ModelAction) -> None:
        if message.action == "retrain":
            self.pipeline_actions.retrain(message.row)
            return
        self.actions.start_model(message.action, message.row, message.version)

    def on_cluster_action(self, message: ClusterAction) -> None:
        self.cluster_actions.start(message.action, message.target, message.value)

    def _docker_source(self, host: str) -> Any:
        return self.poller.source_of(DockerSnapshot, host)

    def show_details(self, container: Container) -> None:
        from opsdash.screens.details import DetailsScreen

        self.push_screen(DetailsScreen(container, self._docker_source(container.host)))

    def show_record(self, record: object) -> None:
        from opsdash.screens.details import RecordScreen

        self.push_screen(RecordScreen(record))

    def show_logs(self, container: Container) -> None:
        from opsdash.screens.logs import LogsScreen

        source = self._docker_source(container.host)

        def open_stream():
            if source is None:
                raise RuntimeError("its Docker source is not configured")
            return source.logs(container.id, tail=1000)

        self.push_screen(
            LogsScreen(
                container.name,
                open_stream,
                file_name=container.name,
                ended="stream ended (the container stopped?)",
            )
        )

    def show_workload(self, workload: KubeWorkload) -> None:
        from opsdash.screens.kube import WorkloadScreen

        self.push_screen(WorkloadScreen(workload, self.feed.cluster_source(workload.context)))

    def show_pod_logs(self, pod: KubePod, container: str = "", *, previous: bool = False) -> None:
        """One container's log; with no container named, the only one there is,
        else the picker asks (for `previous`: among those that restarted)."""
        from opsdash.screens.kube import ContainerPicker, pod_logs_screen

        source = self.feed.cluster_source(pod.context)
        names = pod.crashed if previous else pod.container_names
        if container:
            self.push_screen(pod_logs_screen(source, pod, container, previous=previous))
        elif not names:
            what = "restarted (no previous log)" if previous else "exists"
            self.notify(f"No container of {pod.name} {what}.", severity="warning", timeout=4)
        elif len(names) == 1:
            self.push_screen(pod_logs_screen(source, pod, names[0], previous=previous))
        else:

            def picked(name: str | None) -> None:
                if name:
                    self.push_screen(pod_logs_screen(source, pod, name, previous=previous))

            self.push_screen(ContainerPicker(pod, names, previous=previous), picked)

    def show_run(self, run: PipelineRun) -> None:
        from opsdash.screens.pipeline import RunScreen

        registered = self.feed.registered_by(run)
        self.push_screen(RunScreen(run, self.poller.sources.get(run.source), registered))

    def show_pipelines(self) -> None:
        """`P`: every pipeline the sources list; Enter filters the panel to its runs."""
        from opsdash.screens.pipeline_list import PipelineListScreen

        def picked(pipeline) -> None:
            if pipeline is not None and self.has_main:
                self.main.pipelines_panel.filter_to(pipeline.name)
                self.main.action_panel(3)

        self.push_screen(PipelineListScreen(self.feed.pipeline_definitions()), picked)

    def show_model(self, row: ModelRow) -> None:
        from opsdash.screens.models import ModelScreen

        snapshot = self.poller.data(row.source)
        versions = snapshot.versions_of(row.model) if isinstance(snapshot, ModelsSnapshot) else ()
        rows = snapshot.rows if isinstance(snapshot, ModelsSnapshot) else ()
        metrics = tuple(dict.fromkeys(r.metric for r in rows if r.model == row.model))
        metrics = metrics or (row.metric,)
        from opsdash.sources.capabilities import ModelRegistry

        registry = isinstance(self.poller.sources.get(row.source), ModelRegistry)
        lineage = self.feed.lineage()
        produced = {v.key: r for v in versions if (r := lineage.run_for(v)) is not None}
        retrain, can_retrain = self.pipeline_actions.retrain_hint(row)
        self.push_screen(
            ModelScreen(
                row,
                versions,
                metrics,
                moves_aliases=registry,
                produced_by=produced,
                retrain=retrain,
                can_retrain=can_retrain,
            )
        )

    def show_service(self, row: ServiceDeployments) -> None:
        from opsdash.screens.deployments import ServiceScreen

        source = next(
            (self.poller.sources[label] for label in self.feed.labels(DeploymentsSnapshot)), None
        )
        self.push_screen(ServiceScreen(row, source, self.feed.pipeline_runs()))

    def show_audit(self) -> None:
        from opsdash.screens.actions import AuditScreen

        entries = self.store.audit_entries() if self.store is not None else []
        self.push_screen(AuditScreen(entries))

    def action_help(self) -> None:
        from opsdash.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for number, title in enumerate(PANEL_TITLES, start=1):
            yield SystemCommand(
                f"Go to {title}",
                f"Focus the {title} panel ({number})",
                lambda n=number: self.main.action_panel(n),
            )
        yield SystemCommand("Refresh now", "Poll every source now (ctrl+r)", self.poll_now)
        yield SystemCommand("Keys", "Show every key binding (?)", self.action_help)
        yield SystemCommand("Audit log", "Every action, confirmed or refused (a)", self.show_audit)
