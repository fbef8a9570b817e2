"""Pipeline runs and their jobs: status badges, table columns and what `/` matches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from opsdash.formatting import age, human_duration
from opsdash.model import PipelineJob, PipelineRun, RunStatus
from opsdash.safetext import literal
from opsdash.views.common import Column, badge, search_text, short

# Icon + word + colour: the word alone carries the meaning (NO_COLOR, screen readers).
RUN_STATUS_LOOK = {
    RunStatus.QUEUED: ("◌", "cyan"),
    RunStatus.RUNNING: ("●", "yellow bold"),
    RunStatus.SUCCESS: ("✓", "green"),
    RunStatus.FAILED: ("✗", "red bold"),
    RunStatus.CANCELLED: ("⊘", "magenta"),
    RunStatus.SKIPPED: ("-", "dim"),
}


def run_status(status: RunStatus) -> Text:
    return badge(RUN_STATUS_LOOK, status)


def _started(run: PipelineRun) -> datetime | None:
    return run.started or run.created


def _run_title(run: PipelineRun) -> str:
    return run.message or run.event or ""


RUN_COLUMNS: list[Column[PipelineRun]] = [
    Column(
        "status",
        "STATUS",
        lambda r, _: run_status(r.status),
        lambda r: (r.status.finished, r.status.value),
        search=lambda r: r.status.value,
    ),
    Column(
        "pipeline",
        "PIPELINE",
        lambda r, _: literal(short(r.pipeline, 24), "bold"),
        lambda r: r.pipeline.lower(),
        search=lambda r: r.pipeline,
    ),
    Column(
        "number",
        "#",
        lambda r, _: Text("" if r.number is None else str(r.number), justify="right"),
        lambda r: -(r.number or 0),
        search=lambda r: "" if r.number is None else f"#{r.number}",
    ),
    Column(
        "branch",
        "BRANCH",
        lambda r, _: literal(short(r.branch, 20)),
        lambda r: r.branch,
        search=lambda r: r.branch,
    ),
    Column(
        "started",
        "STARTED",
        lambda r, now: literal(age(_started(r), now) + " ago" if _started(r) else "-"),
        lambda r: -(_started(r).timestamp() if _started(r) else float("inf")),  # type: ignore[union-attr]
    ),
    Column(
        "duration",
        "TOOK",
        lambda r, now: Text(human_duration(r.duration_s(now)), justify="right"),
        lambda r: -(r.duration_s() or 0.0),
    ),
    Column(
        "commit",
        "COMMIT",
        lambda r, _: literal(short(_run_title(r), 40)),
        lambda r: _run_title(r).lower(),
        search=lambda r: f"{r.message} {r.event}",  # the cell shows one or the other
    ),
    Column(
        "actor",
        "BY",
        lambda r, _: literal(short(r.actor, 16)),
        lambda r: r.actor.lower(),
        search=lambda r: r.actor,
    ),
    Column(
        "verdict",
        "RESULT",
        lambda r, _: literal(short(r.verdict, 24), "green" if r.pushed else "yellow"),
        lambda r: r.verdict,
        search=lambda r: r.verdict,
    ),
    Column(
        "source",
        "SOURCE",
        lambda r, _: literal(short(f"{r.provider}:{r.project}", 28), "dim"),
        lambda r: (r.provider, r.project),
        search=lambda r: f"{r.provider} {r.project}",
    ),
]

JOB_COLUMNS: list[Column[PipelineJob]] = [
    Column(
        "status",
        "STATUS",
        lambda j, _: run_status(j.status),
        lambda j: (j.status.finished, j.status.value),
        search=lambda j: j.status.value,
    ),
    Column(
        "stage",
        "STAGE",
        lambda j, _: literal(j.stage or "-"),
        lambda j: j.stage,
        search=lambda j: j.stage,
    ),
    Column(
        "name",
        "JOB",
        lambda j, _: literal(j.name, "bold"),
        lambda j: j.name.lower(),
        search=lambda j: j.name,
    ),
    Column(
        "try",
        "TRY",
        lambda j, _: Text(f"{j.attempt}/{j.attempts}", justify="right"),
        lambda j: -j.attempts,
    ),
    Column(
        "operator",
        "OPERATOR",
        lambda j, _: literal(short(j.operator, 28), "dim"),
        lambda j: j.operator.lower(),
        search=lambda j: j.operator,
    ),
    Column(
        "duration",
        "TOOK",
        lambda j, now: Text(human_duration(j.duration_s(now)), justify="right"),
        lambda j: -(j.duration_s() or 0.0),
    ),
    Column(
        "vendor",
        "AS REPORTED",
        lambda j, _: literal(j.vendor_status, "dim"),
        lambda j: j.vendor_status,
        search=lambda j: j.vendor_status,
    ),
]


# The vendor's own word for the status (the jobs table shows it, the runs table
# does not) and the commit's sha are found by `/` too.
run_search_text = search_text(RUN_COLUMNS, lambda r: r.vendor_status, lambda r: r.sha[:12])
job_search_text = search_text(JOB_COLUMNS)


def hidden_run_columns(runs: Sequence[PipelineRun], *, multi_source: bool) -> set[str]:
    """SOURCE with one source, RESULT while no run has a verdict (CI runs have none)."""
    hidden = set() if multi_source else {"source"}
    if not any(r.verdict for r in runs):
        hidden.add("verdict")
    return hidden


def hidden_job_columns(jobs: Sequence[PipelineJob]) -> set[str]:
    """TRY while every job ran once, OPERATOR while no source names one."""
    hidden = set()
    if all(j.attempts <= 1 and j.attempt <= 1 for j in jobs):
        hidden.add("try")
    if not any(j.operator for j in jobs):
        hidden.add("operator")
    return hidden
