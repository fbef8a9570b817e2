"""The dialog that shows actions an earlier opsdash left unfinished, and asks
once to put them all right."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from opsdash.actions.recovery import Interrupted
from opsdash.safetext import literal


def interrupted_text(items: list[Interrupted]) -> Text:
    text = Text()
    for item in items:
        text.append("• ", style="bold")
        text.append_text(
            literal(f"{item.action} of {item.kind} {item.target} on {item.host}", "bold")
        )
        started = item.started.replace("T", " ")[:19] or "?"
        text.append_text(literal(f", by {item.actor}, started {started}"))
        if item.last_step:
            text.append_text(literal(f", stopped at: {item.last_step}"))
        text.append("\n  now: ", style="dim")
        text.append_text(literal(item.now))
        text.append("\n  fix: ", style="dim")
        text.append_text(literal(item.fix, "bold"))
        text.append("\n")
    return text


class RecoveryScreen(ModalScreen[bool]):
    """y puts every listed action right; n or esc leaves them (`!` shows this again)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Put it right", id="recover-yes"),
        Binding("n", "answer(False)", "Later", id="recover-no"),
        Binding("escape", "answer(False)", "Later", show=False, id="recover-cancel"),
    ]
    AUTO_FOCUS = ""

    def __init__(self, items: list[Interrupted], *, read_only: bool = False):
        super().__init__()
        self.items = items
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        count = len(self.items)
        title = f"{count} interrupted action{'s' * (count != 1)}: an opsdash stopped mid-way"
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(Text(title, style="bold"), id="recover-title")
            with VerticalScroll(id="recover-body"):
                yield Static(interrupted_text(self.items), id="recover-list")
            if self.read_only:
                keys = "read-only: nothing can be changed here.   n / esc: close"
            else:
                keys = "y: put it right (volumes are never touched)   n / esc: later (! again)"
            yield Static(Text(keys, style="bold"), id="confirm-keys")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters == (True,) and self.read_only:
            return None
        return True

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
