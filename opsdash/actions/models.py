"""What P and u do to a model registry: move its serving alias, and keep what
rollback needs as registered-model tags, so any opsdash can roll back:

    opsdash.previous.<alias>  the version the alias pointed at before
    opsdash.set.<alias>       the version opsdash moved it to
    opsdash.changed.<alias>   when (ISO 8601, UTC)

If the alias no longer points at `opsdash.set.<alias>`, someone moved it outside
opsdash; rollback then refuses rather than guess.

These are actions, not source code: the source only offers the registry calls
(`ModelRegistry`), and the plan for the dialog and the journaled steps live
here with the other mutating operations. Every function blocks (worker threads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

from opsdash.model.ml import AliasChange, AliasPlan
from opsdash.sources.base import SourceError
from opsdash.sources.capabilities import ModelRegistry
from opsdash.sources.mlflow_map import TAG_CHANGED, TAG_PREVIOUS, TAG_SET, iso, normalize_version

# progress(step, detail), called before each step of an alias move (an action's journal)
Progress = Callable[[str, str], None]


def _writable(registry: ModelRegistry) -> None:
    """A backstop for the UI's refusal: a read-only registry is never written."""
    if registry.read_only:
        raise SourceError(f"{registry.label} is read-only: aliases are not moved")


def _plan(
    registry: ModelRegistry, action: str, model: str, version: object | None, alias: str | None
) -> tuple[AliasPlan, str]:
    """The plan and the new version's status (a move refuses one not READY)."""
    alias = alias or registry.serving_alias
    aliases, tags = registry.model_state(model)
    old = aliases.get(alias, "")
    set_to = tags.get(TAG_SET + alias, "")
    changed = iso(tags.get(TAG_CHANGED + alias, "")) if set_to == old else None
    if action == "rollback":
        previous = tags.get(TAG_PREVIOUS + alias, "")
        if set_to and set_to != old:
            where = f"v{old}" if old else "nowhere"
            raise SourceError(
                f"{model}: {alias} points at {where} but opsdash last set v{set_to}"
                " (moved outside opsdash): promote a version instead"
            )
        if not previous:
            raise SourceError(
                f"{model}: no earlier {alias} version recorded by opsdash to roll back to"
            )
        new = previous
    else:
        new = normalize_version(version)
    old_metrics: tuple[tuple[str, float], ...] = ()
    if old:
        with contextlib.suppress(SourceError):
            _status, old_metrics = registry.version_metrics(model, old)
    status, new_metrics = registry.version_metrics(model, new)
    warning = ""
    if status and status != "READY":
        warning = f"v{new} is {status}, not READY"
    elif new == old:
        warning = f"v{new} already is {alias}"
    plan = AliasPlan(
        model=model,
        alias=alias,
        action=action,
        old_version=old,
        new_version=new,
        old_metrics=old_metrics,
        new_metrics=new_metrics,
        changed_at=changed,
        warning=warning,
    )
    return plan, status


def _record(registry: ModelRegistry, model: str, alias: str, old: str, new: str) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    record = {
        TAG_PREVIOUS + alias: old,
        TAG_SET + alias: new,
        TAG_CHANGED + alias: now.isoformat(),
    }
    for key, value in record.items():
        registry.set_tag(model, key, value)
    return now


def _move(
    registry: ModelRegistry, plan: AliasPlan, status: str, progress: Progress | None
) -> AliasChange:
    """Two steps, each announced before it runs (an action's journal): the alias
    moves, then the tags record what it pointed at before."""
    _writable(registry)
    if plan.noop:
        raise SourceError(f"{plan.model}: v{plan.new_version} already is {plan.alias}")
    if status and status != "READY":
        raise SourceError(f"{plan.model}: v{plan.new_version} is {status}, not READY")
    if progress is not None:
        progress("alias", f"moving {plan.alias} of {plan.model} to v{plan.new_version}")
    registry.set_alias(plan)
    if progress is not None:
        progress("tags", f"recording v{plan.old_version or '(none)'} as the version before")
    try:
        now = _record(registry, plan.model, plan.alias, plan.old_version, plan.new_version)
    except SourceError as exc:
        raise SourceError(
            f"{plan.model}: {plan.alias} moved to v{plan.new_version}, but recording the"
            f" previous version failed ({exc}): rollback may not work"
        ) from None
    return AliasChange(plan.model, plan.alias, plan.old_version, plan.new_version, now, plan.action)


def plan_promote(
    registry: ModelRegistry, model: str, version: object, alias: str | None = None
) -> AliasPlan:
    """What promoting `version` of `model` to `alias` (default: the serving alias)
    would change, with both versions' metrics. Raises SourceError if it cannot."""
    return _plan(registry, "promote", model, version, alias)[0]


def plan_rollback(registry: ModelRegistry, model: str, alias: str | None = None) -> AliasPlan:
    """What rolling `alias` back would change. Raises SourceError if nothing is
    recorded to roll back to, or the alias was moved outside opsdash."""
    return _plan(registry, "rollback", model, None, alias)[0]


def promote(
    registry: ModelRegistry,
    model: str,
    version: object,
    alias: str | None = None,
    progress: Progress | None = None,
) -> AliasChange:
    """Point `alias` (default: the serving alias) at `version`; record the previous one."""
    _writable(registry)
    plan, status = _plan(registry, "promote", model, version, alias)
    return _move(registry, plan, status, progress)


def rollback(
    registry: ModelRegistry,
    model: str,
    alias: str | None = None,
    progress: Progress | None = None,
) -> AliasChange:
    """Point `alias` back at the version opsdash recorded before the last move."""
    _writable(registry)
    plan, status = _plan(registry, "rollback", model, None, alias)
    return _move(registry, plan, status, progress)


def finish_move(registry: ModelRegistry, model: str, alias: str, old: str, new: str) -> str:
    """After an opsdash died between moving an alias and recording it: record it
    if the alias still points where that move put it. One line on what was done."""
    _writable(registry)
    aliases, tags = registry.model_state(model)
    now_at = aliases.get(alias, "")
    if now_at == new and tags.get(TAG_SET + alias) != new:
        _record(registry, model, alias, old, new)
        return f"{alias} is at v{new}: recorded v{old or '(none)'} as the version before"
    if now_at == new:
        return f"{alias} is at v{new} and the move is recorded"
    if now_at == old:
        return f"{alias} was not moved (still v{old or '(none)'}): nothing to do"
    return f"{alias} was moved since (now v{now_at or '(none)'}): nothing changed"
