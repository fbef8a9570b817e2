"""The Textual app: wires the poller to the screens.

Each source is polled by its own thread worker; when it finishes, the result
is applied on the UI thread and a one-shot timer is re-armed for the next poll,
so polls of one source never overlap and a slow source never blocks another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from opsdash.literal_app import LiteralTextApp
from opsdash.replay_keys import REPLAY_BINDINGS, ReplayKeys
from opsdash.screens.main import MainScreen
from opsdash.screens.openers import ScreenOpeners
from opsdash.themes import use_themes

if TYPE_CHECKING:
    # Only annotations: what the first frame does not draw is imported where used.
    from opsdash.action_flow import ActionFlow
    from opsdash.actions.runner import ActionRunner
    from opsdash.cli import Backend
    from opsdash.cluster_flow import ClusterFlow
    from opsdash.config import Config
    from opsdash.messages import (
        ClusterAction,
        ContainerAction,
        ContainerShell,
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
        ShowProjectLogs,
        ShowRecord,
        ShowRun,
        ShowService,
        ShowServiceLogs,
        ShowWorkload,
    )
    from opsdash.model import PipelineRun, SourceResult
    from opsdash.panel_feed import PanelFeed
    from opsdash.pipeline_flow import PipelineFlow
    from opsdash.poller import Poller
    from opsdash.recorder import Recorder
    from opsdash.recovery_flow import RecoveryFlow
    from opsdash.shell_flow import ShellFlow


class OpsdashApp(ReplayKeys, ScreenOpeners, LiteralTextApp):
    CSS_PATH = "opsdash.tcss"
    TITLE = "opsdash"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="command-palette"),
        *REPLAY_BINDINGS,  # b: back in time, B: back to live (opsdash.replay_keys)
    ]

    def __init__(
        self,
        config: Config,
        poller: Poller | None,
        *,
        store: Any | None = None,
        backend: Callable[[], Backend] | None = None,
    ):
        """`backend`: what builds the store and the sources (`opsdash.cli.tui_backend`),
        run in a worker once the first frame is drawn, so that neither importing a
        source's SDK, autodetection, opening the store nor a source that never
        answers delays it; without one, `poller` and `store` are complete already.
        `poller` None: an empty one, made on first use (the TUI's first frame
        needs none)."""
        super().__init__()
        use_themes(self, config.theme)
        self.config = config
        if poller is not None:
            self.poller = poller
        self.store = store
        self.read_only = config.read_only
        self._backend = backend
        self._opened_store = False  # the backend's: this app closes it
        self._poll_timers: dict[str, Timer] = {}
        self._applied: set[str] = set()
        self._drawn: dict[str, object] = {}  # each source's snapshot the panels show
        self.animation_level = "none"  # no animation work while idle or over SSH

    # The action machinery is built on first use: not one key of it is needed to
    # draw the first frame, and importing it (the store, the action plans) costs.

    @cached_property
    def poller(self) -> Poller:
        from opsdash.poller import Poller

        return Poller([])

    @cached_property
    def feed(self) -> PanelFeed:
        """What the panels and the header show, from the poller: built with the
        panels (the first frame's header needs none of it)."""
        from opsdash.panel_feed import PanelFeed

        return PanelFeed(self)

    @cached_property
    def recorder(self) -> Recorder:
        """Every poll's result into the store, for replay (built at the first poll)."""
        from opsdash.recorder import Recorder

        return Recorder(self.store, self.config.record)

    @cached_property
    def runner(self) -> ActionRunner:
        from opsdash.actions.runner import ActionRunner

        return ActionRunner(self.store, read_only=self.config.read_only)

    @cached_property
    def actions(self) -> ActionFlow:
        from opsdash.action_flow import ActionFlow

        return ActionFlow(self, self.config, self.poller, self.runner)

    @cached_property
    def cluster_actions(self) -> ClusterFlow:
        from opsdash.cluster_flow import ClusterFlow

        return ClusterFlow(self.actions)

    @cached_property
    def pipeline_actions(self) -> PipelineFlow:
        from opsdash.pipeline_flow import PipelineFlow

        return PipelineFlow(self.actions)

    @cached_property
    def shell(self) -> ShellFlow:
        from opsdash.shell_flow import ShellFlow

        return ShellFlow(self.actions)

    @cached_property
    def recovery(self) -> RecoveryFlow:
        from opsdash.recovery_flow import RecoveryFlow

        return RecoveryFlow(self, self.actions)

    @property
    def starting(self) -> bool:
        """The backend (store and sources) is still being built after the first frame."""
        return self._backend is not None

    def wait_for_actions(self) -> None:
        """A running action ends (and is audited) first; none ran if no flow was built."""
        if "actions" in self.__dict__:
            self.actions.wait_for_actions()

    def close_backend(self) -> None:
        """The store the backend opened (the caller closes one it handed in)."""
        if self._opened_store and self.store is not None:
            self.store.close()

    # --- lifecycle ----------------------------------------------------------

    async def on_mount(self) -> None:
        self._handle_exit_signals()
        if self.config.keys:
            self.set_keymap(self.config.keys)
        # Started with a backend (the TUI), the first frame draws the panels'
        # frames only; the panels take their places right after it.
        await self.push_screen(
            MainScreen(
                read_only=self.read_only,
                pipeline_source=self._pipeline_source,
                panels_later=self._backend is not None,
            )
        )
        if self._backend is not None:
            self.call_after_refresh(self._build_backend)  # once the first frame is out
            return
        self.set_interval(1.0, self._tick)
        self._start_polling(list(self.poller.sources))

    def _tick(self) -> None:
        """Once a second: the live header and ages, or the replay's."""
        if self.replaying is not None:
            self.replaying.tick()
        else:
            self.feed.tick()

    def _pipeline_source(self, run: PipelineRun | None) -> Any:
        """The run's CI source, for the keys the footer shows; with no source at
        all (the first frame) there is none, and the action flow is not built."""
        if "poller" not in self.__dict__ or not self.poller.sources:
            return None
        return self.pipeline_actions.pipeline_source(run)

    def _start_polling(self, labels: list[str]) -> None:
        self.feed.explain_unconfigured()
        for label in labels:
            self._start_poll(label)
        self.feed.tick()
        for feeds, render in self.feed.panels.items():
            if not self.feed.labels(feeds):
                render()  # says how to configure one

    async def _build_backend(self) -> None:
        """Once the first frame is out: the panels, then the backend (whose
        sources draw into the panels, so they are there first)."""
        backend = self._backend
        if backend is None:
            return
        if self.has_main:
            await self.main.mount_panels()
        self.set_interval(1.0, self._tick)
        self.feed.tick()
        self.run_worker(backend, name="backend", thread=True, exit_on_error=False)

    def _backend_ready(self, backend: Backend) -> None:
        """On the UI thread: the sources join the poller and start polling."""
        self._backend = None
        self.config = backend.config
        self.store = backend.store
        self._opened_store = True
        if "runner" in self.__dict__:  # built early (a key pressed): give it the store
            self.runner.store = backend.store
        if "actions" in self.__dict__:
            self.actions.config = backend.config
        if not self.is_running:
            return
        self._start_polling(self.poller.add(backend.sources))

    def _backend_failed(self, error: BaseException | None) -> None:
        from opsdash.eventlog import event

        self._backend = None
        event(f"opsdash could not start its sources: {error}", warning=True)
        self.notify(f"Could not start the sources: {error}", severity="error", timeout=30)
        self._start_polling([])

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

        from opsdash.eventlog import event

        name = signal.Signals(number).name
        if "actions" in self.__dict__ and self.actions.running:
            self.actions.exit_when_idle = True
            event(f"{name}: finishing the running action before exiting", warning=True)
            with contextlib.suppress(Exception):  # the terminal may be gone
                self.notify(f"{name}: exiting once the running action has ended.", timeout=10)
            return
        event(f"{name}: exiting")
        self.exit()

    def on_unmount(self) -> None:
        from opsdash.formatting import show_moment

        show_moment(None)  # a replay's moment is this app's alone
        for timer in self._poll_timers.values():
            timer.stop()
        if "poller" in self.__dict__:
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
        if self.store is not None:
            self.recorder.record(label, result.data, result.error, result.finished)
        if self.store is not None and result.ok:
            from opsdash.dora.watcher import record_poll
            from opsdash.model.deployments import DeploymentsSnapshot

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
        if worker.name == "backend":
            if event.state is WorkerState.SUCCESS:
                self._backend_ready(worker.result)
            elif event.state is WorkerState.ERROR:
                self._backend_failed(worker.error)
            return
        if not (worker.name or "").startswith("poll:"):
            return
        label = worker.name.split(":", 1)[1]
        from opsdash.model import SourceResult

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
        return not self.starting and self._applied >= set(self.poller.sources)

    @property
    def has_main(self) -> bool:
        """False while shutting down (the panels are being removed): a finished
        poll then draws nothing. Polls start once the main screen is mounted."""
        return self.is_running and any(isinstance(s, MainScreen) for s in self.screen_stack)

    def _apply(self, result: SourceResult) -> None:
        if not self.has_main:
            return
        from opsdash.model import DockerSnapshot
        from opsdash.model.kube import ClusterSnapshot

        self.feed.tick()  # health first: a state change redraws its panels there
        drawn = self._drawn.get(result.source)
        unchanged = result.ok and (result.data is drawn or result.data == drawn)
        if unchanged and result.source in self._applied:
            return  # the same snapshot as last time: the panels already show it
        self._drawn[result.source] = result.data
        self._applied.add(result.source)
        if self.replaying is None:  # else the panels show the past: leaving redraws them
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

    def on_show_project_logs(self, message: ShowProjectLogs) -> None:
        self.show_project_logs(message.container, whole=message.whole)

    def on_show_service_logs(self, message: ShowServiceLogs) -> None:
        self.show_service_logs(message.service)

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
        if self._refused_while_starting():
            return
        self.recovery.scan(show_always=True)

    def _refused_while_starting(self) -> bool:
        """No action before the store is open: each one is audited there; none on
        the recorded rows of a replay."""
        if self.refused_in_replay():
            return True
        if self.starting:
            self.notify("Still starting: the sources and the audit log are opening.", timeout=3)
        return self.starting

    def on_container_action(self, message: ContainerAction) -> None:
        if self._refused_while_starting():
            return
        self.actions.start(message.action, message.target)

    def on_container_shell(self, message: ContainerShell) -> None:
        if self._refused_while_starting():
            return
        self.shell.start(message.target)

    def on_pipeline_action(self, message: PipelineAction) -> None:
        if self._refused_while_starting():
            return
        self.pipeline_actions.start(message.action, message.run, pipeline=message.pipeline)

    def on_show_pipelines(self, message: ShowPipelines) -> None:
        self.show_pipelines()

    def on_model_action(self, message: ModelAction) -> None:
        if self._refused_while_starting():
            return
        if message.action == "retrain":
            self.pipeline_actions.retrain(message.row)
            return
        self.actions.start_model(message.action, message.row, message.version)

    def on_cluster_action(self, message: ClusterAction) -> None:
        if self._refused_while_starting():
            return
        self.cluster_actions.start(message.action, message.target, message.value)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from opsdash.widgets.panel_frame import PANEL_TITLES

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
