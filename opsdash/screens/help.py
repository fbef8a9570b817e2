"""`?`: every key binding with its id, as remapped by the [keys] table."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from opsdash.keys import binding_groups
from opsdash.safetext import strip_unsafe


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="help-close"),
        Binding("q", "app.pop_screen", "Close", show=False, id="help-close-q"),
        Binding("question_mark", "app.pop_screen", "Close", show=False, id="help-close-?"),
    ]

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "config", None)
        overrides = keymap.keys if keymap is not None else {}
        table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
        table.add_column("Where")
        table.add_column("Keys", style="bold")
        table.add_column("Does")
        table.add_column("Binding id", style="dim")
        for where, bindings in binding_groups():
            for binding in bindings:
                keys = overrides.get(binding.id or "", binding.key)
                table.add_row(  # plain Text (it wraps), cleaned: a [keys] value is anyone's
                    where,
                    Text(strip_unsafe(_pretty(keys))),
                    Text(strip_unsafe(binding.description)),
                    Text(strip_unsafe(binding.id or "")),
                )
        with VerticalScroll(id="help-box"):
            yield Static(Text("Keys (esc closes; remap any id in the [keys] table)", style="bold"))
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()


def _pretty(keys: str) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "esc"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))
