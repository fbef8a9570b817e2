"""A Static that touches the screen only when what it shows changes.

Static.update always refreshes with a relayout, even to the same text: every
poll's "no problem" status line (an empty, hidden Static) relaid the screen
out, which repainted the tables' scrollbars, about 1 KB/s written to the
terminal while nothing changed.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from textual.widgets import Static

_NOTHING = object()


class QuietStatic(Static):
    """`show(content)` redraws only when `content` (or the `key` given for it)
    differs from what is shown; `hide_empty` hides it while it shows nothing."""

    def __init__(self, content: RenderableType = "", *, hide_empty: bool = False, **kwargs):
        super().__init__(content, **kwargs)
        self.hide_empty = hide_empty
        self._shown: Any = _NOTHING

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
