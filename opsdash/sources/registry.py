"""The installed source kinds, found through the `opsdash.sources` entry points.

Built-in sources are registered in opsdash's own pyproject.toml exactly as a
third-party package registers its own, so there is one way in. Listing the
kinds reads only the distributions' metadata; a source module is imported when
its kind is configured, or asked to autodetect (the TUI: after its first frame).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from opsdash.sources.base import Source

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "opsdash.sources"


class UnknownKind(LookupError):
    """No installed distribution provides this source kind."""


@cache
def _entry_points() -> dict[str, EntryPoint]:
    # Imported here: importlib.metadata (and reading every distribution's metadata)
    # costs tens of milliseconds, which a config naming no source kind never pays.
    from importlib.metadata import entry_points

    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, point)  # the first distribution wins a clash
    return found


def installed_kinds() -> tuple[str, ...]:
    """Every kind that can be configured, sorted; imports nothing."""
    return tuple(sorted(_entry_points()))


def source_class(kind: str) -> type[Source]:
    """The Source subclass of `kind`, importing its module now."""
    point = _entry_points().get(kind)
    if point is None:
        raise UnknownKind(kind)
    loaded = point.load()
    if not (isinstance(loaded, type) and issubclass(loaded, Source)):
        raise UnknownKind(f"{kind}: entry point {point.value} is not a Source subclass")
    return loaded


def classes_feeding(feeds: type) -> list[type[Source]]:
    """The installed source classes whose polls return `feeds`, for the hint of
    an empty panel; imports every installed source module (only then)."""
    out = []
    for kind in installed_kinds():
        try:
            cls = source_class(kind)
        except Exception:  # noqa: BLE001 - a broken plugin must not break the hint
            continue
        if issubclass(cls.feeds, feeds):
            out.append(cls)
    return out


def forget() -> None:
    """Read the entry points again (a test that installs a distribution)."""
    _entry_points.cache_clear()
