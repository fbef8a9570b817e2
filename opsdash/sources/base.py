"""The interface every data source implements, and what it declares about itself.

A source is one module: a `Source` subclass that states its `kind` (the
`[[kind]]` table of the config and the name of its `opsdash.sources` entry
point), the frozen dataclass of that table (`config_class`), the snapshot type
its `poll()` returns (`feeds`) and how to find one without a config
(`autodetect`). The rest of opsdash reaches a source through those
declarations: the panel, the CLI tables and the deployment watcher by the
snapshot type, the keys by the capability protocols in
`opsdash.sources.capabilities`. Nothing outside the module names its kind.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

DEFAULT_REFRESH = 2.0  # seconds between polls of local sources (engine, host)
DEFAULT_REMOTE_REFRESH = 15.0  # remote APIs (CI, registries): polite to rate limits
DEFAULT_TIMEOUT = 10.0


class SourceError(Exception):
    """A poll failed for a reason worth showing the user in one line."""


@dataclass(frozen=True, slots=True)
class Detection:
    """What autodetection may look at when the config has no table of a kind:
    the conventions users already set (environment variables, sockets, the
    git checkout opsdash was started in)."""

    refresh: float = DEFAULT_REFRESH  # the top-level refresh, for local sources
    cwd: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class Source(abc.ABC):
    """A backend opsdash polls.

    `poll()` is blocking and is always called off the UI thread, never twice at
    once for the same source. It returns an instance of `feeds` or raises; the
    poller turns exceptions into health states.
    """

    kind: ClassVar[str]
    # The snapshot type poll() returns; it routes the data to its panel, its
    # CLI table and the deployment watcher.
    feeds: ClassVar[type]
    # The frozen dataclass of the source's [[kind]] table.
    config_class: ClassVar[type]
    # Whether its config says so: mutating actions on it are refused.
    read_only: bool = False
    # What autodetection looks for, for the hint of an empty panel ("" if nothing).
    setup_hint: ClassVar[str] = ""

    def __init__(self, name: str, refresh: float, timeout: float):
        self.name = name
        self.refresh = refresh
        self.timeout = timeout

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[Any, ...]:
        """Configs of this kind found without a config file; none by default."""
        return ()

    @classmethod
    def from_config(cls, config: Any) -> Source:
        """The source for one [[kind]] table."""
        return cls(config)  # type: ignore[call-arg]  # subclasses take their config

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
