"""What the dashboard's keys mean on a row, by the row's type: Enter's screen,
and r, R and u on a Kubernetes row. Tables, so MainScreen routes by type with
one lookup and no kind string, and a new record type is one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from opsdash.messages import (
    ShowDetails,
    ShowModel,
    ShowPodLogs,
    ShowRecord,
    ShowRun,
    ShowService,
    ShowWorkload,
)
from opsdash.model import Container, PipelineRun
from opsdash.model.deployments import ServiceDeployments
from opsdash.model.kube import KubePod, KubeWorkload
from opsdash.model.ml import ModelRow

# What Enter on a row opens, by the row's type (any other record: its fields).
OPENS: dict[type, Callable[[Any], Message]] = {
    Container: ShowDetails,
    PipelineRun: ShowRun,
    ModelRow: ShowModel,
    ServiceDeployments: ShowService,
    KubeWorkload: ShowWorkload,
    KubePod: ShowPodLogs,
}
# The rows E opens a shell in (opsdash.shell_flow builds the session by the same types).
SHELL_ROWS: tuple[type, ...] = (Container, KubePod)
# What r, R and u mean on a Kubernetes row: the container action's name -> the
# cluster action's, by the row's type (a pod is deleted with `x`, in its panel).
CLUSTER_KEYS: dict[type, dict[str, str]] = {
    KubeWorkload: {"restart": "restart", "redeploy": "restart", "rollback": "undo"},
    KubePod: {},
}


def opens(record: object) -> Message:
    """The message Enter on `record` posts."""
    show = next((m for t, m in OPENS.items() if isinstance(record, t)), ShowRecord)
    return show(record)
