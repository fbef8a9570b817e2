"""Screens for mutating actions: confirm, live progress, audit log.

They only show what they are given; the flow that plans and runs actions lives
in `opsdash.action_flow`.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, RichLog, Static

from opsdash.actions.base import ActionPlan
from opsdash.safetext import literal, strip_unsafe
from opsdash.store import AuditEntry
from opsdash.views.audit import audit_table
from opsdash.widgets.literal_input import LiteralInput


def plan_text(plan: ActionPlan) -> Text:
    text = Text()
    text.append("Target  ", style="bold")
    text.append_text(literal(f"{plan.kind} {plan.target} on {plan.host}"))
    text.append("\n")
    if plan.old_image or plan.new_image:
        label = {"model": "Version "}.get(plan.kind, "Image   ")
        text.append("Replicas" if plan.action == "scale" else label, style="bold")
        text.append_text(literal(plan.old_image or "?"))
        if plan.old_digest:
            text.append_text(literal(f" ({plan.old_digest[:19]})", "dim"))
        if plan.new_image:
            text.append(" -> ")
            text.append_text(literal(plan.new_image, "bold"))
            if plan.new_digest:
                text.append_text(literal(f" ({plan.new_digest[:19]})", "dim"))
        text.append("\n")
    if plan.ref:
        text.append("Revision" if plan.action == "undo" else "Ref     ", style="bold")
        text.append_text(literal(plan.ref, "bold"))
        text.append("\n")
    text.append("\nWhat will happen:\n", style="bold")
    for number, step in enumerate(plan.steps, start=1):
        text.append_text(literal(f" {number}. {step}" if not step.startswith("  ") else step))
        text.append("\n")
    return text


class ConfirmScreen(ModalScreen[bool | str]):
    """y confirms, n or esc cancels. Protected targets need their name typed.

    For a redeploy, `i` lets the user name another image (for a pipeline
    deploy, another ref); the dialog then dismisses with that value so the flow
    can plan (and ask) again. `edit_word` and `edit_value` name what `i` edits
    when it is not an image or a ref (a replica count). `typed_reason`: the name
    must be typed for this change even on an unprotected target (scale to 0).
    `validate` checks an edited value before the dialog lets it go (a JSON
    object of parameters): its one line shows in the dialog, which stays open.
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, do it", id="confirm-yes"),
        Binding("n", "answer(False)", "No", id="confirm-no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm-cancel"),
        Binding("i", "edit_image", "Other image or ref", id="confirm-image"),
    ]
    AUTO_FOCUS = ""  # y and n are keys here, not text: nothing takes focus by itself

    def __init__(
        self,
        plan: ActionPlan,
        *,
        question: str | None = None,
        image_editable: bool = False,
        edit_word: str = "",
        edit_value: str | None = None,
        typed_reason: str = "",
        validate: Callable[[str], str] | None = None,
    ):
        super().__init__()
        self.plan = plan
        self.validate = validate
        self.question = question
        self.image_editable = image_editable and question is None
        self.edit_word = edit_word or ("ref" if plan.ref else "image")
        value = edit_value if edit_value is not None else (plan.ref or plan.new_image)
        self.edit_value = strip_unsafe(value)  # as the Input holds it
        self.typed_reason = typed_reason

    @property
    def typed_only(self) -> bool:
        """Only typing the name confirms (a protected target, or a change that says so)."""
        return (self.plan.protected or bool(self.typed_reason)) and self.question is None

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            title = self.question or f"{self.plan.action.capitalize()} {self.plan.target}?"
            yield Static(literal(title, "bold"), id="confirm-title")
            if self.question is None:
                yield Static(plan_text(self.plan), id="confirm-body")
            if self.typed_only:
                reason = self.typed_reason
                if self.plan.protected:
                    reason = f"{self.plan.target} is protected: type its name and press enter."
                yield Static(literal(reason), classes="warning")
                yield LiteralInput(placeholder=self.plan.target, id="confirm-name")
            else:
                other = f"   i: another {self.edit_word}" * self.image_editable
                keys = "y: yes   n / esc: cancel" + other
                yield Static(Text(keys, style="bold"), id="confirm-keys")
            if self.image_editable:
                # Editing, not replacing: the cursor at the end, nothing selected, so
                # backspace takes the tag off and typing adds to it.
                yield LiteralInput(
                    value=self.edit_value,
                    id="confirm-image",
                    classes="filter",
                    select_on_focus=False,
                )
                yield Static(id="confirm-error", classes="warning")

    def on_mount(self) -> None:
        if self.image_editable:
            self.query_one("#confirm-error", Static).display = False
        if self.typed_only:
            self.query_one("#confirm-name", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Only typing the name confirms a protected target.
        if action == "edit_image":
            return self.image_editable
        return not (action == "answer" and parameters == (True,) and self.typed_only)

    def action_edit_image(self) -> None:
        box = self.query_one("#confirm-image", Input)
        box.add_class("-visible")
        box.focus()
        box.action_end()

    @on(Input.Submitted, "#confirm-image")
    def _image_chosen(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        error = self.validate(value) if self.validate is not None and value else ""
        line = self.query_one("#confirm-error", Static)
        line.display = bool(error)
        line.update(literal(error))
        if error:
            return  # the dialog stays open, the typed value with it
        if value and value != self.edit_value:
            self.dismiss(value)  # plan again for this image or ref
        else:
            event.input.remove_class("-visible")
            self.set_focus(None)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Input.Submitted, "#confirm-name")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value == strip_unsafe(self.plan.target):  # what the dialog shows
            self.dismiss(True)
        else:
            event.input.value = ""
            self.notify("The name does not match; nothing was done.", severity="warning")


class AskScreen(ModalScreen[str | None]):
    """One value an action needs before it can be planned (an image, a replica
    count): enter gives it, esc cancels. The plan, with the exact change, is
    confirmed in the ConfirmScreen that follows."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask-cancel")]

    def __init__(self, title: str, prompt: str, value: str = ""):
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(literal(self.title_text, "bold"), id="ask-title")
            yield Static(literal(self.prompt), id="ask-prompt")
            yield LiteralInput(value=self.value, id="ask-value")
            yield Static(Text("enter: plan it   esc: cancel", style="bold"), id="ask-keys")

    def on_mount(self) -> None:
        # Selected: a replica count or a Kubernetes image is typed anew over the default.
        self.query_one("#ask-value", Input).focus()

    @on(Input.Submitted, "#ask-value")
    def _given(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """One of a few answers, each by its key (mark a run failed or success);
    esc cancels. The plan for the answer is confirmed in the dialog that follows."""

    BINDINGS = [Binding("escape", "choose('')", "Cancel", id="choice-cancel")]
    AUTO_FOCUS = ""

    def __init__(self, title: str, choices: tuple[tuple[str, str], ...]):
        """`choices`: (key, answer) pairs; the answer is what the key returns."""
        super().__init__()
        self.title_text = title
        self.choices = dict(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(literal(self.title_text, "bold"), id="choice-title")
            keys = "   ".join(f"{key}: {answer}" for key, answer in self.choices.items())
            yield Static(Text(f"{keys}   esc: cancel", style="bold"), id="choice-keys")

    def on_key(self, event) -> None:
        if event.key in self.choices:
            event.stop()
            self.dismiss(self.choices[event.key])

    def action_choose(self, answer: str) -> None:
        self.dismiss(answer or None)


class ProgressScreen(ModalScreen[None]):
    """Live steps and output of one running action; esc closes once it is done."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="progress-close"),
        Binding("c", "cancel", "Cancel", id="progress-cancel"),
    ]

    def __init__(self, plan: ActionPlan, *, on_cancel: Callable[[], None] | None = None):
        super().__init__()
        self.plan = plan
        self.on_cancel = on_cancel
        self.done = False
        self.outcome = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box", classes="dialog"):
            yield Static(literal(f"{self.plan.title}", "bold"), id="progress-title")
            yield RichLog(
                id="progress-log", wrap=True, markup=False, highlight=False, max_lines=5000
            )
            yield Static(
                Text("running… (c cancels where possible)", style="yellow"), id="progress-status"
            )

    def add_line(self, step: str, line: str) -> None:
        text = Text(f"{step:>8} ", style="dim") if step != "output" else Text()
        text.append_text(literal(line))
        self.query_one(RichLog).write(text)

    def finish(self, ok: bool, message: str) -> None:
        self.done = True
        self.outcome = message
        status = Text("done: " if ok else "failed: ", style="green bold" if ok else "red bold")
        status.append_text(literal(message))
        status.append("   esc closes", style="dim")
        self.query_one("#progress-status", Static).update(status)

    def action_close(self) -> None:
        if self.done:
            self.dismiss(None)
        else:
            self.notify("Still running: press c to cancel, or wait.", timeout=2)

    def action_cancel(self) -> None:
        if self.done:
            return
        if self.on_cancel is None:
            self.notify(
                "This step cannot be cancelled safely; it will finish or roll back.", timeout=3
            )
            return
        self.on_cancel()
        self.add_line("cancel", "cancelling…")


class AuditScreen(Screen):
    """`a`: every action, confirmed or refused, newest first."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="audit-back"),
        Binding("q", "app.pop_screen", "Back", show=False, id="audit-back-q"),
    ]

    def __init__(self, entries: list[AuditEntry]):
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        yield Static(
            Text(f"Audit log: {len(self.entries)} entries, newest first", style="bold"),
            classes="screen-title",
        )
        with VerticalScroll(id="audit-scroll"):
            yield Static(
                audit_table(self.entries) if self.entries else Text("No actions yet.", style="dim")
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#audit-scroll").focus()
