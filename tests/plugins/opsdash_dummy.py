"""A third-party source distribution as a user would write one: two kinds,
`dummyci` (pipeline runs) and `dummymodels` (a model metric), in one module
that imports only opsdash's public model and source interface.

The plugin tests copy this file into a throwaway distribution with an
`opsdash.sources` entry point for each kind; nothing in opsdash names it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from opsdash.model import PipelineRun, PipelineSnapshot, RunStatus
from opsdash.model.ml import ModelRow, ModelsSnapshot, ThresholdState
from opsdash.sources.base import Detection, Source


@dataclass(frozen=True, slots=True, kw_only=True)
class DummyCiConfig:
    """One [[dummyci]] table."""

    kind: ClassVar[str] = "dummyci"
    name: str = "dummy"
    runs: int = 3
    refresh: float = 3600.0
    timeout: float = 5.0


class DummyCiSource(Source):
    kind = "dummyci"
    feeds = PipelineSnapshot
    config_class = DummyCiConfig
    setup_hint = "set OPSDASH_DUMMY_CI"

    def __init__(self, config: DummyCiConfig):
        super().__init__(config.name, config.refresh, config.timeout)
        self.config = config

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[DummyCiConfig, ...]:
        name = detection.environ.get("OPSDASH_DUMMY_CI", "")
        return (DummyCiConfig(name=name),) if name else ()

    def poll(self) -> PipelineSnapshot:
        now = datetime.now(UTC)
        runs = tuple(
            PipelineRun(
                source=self.label,
                provider=self.kind,
                project="dummy/project",
                pipeline=f"dummy-build-{n}",
                id=str(n),
                status=RunStatus.SUCCESS if n % 2 else RunStatus.FAILED,
                number=n,
                branch="main",
                started=now - timedelta(minutes=10 * n),
                finished=now - timedelta(minutes=10 * n - 3),
            )
            for n in range(1, self.config.runs + 1)
        )
        return PipelineSnapshot(self.label, self.kind, runs)


@dataclass(frozen=True, slots=True, kw_only=True)
class DummyModelsConfig:
    """One [[dummymodels]] table."""

    kind: ClassVar[str] = "dummymodels"
    name: str = "lab"
    refresh: float = 3600.0
    timeout: float = 5.0


class DummyModelsSource(Source):
    kind = "dummymodels"
    feeds = ModelsSnapshot
    config_class = DummyModelsConfig

    def __init__(self, config: DummyModelsConfig):
        super().__init__(config.name, config.refresh, config.timeout)

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[DummyModelsConfig, ...]:
        return (DummyModelsConfig(),) if os.environ.get("OPSDASH_DUMMY_MODELS") else ()

    def poll(self) -> ModelsSnapshot:
        row = ModelRow(
            source=self.label,
            kind=self.kind,
            model="dummy-model",
            metric="accuracy",
            version="7",
            value=0.93,
            state=ThresholdState.OK,
        )
        return ModelsSnapshot(self.label, self.kind, (row,))
