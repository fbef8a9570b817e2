"""What an orchestrator's keys do (D trigger with parameters, p pause, m mark,
D on a model in breach: retrain): the plan the dialog shows and the one
blocking call that does it.

Asked of the source's capability protocols (`TriggersPipelines`,
`PausesPipelines`, `MarksRuns`), never of its kind. Parameters travel as one
JSON object, typed in the dialog and validated here before anything is sent;
the plan's steps show exactly that object (known secrets masked).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from opsdash.actions.base import ActionError, ActionPlan
from opsdash.actions.pipeline import Planned, title, where
from opsdash.config import Config
from opsdash.model import PipelineDefinition, PipelineRun, PipelineSnapshot, RunStatus
from opsdash.model.ml import ModelRow
from opsdash.redact import clip, redact
from opsdash.services import service_of_model, training_sources
from opsdash.sources.capabilities import MarksRuns, PausesPipelines, TriggersPipelines

MARKS = {"failed": RunStatus.FAILED, "success": RunStatus.SUCCESS}


def parameters_of(run: PipelineRun | None) -> dict[str, Any]:
    """A run's parameters as the object a new run would be sent (values are JSON
    text in the model; one that does not parse is kept as the string it is)."""
    values: dict[str, Any] = {}
    for key, text in run.parameters if run is not None else ():
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    return values


def to_json(parameters: dict[str, Any]) -> str:
    """One line, ASCII only: a control character in a value stays an escape."""
    return json.dumps(parameters, ensure_ascii=True, separators=(", ", ": "))


def parse_parameters(text: str, word: str = "parameters") -> dict[str, Any]:
    """The typed text as a JSON object, or ActionError with one line saying why."""
    text = text if text.strip() else "{}"  # columns count in the text as typed
    try:
        value = json.loads(text)
    except ValueError as exc:
        where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ActionError(f"The {word} are not valid JSON{where}: {reason}.") from None
    if not isinstance(value, dict):
        raise ActionError(f'The {word} must be one JSON object, e.g. {{"key": "value"}}.')
    return value


def parameters_error(text: str, word: str = "parameters") -> str:
    """ "" when `text` is a JSON object, else the one line the dialog shows."""
    try:
        parse_parameters(text, word)
    except ActionError as exc:
        return str(exc)
    return ""


def _trigger_source(source: Any) -> TriggersPipelines:
    if not isinstance(source, TriggersPipelines):
        raise ActionError(f"{source.label} cannot start pipelines from opsdash.")
    return source


def plan_trigger(
    source: Any,
    pipeline: str,
    parameters: dict[str, Any],
    *,
    action: str = "trigger",
    shown: str = "",
    why: str = "",
) -> Planned:
    """Start a run of `pipeline` (what the source names it) with `parameters`."""
    orchestrator = _trigger_source(source)
    word = orchestrator.parameters_word or "parameters"
    sent = redact(to_json(parameters))
    steps = [f"Trigger {shown or pipeline} on {source.label} with {word} {sent}."]
    if why:
        steps.append(why)
    steps.append("The new run appears in the Pipelines panel.")
    plan = ActionPlan(
        action=action,
        kind="pipeline",
        target=shown or pipeline,
        target_id=pipeline,
        host=source.label,
        steps=tuple(steps),
    )
    return plan, lambda: orchestrator.trigger(pipeline, dict(parameters))


def definition_of(snapshot: object, run: PipelineRun) -> PipelineDefinition | None:
    """The pipeline a run belongs to, among those its source's last poll listed."""
    if not isinstance(snapshot, PipelineSnapshot):
        return None
    for wanted in (run.pipeline_key, run.pipeline):
        found = next((p for p in snapshot.pipelines if p.id == wanted), None)
        if found is not None:
            return found
    return next((p for p in snapshot.pipelines if p.name == run.pipeline), None)


def plan_pause(source: Any, pipeline: PipelineDefinition | None, name: str = "") -> Planned:
    """Pause an active pipeline, unpause a paused one: its state from the last poll."""
    if not isinstance(source, PausesPipelines):
        raise ActionError(f"{source.label} cannot pause pipelines from opsdash.")
    if pipeline is None:
        raise ActionError(
            f"{name or 'This pipeline'} is not among the pipelines {source.label}"
            " lists; wait for the next poll or press P."
        )
    if pipeline.paused is None:
        raise ActionError(f"{pipeline.name} has no schedule to pause.")
    action = "unpause" if pipeline.paused else "pause"
    effect = (
        "Its schedule runs again; runs it missed may be started (catchup)."
        if pipeline.paused
        else "No new scheduled run starts; running ones go on; a trigger still starts one."
    )
    plan = ActionPlan(
        action=action,
        kind="pipeline",
        target=pipeline.name,
        target_id=pipeline.id,
        host=source.label,
        steps=(
            f"{action.capitalize()} {pipeline.name} on {source.label}"
            f" ({'paused' if pipeline.paused else 'active'} now).",
            effect,
        ),
    )
    wanted = not pipeline.paused
    return plan, lambda: source.set_paused(pipeline.id, wanted)


def plan_mark(source: Any, run: PipelineRun, mark: str) -> Planned:
    """Set a run's state by hand: history changes, so the dialog asks for its name."""
    if not isinstance(source, MarksRuns):
        raise ActionError(f"{source.label} cannot mark runs from opsdash.")
    status = MARKS.get(mark)
    if status is None:
        raise ActionError(f"A run is marked failed or success, not {mark}.")
    if run.status is status:
        raise ActionError(f"{title(run)} is already {status.value}.")
    plan = ActionPlan(
        action=f"mark-{mark}",
        kind="pipeline",
        target=title(run),
        target_id=run.id,
        host=source.label,
        steps=(
            f"Mark {title(run)} of {where(run)} {status.value} ({run.status.value} now).",
            "Unfinished jobs of the run are set to it too; nothing is rerun.",
            "The panel refreshes when it is done.",
        ),
    )
    return plan, lambda: source.mark(run, status)


def retrain_parameters(row: ModelRow) -> dict[str, Any]:
    """What the training pipeline is told: which model, which metric broke which limit."""

    def number(value: float | None) -> float | None:
        return value if value is not None and math.isfinite(value) else None

    return {
        "model": row.model,
        "metric": row.metric,
        "value": number(row.value),
        "limit": number(row.breach),
        "reason": "breach",
    }


def training_source(config: Config, sources: Sequence[Any], model: str) -> TriggersPipelines:
    """The one orchestrator that retrains `model` (`services.training_sources`),
    or ActionError saying why there is none or more than one."""
    found = training_sources(config, sources, model)
    if len(found) == 1:
        return found[0]
    trainers = found or [
        s for s in sources if isinstance(s, TriggersPipelines) and s.training_pipeline
    ]
    if not trainers:
        raise ActionError(
            "No training pipeline is configured: set training = ... in an orchestrator's"
            " table (docs/config.md)."
        )
    names = ", ".join(s.label for s in trainers)
    service = service_of_model(config, model)
    raise ActionError(
        f"More than one orchestrator retrains {service} ({names}): set service = ... in one."
    )


def plan_retrain(source: Any, row: ModelRow, parameters: dict[str, Any] | None = None) -> Planned:
    pipeline = _trigger_source(source).training_pipeline
    value = "?" if row.value is None else f"{row.value:g}"
    limit = "?" if row.breach is None else f"{row.breach:g}"
    why = clip(f"Why: {row.model} {row.metric} = {value} breaches its limit {limit}.", 200)
    return plan_trigger(
        source,
        pipeline,
        retrain_parameters(row) if parameters is None else parameters,
        action="retrain",
        why=why,
    )
