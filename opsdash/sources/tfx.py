"""TFX pipelines as their orchestrator runs them: which tasks are TFX
components, their order, and what the run's row says about the model.

A TFX pipeline on Airflow or Kubeflow is a DAG (pipeline) whose task ids are
its component ids: ``CsvExampleGen``, ``StatisticsGen``, ``Trainer``,
``Evaluator``, ``Pusher`` (a suffix such as ``Trainer.churn`` names a second
instance). The Evaluator blesses the model or not; the Pusher pushes a blessed
model and is skipped otherwise. Pure functions: each orchestrator's module
reads the blessing its own way and asks here what to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opsdash.model import PipelineJob, RunStatus

# In the order a TFX pipeline runs them (docs: tensorflow.org/tfx/guide).
TFX_COMPONENTS: tuple[str, ...] = (
    "ExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Tuner",
    "Trainer",
    "Evaluator",
    "InfraValidator",
    "Pusher",
)
# A pipeline is shown as TFX when this many of its tasks are components.
MIN_COMPONENTS = 3


def component_of(task_id: str) -> str:
    """The TFX component a task id names ("CsvExampleGen" -> "ExampleGen"); "" if none."""
    base = task_id.split(".", 1)[0]
    for component in TFX_COMPONENTS:
        if base == component or (component == "ExampleGen" and base.endswith(component)):
            return component
    return ""


def is_tfx(task_ids: Iterable[str]) -> bool:
    return sum(1 for task in task_ids if component_of(task)) >= MIN_COMPONENTS


def in_tfx_order(jobs: Sequence[PipelineJob]) -> list[PipelineJob]:
    """Components in pipeline order, then any other task in its given order."""
    rank = {name: index for index, name in enumerate(TFX_COMPONENTS)}

    def key(item: tuple[int, PipelineJob]) -> tuple[int, int]:
        index, job = item
        component = component_of(job.name)
        return (rank[component] if component else len(rank), index)

    return [job for _, job in sorted(enumerate(jobs), key=key)]


def blessing_word(blessed: bool | None) -> str:
    return {True: "blessed", False: "not blessed", None: ""}[blessed]


def verdict(blessed: bool | None, pusher: RunStatus | None) -> tuple[str, bool]:
    """The run row's words and whether a model was pushed.

    `pusher` is the Pusher task's status (None when the run has none)."""
    words = [blessing_word(blessed)] if blessed is not None else []
    pushed = pusher is RunStatus.SUCCESS
    if pusher is RunStatus.SUCCESS:
        words.append("pushed")
    elif pusher is RunStatus.FAILED:
        words.append("push failed")
    elif pusher is RunStatus.SKIPPED:
        words.append("not pushed")
    return " · ".join(words), pushed
