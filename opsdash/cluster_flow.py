"""Kubernetes actions from the keyboard: refuse, plan in a worker, confirm, run
with progress, audit. Built on the action flow's confirm and progress screens;
the plans and runs themselves are `opsdash.actions.kubernetes`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsdash.model.kube import KubePod, KubeWorkload

if TYPE_CHECKING:
    from opsdash.action_flow import ActionFlow


class ClusterFlow:
    def __init__(self, flow: ActionFlow):
        self.flow = flow

    def start(self, action: str, target: KubeWorkload | KubePod, value: str | None = None) -> None:
        """restart, undo, set-image, scale (workloads) or delete (pods)."""
        self.flow.app.notify(f"{action}: not built yet", severity="warning")
