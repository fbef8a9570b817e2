"""`E` from the keyboard: refuse early, ask for a protected target's name, then
hand the terminal to the backend's CLI (`docker exec -it` for a container,
`kubectl exec -it` for a pod) and take it back when it exits.

Which backend builds the session is decided by the row's type (`SESSIONS`),
never by a kind string; each builder is in `opsdash.actions` and returns a
`ShellSession` (plan, shell, environment, why not). The session runs on the
UI thread inside `App.suspend()`: the dashboard stops reading keys and
drawing, the shell has the terminal as it was before opsdash started, and the
screen is redrawn as it was when the shell exits. Refusals and sessions are
audited through the action runner, as every action is.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported

from opsdash.actions import shell
from opsdash.actions.base import ActionError, ActionResult
from opsdash.actions.shell import ShellSession
from opsdash.model import Container
from opsdash.model.kube import KubePod
from opsdash.screens.actions import ConfirmScreen

if TYPE_CHECKING:
    from collections.abc import Callable

    from opsdash.action_flow import ActionFlow


class ShellFlow:
    # How the session runs: on this terminal, waiting for it (tests put a fake here).
    run_command = staticmethod(shell.run_interactive)

    def __init__(self, actions: ActionFlow):
        self.actions = actions
        self.app = actions.app

    # --- one builder per row type ---------------------------------------------------

    def _container_session(self, target: Container) -> ShellSession:
        source = self.actions._source(target)
        return shell.container_session(target, source, protected=self.actions._protected(target))

    def _pod_session(self, target: KubePod) -> ShellSession:
        from opsdash.actions import kube_shell
        from opsdash.sources.capabilities import Cluster

        source = next(
            (
                s
                for s in self.actions.poller.sources.values()
                if isinstance(s, Cluster) and s.context == target.context
            ),
            None,
        )
        labels = dict(target.labels)
        protected = any(m.matches(target.name, labels) for m in self.actions.config.protect)
        return kube_shell.pod_session(target, source, protected=protected)

    SESSIONS: dict[type, Callable[[ShellFlow, Any], ShellSession]] = {
        Container: _container_session,
        KubePod: _pod_session,
    }

    # --- the key ----------------------------------------------------------------------

    def start(self, target: object) -> None:
        build = next((b for t, b in self.SESSIONS.items() if isinstance(target, t)), None)
        if build is None:
            self.app.notify(
                "A shell runs in a container or a pod: select one in its panel.",
                severity="warning",
                timeout=4,
            )
            return
        session = build(self, target)
        runner = self.actions.runner
        reason = runner.refusal(session.plan, host_read_only=session.host_read_only)
        reason = reason or session.problem
        if reason:
            session.cleanup()
            runner.refuse(session.plan, reason)
            self.app.notify(f"Refused: {reason}.", severity="warning", timeout=6)
            return
        if not session.protected:
            self._run(session)
            return

        def answered(yes: bool | str | None) -> None:
            if yes is True:
                self._run(session)
            else:
                session.cleanup()
                runner.cancelled(session.plan)
                self.app.notify("Cancelled; no shell was opened.", timeout=2)

        self.app.push_screen(ConfirmScreen(replace(session.plan, protected=True)), answered)

    def _run(self, session: ShellSession) -> None:
        plan = session.plan

        def work() -> ActionResult:
            started = time.monotonic()
            try:
                with self.app.suspend():
                    code = self.run_command(plan.argv, session.env)
            except SuspendNotSupported:
                raise ActionError("this terminal cannot be handed to a shell") from None
            except OSError as exc:
                raise ActionError(f"cannot run {plan.argv[0]}: {exc.strerror or exc}") from None
            seconds = time.monotonic() - started
            note = shell.exit_note(code, session.command, seconds, session.table)
            return ActionResult(code == 0, f"Shell in {plan.target} {note}.")

        try:
            result = self.actions.runner.session(plan, work, host_read_only=session.host_read_only)
        except ActionError as exc:
            self.app.notify(str(exc), severity="error", timeout=6)
            return
        finally:
            session.cleanup()
        self.app.notify(
            result.message, severity="information" if result.ok else "warning", timeout=4
        )
