"""Pipeline actions from the keyboard: r, F, c on a run; D (deploy, or trigger
an orchestrator's pipeline with parameters), p (pause/unpause), m (mark a run)
and D on a model in breach (retrain). Refuse, plan, confirm, run with progress,
audit: on the action flow's machinery (its runner, its confirm and progress
screens, its non-daemon action threads); the plans are `opsdash.actions.pipeline`
and `opsdash.actions.orchestrate`.

Refused (and audited as refused) before anything is sent: opsdash read-only,
the source's own `read_only`, an action already running on the target. A
[[protect]] match needs the name typed, and so does a mark (it changes history).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from opsdash.actions.base import ActionError, ActionPlan, ActionResult
from opsdash.model import PipelineDefinition, PipelineRun
from opsdash.model.ml import ModelRow

if TYPE_CHECKING:
    from opsdash.action_flow import ActionFlow


class PipelineFlow:
    def __init__(self, flow: ActionFlow):
        self.flow = flow

    @property
    def app(self) -> Any:
        return self.flow.app

    def _notify(self, message: str, severity: str = "warning", timeout: float = 5) -> None:
        self.app.notify(message, severity=severity, timeout=timeout)

    def pipeline_source(self, run: PipelineRun | None) -> Any:
        """The run's source; for D without a run, the first source with a deploy."""
        from opsdash.sources.capabilities import Deploys

        sources = self.flow.poller.sources
        if run is not None:
            return sources.get(run.source)
        deployers = (s for s in sources.values() if isinstance(s, Deploys))
        return next((s for s in deployers if s.deploy_target), None)

    # --- entry points (from keys) ----------------------------------------------------

    def start(
        self,
        action: str,
        run: PipelineRun | None,
        ref: str | None = None,
        *,
        pipeline: PipelineDefinition | None = None,
    ) -> None:
        """action: rerun, rerun-failed, cancel, pause, mark (of `run`); deploy (to
        `ref`, or a trigger where the run's source starts pipelines); trigger and
        pause of `pipeline` (the `P` screen's row)."""
        from opsdash.sources.capabilities import TriggersPipelines

        if pipeline is not None:
            source = self.flow.poller.sources.get(pipeline.source)
        else:
            source = self.pipeline_source(run)
        if source is None:
            self._notify("No CI source is configured.", timeout=4)
            return
        if action == "deploy" and isinstance(source, TriggersPipelines):
            action = "trigger" if run is not None or pipeline is not None else action
        if action == "trigger":
            self.trigger(source, run, pipeline)
        elif action == "pause":
            self.pause(source, run, pipeline)
        elif action == "mark":
            self.ask_mark(source, run)
        else:
            self._ci(action, source, run, ref)

    def _ci(self, action: str, source: Any, run: PipelineRun | None, ref: str | None) -> None:
        from opsdash.actions.pipeline import plan_pipeline

        try:
            plan, call = plan_pipeline(action, source, run, ref)
        except ActionError as exc:
            self._notify(str(exc))
            return
        other = (lambda new_ref: self.start("deploy", run, new_ref)) if action == "deploy" else None
        self.go(plan, call, source, other)

    def trigger(
        self,
        source: Any,
        run: PipelineRun | None,
        pipeline: PipelineDefinition | None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """D: a new run of the run's (or the row's) pipeline; the dialog's edit
        field holds the parameters as JSON, prefilled with the selected run's."""
        from opsdash.actions.orchestrate import parameters_of, plan_trigger

        if run is None and pipeline is None:
            self._notify("Select a run or a pipeline first.")
            return
        name = pipeline.id if pipeline is not None else run.pipeline_key  # type: ignore[union-attr]
        shown = pipeline.name if pipeline is not None else run.pipeline  # type: ignore[union-attr]
        values = parameters_of(run) if parameters is None else parameters
        try:
            plan, call = plan_trigger(source, name, values, shown=shown)
        except ActionError as exc:
            self._notify(str(exc))
            return

        def again(values: dict[str, Any]) -> None:
            self.trigger(source, run, pipeline, values)

        self.go_with_parameters(plan, call, source, values, again)

    def retrain(self, row: ModelRow, parameters: dict[str, Any] | None = None) -> None:
        """D on a model in breach: trigger the training pipeline of its service."""
        from opsdash.actions.orchestrate import plan_retrain, training_source
        from opsdash.model.ml import ThresholdState
        from opsdash.services import service_of_model

        if row.state is not ThresholdState.BREACH and parameters is None:
            self._notify(f"{row.model} is not in breach; retrain applies to a breach.")
            return
        service = service_of_model(self.flow.config, row.model)
        sources = list(self.flow.poller.sources.values())
        try:
            source = training_source(self.flow.config, sources, row.model)
            plan, call = plan_retrain(source, row, parameters)
        except ActionError as exc:
            self._notify(str(exc))
            return
        plan = replace(plan, service=service)
        from opsdash.actions.orchestrate import retrain_parameters

        values = retrain_parameters(row) if parameters is None else parameters
        self.go_with_parameters(
            plan, call, source, values, lambda values: self.retrain(row, values)
        )

    def retrain_hint(self, row: ModelRow) -> tuple[str, bool]:
        """What D on the model screen would do (no I/O), and whether it can."""
        from opsdash.actions.orchestrate import training_source

        sources = list(self.flow.poller.sources.values())
        try:
            source = training_source(self.flow.config, sources, row.model)
        except ActionError as exc:
            return str(exc), False
        return f"retrains: triggers {source.training_pipeline} on {source.label}", True

    def pause(self, source: Any, run: PipelineRun | None, pipeline: PipelineDefinition | None):
        """p: pause an active pipeline or unpause a paused one (state from the last poll)."""
        from opsdash.actions.orchestrate import definition_of, plan_pause

        if pipeline is None and run is not None:
            pipeline = definition_of(self.flow.poller.data(run.source), run)
        name = run.pipeline if run is not None else ""
        try:
            plan, call = plan_pause(source, pipeline, name)
        except ActionError as exc:
            self._notify(str(exc))
            return
        self.go(plan, call, source)

    def ask_mark(self, source: Any, run: PipelineRun | None) -> None:
        """m: which state (failed or success), then the name typed to confirm."""
        from opsdash.actions.orchestrate import MARKS
        from opsdash.actions.pipeline import title
        from opsdash.screens.actions import ChoiceScreen
        from opsdash.sources.capabilities import MarksRuns

        if run is None:
            self._notify("Select a run in the Pipelines panel first.", timeout=3)
            return
        if not isinstance(source, MarksRuns):
            self._notify(f"{source.label} cannot mark runs from opsdash.")
            return
        early = ActionPlan("mark", title(run), run.id, source.label, kind="pipeline")
        if self._refused(early, source):
            return

        def chosen(mark: str | None) -> None:
            if mark:
                self.mark(source, run, mark)

        choices = tuple((word[0], word) for word in MARKS)
        self.app.push_screen(ChoiceScreen(f"Mark {title(run)} as…", choices), chosen)

    def mark(self, source: Any, run: PipelineRun, mark: str) -> None:
        from opsdash.actions.orchestrate import plan_mark

        try:
            plan, call = plan_mark(source, run, mark)
        except ActionError as exc:
            self._notify(str(exc))
            return
        reason = f"Marking changes the run's history: type {plan.target} and press enter."
        self.go(plan, call, source, typed_reason=reason)

    # --- refuse, confirm, run -------------------------------------------------------

    def _refused(self, plan: ActionPlan, source: Any) -> bool:
        runner = self.flow.runner
        reason = runner.refusal(plan, host_read_only=bool(getattr(source, "read_only", False)))
        if reason is None:
            return False
        runner.refuse(plan, reason)
        self._notify(f"Refused: {reason}.", timeout=4)
        return True

    def go_with_parameters(
        self,
        plan: ActionPlan,
        call: Callable[[], str],
        source: Any,
        values: dict[str, Any],
        again: Callable[[dict[str, Any]], None],
    ) -> None:
        """Confirm with the parameters in the dialog's edit field (i), checked
        there as one JSON object; a changed object is planned and asked again."""
        from opsdash.actions.orchestrate import parameters_error, parse_parameters, to_json
        from opsdash.redact import clip, redact

        word = getattr(source, "parameters_word", "") or "parameters"

        def other(text: str) -> None:
            again(parse_parameters(text, word))

        shown = f"{word} {clip(to_json(values), 160)}"
        self.go(
            plan,
            call,
            source,
            other,
            edit_word=word,
            edit_value=redact(to_json(values)),  # a known secret is masked here too
            validate=lambda text: parameters_error(text, word),
            audited_as=shown,
        )

    def go(
        self,
        plan: ActionPlan,
        call: Callable[[], str],
        source: Any,
        on_other: Callable[[str], None] | None = None,
        *,
        audited_as: str = "",
        **dialog: Any,
    ) -> None:
        """Refuse or confirm, then run `call` with progress; `audited_as`: what the
        audit's new-value column records (the parameters sent)."""
        if self._refused(plan, source):
            return
        if any(m.matches(plan.target, {}) for m in self.flow.config.protect):
            plan = replace(plan, protected=True)

        def work(p: ActionPlan, progress: Callable[[str, str], None], _ask) -> ActionResult:
            progress(p.action, p.steps[0])
            try:
                message = call()
            except Exception as exc:  # noqa: BLE001 - one line, secrets already redacted
                from opsdash.poller import describe_error

                raise ActionError(describe_error(exc)) from None
            progress("done", message)
            return ActionResult(True, message, new_image=audited_as)

        self.flow._confirm(plan, work, None, on_other, **dialog)
