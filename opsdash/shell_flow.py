"""`E` from the keyboard: refuse early, ask for a protected container's name,
then hand the terminal to `docker exec -it` and take it back when it exits.

The session runs on the UI thread inside `App.suspend()`: the dashboard stops
reading keys and drawing, the shell has the terminal as it was before opsdash
started, and the screen is redrawn as it was when the shell exits. Refusals
and sessions are audited through the action runner, as every action is.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported

from opsdash.actions import shell
from opsdash.actions.base import ActionError, ActionPlan, ActionResult
from opsdash.model import Container
from opsdash.screens.actions import ConfirmScreen
from opsdash.sources.docker_contexts import ContextError

if TYPE_CHECKING:
    from opsdash.action_flow import ActionFlow


class ShellFlow:
    # How the session runs: on this terminal, waiting for it (tests put a fake here).
    run_command = staticmethod(shell.run_interactive)

    def __init__(self, actions: ActionFlow):
        self.actions = actions
        self.app = actions.app

    def start(self, target: object) -> None:
        if not isinstance(target, Container):
            self.app.notify(
                "A shell runs in a container: select one in the Containers panel.",
                severity="warning",
                timeout=4,
            )
            return
        source = self.actions._source(target)
        config = getattr(source, "config", None)
        docker = shell.docker_cli()
        argv: tuple[str, ...] = ()
        problem = ""
        if docker and config is not None:
            try:
                argv = shell.exec_argv(docker, config, target.id)
            except ContextError as exc:
                problem = str(exc)
        plan = shell.shell_plan(
            target=target.name, target_id=target.id, host=target.host, argv=argv, image=target.image
        )
        host_read_only = source is not None and source.read_only
        reason = self.actions.runner.refusal(plan, host_read_only=host_read_only)
        reason = reason or problem or self._cannot(target, source, config, docker)
        if reason:
            self.actions.runner.refuse(plan, reason)
            self.app.notify(f"Refused: {reason}.", severity="warning", timeout=6)
            return
        command = tuple(getattr(config, "shell", ()) or shell.DEFAULT_SHELL)
        if not self.actions._protected(target):
            self._run(plan, command, host_read_only)
            return

        def answered(yes: bool | str | None) -> None:
            if yes is True:
                self._run(plan, command, host_read_only)
            else:
                self.actions.runner.cancelled(plan)
                self.app.notify("Cancelled; no shell was opened.", timeout=2)

        self.app.push_screen(ConfirmScreen(replace(plan, protected=True)), answered)

    @staticmethod
    def _cannot(target: Container, source: Any, config: Any, docker: str | None) -> str:
        """Why E cannot open a shell here, beyond the runner's refusals; "" if it can."""
        if source is None:
            return f"{target.host} is not a configured Docker host"
        if config is None:
            return f"{target.host} is not an engine opsdash can reach with the docker CLI"
        if docker is None:
            return "the docker CLI is not on PATH (E runs docker exec -it): install it"
        if target.state != "running":
            return f"{target.name} is {target.state or 'not running'}: a shell needs it running"
        return ""

    def _run(self, plan: ActionPlan, command: tuple[str, ...], host_read_only: bool) -> None:
        def work() -> ActionResult:
            started = time.monotonic()
            try:
                with self.app.suspend():
                    code = self.run_command(plan.argv, shell.exec_env())
            except SuspendNotSupported:
                raise ActionError("this terminal cannot be handed to a shell") from None
            except OSError as exc:
                raise ActionError(f"cannot run {plan.argv[0]}: {exc.strerror or exc}") from None
            note = shell.exit_note(code, command, time.monotonic() - started)
            return ActionResult(code == 0, f"Shell in {plan.target} {note}.")

        try:
            result = self.actions.runner.session(plan, work, host_read_only=host_read_only)
        except ActionError as exc:
            self.app.notify(str(exc), severity="error", timeout=6)
            return
        self.app.notify(
            result.message, severity="information" if result.ok else "warning", timeout=4
        )
