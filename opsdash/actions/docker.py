"""Mutating Docker actions: restart, stop/start, redeploy, roll back, Swarm updates.

Each `plan_*` reads what is there and says exactly what will happen; each
`run_*` does it in a worker thread, reporting progress. A redeploy keeps the
old container (stopped, renamed) until the new one runs and is healthy, and
puts it back if not. Volumes are never removed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import docker.errors
import requests.exceptions

from opsdash.actions import engine_marks
from opsdash.actions.base import (
    ActionCancelled,
    ActionError,
    ActionPlan,
    ActionResult,
    Progress,
    TargetBusy,
)
from opsdash.actions.journal import note_facts
from opsdash.actions.readiness import wait_up
from opsdash.actions.recreate import recreate_request
from opsdash.dora.docker_events import REVISION_LABEL
from opsdash.sources.docker import DockerSource
from opsdash.sources.docker_client import one_line as _one_line
from opsdash.sources.docker_ssh import ssh_reason

DEFAULT_HEALTH_TIMEOUT = 60.0
SETTLE_SECONDS = 3.0  # a container without healthcheck must stay up this long
BACKUP_SUFFIX = engine_marks.BACKUP_SUFFIX

# Called from the worker when the pull failed: True to recreate from the local image.
AskLocal = Callable[[str], bool]


def _split_ref(ref: str) -> tuple[str, str | None]:
    """`repo:tag` -> (repo, tag), leaving registry ports and digests alone."""
    if "@" in ref:
        return ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def _interrupted(name: str, left: str) -> TargetBusy:
    return TargetBusy(
        f"an interrupted redeploy of {name} left {left}: put it right first (! on the dashboard)"
    )


def _digest(image: dict[str, Any]) -> str:
    digests = image.get("RepoDigests") or []
    return digests[0].split("@", 1)[1] if digests else ""


class DockerActions:
    def __init__(
        self,
        source: DockerSource,
        *,
        health_timeout: float = DEFAULT_HEALTH_TIMEOUT,
        settle_seconds: float = SETTLE_SECONDS,
        actor: str = "",
    ):
        self.source = source
        self.health_timeout = health_timeout
        self.settle_seconds = settle_seconds
        self.actor = actor

    @property
    def api(self) -> Any:
        return self.source.client

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ActionError(f"{what}: {ssh_reason(exc) or _one_line(exc)}") from None

    def _inspect(self, container_id: str) -> dict[str, Any]:
        return self._call("inspect", self.api.inspect_container, container_id)

    def _image(self, ref: str) -> dict[str, Any] | None:
        try:
            return self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return None

    # --- plans -------------------------------------------------------------------

    def _base_plan(self, container_id: str, action: str, steps: list[str], **kw: Any) -> ActionPlan:
        raw = self._inspect(container_id)
        image = self._image(raw.get("Image", "")) or {}
        return ActionPlan(
            action=action,
            target=raw.get("Name", "").lstrip("/"),
            target_id=raw["Id"],
            host=self.source.name,
            steps=tuple(steps),
            old_image=(raw.get("Config") or {}).get("Image", ""),
            old_digest=_digest(image) or raw.get("Image", ""),
            **kw,
        )

    def plan_restart(self, container_id: str) -> ActionPlan:
        raw = self._inspect(container_id)
        grace = (raw.get("Config") or {}).get("StopTimeout") or 10
        name = raw.get("Name", "").lstrip("/")
        return self._base_plan(
            container_id,
            "restart",
            [
                f"Stop {name} (SIGTERM, then SIGKILL after {grace}s).",
                f"Start {name} again with the same container, image and settings.",
            ],
        )

    def plan_toggle(self, container_id: str) -> ActionPlan:
        raw = self._inspect(container_id)
        name = raw.get("Name", "").lstrip("/")
        running = (raw.get("State") or {}).get("Running", False)
        if running:
            return self._base_plan(container_id, "stop", [f"Stop {name}. It stays, stopped."])
        return self._base_plan(container_id, "start", [f"Start {name}."])

    def _refuse_if_marked(self, name: str) -> None:
        """Another redeploy of `name` is running, or one was interrupted: refuse."""
        if engine_marks.backup_of(name) or name.endswith(engine_marks.LOCK_SUFFIX):
            raise TargetBusy(
                f"{name} is kept by an opsdash redeploy; act on the container it is for"
            )
        marks = self._marks(name)
        if marks is None:
            return
        if marks.lock is not None and not marks.lock.abandoned():
            raise TargetBusy(f"another redeploy of {name} is in progress, by {marks.lock.holder}")
        raise _interrupted(name, marks.left_behind)

    def _marks(self, name: str) -> engine_marks.TargetMarks | None:
        """The lock and backups on the engine for `name`, if any."""
        containers = self._call("list containers", self.api.containers, all=True)
        return engine_marks.scan(containers).get(name)

    def plan_redeploy(self, container_id: str, image: str | None = None) -> ActionPlan:
        raw = self._inspect(container_id)
        name = raw.get("Name", "").lstrip("/")
        self._refuse_if_marked(name)
        ref = image or (raw.get("Config") or {}).get("Image", "")
        local = self._image(ref) or {}
        pull = self.source.config.pull
        steps = [
            f"Pull {ref} (if no registry answers, you are asked before using the local image)."
            if pull
            else f"Use the local image {ref} (pull = false for this host).",
            f"Stop {name} and keep it, renamed {name}{BACKUP_SUFFIX}-<time>.",
            f"Create {name} from {ref} with the same command, env, labels, mounts, ports, "
            "networks, restart policy, healthcheck, user, limits and log config.",
            "Start it and wait until it runs"
            + (
                " and is healthy."
                if (raw.get("Config") or {}).get("Healthcheck")
                or local.get("Config", {}).get("Healthcheck")
                else f" for {self.settle_seconds:g}s."
            ),
            "Then remove the old container (never its volumes). If anything fails, the new "
            f"container is removed and the old one is renamed back to {name} and started.",
        ]
        return self._base_plan(
            container_id,
            "redeploy",
            steps,
            new_image=ref,
            new_digest=_digest(local) or local.get("Id", ""),
        )

    def plan_rollback(
        self, container_id: str, previous_image: str, previous_ref: str
    ) -> ActionPlan:
        raw = self._inspect(container_id)
        name = raw.get("Name", "").lstrip("/")
        self._refuse_if_marked(name)
        steps = [
            f"Recreate {name} from the image it ran before its last redeploy: "
            f"{previous_ref or previous_image[:19]} ({previous_image[:19]}).",
            f"Stop {name} and keep it, renamed {name}{BACKUP_SUFFIX}-<time>, until the new one "
            "runs (and is healthy); otherwise put it back.",
        ]
        return self._base_plan(
            container_id,
            "rollback",
            steps,
            new_image=previous_ref or previous_image,
            new_digest=previous_image,
        )

    # --- running -------------------------------------------------------------------

    def run_restart(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        raw = self._inspect(plan.target_id)
        grace = int((raw.get("Config") or {}).get("StopTimeout") or 10)
        progress("restart", f"restarting {plan.target}")
        self._call("restart", self.api.restart, plan.target_id, timeout=grace)
        self.wait_up(plan.target_id, progress, health=False)
        return ActionResult(True, f"{plan.target} restarted")

    def run_toggle(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        if plan.action == "stop":
            raw = self._inspect(plan.target_id)
            grace = int((raw.get("Config") or {}).get("StopTimeout") or 10)
            progress("stop", f"stopping {plan.target}")
            self._call("stop", self.api.stop, plan.target_id, timeout=grace)
            return ActionResult(True, f"{plan.target} stopped")
        progress("start", f"starting {plan.target}")
        self._call("start", self.api.start, plan.target_id)
        return ActionResult(True, f"{plan.target} started")

    def run_redeploy(
        self, plan: ActionPlan, progress: Progress, ask_local: AskLocal
    ) -> ActionResult:
        ref = plan.new_image
        if not self.source.config.pull:
            if self._image(ref) is None:
                raise ActionError(f"{ref} is not on this host and pull = false")
            progress("pull", f"pull is off: using the local image {ref}")
            return self._safe_recreate(plan, ref, progress)
        repo, tag = _split_ref(ref)
        progress("pull", f"pulling {ref}")
        try:
            self.api.pull(repo, tag=tag)
            progress("pull", "pulled")
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            reason = " ".join(str(getattr(exc, "explanation", "") or _one_line(exc)).split())[:300]
            progress("pull", f"pull failed: {reason}")
            if self._image(ref) is None:
                raise ActionError(f"pull failed and {ref} is not here: {reason}") from None
            if not ask_local(f"Pull of {ref} failed: {reason}"):
                raise ActionCancelled("cancelled: the pull failed") from None
            progress("pull", f"using the local image {ref}")
        return self._safe_recreate(plan, ref, progress)

    def run_rollback(self, plan: ActionPlan, progress: Progress) -> ActionResult:
        image = plan.new_digest  # the image id it ran before
        if self._image(image) is None:
            raise ActionError(f"the previous image {image[:19]} is no longer on this host")
        return self._safe_recreate(plan, image, progress, label=plan.new_image)

    def _safe_recreate(
        self, plan: ActionPlan, image: str, progress: Progress, label: str = ""
    ) -> ActionResult:
        """Lock, stop, rename, create, start, wait, remove the old one, unlock.

        Each step is announced (and so journaled) before it runs; the lock's labels
        and the backup's name let any opsdash put things right if this one dies.
        """
        api = self.api
        old = self._inspect(plan.target_id)
        name = old.get("Name", "").lstrip("/")
        old_image = self._image(old.get("Image", "")) or {}
        body, later_networks = recreate_request(old, image, old_image.get("Config"))
        was_running = (old.get("State") or {}).get("Running", False)
        grace = int((old.get("Config") or {}).get("StopTimeout") or 10)
        backup = engine_marks.backup_name(name)
        token = uuid.uuid4().hex[:16]
        note_facts(
            progress,
            token=token,
            name=name,
            old_id=old["Id"],
            backup=backup,
            was_running=str(was_running).lower(),
        )

        progress("lock", f"marking {name} as being redeployed")
        lock_id = self._lock(plan, old, name, token, backup, was_running)
        try:
            if was_running:
                progress("stop", f"stopping {name}")
                self._call("stop", api.stop, old["Id"], timeout=grace)
            progress("rename", f"keeping the old container as {backup}")
            self._call("rename", api.rename, old["Id"], backup)
            new_id = None
            try:
                progress("create", f"creating {name} from {label or image}")
                created = self._call("create", api.create_container_from_config, body, name=name)
                new_id = created["Id"]
                note_facts(progress, new_id=new_id)
                for network, endpoint in later_networks:
                    self._call(
                        f"connect {network}",
                        api.connect_container_to_network,
                        new_id,
                        network,
                        aliases=endpoint.get("Aliases"),
                        links=endpoint.get("Links"),
                    )
                progress("start", f"starting {name}")
                self._call("start", api.start, new_id)
                self.wait_up(new_id, progress, health=True)
            except ActionError as exc:
                progress("rollback", f"failed: {exc}; restoring the old container")
                self._restore(old, new_id, name, was_running, progress)
                raise ActionError(
                    f"{exc}; rolled back to the old container", rolled_back=True
                ) from None
            progress("cleanup", f"removing {backup} (its volumes stay)")
            try:
                api.remove_container(old["Id"], v=False, force=True)
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                progress("cleanup", f"could not remove {backup}: {_one_line(exc)}")
        finally:
            self._unlock(lock_id, progress)
        new = self._inspect(new_id)
        new_image = self._image(new.get("Image", "")) or {}
        return ActionResult(
            True,
            f"{name} now runs {label or image}",
            new_image=(new.get("Config") or {}).get("Image", ""),
            new_digest=_digest(new_image) or new.get("Image", ""),
            deployed=True,
            extra={
                "previous_image": old.get("Image", ""),
                "previous_ref": (old.get("Config") or {}).get("Image", ""),
                # what the deployment watcher will see: the revision, else the image id
                "version": ((new.get("Config") or {}).get("Labels") or {}).get(REVISION_LABEL)
                or new.get("Image", ""),
            },
        )

    def _lock(
        self,
        plan: ActionPlan,
        old: dict[str, Any],
        name: str,
        token: str,
        backup: str,
        was_running: bool,
    ) -> str:
        """Create the lock container; TargetBusy if another opsdash holds it."""
        labels = engine_marks.lock_labels(
            target=name,
            token=token,
            actor=self.actor,
            action=plan.action,
            old_id=old["Id"],
            backup=backup,
            was_running=was_running,
        )
        body = {
            "Image": old.get("Image", ""),
            "Cmd": ["opsdash-lock"],
            "Entrypoint": [],
            "Labels": labels,
            "HostConfig": {"NetworkMode": "none"},
        }
        try:
            created = self.api.create_container_from_config(body, name=engine_marks.lock_name(name))
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                self._refuse_if_marked(name)
                raise TargetBusy(f"another redeploy of {name} is in progress") from None
            raise ActionError(f"lock: {_one_line(exc)}") from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ActionError(f"lock: {_one_line(exc)}") from None
        self._refuse_if_backups(name, created["Id"])
        return created["Id"]

    def _refuse_if_backups(self, name: str, lock_id: str) -> None:
        """A backup left by an interrupted redeploy must be put right first."""
        marks = self._marks(name)
        if marks is not None and marks.backups:
            self._unlock(lock_id, lambda *_: None)
            # Only the backups: the lock is this redeploy's own, just taken.
            left = ", ".join(engine_marks.container_name(b) for b in marks.backups)
            raise _interrupted(name, left)

    def _unlock(self, lock_id: str, progress: Progress) -> None:
        try:
            self.api.remove_container(lock_id, v=False, force=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            progress("unlock", f"could not remove the lock: {_one_line(exc)}")

    def _restore(
        self,
        old: dict[str, Any],
        new_id: str | None,
        name: str,
        was_running: bool,
        progress: Progress,
    ) -> None:
        api = self.api
        if new_id is not None:
            try:
                api.remove_container(new_id, v=False, force=True)
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                progress("rollback", f"could not remove the new container: {_one_line(exc)}")
        self._call("rename back", api.rename, old["Id"], name)
        if was_running:
            self._call("start the old container", api.start, old["Id"])
        progress("rollback", f"the old {name} is back")

    def wait_up(self, container_id: str, progress: Progress, *, health: bool) -> None:
        """Running (and healthy when it has a healthcheck), or an ActionError."""
        wait_up(
            self.api,
            self._inspect,
            container_id,
            progress,
            health=health,
            timeout=self.health_timeout,
            settle=self.settle_seconds,
        )
