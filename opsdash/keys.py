"""All key bindings in one place, for the help screen and `[keys]` validation."""

from __future__ import annotations

import difflib

from textual.binding import Binding

from opsdash.config import Config, ConfigError, line_of


def binding_groups() -> list[tuple[str, list[Binding]]]:
    from opsdash.app import OpsdashApp
    from opsdash.screens.actions import AuditScreen, ConfirmScreen, ProgressScreen
    from opsdash.screens.deployments import ServiceScreen
    from opsdash.screens.details import DetailsScreen
    from opsdash.screens.help import HelpScreen
    from opsdash.screens.logs import LogsScreen
    from opsdash.screens.main import MainScreen
    from opsdash.screens.models import ModelScreen
    from opsdash.screens.pipeline import JobLogScreen, RunScreen
    from opsdash.widgets.panels import ModelsPanel, PipelinesPanel
    from opsdash.widgets.resource_table import ResourceTable

    moves = [
        Binding("up,down", "", "Move the cursor"),
        Binding("pageup,pagedown", "", "Page up / down"),
    ]

    def bindings(cls) -> list[Binding]:
        return [b for b in cls.BINDINGS if isinstance(b, Binding)]

    return [
        ("Everywhere", bindings(OpsdashApp)),
        ("Dashboard", bindings(MainScreen)),
        ("Lists", moves + bindings(ResourceTable)),
        ("Pipelines", bindings(PipelinesPanel)),
        ("Pipeline run", bindings(RunScreen)),
        ("Job log", bindings(JobLogScreen)),
        ("Service deployments", bindings(ServiceScreen)),
        ("Models", bindings(ModelsPanel)),
        ("Model", bindings(ModelScreen)),
        ("Details", bindings(DetailsScreen)),
        ("Logs", bindings(LogsScreen)),
        ("Confirm", bindings(ConfirmScreen)),
        ("Progress", bindings(ProgressScreen)),
        ("Audit", bindings(AuditScreen)),
        ("Help", bindings(HelpScreen)),
    ]


def binding_ids() -> set[str]:
    return {b.id for _, group in binding_groups() for b in group if b.id}


def validate_keymap(config: Config) -> None:
    """Unknown binding ids in [keys] are config errors, with a suggestion."""
    known = binding_ids()
    for binding_id in config.keys:
        if binding_id not in known:
            hint = difflib.get_close_matches(binding_id, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            key = f"keys.{binding_id}"
            text = config.path.read_text(encoding="utf-8") if config.path else ""
            raise ConfigError(
                config.path or "config",
                key,
                f"unknown binding id{suggestion}",
                line_of(text, key),
            )
