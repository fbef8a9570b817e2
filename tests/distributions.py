"""A throwaway installed distribution for the tests: its `.dist-info` (METADATA
and the `opsdash.sources` entry points) in a directory that goes on sys.path or
PYTHONPATH, as pip would lay it out, so the registry finds plugin kinds the way
it finds third-party ones."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def install_distribution(site: Path, name: str, sources: Mapping[str, str]) -> Path:
    """`name`'s metadata in `site`, providing each kind of `sources` (kind ->
    "module:Class"); returns `site`."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    points = "".join(f"{kind} = {target}\n" for kind, target in sources.items())
    (info / "entry_points.txt").write_text("[opsdash.sources]\n" + points)
    return site
