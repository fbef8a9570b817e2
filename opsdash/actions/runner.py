"""Runs confirmed actions: refuses in read-only mode, when the target is busy
(here, or in another opsdash on the same store: its lease, `actions.lease`) or
when the audit log cannot be written; times them; writes the audit row when the
action starts, each step before it runs (the journal) and the outcome at the end.
Refusals and cancellations are audited too."""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from opsdash.actions.base import ActionCancelled, ActionError, ActionPlan, ActionResult, Progress
from opsdash.actions.journal import ActionJournal
from opsdash.actions.lease import TargetLease, busy_reason, dead_here
from opsdash.eventlog import event
from opsdash.redact import redact
from opsdash.safetext import strip_unsafe
from opsdash.store import AuditEntry, DeploymentEvent, Store, StoreError

ACTOR_ENV = "OPSDASH_ACTOR"


def current_actor() -> str:
    """`user@host`; or $OPSDASH_ACTOR, which `opsdash serve` sets for each browser
    session's app process (`web:<session>@<host>`). Like the user name itself
    (getpass reads $USER), it is what the process says it is."""
    if given := " ".join(os.environ.get(ACTOR_ENV, "").split())[:120]:
        return strip_unsafe(given)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class ActionRunner:
    def __init__(self, store: Store | None, *, read_only: bool = False, actor: str | None = None):
        self.store = store
        self.read_only = read_only
        self.actor = actor or current_actor()
        self._busy: set[str] = set()
        self._acting: dict[str, int] = {}  # service -> actions running on it
        self._lock = threading.Lock()

    @property
    def acting_services(self) -> frozenset[str]:
        """Services an action is changing now, here or in another opsdash on the
        store (the watchers leave them alone)."""
        with self._lock:
            here = frozenset(self._acting)
        leases = self.store.leases() if self.store is not None else []
        # A lease left by a crashed opsdash of this machine is recovery's, not an action.
        return here | {lease.service for lease in leases if lease.service and not dead_here(lease)}

    def is_busy(self, plan: ActionPlan) -> bool:
        with self._lock:
            return plan.key in self._busy

    def refusal(self, plan: ActionPlan, *, host_read_only: bool = False) -> str | None:
        """Why this plan may not run now, or None."""
        if self.read_only:
            return "opsdash runs read-only (--read-only or read_only = true)"
        if host_read_only:
            return f"{plan.host} is read-only in the config"
        if self.store is not None and not self.store.writes_work():
            return f"the audit log cannot be written: {self.store.problem}"
        if self.is_busy(plan):
            return f"an action on {plan.target} is already running"
        held = self.store.lease(plan.key) if self.store is not None else None
        if held is not None and not dead_here(held):
            return busy_reason(plan.target, held)
        return None

    def refuse(self, plan: ActionPlan, reason: str) -> None:
        self._audit(plan, f"refused: {reason}", None, "")

    def cancelled(self, plan: ActionPlan) -> None:
        self._audit(plan, "cancelled", None, "")

    def execute(self, plan: ActionPlan, work: Callable[[], ActionResult]) -> ActionResult:
        """Run `work` (in the caller's thread) with the target marked busy."""
        return self.execute_journaled(plan, lambda _journal: work())

    def execute_journaled(
        self,
        plan: ActionPlan,
        work: Callable[[Progress], ActionResult],
        show: Progress | None = None,
    ) -> ActionResult:
        """Run `work(journal)`: the journal is its progress callback, written to the
        store before each step and then passed on to `show`."""
        reason = self.refusal(plan)
        if reason is not None:
            self.refuse(plan, reason)
            raise ActionError(f"refused: {reason}")
        service = plan.service or plan.target
        with self._lock:
            self._busy.add(plan.key)
            self._acting[service] = self._acting.get(service, 0) + 1
        lease = None
        try:
            lease = self._lease(plan, service)
            journal = self._begin(plan, show)
            return self._execute(plan, work, journal)
        finally:
            if lease is not None:
                lease.release()
            # Only now, with its deployment recorded, may the watchers look again.
            with self._lock:
                self._busy.discard(plan.key)
                self._acting[service] -= 1
                if not self._acting[service]:
                    del self._acting[service]

    def session(
        self,
        plan: ActionPlan,
        work: Callable[[], ActionResult],
        *,
        host_read_only: bool = False,
    ) -> ActionResult:
        """An interactive session on the target (`E`: a shell in a container):
        refused as any action is, audited as one row with its argv as its step,
        written before it starts. No journal: it changes nothing recovery could
        put right, so an opsdash killed meanwhile leaves nothing to repair."""
        reason = self.refusal(plan, host_read_only=host_read_only)
        if reason is not None:
            self.refuse(plan, reason)
            raise ActionError(f"refused: {reason}")
        audit_id = None
        if self.store is not None:
            try:
                audit_id = self.store.add_audit(self._entry(plan, "running", None, ""))
                self.store.add_step(audit_id, "exec", redact(" ".join(plan.argv)))
            except StoreError as exc:
                event(f"action {plan.action} {plan.target} refused: {exc}", warning=True)
                raise ActionError(f"refused: the audit log cannot be written: {exc}") from None
        self._log(plan, "started")
        with self._lock:
            self._busy.add(plan.key)
        started = time.monotonic()
        journal = ActionJournal(self.store, audit_id)
        try:
            result = work()
        except ActionError as exc:
            self._end(journal, plan, "failed", time.monotonic() - started, str(exc))
            raise
        except Exception as exc:
            message = f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            self._end(journal, plan, "failed", time.monotonic() - started, message)
            raise ActionError(message) from exc
        finally:
            with self._lock:
                self._busy.discard(plan.key)
        duration = time.monotonic() - started
        self._end(journal, plan, "ok", duration, "" if result.ok else result.message)
        return replace(result, duration_s=duration)

    def _entry(
        self,
        plan: ActionPlan,
        result: str,
        duration: float | None,
        error: str,
        outcome: ActionResult | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            at=datetime.now().astimezone().isoformat(timespec="seconds"),
            actor=self.actor,
            action=plan.action,
            kind=plan.kind,
            target=plan.target,
            host=plan.host,
            old_image=plan.old_image,
            old_digest=plan.old_digest,
            new_image=(
                outcome.new_image
                if outcome and outcome.new_image
                else plan.new_image or (f"ref {plan.ref}" if plan.ref else "")
            ),
            new_digest=(outcome.new_digest if outcome and outcome.new_digest else plan.new_digest),
            result=result,
            duration_s=None if duration is None else round(duration, 2),
            error=" ".join(error.split())[:500],
        )

    def _lease(self, plan: ActionPlan, service: str) -> TargetLease | None:
        """The target's lease in the store, so no other opsdash acts on it
        meanwhile; a refusal (audited) when another one holds it."""
        if self.store is None:
            return None
        lease = TargetLease(self.store, plan.key, self.actor, service)
        try:
            held = lease.take()
        except StoreError as exc:
            event(f"action {plan.action} {plan.target} refused: {exc}", warning=True)
            raise ActionError(f"refused: the audit log cannot be written: {exc}") from None
        if held is not None:
            reason = busy_reason(plan.target, held)
            self.refuse(plan, reason)
            raise ActionError(f"refused: {reason}")
        return lease

    def _begin(self, plan: ActionPlan, show: Progress | None) -> ActionJournal:
        """The audit row, written before anything is done; no row, no action."""
        if self.store is None:
            return ActionJournal(None, None, show)
        try:
            audit_id = self.store.begin_action(
                self._entry(plan, "running", None, ""),
                plan.target_id,
                {"service": plan.service or plan.target},
            )
        except StoreError as exc:
            event(f"action {plan.action} {plan.target} refused: {exc}", warning=True)
            raise ActionError(f"refused: the audit log cannot be written: {exc}") from None
        self._log(plan, "started")
        return ActionJournal(self.store, audit_id, show)

    def _execute(
        self, plan: ActionPlan, work: Callable[[Progress], ActionResult], journal: ActionJournal
    ) -> ActionResult:
        started = time.monotonic()
        try:
            result = work(journal)
        except ActionCancelled as exc:
            self._end(journal, plan, "cancelled", time.monotonic() - started, str(exc))
            raise
        except ActionError as exc:
            outcome = "rolled back" if exc.rolled_back else "failed"
            self._end(journal, plan, outcome, time.monotonic() - started, str(exc))
            if exc.rolled_back and plan.mutating:
                self._deployment(plan, plan.old_image, plan.old_digest, "rolled back")
            raise
        except Exception as exc:
            message = f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            self._end(journal, plan, "failed", time.monotonic() - started, message)
            raise ActionError(message) from exc
        duration = time.monotonic() - started
        self._end(journal, plan, "ok", duration, "", result)
        if result.deployed:
            self._deployment(
                plan,
                result.new_image or plan.new_image,
                result.new_digest or plan.new_digest,
                "success",
                result.extra.get("version", ""),
            )
            previous = result.extra.get("previous_image")
            if previous and self.store is not None:
                self.store.set_previous_image(
                    plan.host, plan.target, previous, result.extra.get("previous_ref", "")
                )
        message = result.message
        if journal.lost:
            message += f" (not all of it reached the audit log: {journal.lost})"
        return ActionResult(
            result.ok,
            message,
            result.new_image,
            result.new_digest,
            result.rolled_back,
            duration,
            result.deployed,
            result.extra,
        )

    def _end(
        self,
        journal: ActionJournal,
        plan: ActionPlan,
        outcome: str,
        duration: float,
        error: str,
        result: ActionResult | None = None,
    ) -> None:
        error = redact(error)  # the audit log and the --log file keep no secret
        self._log(plan, outcome, error)
        if self.store is None or journal.audit_id is None:
            return
        try:
            self.store.end_action(
                journal.audit_id,
                outcome,
                duration_s=duration,
                error=error,
                new_image=result.new_image if result else None,
                new_digest=result.new_digest if result else None,
            )
        except StoreError as exc:
            # Its journal entry stays "running": the next start reports it.
            journal.lost = journal.lost or str(exc)
            event(f"audit log: {exc}", warning=True)

    def _log(self, plan: ActionPlan, outcome: str, error: str = "") -> None:
        """One line in the --log file: what, where, by whom, and how it went."""
        event(
            f"action {plan.action} {plan.kind} {plan.target} on {plan.host} by {self.actor}:"
            f" {outcome}" + (f" ({' '.join(error.split())[:300]})" if error else ""),
            warning=outcome not in ("ok", "started"),
        )

    def _audit(self, plan: ActionPlan, outcome: str, duration: float | None, error: str) -> None:
        """A refusal or cancellation: one row, nothing journaled (nothing was done)."""
        error = redact(error)
        self._log(plan, outcome, error)
        if self.store is None:
            return
        try:
            self.store.add_audit(self._entry(plan, outcome, duration, error))
        except StoreError as exc:
            event(f"audit log: {exc}", warning=True)

    def _deployment(
        self, plan: ActionPlan, image: str, digest: str, outcome: str, version: str = ""
    ) -> None:
        """`version`: what the action says it deployed (a container's revision
        label, so the deploy gets a lead time); else the digest or image."""
        if self.store is None:
            return
        self.store.add_deployment(
            DeploymentEvent(
                at=datetime.now().astimezone().isoformat(timespec="seconds"),
                service=plan.service or plan.target,
                host=plan.host,
                kind="model" if plan.kind == "model" else "app",
                image="" if plan.kind == "model" else image,
                digest=digest,
                result=outcome,
                source=f"{plan.kind}-{plan.action}",
                version=image.removeprefix("v")
                if plan.kind == "model"
                else (version or digest or image),
            )
        )
