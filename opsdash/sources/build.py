"""The sources of one config: each [[kind]] record built by its kind's class.

Apart from the registry so that reading the config (which asks the registry
for the installed kinds) never imports what is built from the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsdash.sources.base import Source
from opsdash.sources.registry import source_class

if TYPE_CHECKING:
    from opsdash.config import Config
    from opsdash.store import Store


def build_sources(config: Config, store: Store | None = None) -> list[Source]:
    """Every configured source; with a store, also the DORA keys computed from it."""
    sources = [source_class(c.kind).from_config(c) for c in config.sources]
    if store is not None:
        from opsdash.dora.source import DoraSource

        sources.append(DoraSource(config, store))
    return sources
