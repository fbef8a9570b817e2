"""The `[record] table: how long, and how much, of every panel's polls is kept for replay.

Its own module so `opsdash.config` stays the reader of the top-level options.
The defaults keep a week within 200 MiB: what 200 containers polled every 2
seconds need when a few of them change at each poll (docs/config.md has the
measured figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opsdash.config_reader import Reader

DEFAULT_KEEP = "7d"
DEFAULT_MAX_MIB = 200
KEEP_HINT = "a duration such as 36h, 7d or 2w (s, m, h, d, w)"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")

RECORD_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "enabled": (bool, True),
    "keep": (str, DEFAULT_KEEP),
    "max_mib": (int, DEFAULT_MAX_MIB),
}


def parse_keep(text: str) -> timedelta:
    """ "7d" as 7 days; ValueError unless it is a number and one unit, 1 minute to 10 years."""
    found = _DURATION.fullmatch(text or "")
    if found is None:
        raise ValueError(f"must be {KEEP_HINT}")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not 60 <= seconds <= 3650 * 86400:
        raise ValueError("must be from 1 minute to 10 years")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class RecordConfig:
    enabled: bool = True  # false: nothing is recorded (replay shows what was)
    keep: timedelta = timedelta(days=7)  # records older than this are dropped
    max_mib: int = DEFAULT_MAX_MIB  # the oldest are dropped beyond this size

    @property
    def max_bytes(self) -> int:
        return self.max_mib * 1024 * 1024


def read_record_table(reader: Reader, raw: dict[str, Any]) -> RecordConfig:
    values = reader.table("record", raw.get("record", {}), RECORD_KEYS)  # ranges: config_checks
    try:
        keep = parse_keep(values["keep"])
    except ValueError as exc:
        raise reader.error("record.keep", str(exc)) from None
    return RecordConfig(enabled=bool(values["enabled"]), keep=keep, max_mib=int(values["max_mib"]))
