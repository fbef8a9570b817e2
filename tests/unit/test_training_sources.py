"""Which orchestrator retrains a model: services.training_sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsdash.config import Config, ServiceConfig
from opsdash.services import service_of_source, training_sources


@dataclass(frozen=True)
class _Cfg:
    service_name: str


class Orchestrator:
    """Just enough of TriggersPipelines (and a source's name and config)."""

    parameters_word = "conf"

    def __init__(self, name: str, training: str = "", service: str = ""):
        self.name = name
        self.config = _Cfg(service or name)
        self._training = training

    @property
    def label(self) -> str:
        return f"airflow:{self.name}"

    @property
    def training_pipeline(self) -> str:
        return self._training

    def trigger(self, pipeline: str, parameters: dict[str, Any]) -> str:
        return f"run of {pipeline} queued"


class NotAnOrchestrator:
    name = "ci"
    training_pipeline = "train"


def test_the_source_of_the_models_service_is_chosen():
    config = Config(path=None, services=(ServiceConfig(name="churn-svc", models=("churn",)),))
    a = Orchestrator("a", "train_churn", service="churn-svc")
    b = Orchestrator("b", "train_other", service="other")
    assert training_sources(config, [b, a], "churn") == [a]


def test_a_service_listing_the_source_in_pipelines_counts():
    config = Config(
        path=None,
        services=(ServiceConfig(name="ml", models=("churn",), pipelines=("kfp",)),),
    )
    kfp = Orchestrator("kfp", "train")
    other = Orchestrator("airflow", "train")
    assert service_of_source(config, kfp) == "ml"
    assert training_sources(config, [other, kfp], "churn") == [kfp]


def test_the_only_training_source_is_taken_without_a_service():
    only = Orchestrator("airflow", "train_churn")
    no_training = Orchestrator("kfp")
    assert training_sources(Config(path=None), [no_training, only], "churn") == [only]


def test_two_unrelated_training_sources_give_none():
    sources = [Orchestrator("a", "t"), Orchestrator("b", "t")]
    assert training_sources(Config(path=None), sources, "churn") == []


def test_sources_without_the_capability_or_pipeline_never_count():
    sources = [NotAnOrchestrator(), Orchestrator("a")]
    assert training_sources(Config(path=None), sources, "churn") == []
