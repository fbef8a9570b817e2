"""Finding and putting right actions an earlier opsdash left unfinished.

On start, and whenever a Docker poll shows an opsdash lock or backup container
that no action of ours explains, the journal and the engines are read in a
worker (`actions.recovery.find_interrupted`); what is found is shown at once
and put right, after one `y`, through the ordinary runner (audited, refused in
read-only mode), with progress in the usual dialog.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.app import App

from opsdash.actions import engine_marks
from opsdash.actions.base import ActionError, ActionPlan, ActionResult
from opsdash.actions.recovery import (
    FINISH_MOVE,
    KEEP_NEW,
    Interrupted,
    close_record,
    find_interrupted,
    note_interrupted,
    repair,
    repair_plan,
)
from opsdash.eventlog import event
from opsdash.model import Container

if TYPE_CHECKING:
    from opsdash.action_flow import ActionFlow

RESCAN_AFTER_S = 10.0  # at most this often per sighting of marks on the engine


class RecoveryFlow:
    def __init__(self, app: App, actions: ActionFlow):
        self.app = app
        self.actions = actions
        self.items: list[Interrupted] = []
        self._shown: set[str] = set()
        self._last_scan = 0.0
        self._scanned_once = False

    @property
    def _docker(self) -> dict[str, Any]:
        from opsdash.sources.capabilities import ContainerEngine

        sources = self.actions.poller.sources.values()
        return {s.name: s for s in sources if isinstance(s, ContainerEngine)}

    def after_docker_poll(self, containers: Sequence[Container]) -> None:
        """UI thread: scan once at start, then when marks show that are not ours."""
        acting = self.actions.runner.acting_services
        marked = any(
            (c.name.endswith(engine_marks.LOCK_SUFFIX) or engine_marks.backup_of(c.name))
            for c in containers
        )
        if self._scanned_once and not (marked and not acting):
            return
        if time.monotonic() - self._last_scan < RESCAN_AFTER_S and self._scanned_once:
            return
        self._scanned_once = True
        self.scan(show_always=False)

    def after_cluster_poll(self) -> None:
        """UI thread: a Kubernetes-only opsdash scans the journal once at start too
        (its rollouts leave no marks on an engine to rescan for)."""
        if not self._scanned_once:
            self._scanned_once = True
            self.scan(show_always=False)

    def scan(self, *, show_always: bool) -> None:
        self._last_scan = time.monotonic()
        self.app.run_worker(
            lambda: self._find(show_always),
            thread=True,
            exit_on_error=False,
            group="recovery",
            exclusive=True,
            name="recovery-scan",
        )

    def _find(self, show_always: bool) -> None:
        engines = {}
        for name, source in self._docker.items():
            try:
                engines[name] = source.reader  # not the SDK: this scan runs at start
            except Exception:  # noqa: BLE001 - an engine that is down is skipped
                continue
        store = self.actions.runner.store
        acting = self.actions.runner.acting_services
        from opsdash.sources.capabilities import Cluster

        sources = self.actions.poller.sources.values()
        clusters = {s.context: s for s in sources if isinstance(s, Cluster)}
        found = find_interrupted(store, engines, clusters)
        items = [i for i in found if i.target not in acting]
        note_interrupted(store, items)
        for item in items:
            event(
                f"interrupted {item.action} of {item.target} on {item.host}: {item.now}",
                warning=True,
            )
        self.app.call_from_thread(self._found, items, show_always)

    def _found(self, items: list[Interrupted], show_always: bool) -> None:
        self.items = items
        fresh = {i.key for i in items} - self._shown
        if not items:
            if show_always:
                self.app.notify("No interrupted action to put right.", timeout=3)
            return
        if fresh or show_always:
            self._shown |= {i.key for i in items}
            self._ask(items)

    def _ask(self, items: list[Interrupted]) -> None:
        from opsdash.screens.recovery import RecoveryScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._repair(items)

        self.app.push_screen(
            RecoveryScreen(items, read_only=self.actions.runner.read_only), answered
        )

    def _repair(self, items: list[Interrupted]) -> None:
        from opsdash.screens.actions import ProgressScreen

        targets = ", ".join(dict.fromkeys(i.target for i in items))
        title_plan = ActionPlan(
            action="recover", kind="container", target=targets, target_id="", host="this engine"
        )
        screen = ProgressScreen(title_plan)
        self.app.push_screen(screen)
        runner = self.actions.runner

        def show(step: str, line: str) -> None:
            self.actions.call_ui(screen.add_line, step, line)

        def work() -> None:
            failures = []
            for item in items:
                plan = repair_plan(item)
                source = self._docker.get(item.host)

                def fix(journal, item=item, source=source) -> ActionResult:
                    if item.repair == FINISH_MOVE:
                        return ActionResult(True, self._finish_move(item))
                    if item.kind == "container" and source is None:
                        raise ActionError(f"{item.host} is not a configured Docker host")
                    api = source.client if source is not None else None
                    wait_up = self._wait_up(source, journal) if source is not None else None
                    old = self._old_image(api, item)
                    done = repair(item, api, journal, wait_up)
                    if old and done.startswith("kept the new") and runner.store is not None:
                        # As after any redeploy: u goes back to what ran before.
                        runner.store.set_previous_image(item.host, item.target, *old)
                    return ActionResult(True, done)

                try:
                    result = runner.execute_journaled(plan, fix, show=show)
                    close_record(runner.store, item, f"put right: {result.message}")
                    show("done", f"{item.target}: {result.message}")
                except ActionError as exc:
                    failures.append(f"{item.target}: {exc}")
                    show("failed", f"{item.target}: {exc}")
            ok = not failures
            message = "every interrupted action is put right" if ok else "; ".join(failures)
            self.actions.call_ui(self.actions.finished, screen, ok, message)

        self.actions.run_in_thread("action:recover", work)

    @staticmethod
    def _old_image(api: Any, item: Interrupted) -> tuple[str, str] | None:
        """(image id, ref) of the backup a kept redeploy replaced, before it goes."""
        if api is None or item.repair != KEEP_NEW or not item.facts.get("old_id"):
            return None
        try:
            raw = api.inspect_container(item.facts["old_id"])
        except Exception:  # noqa: BLE001 - only `u` needs it
            return None
        return raw.get("Image", ""), (raw.get("Config") or {}).get("Image", "")

    def _finish_move(self, item: Interrupted) -> str:
        from opsdash.actions.models import finish_move
        from opsdash.poller import describe_error
        from opsdash.sources.capabilities import ModelRegistry

        source = self.actions.poller.sources.get(item.host)
        if not isinstance(source, ModelRegistry):
            raise ActionError(f"{item.host} is not a configured MLflow source")
        f = item.facts
        try:
            return finish_move(
                source, f["model"], f["alias"], f.get("old_version", ""), f["new_version"]
            )
        except Exception as exc:  # noqa: BLE001 - one line, secrets already redacted
            raise ActionError(describe_error(exc)) from None

    @staticmethod
    def _wait_up(source: Any, journal: Any):
        from opsdash.actions.docker import DockerActions

        actions = DockerActions(source)
        return lambda container_id: actions.wait_up(container_id, journal, health=True)
