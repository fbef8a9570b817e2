"""When to tell the user about a model-metric breach: once per breach.

UI-free so it can be tested alone; the app turns what it returns into
notifications.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsdash.model.ml import ModelRow, ThresholdState


class BreachTracker:
    """Remembers which rows are in breach; a row alerts again only after it
    recovered (any state but breach, including unknown) and breached anew."""

    def __init__(self) -> None:
        self._breached: set[str] = set()

    def update(self, rows: Iterable[ModelRow]) -> list[ModelRow]:
        """The rows that entered breach since the last call."""
        new: list[ModelRow] = []
        for row in rows:
            if row.state is ThresholdState.BREACH:
                if row.key not in self._breached:
                    self._breached.add(row.key)
                    new.append(row)
            elif row.state is not ThresholdState.UNKNOWN:
                self._breached.discard(row.key)
        return new
