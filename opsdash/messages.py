"""What screens ask of the app, as typed messages (Textual: attributes down, messages up).

A screen knows what the user picked and which key was pressed; only the app
knows the poller, the store and the action flow. So a screen posts one of these
and the app decides what it means (``on_*`` handlers in `opsdash.app`). A screen
then imports no app, works under any App in tests, and a handler can be found
by the message's name instead of by grepping for ``self.app.``.

Dataclasses, as in toolong's ``messages.py``: Textual's ``Message.__post_init__``
initialises them, and the fields say what each request carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the fields' types; a message is built by whoever has the record
    from opsdash.model import Container, PipelineDefinition, PipelineRun, Service
    from opsdash.model.deployments import ServiceDeployments
    from opsdash.model.kube import KubePod, KubeWorkload
    from opsdash.model.ml import ModelRow

# --- show a screen ----------------------------------------------------------


@dataclass
class ShowDetails(Message):
    """Enter on a container: its details (inspect, health log)."""

    container: Container


@dataclass
class ShowLogs(Message):
    """`l` on a container: its log stream."""

    container: Container


@dataclass
class ShowProjectLogs(Message):
    """`L` on a container of a compose project: the logs of its compose
    service's replicas when it has several, else of all the project's
    containers, merged; `whole`: the project's in any case (`L` on the
    replicas' logs screen)."""

    container: Container
    whole: bool = False


@dataclass
class ShowServiceLogs(Message):
    """`L` on a Swarm service: the logs of all its tasks, merged."""

    service: Service


@dataclass
class ShowRun(Message):
    """Enter or `l` on a pipeline run: its jobs."""

    run: PipelineRun


@dataclass
class ShowModel(Message):
    """Enter on a model row: its versions and trend."""

    row: ModelRow


@dataclass
class ShowService(Message):
    """Enter on a deployments row: the service's DORA timeline."""

    row: ServiceDeployments


@dataclass
class ShowWorkload(Message):
    """Enter on a Kubernetes workload: its pods, revisions, events and conditions."""

    workload: KubeWorkload


@dataclass
class ShowPodLogs(Message):
    """`l` on a pod (or a pod of a workload): one container's log; `previous`:
    the log of its last crashed run."""

    pod: KubePod
    container: str = ""
    previous: bool = False


@dataclass
class ShowRecord(Message):
    """Enter on any other record (e.g. a Swarm service): its fields."""

    record: object


@dataclass
class ShowPipelines(Message):
    """`P` in the Pipelines panel: the pipelines every orchestrator can start."""


@dataclass
class ShowAudit(Message):
    """`a`: the audit log."""


# --- ask the app to do something ----------------------------------------------


@dataclass
class RefreshNow(Message):
    """ctrl+r: poll every source now."""


@dataclass
class FindInterrupted(Message):
    """`!`: look for interrupted actions and show them, even when there are none."""


@dataclass
class ContainerAction(Message):
    """restart, redeploy, rollback or toggle of a container or a Swarm service."""

    action: str
    target: Container | Service


@dataclass
class ContainerShell(Message):
    """`E`: a shell in the selected container or pod (the dashboard suspended meanwhile)."""

    target: object  # the selected row: a Container or a KubePod, else the flow says why not


@dataclass
class PipelineAction(Message):
    """rerun, rerun-failed, cancel, pause, mark of `run`; deploy (`run` may then
    be None; a trigger where the run's source starts pipelines); trigger and
    pause of `pipeline` (a row of the `P` screen)."""

    action: str
    run: PipelineRun | None
    pipeline: PipelineDefinition | None = None


@dataclass
class ModelAction(Message):
    """promote or rollback of a model's serving alias (`version`: the one to
    promote); retrain: trigger the training pipeline of a model in breach."""

    action: str
    row: ModelRow
    version: str | None = None


@dataclass
class ClusterAction(Message):
    """A Kubernetes action: restart, undo, set-image, scale (of a workload) or
    delete (of a pod). `value`: the revision to undo to, the "container=image"
    to set, or the replica count, when the key's dialog asked for one."""

    action: str
    target: KubeWorkload | KubePod
    value: str | None = None
