"""The audit log as a Rich table (`opsdash audit` and the actions screen)."""

from __future__ import annotations

from rich.table import Table

from opsdash.safetext import literal
from opsdash.store import AuditEntry


def audit_table(entries: list[AuditEntry]) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for column in (
        "WHEN",
        "WHO",
        "ACTION",
        "TARGET",
        "HOST",
        "IMAGE",
        "RESULT",
        "SECONDS",
        "STEPS",
        "ERROR",
    ):
        table.add_column(column, overflow="fold")
    for e in entries:
        image = e.old_image + (
            f" -> {e.new_image}" if e.new_image and e.new_image != e.old_image else ""
        )
        style = (
            "green"
            if e.result == "ok"
            else "yellow"
            if e.result.startswith(("refused", "cancelled"))
            else "red"
        )
        table.add_row(
            literal(e.at.replace("T", " ")[:19]),
            literal(e.actor),
            literal(f"{e.action} {e.kind}"),
            literal(e.target),
            literal(e.host),
            literal(image),
            literal(e.result, style),
            "" if e.duration_s is None else f"{e.duration_s:.1f}",
            literal(_step_names(e)),
            literal(e.error),
        )
    return table


def _step_names(entry: AuditEntry) -> str:
    """The steps each begun, in order, a repeated one once: `lock stop rename ...`."""
    names: list[str] = []
    for _at, step, _detail in entry.steps:
        if not names or names[-1] != step:
            names.append(step)
    return " ".join(names)
