"""What r, F and c do to a pipeline run and D to a CI source: the plan the
dialog shows, and the one blocking call that does it.

Planning is a lookup of the action in `RUN_PLANNERS`; whether a source can do
it is a question to its capability protocols, never to its kind. What an
orchestrator adds (trigger with parameters, pause, mark, retrain) is planned in
`opsdash.actions.orchestrate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsdash.actions.base import ActionError, ActionPlan
from opsdash.model import PipelineRun, RunStatus
from opsdash.sources.capabilities import Deploys, RerunsRuns

PipelineCall = Callable[[], str]  # returns one line saying what happened
Planned = tuple[ActionPlan, PipelineCall]


def _plan_deploy(source: Any, _run: PipelineRun | None, ref: str | None) -> Planned:
    if not isinstance(source, Deploys) or not source.deploy_target:
        raise ActionError(
            f"No deploy is configured for {source.label}: set deploy = ... in its"
            " table (docs/config.md)."
        )
    ref = ref or source.default_ref
    plan = ActionPlan(
        action="deploy",
        kind="pipeline",
        target=source.deploy_target,
        target_id=source.config.deploy,
        host=source.label,
        ref=ref,
        steps=(
            f"Trigger {source.deploy_target} on ref {ref}.",
            "The new run appears in the Pipelines panel; a successful deploy is"
            " recorded as a deployment.",
        ),
    )
    return plan, lambda: source.deploy(ref)


def title(run: PipelineRun) -> str:
    number = f"#{run.number}" if run.number is not None else run.id
    return f"{run.pipeline} {number}"


def where(run: PipelineRun) -> str:
    return f"{run.provider}:{run.project}"


def rerun_word(source: Any) -> str:
    """The vendor's verb for a rerun ("Clear" for Airflow), from an optional
    `rerun_word` class attribute of a `RerunsRuns` source; "Rerun" otherwise."""
    word = getattr(source, "rerun_word", "")
    return word.capitalize() if isinstance(word, str) and word.strip() else "Rerun"


def _rerunner(source: Any, run: PipelineRun) -> RerunsRuns:
    if not isinstance(source, RerunsRuns):
        raise ActionError(f"{source.label} cannot rerun or cancel runs from opsdash.")
    return source


def _plan_cancel(
    source: Any, run: PipelineRun, _ref: str | None
) -> tuple[tuple[str, ...], PipelineCall]:
    ci = _rerunner(source, run)
    refusal = getattr(source, "cancel_refusal", "")  # a vendor without a cancel says why
    if isinstance(refusal, str) and refusal:
        raise ActionError(refusal)
    if run.status.finished:
        raise ActionError(f"{title(run)} already finished ({run.status.value}); nothing to cancel.")
    return (f"Cancel {title(run)} of {where(run)} ({run.status.value} now).",), lambda: ci.cancel(
        run
    )


def _plan_rerun_failed(
    source: Any, run: PipelineRun, _ref: str | None
) -> tuple[tuple[str, ...], PipelineCall]:
    ci = _rerunner(source, run)
    if not ci.can_rerun_failed:
        raise ActionError(f"{run.provider} cannot rerun only the failed jobs; use r.")
    if run.status is not RunStatus.FAILED:
        raise ActionError(f"{title(run)} has no failed jobs ({run.status.value}).")
    steps = (
        f"{rerun_word(source)} the failed jobs of {title(run)} (and the jobs that need them)"
        f" on {where(run)}.",
    )
    return steps, lambda: ci.rerun(run, True)


def _plan_rerun(
    source: Any, run: PipelineRun, _ref: str | None
) -> tuple[tuple[str, ...], PipelineCall]:
    ci = _rerunner(source, run)
    if not run.status.finished and not ci.can_rerun_running:
        raise ActionError(f"{title(run)} is still {run.status.value}; cancel it first or wait.")
    step = f"{rerun_word(source)} {title(run)} of {where(run)} ({run.status.value})."
    return (step,), lambda: ci.rerun(run, False)


# Actions on a selected run: their steps and call; the plan around them is shared.
RUN_PLANNERS: dict[
    str, Callable[[Any, PipelineRun, str | None], tuple[tuple[str, ...], PipelineCall]]
] = {
    "cancel": _plan_cancel,
    "rerun-failed": _plan_rerun_failed,
    "rerun": _plan_rerun,
}


def plan_pipeline(action: str, source: Any, run: PipelineRun | None, ref: str | None) -> Planned:
    """The plan and call of `action` (rerun, rerun-failed, cancel of `run`; deploy to `ref`)."""
    if action == "deploy":
        return _plan_deploy(source, run, ref)
    planner = RUN_PLANNERS.get(action)
    if planner is None:
        raise ActionError(f"{action} does not apply to a pipeline run")
    if run is None:
        raise ActionError("Select a run in the Pipelines panel first.")
    steps, call = planner(source, run, ref)
    plan = ActionPlan(
        action=action,
        kind="pipeline",
        target=title(run),
        target_id=run.id,
        host=source.label,
        steps=(*steps, "The panel refreshes when it is done."),
    )
    return plan, call
