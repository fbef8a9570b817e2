"""The keyboard-to-action flow: refuse early, plan (I/O in a worker), confirm,
run with live progress, audit, refresh. Pipeline actions are
`opsdash.pipeline_flow`, Kubernetes ones `opsdash.cluster_flow`, on this machinery.

Backend modules are imported lazily so the UI never loads an SDK by itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import App

from opsdash.actions.base import ActionCancelled, ActionError, ActionPlan, ActionResult, TargetBusy
from opsdash.actions.runner import ActionRunner
from opsdash.config import Config, Matcher
from opsdash.model import Container, Service
from opsdash.model.ml import ModelRow
from opsdash.screens.actions import ConfirmScreen, ProgressScreen

if TYPE_CHECKING:
    from opsdash.poller import Poller

Target = Container | Service


def _labels(target: Target) -> dict[str, str]:
    return dict(target.labels) if isinstance(target, Container) else {}


class ActionFlow:
    def __init__(self, app: App, config: Config, poller: Poller, runner: ActionRunner):
        self.app = app
        self.config = config
        self.poller = poller
        self.runner = runner
        # Actions run in threads of their own, not daemons: an opsdash told to exit
        # (SIGTERM, SIGHUP when the SSH connection drops) or whose UI died still
        # carries a running action to its end before the process ends.
        self._threads: set[threading.Thread] = set()
        self._threads_lock = threading.Lock()
        self.exit_when_idle = False

    @property
    def running(self) -> bool:
        with self._threads_lock:
            return any(t.is_alive() for t in self._threads)

    def wait_for_actions(self) -> None:
        """Block until every action thread has ended (their audit rows written)."""
        with self._threads_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    def run_in_thread(self, name: str, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            finally:
                with self._threads_lock:
                    self._threads.discard(threading.current_thread())
                    idle = not any(
                        t.is_alive() and t is not threading.current_thread() for t in self._threads
                    )
                if idle and self.exit_when_idle:
                    self.call_ui(self.app.exit)

        thread = threading.Thread(target=run, name=name, daemon=False)
        with self._threads_lock:
            self._threads.add(thread)
        thread.start()

    def call_ui(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `fn` on the UI thread if there still is one."""
        with contextlib.suppress(Exception):  # the app has exited or its terminal is gone
            self.app.call_from_thread(fn, *args, **kwargs)

    # --- helpers ------------------------------------------------------------------

    def _source(self, target: Target) -> Any:
        from opsdash.model import DockerSnapshot

        return self.poller.source_of(DockerSnapshot, target.host)

    def _protected(self, target: Target) -> bool:
        return any(m.matches(target.name, _labels(target)) for m in self.config.protect)

    def _custom(self, target: Target):
        return next(
            (c for c in self.config.redeploy if Matcher.matches(c, target.name, _labels(target))),
            None,
        )

    def _service(self, target: Target) -> str:
        from opsdash.services import service_of_container, service_of_swarm

        if isinstance(target, Service):
            return service_of_swarm(self.config, target.name)
        return service_of_container(self.config, target.name, _labels(target))

    def _early_plan(self, action: str, target: Target) -> ActionPlan:
        """A plan built without I/O, for refusals."""
        kind = "service" if isinstance(target, Service) else "container"
        return ActionPlan(
            action=action,
            kind=kind,
            target=target.name,
            target_id=target.id,
            host=target.host,
            old_image=target.image,
        )

    def _refused(self, action: str, target: Target) -> bool:
        source = self._source(target)
        plan = self._early_plan(action, target)
        reason = self.runner.refusal(plan, host_read_only=source is not None and source.read_only)
        if source is None:
            reason = f"{target.host} is not a configured Docker host"
        if reason is None:
            return False
        self.runner.refuse(plan, reason)
        self.app.notify(f"Refused: {reason}.", severity="warning", timeout=4)
        return True

    # --- entry points (from keys) ----------------------------------------------------

    def start(self, action: str, target: Target, image: str | None = None) -> None:
        """action: restart, toggle, redeploy, rollback; `image`: redeploy to another image."""
        if self._refused(action, target):
            return
        self.app.run_worker(
            lambda: self._plan(action, target, image),
            thread=True,
            exit_on_error=False,
            group="action-plan",
            name=f"plan:{action}",
        )

    def _plan(self, action: str, target: Target, image: str | None = None) -> None:
        from opsdash.actions.custom import CustomCommand, plan_custom
        from opsdash.actions.targets import PlanContext, plan_target

        source = self._source(target)
        protected = self._protected(target)
        run: Callable[[ActionPlan, Callable[[str, str], None], Callable[[str], bool]], ActionResult]
        cancel: Callable[[], None] | None = None
        try:
            custom = self._custom(target) if action == "redeploy" else None
            if custom is not None:
                kind = "service" if isinstance(target, Service) else "container"
                values = {
                    "name": target.name,
                    "id": target.id,
                    "host": target.host,
                    "image": target.image,
                    "kind": kind,
                    "project": getattr(target, "compose_project", ""),
                    "service": getattr(target, "compose_service", "") or target.name,
                }
                plan = plan_custom(
                    custom,
                    kind=kind,
                    target=target.name,
                    target_id=target.id,
                    host=target.host,
                    values=values,
                )
                command = CustomCommand(custom.timeout)
                run, cancel = (lambda p, progress, _ask: command.run(p, progress)), command.cancel
            else:
                context = PlanContext(
                    source, self.config.health_timeout, self.runner.actor, self.runner.store
                )
                plan, run = plan_target(context, action, target, image)
        except TargetBusy as exc:
            self.runner.refuse(self._early_plan(action, target), str(exc))
            self.call_ui(self.app.notify, f"Refused: {exc}.", severity="warning", timeout=8)
            return
        except ActionError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error", timeout=6)
            return
        except Exception as exc:  # noqa: BLE001 - one line to the user
            self.app.call_from_thread(
                self.app.notify, f"Could not plan {action}: {exc}", severity="error", timeout=6
            )
            return
        if protected:
            plan = replace(plan, protected=True)
        plan = replace(plan, service=self._service(target))
        editable = action == "redeploy" and custom is None
        other = (lambda image: self.start("redeploy", target, image)) if editable else None
        self.app.call_from_thread(self._confirm, plan, run, cancel, other)

    def _confirm(
        self,
        plan: ActionPlan,
        run,
        cancel,
        on_other: Callable[[str], None] | None,
        **dialog: Any,
    ) -> None:
        """Ask; `on_other` plans again when the user names another image or ref.
        `dialog`: more of ConfirmScreen's options (edit_word, edit_value, typed_reason)."""

        def answered(yes: bool | str | None) -> None:
            if isinstance(yes, str):
                if on_other is not None:
                    on_other(yes)
            elif yes:
                self._run(plan, run, cancel)
            else:
                self.runner.cancelled(plan)
                self.app.notify("Cancelled; nothing was done.", timeout=2)

        screen = ConfirmScreen(plan, image_editable=on_other is not None, **dialog)
        self.app.push_screen(screen, answered)

    # --- models (P promotes, u rolls the serving alias back) ------------------------

    def start_model(self, action: str, row: ModelRow, version: str | None = None) -> None:
        """Plan in a worker (it reads MLflow), then confirm, run, audit."""
        from opsdash.sources.capabilities import ModelRegistry

        source = self.poller.sources.get(row.source)
        if not isinstance(source, ModelRegistry):
            self.app.notify(
                "Promote and roll back move an MLflow alias; this row comes from"
                f" {row.kind}, which has no versions to move.",
                severity="warning",
                timeout=5,
            )
            return
        if action == "promote" and not version:
            version = row.challenger_version
            if not version:
                self.app.notify(
                    f"{row.model} has no {row.challenger_alias or 'challenger'} version: press"
                    " enter and pick the version to promote.",
                    severity="warning",
                    timeout=5,
                )
                return
        early = ActionPlan(
            action=action, kind="model", target=row.model, target_id=row.model, host=source.label
        )
        reason = self.runner.refusal(early, host_read_only=source.read_only)
        if reason is not None:
            self.runner.refuse(early, reason)
            self.app.notify(f"Refused: {reason}.", severity="warning", timeout=4)
            return
        self.app.run_worker(
            lambda: self._plan_model(action, row, source, version),
            thread=True,
            exit_on_error=False,
            group="action-plan",
            name=f"plan:{action}",
        )

    def _plan_model(self, action: str, row: ModelRow, source: Any, version: str | None) -> None:
        from opsdash.actions import models
        from opsdash.poller import describe_error

        try:
            if action == "promote":
                alias_plan = models.plan_promote(source, row.model, version)
            else:
                alias_plan = models.plan_rollback(source, row.model)
        except Exception as exc:  # noqa: BLE001 - one line to the user
            self.app.call_from_thread(
                self.app.notify,
                f"Cannot {action}: {describe_error(exc)}",
                severity="error",
                timeout=6,
            )
            return
        if alias_plan.noop:
            self.app.call_from_thread(
                self.app.notify,
                f"{row.model}: {alias_plan.alias} already points at v{alias_plan.new_version}.",
                timeout=4,
            )
            return
        steps = [f"Move the alias: {alias_plan}."]
        if alias_plan.warning:
            steps.append(f"Note: {alias_plan.warning}")
        steps.append("Serving clients that load models by this alias get the new version.")
        plan = ActionPlan(
            action=action,
            kind="model",
            target=row.model,
            target_id=row.model,
            host=source.label,
            old_image=f"v{alias_plan.old_version}" if alias_plan.old_version else "(none)",
            new_image=f"v{alias_plan.new_version}",
            steps=tuple(steps),
        )
        if any(m.matches(row.model, {}) for m in self.config.protect):
            plan = replace(plan, protected=True)
        from opsdash.services import service_of_model

        plan = replace(plan, service=service_of_model(self.config, row.model))

        def work(p: ActionPlan, progress: Callable[[str, str], None], _ask) -> ActionResult:
            from opsdash.actions.journal import note_facts

            note_facts(
                progress,
                model=row.model,
                alias=alias_plan.alias,
                old_version=alias_plan.old_version,
                new_version=alias_plan.new_version,
            )
            try:
                if action == "promote":
                    change = models.promote(
                        source, row.model, alias_plan.new_version, progress=progress
                    )
                else:
                    change = models.rollback(source, row.model, progress=progress)
            except Exception as exc:  # noqa: BLE001 - one line, secrets already redacted
                raise ActionError(describe_error(exc)) from None
            progress("done", str(change))
            return ActionResult(
                True, str(change), new_image=f"v{change.new_version}", deployed=True
            )

        self.app.call_from_thread(self._confirm, plan, work, None, None)

    def _run(self, plan: ActionPlan, run, cancel) -> None:
        screen = ProgressScreen(plan, on_cancel=cancel)
        self.app.push_screen(screen)

        def progress(step: str, line: str) -> None:
            self.call_ui(screen.add_line, step, line)

        def ask_local(question: str) -> bool:
            answer: dict[str, bool] = {}
            done = threading.Event()

            def show() -> None:
                def got(yes: bool | None) -> None:
                    answer["yes"] = bool(yes)
                    done.set()

                self.app.push_screen(
                    ConfirmScreen(plan, question=question + " Recreate from the local image?"), got
                )

            self.call_ui(show)
            while not done.wait(0.2):
                if self.exit_when_idle or not self.app.is_running:
                    return False  # closing: nothing was changed yet, so do not go on
            return answer["yes"]

        def work() -> None:
            try:
                result = self.runner.execute_journaled(
                    plan, lambda journal: run(plan, journal, ask_local), show=progress
                )
                ok, message = True, result.message + f" ({result.duration_s:.1f}s)"
            except ActionCancelled as exc:
                ok, message = False, str(exc)
            except ActionError as exc:
                ok, message = False, str(exc)
            self.call_ui(self.finished, screen, ok, message)

        self.run_in_thread(f"action:{plan.key}", work)

    def finished(self, screen: ProgressScreen, ok: bool, message: str) -> None:
        if screen.is_attached:
            screen.finish(ok, message)
        self.app.notify(message, severity="information" if ok else "error", timeout=6)
        poll_now = getattr(self.app, "poll_now", None)
        if poll_now is not None:
            poll_now(quiet=True)
