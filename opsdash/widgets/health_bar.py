"""The header line: every source's health and the age of its data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from opsdash.safetext import literal
from opsdash.views.health import health_badge

if TYPE_CHECKING:
    from opsdash.model import SourceHealth


class HealthBar(Static):
    """Redraws only when its text changes (ages tick once a second at most)."""

    def __init__(self, *, read_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.read_only = read_only
        self._last: Text | None = None

    def show(
        self,
        healths: Sequence[SourceHealth],
        now: datetime,
        refresh: Sequence[float],
        notice: str | None = None,
    ) -> None:
        """`notice`: one line that must not be missed (the store cannot be written)."""
        text = Text("opsdash", style="bold")
        if self.read_only:
            text.append("  READ-ONLY", style="bold yellow")
        if notice:
            text.append("  ")
            text.append_text(literal(f"! {notice}", "bold red"))
        if not healths:
            text.append("  no sources configured", style="dim")
        for health, interval in zip(healths, refresh, strict=True):
            text.append("  │ ", style="dim")
            text.append_text(health_badge(health, now, interval))
        if self._last is None or text != self._last:
            self._last = text
            self.update(text)


class PanelTabs(Static):
    """Panel index shown on narrow terminals where one panel shows at a time."""

    _last: Text | None = None

    def show(self, titles: Sequence[str], active: int) -> None:
        text = Text()
        for number, title in enumerate(titles, start=1):
            if text:
                text.append(" ")
            style = "reverse bold" if number == active else ""
            text.append(f" {number} {title} ", style=style)
        if text != self._last:  # focus moves within a panel redraw nothing
            self._last = text
            self.update(text)
