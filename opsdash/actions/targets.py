"""What each key does to a container or a Swarm service: a lookup of
(target type, action) to the backend's plan and run, for the action flow.

Each entry builds the plan with I/O (called in a worker) and returns the run
to start once the user confirms; the backend modules stay where they are
(`docker`, `swarm`), this table only says which of their pairs a key means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsdash.actions.base import ActionError, ActionPlan, ActionResult, Progress
from opsdash.model import Container, Service

Run = Callable[[ActionPlan, Progress, Callable[[str], bool]], ActionResult]
Target = Container | Service


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What planning needs besides the target: its engine and the runner's facts."""

    source: Any  # the engine's source (a ContainerEngine)
    health_timeout: float
    actor: str
    store: Any | None  # the data store, for the image a rollback returns to


def _swarm(ctx: PlanContext):
    from opsdash.actions.swarm import SwarmActions

    return SwarmActions(ctx.source)


def _docker(ctx: PlanContext):
    from opsdash.actions.docker import DockerActions

    return DockerActions(ctx.source, health_timeout=ctx.health_timeout, actor=ctx.actor)


def _service_update(ctx: PlanContext, target: Target, image: str | None) -> tuple[ActionPlan, Run]:
    swarm = _swarm(ctx)
    return swarm.plan_update(target.id, image), lambda p, progress, _ask: swarm.run_update(
        p, progress
    )


def _service_rollback(
    ctx: PlanContext, target: Target, _image: str | None
) -> tuple[ActionPlan, Run]:
    swarm = _swarm(ctx)
    return swarm.plan_rollback(target.id), lambda p, progress, _ask: swarm.run_rollback(p, progress)


def _restart(ctx: PlanContext, target: Target, _image: str | None) -> tuple[ActionPlan, Run]:
    actions = _docker(ctx)
    return actions.plan_restart(target.id), lambda p, progress, _ask: actions.run_restart(
        p, progress
    )


def _toggle(ctx: PlanContext, target: Target, _image: str | None) -> tuple[ActionPlan, Run]:
    actions = _docker(ctx)
    return actions.plan_toggle(target.id), lambda p, progress, _ask: actions.run_toggle(p, progress)


def _redeploy(ctx: PlanContext, target: Target, image: str | None) -> tuple[ActionPlan, Run]:
    actions = _docker(ctx)
    return actions.plan_redeploy(target.id, image), actions.run_redeploy


def _rollback(ctx: PlanContext, target: Target, _image: str | None) -> tuple[ActionPlan, Run]:
    previous = ctx.store.previous_image(target.host, target.name) if ctx.store else None
    if previous is None:
        raise ActionError(
            f"no earlier redeploy of {target.name} is recorded, so there is nothing to roll back to"
        )
    actions = _docker(ctx)
    return actions.plan_rollback(
        target.id, *previous
    ), lambda p, progress, _ask: actions.run_rollback(p, progress)


PLANNERS: dict[
    tuple[type, str], Callable[[PlanContext, Target, str | None], tuple[ActionPlan, Run]]
] = {
    (Service, "redeploy"): _service_update,
    (Service, "rollback"): _service_rollback,
    (Container, "restart"): _restart,
    (Container, "toggle"): _toggle,
    (Container, "redeploy"): _redeploy,
    (Container, "rollback"): _rollback,
}


def plan_target(
    ctx: PlanContext, action: str, target: Target, image: str | None
) -> tuple[ActionPlan, Run]:
    """The plan (read from the engine now) and the run of `action` on `target`."""
    planner = PLANNERS.get((type(target), action))
    if planner is None:
        if isinstance(target, Service):
            raise ActionError(f"{action} applies to containers; for a service use R or u")
        raise ActionError(f"{action} does not apply to a container")
    return planner(ctx, target, image)
