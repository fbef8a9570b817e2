"""A Static that touches the screen only when what it shows changes.

Static.update always refreshes with a relayout, even to the same text: every
poll's "no problem" status line (an empty, hidden Static) relaid the screen
out, which repainted the tables' scrollbars, about 1 KB/s written to the
terminal while nothing changed.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.segment import Segment
from textual.geometry import Region
from textual.widgets import Static

_NOTHING = object()


class QuietStatic(Static):
    """`show(content)` redraws only when `content` (or the `key` given for it)
    differs from what is shown; `hide_empty` hides it while it shows nothing."""

    def __init__(self, content: RenderableType = "", *, hide_empty: bool = False, **kwargs):
        super().__init__(content, **kwargs)
        self.hide_empty = hide_empty
        self._shown: Any = _NOTHING
        self._lines: list[list[Segment]] | None = None  # as `update_lines` last drew them
        self._only: list[Region] | None = None

    def show(self, content: RenderableType | None, *, key: Any = _NOTHING) -> bool:
        """`key`: what `content` is drawn from, when the renderable itself cannot
        be compared (a Group of tables); True when it redrew."""
        if self.hide_empty and self.display != bool(content):
            self.display = bool(content)
        if not self.changes_to(content if key is _NOTHING else key):
            return False
        self.update(content or "")
        return True

    def changes_to(self, key: Any) -> bool:
        """Remember `key` as what is shown; False when it already was (then the
        caller need not even build the renderable)."""
        if self._shown is not _NOTHING and key == self._shown:
            return False
        self._shown = key
        return True

    def update_lines(self, content: RenderableType) -> None:
        """Update to `content`, repainting only the lines whose text or style
        changed: a host's CPU line, not its whole table. A change of height
        (or a widget not laid out yet) updates and relays out as usual."""
        width = self.content_size.width
        console = self.app.console
        lines = console.render_lines(content, console.options.update_width(width), pad=False)
        old, self._lines = self._lines, lines
        if not width or old is None or len(old) != len(lines):
            self.update(content)
            return
        self._only = [Region(0, y, width, 1) for y, line in enumerate(lines) if line != old[y]]
        try:
            self.update(content, layout=False)
        finally:
            self._only = None

    def refresh(self, *regions: Region, **kwargs: Any):
        """Static.update refreshes all of it; `update_lines` narrows that to the
        lines that changed (none: nothing is repainted)."""
        if self._only is not None and not regions and not kwargs.get("layout"):
            if not self._only:
                return self
            regions = tuple(self._only)
        return super().refresh(*regions, **kwargs)
