"""The optional plain-text log (`--log PATH`): health changes and actions.

Only one-line messages go in, the same ones shown on screen, which are already
free of secrets; each is redacted again here (`opsdash.redact`), the last door
before the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from opsdash.redact import redact
from opsdash.safetext import strip_unsafe

logger = logging.getLogger("opsdash")


def log_to(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def event(message: str, *, warning: bool = False) -> None:
    """One line, secrets masked; escape sequences from untrusted text are dropped."""
    line = " ".join(strip_unsafe(redact(message)).split())
    logger.log(logging.WARNING if warning else logging.INFO, "%s", line)
