"""What the browser test serves: a `fixeddocker` source kind (the sample
containers of tests.fakes, no engine) installed the way a plugin is, as a
throwaway distribution with an `opsdash.sources` entry point, so that the app
processes textual-serve spawns find it through their own config."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.distributions import install_distribution
from tests.fakes import FixedDockerSource
from tests.missing import missing

CONFIG = 'docker = []\nhost = []\n\n[[fixeddocker]]\nname = "demo"\n'


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedDockerConfig:
    """One [[fixeddocker]] table."""

    kind: ClassVar[str] = "fixeddocker"
    name: str = "demo"
    refresh: float = 3600.0
    timeout: float = 5.0


class FixedDockerPlugin(FixedDockerSource):
    kind = "fixeddocker"
    config_class = FixedDockerConfig

    def __init__(self, config: FixedDockerConfig):
        super().__init__(config.name, services=False)


def install_fixed_docker(site: Path) -> Path:
    """The distribution's metadata in `site` (to go on PYTHONPATH with the tree's root)."""
    return install_distribution(
        site,
        "opsdash-fixed-docker",
        {"fixeddocker": "tests.integration.serve_fixtures:FixedDockerPlugin"},
    )


def need(module: str):
    """`module` (textual-serve, aiohttp, playwright: the test extras), else a skip;
    in CI a failure, since scripts/test installs them."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(
            f"{module} missing: the test extras bring it (scripts/test)", allow_module_level=True
        )
