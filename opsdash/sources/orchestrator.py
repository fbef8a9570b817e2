"""What the ML orchestrators (Airflow, Kubeflow Pipelines) share beyond a CI source.

An orchestrator is a pipeline source whose pipelines are started with
parameters (D), one of which may be the `training` pipeline that retrains the
table's models (D on a model in breach). Runs of the `deploy` or `training`
pipeline are deployments of the table's service once final: a success always;
a failure only when the run reached its push/deploy step, since a run that
failed while training changed nothing in production (docs/dora.md). A run
whose TFX Pusher succeeded pushed a model: its deployment's kind is "model".

Vendor modules subclass `OrchestratorConfig` and `OrchestratorSource`; nothing
here knows a vendor.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from opsdash.model import PipelineJob, PipelineRun, RunStatus, VendorDeployment
from opsdash.model.lineage import vendor_run_id
from opsdash.sources.ci import CiConfig, PipelineSource
from opsdash.sources.settings import fixed, option
from opsdash.sources.tfx import component_of

# (is_deploy, is_training) for a run of the pipeline named by these ids: a
# table's `OrchestratorConfig.flags`, or `no_flags` where none is configured.
Flags = Callable[..., tuple[bool, bool]]


def no_flags(*_ids: str) -> tuple[bool, bool]:
    return False, False


# Task names (lower case) that put a model or an app into production.
PUSH_WORDS = ("push", "deploy", "release", "promote")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestratorConfig(CiConfig):
    """Keys every orchestrator table adds to a CI table's; a CI table's branch
    keys mean nothing here (D starts the selected pipeline), so they are not keys."""

    name: str = option(
        doc="shown in the header and the SOURCE column; unique", default_doc="the kind"
    )
    branch: str = fixed("")
    deploy_branch: str = fixed("")
    deploy_inputs: tuple[tuple[str, str], ...] = fixed(())

    read_only: bool = option(False, doc="refuse r, F, c, D, p and m on this source")
    training: str = option(
        "",
        doc="the pipeline that retrains this table's models: D on a model in breach"
        " triggers it, and its final runs are deployments",
    )

    def flags(self, *pipeline_ids: str) -> tuple[bool, bool]:
        """(is_deploy, is_training) for a run of the pipeline named by any of these ids."""
        ids = {p for p in pipeline_ids if p}
        return bool(self.deploy) and self.deploy in ids, bool(self.training) and (
            self.training in ids
        )


def is_push_step(job: PipelineJob) -> bool:
    """A task that pushes or deploys: a TFX Pusher, or a name saying so."""
    if component_of(job.name) == "Pusher":
        return True
    name = job.name.lower()
    return any(word in name for word in PUSH_WORDS)


def reached_push(jobs: Iterable[PipelineJob]) -> bool:
    """Whether a push/deploy task ran (whatever came of it)."""
    return any(
        is_push_step(job)
        and job.status not in (RunStatus.QUEUED, RunStatus.SKIPPED, RunStatus.CANCELLED)
        for job in jobs
    )


def deployment_of(run: PipelineRun, service: str, reached: bool) -> VendorDeployment | None:
    """The deployment a final run of the deploy or training pipeline is, or None.

    `reached`: for a failed run, whether it reached the push step
    (`reached_push` on its jobs); ignored for a success."""
    if not (run.is_deploy or run.is_training) or run.finished is None:
        return None
    if run.status is RunStatus.SUCCESS:
        result = "success"
    elif run.status is RunStatus.FAILED and reached:
        result = "failed"
    else:
        return None
    own_id = vendor_run_id(run)
    return VendorDeployment(
        id=f"run:{run.pipeline_key}/{own_id}",
        source=run.source,
        service=service,
        environment="production",
        version=own_id,
        at=run.finished,
        result=result,
        url=run.url,
        kind="model" if run.pushed else "app",
    )


class OrchestratorSource(PipelineSource):
    """A pipeline source that starts pipelines with parameters (`TriggersPipelines`).

    Subclasses implement `do_trigger`; clear/retry and cancel are `do_rerun` and
    `do_cancel` as for any CI source."""

    # The dialog's word for the JSON object D sends ("conf", "parameters").
    parameters_word: ClassVar[str] = "parameters"

    config: OrchestratorConfig

    @property
    def training_pipeline(self) -> str:
        return self.config.training

    @property
    def deploy_target(self) -> str:
        """D on a run triggers that run's pipeline; no separate deploy dialog."""
        return ""

    @abc.abstractmethod
    async def do_trigger(self, pipeline: str, parameters: dict[str, Any]) -> str:
        """Start a run of `pipeline`; returns one line naming the new run."""

    def trigger(self, pipeline: str, parameters: dict[str, Any]) -> str:
        self._writable()
        return self._sync(self.do_trigger(pipeline, parameters))
