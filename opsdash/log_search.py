"""Search in a log: which lines match, the grep -C view around them, and the
matches highlighted on the literal text.

Pure logic, no Textual: the logs screen feeds it lines as they arrive and asks
which rows to draw. Matching runs on the text as it is shown (escapes already
dropped, `safetext.strip_unsafe`), so a colour code in the middle of a word does
not hide a match, and highlighting is a style span over those characters:
nothing in the line is ever read as markup.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from rich.text import Text

MATCH_STYLE = "reverse"  # readable without colour (NO_COLOR)
SEPARATOR = None  # the `--` grep prints between two groups that are not adjacent

Item = TypeVar("Item")


def compile_search(text: str) -> re.Pattern[str]:
    """A case-insensitive regex; what is not a valid one is searched as written
    (so `[` or `(` in a typed word still finds something). Smart case: a pattern
    with a capital letter is case-sensitive, as in less and vim."""
    flags = 0 if any(c.isupper() for c in text) else re.IGNORECASE
    try:
        return re.compile(text, flags)
    except re.error:
        return re.compile(re.escape(text), flags)


def highlight(text: Text, pattern: re.Pattern[str] | None, style: str = MATCH_STYLE) -> int:
    """Style every non-empty match of `pattern` in `text` (in place); how many."""
    if pattern is None:
        return 0
    found = 0
    for match in pattern.finditer(text.plain):
        if match.end() > match.start():
            text.stylize(style, match.start(), match.end())
            found += 1
    return found


class ContextWindow(Generic[Item]):
    """grep -C over lines given one at a time: `step` says what to draw now.

    A match draws the (at most `context`) lines before it that were held back,
    then itself; the `context` lines after a match are drawn as they come. When
    lines were left out between two groups, a SEPARATOR comes first. With
    context 0 only the matches are drawn (and a SEPARATOR between
    non-adjacent ones, as grep -C0 does). Memory: `context` lines held.
    """

    def __init__(self, context: int):
        self.context = max(0, context)
        self._before: deque[Item] = deque(maxlen=self.context or 1)
        self._after = 0
        self._shown_any = False
        self._left_out = False  # a line was skipped for good since the last drawn one

    def step(self, item: Item, matched: bool) -> list[Item | None]:
        if matched:
            out: list[Item | None] = []
            if self._left_out and self._shown_any:
                out.append(SEPARATOR)
            if self.context:
                out.extend(self._before)
            self._before.clear()
            self._left_out = False
            out.append(item)
            self._shown_any = True
            self._after = self.context
            return out
        if self._after > 0:
            self._after -= 1
            return [item]
        if not self.context or len(self._before) == self.context:
            self._left_out = True  # the oldest held line (or this one) will never be drawn
        if self.context:
            self._before.append(item)
        return []


def context_rows(
    items: Iterable[Item], matched: Sequence[bool] | None, context: int
) -> list[Item | None]:
    """The whole grep -C view of `items` at once (`matched[i]` for each item)."""
    window: ContextWindow[Item] = ContextWindow(context)
    rows: list[Item | None] = []
    for index, item in enumerate(items):
        rows.extend(window.step(item, bool(matched and matched[index])))
    return rows


def step_match(rows: Sequence[int], current: int | None, forward: bool) -> int | None:
    """The next (or previous) entry of the sorted `rows` after `current`, wrapping
    around; the first (or last) one without a current. None without rows."""
    if not rows:
        return None
    if current is None:
        return rows[0] if forward else rows[-1]
    if forward:
        after = bisect.bisect_right(rows, current)
        return rows[after] if after < len(rows) else rows[0]
    before = bisect.bisect_left(rows, current)
    return rows[before - 1] if before > 0 else rows[-1]
