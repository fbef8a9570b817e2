"""The one small interface every data source implements."""

from __future__ import annotations

import abc
from typing import ClassVar


class SourceError(Exception):
    """A poll failed for a reason worth showing the user in one line."""


class Source(abc.ABC):
    """A backend opsdash polls.

    `poll()` is blocking and is always called off the UI thread, never twice at
    once for the same source. It returns an immutable model record or raises;
    the poller turns exceptions into health states.
    """

    kind: ClassVar[str]

    def __init__(self, name: str, refresh: float, timeout: float):
        self.name = name
        self.refresh = refresh
        self.timeout = timeout

    @property
    def label(self) -> str:
        """Short name for the header: kind:name."""
        return f"{self.kind}:{self.name}"

    @abc.abstractmethod
    def poll(self) -> object:
        """Fetch current data; raise on failure."""

    def health_note(self) -> str:
        """A short fact shown beside a healthy state (e.g. the rate limit left)."""
        return ""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called once when opsdash stops."""
