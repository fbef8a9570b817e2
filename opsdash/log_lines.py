"""A log line with what the engine said about it: when, and from which stream.

Docker prefixes every line with its RFC 3339 timestamp when asked
(``timestamps=True``): ``2026-12-03T12:10:55.123456789Z hello``. The prefix is
split off here once, as the line is read, so the logs screen can show or hide
it without asking the engine again, and lines of several containers can be
merged in time order (`opsdash.log_merge`).

`LogLine` is a `str` (the line's text, escapes still in): everything that reads
a buffer of plain strings keeps working, and the stamp and the origin ride along.
"""

from __future__ import annotations

import calendar
import re

# RFC 3339 as Docker writes it (RFC3339Nano: the fraction has 1 to 9 digits, or none).
_STAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?"
)


class LogLine(str):
    """The text of one line; `stamp` the engine's timestamp as written ("" without
    one), `at` the same in nanoseconds since the epoch (0 without one), `origin`
    the name of the stream it came from ("" for a single stream), `slot` that
    stream's number (its colour), `notice` True for what opsdash says about a
    stream (it ended, it failed) rather than what the stream said."""

    stamp: str
    at: int
    origin: str
    slot: int
    notice: bool

    def __new__(
        cls,
        text: str,
        *,
        stamp: str = "",
        at: int = 0,
        origin: str = "",
        slot: int = 0,
        notice: bool = False,
    ) -> LogLine:
        line = super().__new__(cls, text)
        line.stamp, line.at, line.origin, line.slot, line.notice = stamp, at, origin, slot, notice
        return line

    def with_origin(self, origin: str, slot: int) -> LogLine:
        return LogLine(str(self), stamp=self.stamp, at=self.at, origin=origin, slot=slot)


def stamp_nanoseconds(stamp: str) -> int | None:
    """`2026-12-03T12:10:55.5Z` as nanoseconds since the epoch; None if it is not one."""
    match = _STAMP.fullmatch(stamp.rstrip(" "))
    return None if match is None else _nanoseconds(match)


def _nanoseconds(match: re.Match[str]) -> int:
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(9, "0")
    zone = match.group(8)
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return 0
    return (seconds - offset) * 1_000_000_000 + int(fraction)


def split_stamp(line: str) -> LogLine:
    """The line with its leading engine timestamp split off (kept as it is
    when it has none: a cut line's rest, an engine that sent no stamp)."""
    match = _STAMP.match(line)
    if match is None:
        return LogLine(line)
    return LogLine(line[match.end() :], stamp=match.group(0).rstrip(" "), at=_nanoseconds(match))


def short_stamp(stamp: str) -> str:
    """`2026-12-03T12:10:55.123456789Z` as `2026-12-03T12:10:55.123Z`: the
    milliseconds are enough to read, and the column stays narrow."""
    match = _STAMP.fullmatch(stamp)
    if match is None:
        return stamp
    millis = (match.group(7) or "").ljust(3, "0")[:3]
    return f"{stamp[:19]}.{millis}{match.group(8)}"
