"""What the keys on the selected row do: logs, actions, a shell, pipeline and
model keys, Enter, and which of them apply to the row (`check_action`).

Split from the main screen, which composes the panels and moves between them;
this mixin reads the row under the cursor and posts the message it means. It
needs the screen's `_focused_table()`, `pipeline_source` and `panels_ready`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opsdash.model import Container, PipelineRun, Service
    from opsdash.model.kube import KubePod, KubeWorkload
    from opsdash.widgets.resource_table import ResourceTable

# Pipeline keys that apply only where the run's source can (by capability,
# `opsdash.sources.capabilities`: looked up when a run has a source).
PIPELINE_KEYS = ("rerun-failed", "pause", "mark")

A = TypeVar("A", bound=Callable[..., None])


def with_panels(action: A) -> A:
    """A key that works on the panels does nothing until they are mounted
    (the moment between the first frame and `mount_panels`)."""

    @functools.wraps(action)
    def run(self: Any, *args: Any) -> None:
        if self.panels_ready:
            action(self, *args)

    return run  # type: ignore[return-value]


class SelectedRowKeys:
    """The main screen's keys that act on the row under the cursor."""

    panels_ready: bool
    pipeline_source: Callable[[PipelineRun | None], Any]
    _focused_table: Callable[[], ResourceTable | None]

    @property
    def selected_container(self) -> Container | None:
        from opsdash.model import Container
        from opsdash.widgets.resource_table import ResourceTable

        table = self.query_one("#containers-table", ResourceTable)
        record = table.selected
        return record if isinstance(record, Container) else None

    @property
    def selected_run(self) -> PipelineRun | None:
        table = self._focused_table()
        record = table.selected if table is not None else None
        if record is None:
            return None
        from opsdash.model import PipelineRun

        return record if isinstance(record, PipelineRun) else None

    @with_panels
    def action_logs(self) -> None:
        from opsdash.messages import ShowLogs, ShowPodLogs, ShowRun
        from opsdash.model.kube import KubePod, KubeWorkload

        run = self.selected_run
        if run is not None:
            self.post_message(ShowRun(run))
            return
        record = self._selected_record()
        if isinstance(record, KubePod):
            self.post_message(ShowPodLogs(record))
            return
        if isinstance(record, KubeWorkload):
            self.notify("Logs are a pod's: Enter shows the workload's pods.", timeout=3)
            return
        container = self.selected_container
        if container is None:
            self.notify("No container selected.", severity="warning", timeout=3)
            return
        self.post_message(ShowLogs(container))

    @with_panels
    def action_project_logs(self) -> None:
        """`L`: merged logs of the selected row's group: a Swarm service's tasks,
        a scaled compose service's replicas, or a compose project's containers."""
        from opsdash.messages import ShowProjectLogs, ShowServiceLogs
        from opsdash.model import Container, Service

        record = self._selected_record()
        if isinstance(record, Service):
            self.post_message(ShowServiceLogs(record))
            return
        if not isinstance(record, Container):
            self.notify(
                "L works on a Swarm service or a container of a compose project.", timeout=3
            )
            return
        if not record.compose_project:
            self.notify("This container is not in a compose project: l shows its logs.", timeout=3)
            return
        self.post_message(ShowProjectLogs(record))

    def _selected_record(self) -> object | None:
        table = self._focused_table()
        return table.selected if table is not None else None

    def _selected_target(self) -> Container | Service | KubeWorkload | KubePod | None:
        record = self._selected_record()
        if record is None:
            return None
        from opsdash.model import Container, Service
        from opsdash.model.kube import KubePod, KubeWorkload

        targets = Container | Service | KubeWorkload | KubePod
        return record if isinstance(record, targets) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Mutating keys show as disabled where they do not apply. In read-only
        mode they stay live: the action flow refuses them, audited and said."""
        if action == "model":
            return True
        if action == "pipeline":
            if parameters and parameters[0] in PIPELINE_KEYS:
                source = self.pipeline_source(self.selected_run)
                if source is None:
                    return None
                from opsdash.sources.capabilities import MarksRuns, PausesPipelines, RerunsRuns

                wanted = {"pause": PausesPipelines, "mark": MarksRuns}.get(str(parameters[0]))
                if parameters == ("rerun-failed",):
                    can = isinstance(source, RerunsRuns) and source.can_rerun_failed
                else:
                    can = isinstance(source, wanted)
                return True if can else None
            return True
        if action == "shell":  # a container's or a pod's; a service or a workload has none
            from opsdash.screens.row_keys import SHELL_ROWS

            target = self._selected_target()
            return None if target is not None and not isinstance(target, SHELL_ROWS) else True
        if action != "act":
            return True
        target = self._selected_target()
        if target is None:
            return True
        from opsdash.model import Service
        from opsdash.screens.row_keys import CLUSTER_KEYS

        if isinstance(target, Service) and parameters and parameters[0] in ("restart", "toggle"):
            return None
        keys = CLUSTER_KEYS.get(type(target))
        if keys is not None and parameters and parameters[0] not in keys:
            return None
        return True

    @with_panels
    def action_act(self, action: str) -> None:
        target = self._selected_target()
        if target is None:
            self.notify("Select a container (or a service) first.", severity="warning", timeout=3)
            return
        from opsdash.messages import ClusterAction, ContainerAction
        from opsdash.model.kube import KubePod, KubeWorkload
        from opsdash.screens.row_keys import CLUSTER_KEYS

        if isinstance(target, KubeWorkload | KubePod):
            cluster_action = CLUSTER_KEYS[type(target)].get(action)
            if cluster_action is None:
                self.notify(f"{action} does not apply to this row.", severity="warning", timeout=3)
                return
            self.post_message(ClusterAction(cluster_action, target))
            return
        self.post_message(ContainerAction(action, target))

    @with_panels
    def action_shell(self) -> None:
        from opsdash.messages import ContainerShell

        target = self._selected_target()
        if target is None:
            self.notify("Select a container or a pod first.", severity="warning", timeout=3)
            return
        self.post_message(ContainerShell(target))

    @with_panels
    def action_pipeline(self, action: str) -> None:
        run = self.selected_run
        if run is None and action != "deploy":
            self.notify("Select a run in the Pipelines panel first.", severity="warning", timeout=3)
            return
        from opsdash.messages import PipelineAction

        self.post_message(PipelineAction(action, run))

    @with_panels
    def action_model(self, action: str) -> None:
        table = self._focused_table()
        row = table.selected if table is not None else None
        from opsdash.messages import ModelAction
        from opsdash.model.ml import ModelRow

        if not isinstance(row, ModelRow):
            self.notify("Select a model in the Models panel first.", severity="warning", timeout=3)
            return
        self.post_message(ModelAction(action, row))

    def on_resource_table_activated(self, event: ResourceTable.Activated) -> None:
        """Enter on a row (`ResourceTable.Activated`) opens what it shows."""
        record = event.table.records.get(event.key)
        if record is not None:
            from opsdash.screens.row_keys import opens

            self.post_message(opens(record))
