"""Which columns of a table fit its width, the most important first, as k9s does.

A terminal too narrow for every column drops the least important ones whole,
instead of letting the rightmost run off the edge unseen, and the panel says
which ones it dropped. No Textual here: plain widths in, keys out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from opsdash.views.common import Column

UNRANKED = 100  # a column without a priority: after every ranked one, by position


def columns_cut(
    columns: Sequence[Column[Any]],
    widths: Mapping[str, int],
    available: int,
    *,
    padding: int = 1,
    keep: Collection[str] = (),
) -> list[str]:
    """Keys of the columns that do not fit in `available` cells, in table order.

    `widths`: each column's content width (its widest cell or its label); each
    column also takes `padding` cells on either side. Columns are taken by
    `priority` (lower first, ties by position) and each one that still fits is
    kept, so a narrow column can use room a wide one could not. The first
    column by priority is always kept, and so are the columns in `keep` (the
    one the table is sorted by: the order must stay explained)."""
    ranked = sorted(
        range(len(columns)),
        key=lambda i: (
            columns[i].key not in keep,
            UNRANKED if columns[i].priority is None else columns[i].priority,
            i,
        ),
    )
    used = 0
    cut: set[str] = set()
    for position, index in enumerate(ranked):
        column = columns[index]
        width = widths.get(column.key, len(column.label)) + 2 * padding
        if position == 0 or column.key in keep or used + width <= available:
            used += width
        else:
            cut.add(column.key)
    return [c.key for c in columns if c.key in cut]


def cut_note(labels: Sequence[str]) -> str:
    """`+3 cols: IMAGE PORTS PROJECT`, what a panel's border says; "" if none."""
    if not labels:
        return ""
    return f"+{len(labels)} col{'s' if len(labels) != 1 else ''}: {' '.join(labels)}"
