"""What part of a log to read (`since`, `tail`) and how to show it (`context`).

The same words serve the `[logs]` config table and the logs screen's `o`
prompt (``since=15m tail=200 context=5``), so both refuse the same values with
the same message. `since` is kept as written and turned into a moment only
when a stream opens: "15m" means the last 15 minutes of whenever you look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

MAX_TAIL = 10_000  # the screen keeps 10,000 lines: reading more would only drop them
DEFAULT_TAIL = 1_000
MAX_CONTEXT = 1_000
CONTEXT_STEPS = (None, 0, 2, 5, 10)  # what C cycles through; None: every line shown

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
SINCE_HINT = "a duration such as 30s, 15m, 2h, 1h30m, 3d, or an RFC 3339 time"


@dataclass(frozen=True, slots=True)
class LogOptions:
    since: str = ""  # "" reads from the start (within `tail`)
    tail: int = DEFAULT_TAIL

    def describe(self) -> str:
        since = f"since {self.since}  " if self.since else ""
        return f"{since}tail {self.tail:,}"


def since_moment(value: str, now: datetime | None = None) -> datetime | None:
    """The moment `value` names: a duration before `now`, or an RFC 3339 time.
    None for ""; ValueError (saying what is accepted) for anything else."""
    value = value.strip()
    if not value:
        return None
    now = now or datetime.now(UTC)
    match = _DURATION.fullmatch(value)
    if match and any(match.groups()):
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        try:
            return now - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        except OverflowError:
            raise ValueError(f"{value!r} is too long ago") from None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not {SINCE_HINT}") from None
    if "T" not in value.upper() or moment.tzinfo is None:
        raise ValueError(f"not {SINCE_HINT} (a time needs its date, T and zone)")
    return moment


def check_since(value: str) -> str:
    """`value` if `since_moment` understands it (so it is refused when typed, not
    when a stream opens)."""
    if len(value) > 64:
        raise ValueError(f"not {SINCE_HINT}")
    since_moment(value)
    return value.strip()


def check_tail(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 <= int(text) <= MAX_TAIL:
        raise ValueError(f"must be a whole number of lines from 0 to {MAX_TAIL:,}")
    return int(text)


def check_context(value: object) -> int | None:
    text = str(value).strip().lower()
    if text in ("off", "all", "-", ""):
        return None
    if not text.isdigit() or int(text) > MAX_CONTEXT:
        raise ValueError(f"context is off or a number of lines from 0 to {MAX_CONTEXT:,}")
    return int(text)


def next_context(current: int | None) -> int | None:
    """The next step of `C`: off, 0, 2, 5, 10, off; from a typed value, the next above it."""
    if current is None:
        return CONTEXT_STEPS[1]
    later = [step for step in CONTEXT_STEPS[1:] if step is not None and step > current]
    return later[0] if later else None


def parse_prompt(
    text: str, options: LogOptions, context: int | None
) -> tuple[LogOptions, int | None]:
    """``since=15m tail=200 context=5`` (any of them, any order) applied to
    what is set; a bare duration is a `since`, a bare number a `tail`.
    ValueError names the word it could not take."""
    for word in text.split():
        name, equals, value = word.partition("=")
        if not equals:
            name, value = ("tail" if word.isdigit() else "since"), word
        name = name.lower()
        try:
            if name == "since":
                options = replace(options, since="" if value in ("", "-") else check_since(value))
            elif name == "tail":
                options = replace(options, tail=check_tail(value))
            elif name == "context":
                context = check_context(value)
            else:
                raise ValueError("is not since, tail or context")
        except ValueError as exc:
            raise ValueError(f"{word[:40]}: {exc}") from None
    return options, context


def prompt_text(options: LogOptions, context: int | None) -> str:
    context_text = "off" if context is None else str(context)
    return f"since={options.since or '-'} tail={options.tail} context={context_text}"
