"""An Input that never holds a terminal control.

Textual's Input writes its value and placeholder to the terminal as they are.
Both can come from others (a placeholder naming a protected container, an image
name to edit, a pasted log line), so escapes are dropped as text goes in.
"""

from __future__ import annotations

from textual.widgets import Input

from opsdash.safetext import strip_unsafe


class LiteralInput(Input):
    def __init__(self, value: str | None = None, placeholder: str = "", **kwargs):
        super().__init__(
            strip_unsafe(value) if value is not None else None,
            strip_unsafe(placeholder),
            **kwargs,
        )

    def replace(self, text: str, start: int, end: int) -> None:
        """Typing and pasting end here: what is inserted is cleaned first."""
        super().replace(strip_unsafe(text), start, end)

    def validate_value(self, value: str) -> str:
        return strip_unsafe(value)

    def validate_placeholder(self, placeholder: str) -> str:
        return strip_unsafe(placeholder)
