"""Swarm service updates and rollbacks: the engine runs the rollout itself, so
opsdash only posts the new spec and follows the tasks until the service says
it is done (or paused, or rolled back)."""

from __future__ import annotations

import time
from typing import Any

import docker.errors
import requests.exceptions

from opsdash.actions.base import ActionError, ActionPlan, ActionResult, Progress
from opsdash.model import swarm_update_words
from opsdash.sources.docker import DockerSource
from opsdash.sources.docker_client import one_line as _one_line


class SwarmActions:
    """Rolling updates and rollbacks of Swarm services, following the service's
    own update and rollback config (parallelism, delay, failure action, order)."""

    def __init__(self, source: DockerSource, *, timeout: float = 300.0):
        self.source = source
        self.timeout = timeout

    @property
    def api(self) -> Any:
        return self.source.client

    def _service(self, service_id: str) -> dict[str, Any]:
        try:
            return self.api.inspect_service(service_id)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ActionError(f"inspect service: {_one_line(exc)}") from None

    def plan_update(self, service_id: str, image: str | None = None) -> ActionPlan:
        svc = self._service(service_id)
        spec = svc.get("Spec") or {}
        current = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
        update = spec.get("UpdateConfig") or {}
        new = image or current.split("@sha256:", 1)[0]
        return ActionPlan(
            action="redeploy",
            kind="service",
            target=spec.get("Name", service_id),
            target_id=svc["ID"],
            host=self.source.name,
            old_image=current.split("@", 1)[0],
            old_digest=current.split("@", 1)[1] if "@" in current else "",
            new_image=new,
            steps=(
                f"Force a rolling update of service {spec.get('Name')} to {new}.",
                f"Tasks are replaced {update.get('Parallelism', 1) or 'all'} at a time, "
                f"{update.get('Delay', 0) / 1e9:g}s apart, order {update.get('Order', 'stop-first')}, "
                f"on failure: {update.get('FailureAction', 'pause')}.",
            ),
        )

    def plan_rollback(self, service_id: str) -> ActionPlan:
        svc = self._service(service_id)
        spec = svc.get("Spec") or {}
        previous = svc.get("PreviousSpec")
        if not previous:
            raise ActionError(f"service {spec.get('Name')} has no previous spec to roll back to")
        image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
        old = ((previous.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
        return ActionPlan(
            action="rollback",
            kind="service",
            target=spec.get("Name", service_id),
            target_id=svc["ID"],
            host=self.source.name,
            old_image=image.split("@", 1)[0],
            new_image=old.split("@", 1)[0],
            steps=(
                f"Roll service {spec.get('Name')} back to its previous spec (image {old.split('@', 1)[0]}), "
                "following its rollback config.",
            ),
        )

    def run_update(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        svc = self._service(plan.target_id)
        spec = svc["Spec"]
        template = spec.setdefault("TaskTemplate", {})
        template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
        container_spec = template.setdefault("ContainerSpec", {})
        if plan.new_image and plan.new_image != container_spec.get("Image", "").split("@", 1)[0]:
            container_spec["Image"] = plan.new_image
        progress("update", f"updating {plan.target}")
        before = self._tasks(plan.target_id)
        self._post_update(svc, spec, {})
        return self._follow(plan, progress, before, done="completed", deployed=True)

    def run_rollback(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        svc = self._service(plan.target_id)
        progress("rollback", f"rolling {plan.target} back")
        before = self._tasks(plan.target_id)
        self._post_update(svc, svc["Spec"], {"rollback": "previous"})
        return self._follow(plan, progress, before, done="rollback_completed", deployed=True)

    def _tasks(self, service_id: str) -> list[dict[str, Any]]:
        try:
            return self.api.tasks(filters={"service": service_id})
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ActionError(f"tasks: {_one_line(exc)}") from None

    def _post_update(
        self, svc: dict[str, Any], spec: dict[str, Any], params: dict[str, str]
    ) -> None:
        api = self.api
        url = api._url("/services/{0}/update", svc["ID"])
        try:
            response = api._post_json(
                url, data=spec, params={"version": svc["Version"]["Index"], **params}
            )
            api._raise_for_status(response)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ActionError(f"service update: {_one_line(exc)}") from None

    def _follow(
        self,
        plan: ActionPlan,
        progress: Progress,
        before: list[dict[str, Any]],
        *,
        done: str,
        deployed: bool,
    ) -> ActionResult:
        """Report the rollout task by task until the service says it is done.

        Only this rollout's tasks: those that were to run when it began (it
        replaces them) and those created since. The service's task history of
        earlier updates stays out, and a task shows when its state changes."""
        deadline = time.monotonic() + self.timeout
        seen = {t["ID"]: (t.get("Status") or {}).get("State", "") for t in before}
        replaced = {t["ID"] for t in before if t.get("DesiredState") == "running"}
        while time.monotonic() < deadline:
            tasks = self._tasks(plan.target_id)
            for task in sorted(tasks, key=lambda t: (t.get("Slot") or 0, t.get("CreatedAt", ""))):
                if task["ID"] in seen and task["ID"] not in replaced:
                    continue  # a task of an earlier update
                state = (task.get("Status") or {}).get("State", "")
                if seen.get(task["ID"]) != state:
                    seen[task["ID"]] = state
                    progress("task", _task_line(task, state))
            update = self._service(plan.target_id).get("UpdateStatus") or {}
            status = update.get("State", "")
            words = swarm_update_words(status)
            if status == done:
                return ActionResult(
                    True, f"{plan.target}: {words}", new_image=plan.new_image, deployed=deployed
                )
            if status in ("paused", "rollback_paused") or (
                done == "completed" and status.startswith("rollback")
            ):
                message = " ".join(str(update.get("Message") or "").split())[:300]
                raise ActionError(
                    f"{plan.target}: {words}" + (f": {message}" if message else ""),
                    rolled_back=status.startswith("rollback"),
                )
            time.sleep(0.5)
        raise ActionError(f"{plan.target}: the update did not finish within {self.timeout:g}s")


def _task_line(task: dict[str, Any], state: str) -> str:
    """`slot 2 k3j4h5g6f7: running (wants running)`; a global service's task by its node."""
    where = f"slot {task['Slot']}" if task.get("Slot") else f"node {task.get('NodeID', '')[:8]}"
    return f"{where} {task['ID'][:10]}: {state} (wants {task.get('DesiredState')})"
