"""A pipeline run: its facts and jobs (enter), and a job's log tail (l).

Both screens fetch in thread workers and render only what came back; every
vendor string (job names, commit messages, log lines) is rendered literally.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from opsdash.formatting import age, human_duration, shown_now
from opsdash.messages import PipelineAction
from opsdash.model import PipelineJob, PipelineRun
from opsdash.model.ml import ModelVersion
from opsdash.poller import describe_error
from opsdash.redact import clip
from opsdash.safetext import ansi_text, literal
from opsdash.sources.capabilities import RerunsRuns, RunDetails
from opsdash.views.pipelines import (
    JOB_COLUMNS,
    hidden_job_columns,
    job_search_text,
    run_status,
)
from opsdash.widgets.resource_table import ResourceTable

JOBS_REFRESH = 3.0  # seconds between job reloads while the run is not finished


def _now() -> datetime:
    return shown_now()


Registered = tuple[tuple[ModelVersion, str], ...]  # (version, its registry's label)


def parameters_text(run: PipelineRun, width: int = 60) -> Text:
    """`key = value` per parameter, one a line: values clipped and redacted."""
    text = Text()
    for key, value in run.parameters:
        if text:
            text.append("\n")
        text.append_text(literal(clip(key, 40), "bold"))
        text.append(" = ")
        text.append_text(literal(clip(value, width)))
    return text


def run_facts(run: PipelineRun, now: datetime, registered: Registered = ()) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    status = run_status(run.status)
    if run.vendor_status:
        status.append_text(literal(f" · {run.vendor_status}", "dim"))
    table.add_row("Status", status)
    table.add_row("Pipeline", literal(f"{run.pipeline}  {run.provider}:{run.project}"))
    number = "" if run.number is None else f"#{run.number}"
    attempt = f"  attempt {run.attempt}" if run.attempt > 1 else ""
    table.add_row("Run", literal(f"{number}  id {run.id}{attempt}".strip()))
    if run.branch or run.sha:
        table.add_row("Commit", literal(f"{run.branch}  {run.sha[:12]}".strip()))
    if run.message:
        table.add_row("Message", literal(run.message))
    if run.actor or run.event:
        by = f"{run.actor}  ({run.event})" if run.actor and run.event else run.actor or run.event
        table.add_row("By", literal(by))
    started = run.started or run.created
    if started is not None:
        table.add_row("Started", literal(f"{started:%Y-%m-%d %H:%M:%S} ({age(started, now)} ago)"))
    table.add_row("Took", literal(human_duration(run.duration_s(now))))
    if run.verdict:
        table.add_row("Result", literal(run.verdict, "green" if run.pushed else "yellow"))
    if run.parameters:
        table.add_row("Parameters", parameters_text(run))
    for version, source in registered:
        table.add_row("Registered", literal(f"{version.model} v{version.version} ({source})"))
    if run.is_deploy:
        table.add_row("Deploy", Text("yes: a run of the configured deploy", style="cyan"))
    if run.is_training:
        table.add_row("Training", Text("yes: a run of the configured training", style="cyan"))
    if run.url:
        table.add_row("URL", literal(run.url))
    return table


class RunScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="run-back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="run-back-q"),
        Binding("l", "log", "Job log", id="run-log"),
        Binding("r", "act('rerun')", "Rerun", id="run-rerun"),
        Binding("F", "act('rerun-failed')", "Rerun failed", id="run-rerun-failed"),
        Binding("c", "act('cancel')", "Cancel run", id="run-cancel"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="run-reload"),
    ]

    def __init__(self, run: PipelineRun, source: Any, registered: Registered = ()):
        super().__init__()
        self.run = run
        self.source = source
        self.registered = registered  # the model versions this run produced
        self._loaded = False

    def compose(self) -> ComposeResult:
        number = "" if self.run.number is None else f" #{self.run.number}"
        yield Static(literal(f"Run: {self.run.pipeline}{number}", "bold"), classes="screen-title")
        yield Static(run_facts(self.run, _now(), self.registered), id="run-facts")
        yield Static(Text("Loading jobs…", style="dim"), id="run-jobs-status")
        # Ties in the stage sort keep the source's order (an orchestrator's task
        # order, e.g. a TFX pipeline's components), not the order of job ids.
        yield ResourceTable(
            JOB_COLUMNS, job_search_text, id="jobs-table", sort_column="stage", keep_order=True
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#jobs-table").focus()
        self.load_jobs()
        self.set_interval(1.0, self._tick)
        self.set_interval(JOBS_REFRESH, self._reload_if_running)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and parameters == ("rerun-failed",):
            source = self.source
            return True if isinstance(source, RerunsRuns) and source.can_rerun_failed else None
        return True

    def show_run(self, run: PipelineRun) -> None:
        """The panel polled a newer state of this run."""
        self.run = run
        self._tick()

    def _tick(self) -> None:
        self.query_one("#run-facts", Static).update(run_facts(self.run, _now(), self.registered))

    def _reload_if_running(self) -> None:
        if not self.run.status.finished or not self._loaded:
            self.load_jobs()

    def action_reload(self) -> None:
        self.load_jobs()

    @work(thread=True, exclusive=True, group="run-jobs", exit_on_error=False)
    def load_jobs(self) -> None:
        if not isinstance(self.source, RunDetails):  # a source that only lists runs
            reason = f"{self.run.source} does not list a run's jobs"
            self.app.call_from_thread(self._show_jobs, None, reason)
            return
        try:
            jobs = self.source.jobs(self.run)
        except Exception as exc:  # noqa: BLE001 - one line to the user
            self.app.call_from_thread(self._show_jobs, None, describe_error(exc))
            return
        self.app.call_from_thread(self._show_jobs, jobs, "")

    def _show_jobs(self, jobs: list[PipelineJob] | None, error: str) -> None:
        if not self.is_attached:
            return
        status = self.query_one("#run-jobs-status", Static)
        if jobs is None:
            status.update(literal(f"Could not load jobs: {error}", "red"))
            return
        self._loaded = True
        status.update(Text(f"{len(jobs)} jobs   l: log of the selected job", style="dim"))
        table = self.query_one("#jobs-table", ResourceTable)
        table.set_hidden_columns(hidden_job_columns(jobs))
        table.update_records(jobs)

    @property
    def selected_job(self) -> PipelineJob | None:
        record = self.query_one("#jobs-table", ResourceTable).selected
        return record if isinstance(record, PipelineJob) else None

    def action_log(self) -> None:
        job = self.selected_job
        if job is None:
            self.notify("No job selected (jobs are still loading?).", timeout=3)
            return
        self.app.push_screen(JobLogScreen(self.run, job, self.source))

    def action_act(self, action: str) -> None:
        self.post_message(PipelineAction(action, self.run))

    def on_resource_table_activated(self, event: ResourceTable.Activated) -> None:
        self.action_log()


class JobLogScreen(Screen):
    """The tail of one job's log; colour kept, every other escape dropped."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="joblog-back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="joblog-back-q"),
        Binding("r", "reload", "Reload", id="joblog-reload"),
        Binding("left_square_bracket", "try(-1)", "Previous try", id="joblog-try-previous"),
        Binding("right_square_bracket", "try(1)", "Next try", id="joblog-try-next"),
        Binding("j", "scroll_down", "Down", show=False, id="joblog-down"),
        Binding("k", "scroll_up", "Up", show=False, id="joblog-up"),
        Binding("g", "top", "Top", show=False, id="joblog-top"),
        Binding("G", "bottom", "Bottom", show=False, id="joblog-bottom"),
    ]

    def __init__(self, run: PipelineRun, job: PipelineJob, source: Any):
        super().__init__()
        self.run = run
        self.job = job
        self.source = source

    def _title(self) -> Text:
        number = "" if self.run.number is None else f" #{self.run.number}"
        tries = f"  (try {self.job.attempt} of {self.job.attempts})" * (self.job.attempts > 1)
        return literal(f"Log: {self.run.pipeline}{number} / {self.job.name}{tries}", "bold")

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="joblog-title", classes="screen-title")
        yield Static(Text("Loading the log…", style="dim"), id="joblog-status")
        yield RichLog(id="joblog", wrap=False, markup=False, highlight=False, max_lines=20_000)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(RichLog).focus()
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "try":  # shown only where there is more than one try
            return True if self.job.attempts > 1 else None
        return True

    def action_try(self, step: int) -> None:
        """`[` / `]`: the log of the previous / next try of the same job."""
        attempt = min(max(1, self.job.attempt + step), self.job.attempts)
        if attempt == self.job.attempt:
            edge = "first" if step < 0 else "last"
            self.notify(f"This is the {edge} try ({attempt} of {self.job.attempts}).", timeout=2)
            return
        self.job = replace(self.job, attempt=attempt)
        self.query_one("#joblog-title", Static).update(self._title())
        self.query_one("#joblog-status", Static).update(Text("Loading the log…", style="dim"))
        self.action_reload()

    @work(thread=True, exclusive=True, group="job-log", exit_on_error=False)
    def action_reload(self) -> None:
        job = self.job
        try:
            text = self.source.log_tail(self.run, job)
        except Exception as exc:  # noqa: BLE001 - one line to the user
            self.app.call_from_thread(self._show, None, describe_error(exc), job)
            return
        lines = [ansi_text(line) for line in text.splitlines()]
        self.app.call_from_thread(self._show, lines, "", job)

    def _show(self, lines: list[Text] | None, error: str, job: PipelineJob | None = None) -> None:
        if not self.is_attached or (job is not None and job != self.job):
            return  # a log of a try the user already stepped away from
        status = self.query_one("#joblog-status", Static)
        log = self.query_one(RichLog)
        if lines is None:
            status.update(literal(f"Could not load the log: {error}", "red"))
            return
        log.clear()
        for line in lines:
            log.write(line)
        status.update(Text(f"{len(lines)} lines (tail)   r: reload", style="dim"))

    def action_scroll_down(self) -> None:
        self.query_one(RichLog).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(RichLog).scroll_up(animate=False)

    def action_top(self) -> None:
        self.query_one(RichLog).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(RichLog).scroll_end(animate=False)
