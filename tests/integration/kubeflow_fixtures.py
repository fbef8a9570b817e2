"""Fixtures for the Kubeflow tests: the seeded emulator on a manual clock, and a
source pointed at it (tests construct the source directly: no entry point needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.kubeflow import KubeflowServer, ManualClock
from opsdash.sources.kubeflow import KubeflowConfig, KubeflowSource

TOKEN = "kfp-t0ken-5ecret-0123456789abcdef"
LIMITED = "kfp-team-b-only-t0ken-0123456789"  # may use namespace team-b only


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1764633600.0)  # 2025-12-02T00:00:00Z


@pytest.fixture
def kfp(clock):
    with KubeflowServer(clock=clock, tokens={TOKEN: None, LIMITED: ("team-b",)}) as server:
        yield server


def make_source(server: KubeflowServer, **overrides: Any) -> KubeflowSource:
    values: dict[str, Any] = {
        "name": "kf",
        "url": server.url,
        "token": TOKEN,
        "namespace": "team-a",
        "training": "churn-tfx",
        "deploy": "flaky-train",
        "runs": 30,
        "timeout": 5.0,
    }
    page_size = overrides.pop("page_size", None)
    values.update(overrides)
    source = KubeflowSource(KubeflowConfig(**values))
    source.client.backoff = 0.01
    if page_size is not None:
        source.lister.page_size = page_size
    return source


@pytest.fixture
def source(kfp):
    made = make_source(kfp)
    yield made
    made.close()


def predicates(request) -> list[dict[str, Any]]:
    """The filter predicates a recorded list request sent."""
    text = request.arg("filter")
    return json.loads(text)["predicates"] if text else []
