"""The `[logs]` table: what the logs screen reads when it opens, and where `w` writes.

Its own module so `opsdash.config` stays the reader of the top-level options;
the values are checked with the words the screen's `o` prompt uses
(`opsdash.log_options`), so a file and a prompt refuse the same things.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from opsdash.config_reader import Reader
from opsdash.log_options import DEFAULT_TAIL, SINCE_HINT, check_since

LOGS_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "since": (str, ""),
    "tail": (int, DEFAULT_TAIL),
    "directory": (str, ""),
}


@dataclass(frozen=True, slots=True)
class LogsConfig:
    since: str = ""  # e.g. "15m", "2h", "2026-12-03T10:00:00Z"; "" reads the whole tail
    tail: int = DEFAULT_TAIL  # lines read back when a log opens (0 to 10,000)
    directory: str = ""  # where `w` writes; "" is $XDG_STATE_HOME/opsdash/logs


def read_logs_table(reader: Reader, raw: dict[str, Any]) -> LogsConfig:
    values = reader.table("logs", raw.get("logs", {}), LOGS_KEYS)
    try:
        since = check_since(values["since"])
    except ValueError:
        raise reader.error("logs.since", f"must be {SINCE_HINT}, e.g. 15m") from None
    directory = os.path.expanduser(values["directory"]) if values["directory"] else ""
    if directory and not os.path.isabs(directory):
        raise reader.error("logs.directory", "must be an absolute path (or start with ~)")
    return LogsConfig(since=since, tail=int(values["tail"]), directory=directory)
