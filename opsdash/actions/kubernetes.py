"""What R, u, i, scale and delete do to a Kubernetes context: planned for the
confirm dialog, then sent and followed, journaled step by step.

Each plan holds the one request it will send (`kube_requests`: what kubectl
1.20 sends), and the dialog shows it as it goes out, so what is confirmed is
what happens. The plan reads the workload from the server, not the watches.

After the request, the rollout is followed through the source's watches
(`kube_rollout.follow`) until it completes, fails (ProgressDeadlineExceeded)
or the context's `rollout_timeout` passes; then it is still going on the
server, which is said as such, not as a failure. With the context's
`auto_undo`, a rollout opsdash started that fails is undone to the revision
before it, journaled as its own step, and the outcome says so.

Rollouts run on the server: an opsdash killed half-way leaves its audit row
("running", with the facts noted here: context, namespace, kind, name and the
revision before) for the next start to report (`interrupted_state`).

DORA: a set-image or undo that completes is a deployment (as a container
redeploy is; a restart, a scale or a pod delete is not, as a container restart
is not). The runner records it with source "<kind>-<action>" (for example
"deployment-set-image") and version = the Deployment's revision after it, so a
watcher of revisions can tell opsdash's own deploys from the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsdash.actions.base import ActionError, ActionPlan, ActionResult, Progress
from opsdash.actions.journal import note_facts
from opsdash.actions.kube_requests import (
    KubeRequest,
    NeedsValue,
    delete_request,
    images_text,
    kubectl_line,
    object_path,
    parse_images,
    parse_replicas,
    restart_request,
    rfc3339_now,
    scale_request,
    set_image_request,
    undo_request,
)
from opsdash.actions.kube_rollout import Followed, follow, follow_pod_replacement
from opsdash.dora.kube_events import workload_version
from opsdash.model.kube import KubePod, KubeWorkload, RolloutState
from opsdash.sources.capabilities import Cluster

Run = Callable[[ActionPlan, Progress, Callable[[str], bool]], ActionResult]
WORKLOAD_ACTIONS = ("restart", "undo", "set-image", "scale")
POD_ACTIONS = ("delete",)
__all__ = ["KubeActions", "NeedsValue", "Planned", "interrupted_state"]


@dataclass(frozen=True, slots=True)
class Planned:
    plan: ActionPlan
    run: Run
    typed_reason: str = ""  # why the name must be typed (scale to 0), besides [[protect]]
    edit_word: str = ""  # what `i` in the dialog changes: "image", "replica count"


def _workload(source: Cluster, target: KubeWorkload) -> tuple[KubeWorkload, dict[str, Any]]:
    """The workload as the server has it now, and its raw object."""
    from opsdash.sources import kube_map

    request = KubeRequest("GET", object_path(target.kind, target.namespace, target.name))
    raw = request.send(source)
    return kube_map.workload(source.context, target.kind, raw), raw


def rollout_timeout(source: Cluster) -> float:
    return float(getattr(getattr(source, "config", None), "rollout_timeout", 600.0))


class KubeActions:
    """The plans and runs of one context's actions (`source`: a `Cluster`)."""

    def __init__(self, source: Cluster, *, timeout: float | None = None):
        self.source = source
        self.timeout = rollout_timeout(source) if timeout is None else timeout

    # --- planning -----------------------------------------------------------------

    def plan(self, action: str, target: KubeWorkload | KubePod, value: str | None) -> Planned:
        if isinstance(target, KubePod):
            if action not in POD_ACTIONS:
                raise ActionError(f"{action} applies to workloads; on a pod, delete it")
            return self.plan_delete(target)
        if action not in WORKLOAD_ACTIONS:
            raise ActionError(f"{action} applies to pods, not to {target.ref}")
        return {
            "restart": self.plan_restart,
            "undo": self.plan_undo,
            "set-image": self.plan_set_image,
            "scale": self.plan_scale,
        }[action](target, value)

    def _base(self, action: str, w: KubeWorkload, **kw: Any) -> ActionPlan:
        return ActionPlan(
            action=action,
            kind=w.kind.lower(),
            target=w.name,
            target_id=f"{w.context}/{w.namespace}/{w.name}",
            host=self.source.name,  # type: ignore[attr-defined]
            old_image=images_text(w.containers),
            **kw,
        )

    def _follow_steps(self, w: KubeWorkload, *, undo: bool = True) -> tuple[str, ...]:
        steps = [
            f"Follow the rollout until it completes, fails (ProgressDeadlineExceeded) or"
            f" {self.timeout:g}s pass (then it goes on in the cluster)."
        ]
        if undo and w.kind == "Deployment" and w.revision:
            if self.source.auto_undo:
                steps.append(
                    f"If it fails, undo it to revision {w.revision} (auto_undo = true),"
                    " with the same JSON patch as kubectl rollout undo."
                )
            else:
                steps.append("If it fails, say so and leave it (auto_undo is off; u undoes).")
        return tuple(steps)

    def _where(self, w: KubeWorkload) -> str:
        return f"{w.ref} in namespace {w.namespace} of context {self.source.context}"

    def plan_restart(self, target: KubeWorkload, _value: str | None = None) -> Planned:
        w, _raw = _workload(self.source, target)
        if w.kind == "Deployment" and w.paused:
            raise ActionError("can't restart paused deployment (run rollout resume first)")
        request = restart_request(w, rfc3339_now())
        steps = (
            f"Restart every pod of {self._where(w)}: a new revision with the same images.",
            "Same as: " + kubectl_line(self.source, w.namespace, "rollout", "restart", w.ref),
            *request.lines(),
            *self._follow_steps(w),
        )
        plan = self._base("restart", w, new_image=images_text(w.containers), steps=steps)
        return Planned(plan, self._patch_run(w, request, deployed=False))

    def plan_set_image(self, target: KubeWorkload, value: str | None) -> Planned:
        w, _raw = _workload(self.source, target)
        if not value:
            if len(w.containers) == 1:
                raise NeedsValue(f"New image for {w.ref} (now {w.containers[0][1]})", w.images[0])
            raise NeedsValue(
                f"container=image for {w.ref} (now {images_text(w.containers)})",
                images_text(w.containers).replace(", ", " "),
            )
        images = parse_images(w, value)
        current = dict(w.containers)
        if all(current.get(c) == i for c, i in images.items()):
            raise ActionError(f"{w.ref} already runs {images_text(tuple(images.items()))}")
        after = tuple((n, images.get(n, i)) for n, i in w.containers)
        request = set_image_request(w, images)
        pairs = [f"{c}={i}" for c, i in images.items()]
        steps = (
            f"Set the image of {self._where(w)}: a new revision rolls out.",
            "Same as: " + kubectl_line(self.source, w.namespace, "set", "image", w.ref, *pairs),
            *request.lines(),
            *self._follow_steps(w),
        )
        plan = self._base("set-image", w, new_image=images_text(after), steps=steps)
        return Planned(plan, self._patch_run(w, request, deployed=True), edit_word="image")

    def plan_scale(self, target: KubeWorkload, value: str | None) -> Planned:
        if target.kind == "DaemonSet":
            raise ActionError(f"{target.ref} runs one pod per node: it has no replicas to scale")
        w, _raw = _workload(self.source, target)
        if value is None or not str(value).strip():
            raise NeedsValue(f"Replicas for {w.ref} (now {w.desired})", str(w.desired))
        replicas = parse_replicas(str(value))
        if replicas == w.desired:
            raise ActionError(f"{w.ref} already has {replicas} replicas")
        request = scale_request(w, replicas)
        args = ("scale", w.ref, f"--replicas={replicas}")
        steps = (
            f"Scale {self._where(w)} from {w.desired} to {replicas} replicas.",
            "Same as: " + kubectl_line(self.source, w.namespace, *args),
            *request.lines(),
            *self._follow_steps(w, undo=False),
        )
        typed = ""
        if replicas == 0:
            typed = f"Scaling to 0 stops every pod of {w.name}: type its name and press enter."
        plan = self._base("scale", w, steps=steps, ref=f"replicas {w.desired} -> {replicas}")
        run = self._patch_run(w, request, deployed=False, settle=True, auto_undo=False)
        return Planned(plan, run, typed_reason=typed, edit_word="replica count")

    def plan_undo(self, target: KubeWorkload, value: str | None) -> Planned:
        if target.kind != "Deployment":
            raise ActionError(
                f"undo applies to Deployments; {target.ref} is a {target.kind}"
                " (its history is ControllerRevisions)"
            )
        text = (value or "").strip().removeprefix("revision").strip()
        if text and not text.isdigit():
            raise ActionError(f"{value!r} is not a revision number")
        to = int(text or 0)
        w, raw = _workload(self.source, target)
        if to and str(to) == w.revision:
            raise ActionError(f"{w.ref} is already at revision {to}")
        request, chosen, revision = undo_request(raw, self._replicasets(w), to)
        from opsdash.sources.kube_map import template_containers

        images = template_containers(chosen.get("spec") or {})
        name = (chosen.get("metadata") or {}).get("name", "?")
        args = ("rollout", "undo", w.ref) + ((f"--to-revision={to}",) if to else ())
        steps = (
            f"Roll {self._where(w)} back from revision {w.revision} to revision {revision}"
            f" (ReplicaSet {name}: {images_text(images)}).",
            "Same as: " + kubectl_line(self.source, w.namespace, *args),
            *request.lines(),
            f"The controller scales ReplicaSet {name} up again; it becomes the newest revision.",
            *self._follow_steps(w),
        )
        plan = self._base(
            "undo", w, new_image=images_text(images), steps=steps, ref=f"revision {revision}"
        )
        return Planned(plan, self._patch_run(w, request, deployed=True, expect=w.revision))

    def plan_delete(self, pod: KubePod) -> Planned:
        request = delete_request(pod)
        steps = (
            f"Delete pod {pod.name} in namespace {pod.namespace} of context {self.source.context}"
            + (f" (owned by {pod.owner}: its controller makes a new one)." if pod.owner else "."),
            "Same as: " + kubectl_line(self.source, pod.namespace, "delete", "pod", pod.name),
            *request.lines(),
            f"Wait until it is gone and its workload is ready again (at most {self.timeout:g}s).",
        )
        plan = ActionPlan(
            action="delete",
            kind="pod",
            target=pod.name,
            target_id=f"{pod.context}/{pod.namespace}/{pod.name}",
            host=self.source.name,  # type: ignore[attr-defined]
            old_image=", ".join(f"{c.name}={c.image}" for c in pod.containers),
            steps=steps,
        )

        def run(p: ActionPlan, progress: Progress, _ask: Callable[[str], bool]) -> ActionResult:
            note_facts(
                progress,
                context=self.source.context,
                namespace=pod.namespace,
                workload_kind="Pod",
                name=pod.name,
            )
            progress("delete", f"DELETE {request.url}")
            request.send(self.source)
            message = follow_pod_replacement(self.source, pod, progress, self.timeout)
            progress("done", message)
            return ActionResult(True, message)

        return Planned(plan, run)

    def _replicasets(self, w: KubeWorkload) -> list[dict[str, Any]]:
        try:
            return self.source.replicasets(w)
        except Exception as exc:  # noqa: BLE001 - KubeError, one line
            raise ActionError(f"list the ReplicaSets of {w.ref}: {exc}") from None

    # --- running ------------------------------------------------------------------

    def _patch_run(
        self,
        before: KubeWorkload,
        request: KubeRequest,
        *,
        deployed: bool,
        settle: bool = False,
        auto_undo: bool = True,
        expect: str = "",
    ) -> Run:
        """Send `request`, follow the rollout, undo it on failure if asked.
        `expect`: the revision the workload must still be at (undo picked by it)."""

        def run(plan: ActionPlan, progress: Progress, _ask: Callable[[str], bool]) -> ActionResult:
            source = self.source
            note_facts(
                progress,
                context=source.context,
                namespace=before.namespace,
                workload_kind=before.kind,
                name=before.name,
                revision_before=before.revision,
            )
            if expect:
                now, _raw = _workload(source, before)
                if now.revision != expect:
                    raise ActionError(
                        f"{before.ref} moved to revision {now.revision} since the plan (it was"
                        f" {expect}): nothing was sent; plan the undo again"
                    )
            progress("patch", f"{request.method} {request.url}")
            reply = request.send(source)
            generation = (reply.get("metadata") or {}).get("generation")
            if not isinstance(generation, int) or reply.get("kind") == "Scale":
                generation = before.generation + 1
            progress("sent", f"{before.ref}: generation {generation}")
            followed = follow(
                source, before, generation, progress, self.timeout, settle_replicas=settle
            )
            return self._outcome(plan, before, followed, progress, deployed, auto_undo)

        return run

    def _outcome(
        self,
        plan: ActionPlan,
        before: KubeWorkload,
        followed: Followed,
        progress: Progress,
        deployed: bool,
        auto_undo: bool,
    ) -> ActionResult:
        w = followed.workload
        images = images_text(w.containers)
        if followed.state is RolloutState.COMPLETE:
            return ActionResult(
                True,
                f"{w.ref}: {followed.message} (revision {w.revision}: {images})",
                new_image=images,
                deployed=deployed,
                extra={"version": workload_version(w), "revision": w.revision},
            )
        if followed.state is RolloutState.PAUSED:
            progress("done", followed.message)
            return ActionResult(
                True, f"{w.ref}: sent; {followed.message}: it rolls out once resumed"
            )
        if followed.timed_out:
            line = (
                f"{w.ref}: still rolling out after {self.timeout:g}s ({followed.message});"
                " the cluster carries it on: follow it in the Kubernetes panel"
            )
            progress("timeout", line)
            return ActionResult(True, line, new_image=images)
        # FAILED: ProgressDeadlineExceeded
        if auto_undo and self.source.auto_undo and before.kind == "Deployment" and before.revision:
            return self._auto_undo(before, followed, progress)
        progress("failed", followed.message)
        keep = " (auto_undo is off: left as it is; u undoes it)" if auto_undo else ""
        raise ActionError(f"{w.ref}: {followed.message}{keep}")

    def _auto_undo(
        self, before: KubeWorkload, failed: Followed, progress: Progress
    ) -> ActionResult:
        source = self.source
        revision = int(before.revision)
        progress(
            "auto-undo",
            f"{failed.message}: undoing to revision {revision} (auto_undo = true)",
        )
        try:
            now, raw = _workload(source, before)
            request, _rs, _n = undo_request(raw, self._replicasets(now), revision)
            progress("auto-undo", f"{request.method} {request.url} ({request.content_type})")
            progress("auto-undo", json.dumps(request.body))
            reply = request.send(source)
            generation = (reply.get("metadata") or {}).get("generation") or now.generation + 1
            back = follow(source, now, int(generation), progress, self.timeout)
        except ActionError as exc:
            raise ActionError(
                f"{before.ref}: {failed.message}; the automatic undo to revision {revision}"
                f" failed: {exc}"
            ) from None
        if back.state is RolloutState.COMPLETE:
            progress("auto-undo", f"undone: {back.message}")
            raise ActionError(
                f"{before.ref}: {failed.message}; undone automatically (auto_undo) to the"
                f" template of revision {revision} ({images_text(back.workload.containers)}),"
                f" now revision {back.workload.revision}",
                rolled_back=True,
            )
        raise ActionError(
            f"{before.ref}: {failed.message}; the automatic undo to revision {revision} was sent"
            f" but has not completed: {back.message}"
        )


def interrupted_state(source: Cluster, facts: dict[str, str]) -> str:
    """For the audit row of an action an opsdash did not finish: what the
    workload (or pod) is doing now, one line, from the watches."""
    kind, namespace, name = (facts.get(k, "") for k in ("workload_kind", "namespace", "name"))
    if not (kind and name):
        return "no record of which workload it was"
    record = source.current(kind, namespace, name)
    if record is None:
        return f"{kind.lower()}/{name} is not there now" + (" (deleted)" if kind == "Pod" else "")
    if isinstance(record, KubePod):
        return f"pod/{name}: {record.status_word}"
    before = facts.get("revision_before", "")
    moved = f" (was {before})" if before and before != record.revision else ""
    return (
        f"{record.ref}: revision {record.revision}{moved}, {record.rollout.value}:"
        f" {record.rollout_message}"
    )
