"""A module imported on its first attribute read, for the client libraries of
the sources (httpx and what it pulls: about 7 MiB and 100 modules).

Autodetection imports every installed source module to ask each what it finds
(issue 14): a source that finds nothing, and is not configured, must not load
its client library. Each source module names httpx through `lazy("httpx")`
(and `import httpx` under TYPE_CHECKING for the checkers), so `httpx.X` loads
it on the first request, exception check or client it builds.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name` until an attribute is read from it."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _load(self) -> ModuleType:
        return importlib.import_module(self._name)  # sys.modules' lookup once loaded

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """`name` as a module whose import waits for its first use."""
    return LazyModule(name)
