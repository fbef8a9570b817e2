"""Build the configured sources. Adding a source kind means one line here.

Modules are imported only when their kind is configured, so a dashboard
without CI or MLflow never loads their code.
"""

from __future__ import annotations

import importlib

from opsdash.config import Config
from opsdash.sources.base import Source
from opsdash.store import Store

# kind -> (module, class); each class takes its config record.
SOURCE_CLASSES = {
    "github": ("opsdash.sources.github", "GitHubSource"),
    "gitlab": ("opsdash.sources.gitlab", "GitLabSource"),
    "jenkins": ("opsdash.sources.jenkins", "JenkinsSource"),
    "buildbot": ("opsdash.sources.buildbot", "BuildbotSource"),
    "mlflow": ("opsdash.sources.mlflow", "MlflowSource"),
    "prometheus": ("opsdash.sources.prometheus", "PrometheusSource"),
}


def source_class(kind: str) -> type[Source]:
    module, name = SOURCE_CLASSES[kind]
    return getattr(importlib.import_module(module), name)


def build_sources(config: Config, store: Store | None = None) -> list[Source]:
    """Every configured source; with a store, also the DORA keys computed from it."""
    from opsdash.sources.docker import DockerSource
    from opsdash.sources.host import HostSource

    sources: list[Source] = [DockerSource(d) for d in config.docker]
    sources += [HostSource(h) for h in config.hosts]
    sources += [source_class(p.provider)(p) for p in config.pipelines]
    sources += [source_class("mlflow")(m) for m in config.mlflow]
    sources += [source_class("prometheus")(p) for p in config.prometheus]
    if store is not None:
        from opsdash.dora.source import DoraSource

        sources.append(DoraSource(config, store))
    return sources
