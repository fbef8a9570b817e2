"""Every installed source kind declares itself the way the rest of opsdash
reaches it: kind, config dataclass, the snapshot type it feeds, autodetection."""

from __future__ import annotations

import dataclasses

import pytest

from opsdash.model import DockerSnapshot, HostStats, PipelineSnapshot
from opsdash.model.ml import ModelsSnapshot
from opsdash.sources.base import Detection, Source
from opsdash.sources.capabilities import (
    ContainerEngine,
    Deploys,
    RemembersDeployments,
    RerunsRuns,
    RunDetails,
    WaitsForStats,
)
from opsdash.sources.registry import UnknownKind, installed_kinds, source_class

BUILT_IN = (
    "docker",
    "host",
    "github",
    "gitlab",
    "jenkins",
    "buildbot",
    "mlflow",
    "prometheus",
    "airflow",
    "kubeflow",
)
SNAPSHOTS = (DockerSnapshot, HostStats, PipelineSnapshot, ModelsSnapshot)


def test_the_built_in_kinds_are_registered_as_entry_points():
    assert set(BUILT_IN) <= set(installed_kinds())
    with pytest.raises(UnknownKind):
        source_class("no-such-kind")


@pytest.mark.parametrize("kind", BUILT_IN)
def test_a_source_declares_kind_config_and_snapshot(kind):
    cls = source_class(kind)
    assert issubclass(cls, Source) and cls.kind == kind
    assert cls.feeds in SNAPSHOTS
    config = cls.config_class
    assert dataclasses.is_dataclass(config) and config.kind == kind
    assert config.__dataclass_params__.frozen
    assert {"name", "refresh", "timeout"} <= {f.name for f in dataclasses.fields(config)}


@pytest.mark.parametrize("kind", BUILT_IN)
def test_nothing_is_autodetected_from_an_empty_environment(kind, tmp_path, monkeypatch):
    monkeypatch.setattr("opsdash.sources.docker.DEFAULT_DOCKER_SOCKET", str(tmp_path / "none"))
    found = source_class(kind).autodetect(Detection(cwd=tmp_path, environ={}))
    assert len(found) == (1 if kind == "host" else 0)  # the host is always this machine


def test_capabilities_are_what_the_keys_ask_for():
    """isinstance on the protocols, as the UI asks; the check does no I/O."""
    from opsdash.sources.docker import DockerHostConfig, DockerSource
    from opsdash.sources.github import GitHubConfig, GitHubSource
    from opsdash.sources.jenkins import JenkinsConfig, JenkinsSource

    docker = DockerSource(DockerHostConfig(name="x", host="unix:///nonexistent.sock"))
    github = GitHubSource(GitHubConfig(name="g", project="a/b"))
    jenkins = JenkinsSource(JenkinsConfig(name="j", url="http://127.0.0.1:9", jobs=("a",)))
    try:
        assert isinstance(docker, ContainerEngine) and isinstance(docker, WaitsForStats)
        assert not isinstance(docker, RerunsRuns)
        for ci in (github, jenkins):
            assert all(isinstance(ci, p) for p in (RunDetails, RerunsRuns, Deploys))
        assert github.can_rerun_failed and not github.can_rerun_running
        assert jenkins.can_rerun_running
        assert isinstance(github, RemembersDeployments)
    finally:
        for source in (docker, github, jenkins):
            source.close()
