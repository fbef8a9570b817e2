"""Kubernetes actions from the keyboard: refuse, plan in a worker, confirm, run
with progress, audit. Built on the action flow's machinery (its runner, its
confirm and progress screens, its non-daemon action threads); the plans and
runs themselves are `opsdash.actions.kubernetes`.

Refused (and audited as refused) before anything is read: opsdash read-only
(--read-only or read_only = true), the context's own `read_only`, an action
already running on the target, an audit log that cannot be written, a context
no source watches. A [[protect]] match (by the workload's or pod's name or
labels) and a scale to 0 are confirmed only by typing the name.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from opsdash.actions.base import ActionError, ActionPlan
from opsdash.model.kube import KubePod, KubeWorkload

if TYPE_CHECKING:
    from opsdash.action_flow import ActionFlow
    from opsdash.actions.kubernetes import NeedsValue

Target = KubeWorkload | KubePod


def _kind(target: Target) -> str:
    return "pod" if isinstance(target, KubePod) else target.kind.lower()


class ClusterFlow:
    def __init__(self, flow: ActionFlow):
        self.flow = flow

    @property
    def app(self) -> Any:
        return self.flow.app

    def source_of(self, target: Target) -> Any:
        """The source watching the target's context (a `Cluster`), or None."""
        from opsdash.sources.capabilities import Cluster

        for source in self.flow.poller.sources.values():
            if isinstance(source, Cluster) and source.context == target.context:
                return source
        return None

    def _early_plan(self, action: str, target: Target, source: Any) -> ActionPlan:
        """A plan built without I/O, for refusals."""
        return ActionPlan(
            action=action,
            kind=_kind(target),
            target=target.name,
            target_id=f"{target.context}/{target.namespace}/{target.name}",
            host=source.name if source is not None else target.context,
            old_image=(
                ", ".join(f"{n}={i}" for n, i in target.containers)
                if isinstance(target, KubeWorkload)
                else ", ".join(f"{c.name}={c.image}" for c in target.containers)
            ),
        )

    def _protected(self, target: Target) -> bool:
        labels = dict(target.labels)
        return any(m.matches(target.name, labels) for m in self.flow.config.protect)

    def _refuse(self, plan: ActionPlan, reason: str) -> None:
        self.flow.runner.refuse(plan, reason)
        self.app.notify(f"Refused: {reason}.", severity="warning", timeout=5)

    def start(self, action: str, target: KubeWorkload | KubePod, value: str | None = None) -> None:
        """restart, undo, set-image, scale (workloads) or delete (pods)."""
        source = self.source_of(target)
        early = self._early_plan(action, target, source)
        if source is None:
            self._refuse(early, f"no Kubernetes source watches context {target.context}")
            return
        reason = self.flow.runner.refusal(early, host_read_only=bool(source.read_only))
        if reason is not None:
            if source.read_only and not self.flow.runner.read_only:
                reason = f"context {source.context} ({source.name}) is read-only in the config"
            self._refuse(early, reason)
            return
        self.app.run_worker(
            lambda: self._plan(action, target, value, source),
            thread=True,
            exit_on_error=False,
            group="action-plan",
            name=f"plan:{action}",
        )

    def _service(self, target: Target) -> str:
        """The [[service]] of a workload as the DORA watcher decides it, so opsdash's
        own deploy and the revision the watcher sees are one deployment. A pod
        delete deploys nothing: its pod's name is enough."""
        from opsdash.services import service_of_workload

        if isinstance(target, KubePod):
            return target.name
        return service_of_workload(self.flow.config, target)

    def _plan(self, action: str, target: Target, value: str | None, source: Any) -> None:
        """In a worker: read the cluster, build the plan, then confirm on the UI thread."""
        from opsdash.actions.kubernetes import KubeActions, NeedsValue

        early = self._early_plan(action, target, source)
        try:
            planned = KubeActions(source).plan(action, target, value)
        except NeedsValue as needs:
            self.flow.call_ui(self._ask, action, target, needs, early)
            return
        except ActionError as exc:
            # kubectl's own refusals (paused, no such revision, already there): one line
            self.flow.runner.refuse(early, str(exc))
            self.flow.call_ui(self.app.notify, f"Refused: {exc}.", severity="warning", timeout=6)
            return
        except Exception as exc:  # noqa: BLE001 - one line to the user
            from opsdash.poller import describe_error

            self.flow.call_ui(
                self.app.notify,
                f"Could not plan {action}: {describe_error(exc)}",
                severity="error",
                timeout=6,
            )
            return
        plan = replace(
            planned.plan,
            protected=self._protected(target),
            service=self._service(target),
        )
        other = None
        dialog: dict[str, Any] = {"typed_reason": planned.typed_reason}
        if planned.edit_word:
            other = lambda new: self.start(action, target, new)  # noqa: E731 - plan again
            dialog["edit_word"] = planned.edit_word
            if action == "scale":
                dialog["edit_value"] = (value or "").strip()
        self.flow.call_ui(partial(self.flow._confirm, plan, planned.run, None, other, **dialog))

    def _ask(self, action: str, target: Target, needs: NeedsValue, early: ActionPlan) -> None:
        from opsdash.screens.actions import AskScreen

        def answered(value: str | None) -> None:
            if value:
                self.start(action, target, value)
            else:
                self.flow.runner.cancelled(early)
                self.app.notify("Cancelled; nothing was done.", timeout=2)

        title = f"{action.capitalize()} {_kind(target)} {target.name} on {target.context}"
        self.app.push_screen(AskScreen(title, needs.prompt, needs.default), answered)
