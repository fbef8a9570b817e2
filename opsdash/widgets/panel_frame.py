"""The panels as the first frame draws them: a bordered, numbered frame that
waits for the first poll.

Issue 14: the first frame must come as fast as a bare Textual app's. The real
panels hold nine tables and their filter lines, whose modules, default styles
and component classes cost more than the rest of that frame together; none of
them has a row to show before the first poll. So the first frame draws these
frames in the panels' places, and the dashboard mounts the real panels in
their stead right after it (`MainScreen.mount_panels`).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

PANEL_TITLES = ("Containers", "Host", "Pipelines", "Deployments", "Models", "Kubernetes")

# (number, id) of each panel in the grid's compose order (the layout's, not 1..6).
PANEL_LAYOUT = (
    (1, "panel-containers"),
    (2, "panel-host"),
    (4, "panel-deployments"),
    (3, "panel-pipelines"),
    (5, "panel-models"),
    (6, "panel-kubernetes"),
)

WAITING = "Waiting for the first poll…"


class PanelFrame(Static):
    """Where panel `number` will be: its border, its title and the line its
    status shows until the first poll. Styled by `.panel` like the panel; its
    id is the panel's with `frame-` in front, so the layout rules place both."""

    def __init__(self, number: int, panel_id: str, *, active: bool = False):
        classes = "panel panel-frame -active" if active else "panel panel-frame"
        super().__init__(Text(WAITING, style="dim"), id=f"frame-{panel_id}", classes=classes)
        self.number = number
        self.border_title = f"{number} {PANEL_TITLES[number - 1]}"


def panel_frames(active: int) -> list[PanelFrame]:
    """One frame per panel, in the grid's order; `active` is shown when narrow."""
    return [PanelFrame(number, pid, active=number == active) for number, pid in PANEL_LAYOUT]
