"""Build the configured sources. Adding a source kind means one line here."""

from __future__ import annotations

from opsdash.config import Config
from opsdash.sources.base import Source


def build_sources(config: Config) -> list[Source]:
    from opsdash.sources.docker import DockerSource
    from opsdash.sources.host import HostSource

    sources: list[Source] = [DockerSource(d) for d in config.docker]
    sources += [HostSource(h) for h in config.hosts]
    return sources
