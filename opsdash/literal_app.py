"""The App base that keeps Textual's own surfaces literal.

Textual parses a toast's message, a command palette entry and a binding's key
display as markup, and writes whatever characters they hold to the terminal.
Text other people control reaches those surfaces through error messages (a
container's log tail after a rollback, a CI server's `denied [/etc/ci.conf]`,
an image typed as `acc/busybox:[/x]`), where markup crashed the app
(`MarkupError`) and an OSC 52 wrote the clipboard. So they are cleaned here, in
one place, instead of at each call site:

* `notify` always shows plain text through `opsdash.safetext`, whatever
  `markup` a caller passes; `Widget.notify` and `call_from_thread(app.notify,
  ...)` end here too (tests/app/test_hostile_text.py checks nothing bypasses it);
* the app's title and sub-title, and every key shown in the footer or the key
  panel (a `[keys]` value), are stripped of escapes;
* command palette entries are stripped and their markup escaped.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape
from textual.notifications import SeverityLevel

from opsdash.safetext import strip_unsafe


def _palette_text(value: str) -> str:
    """The palette parses titles and help as markup: escape what is left after cleaning."""
    return escape(strip_unsafe(value))


class LiteralSystemCommands(Provider):
    """Textual's system commands provider, with every title and help cleaned."""

    def _commands(self) -> Iterator[SystemCommand]:
        for command in self.app.get_system_commands(self.screen):
            yield command._replace(
                title=_palette_text(command.title), help=_palette_text(command.help)
            )

    async def discover(self) -> Hits:
        for title, help_text, callback, discover in sorted(
            self._commands(), key=lambda command: command.title
        ):
            if discover:
                yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, *_ in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class LiteralTextApp(App):
    COMMANDS = {LiteralSystemCommands}

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,  # accepted for Textual's callers, never honoured
    ) -> None:
        """A toast that shows `message` and `title` exactly as written (thread-safe)."""
        super().notify(
            strip_unsafe(message),
            title=strip_unsafe(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_key_display(self, binding: Binding) -> str:
        return strip_unsafe(super().get_key_display(binding))

    def validate_title(self, title: object) -> str:
        return strip_unsafe(title)

    def validate_sub_title(self, sub_title: object) -> str:
        return strip_unsafe(sub_title)
