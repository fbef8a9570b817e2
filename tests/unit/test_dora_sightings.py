"""sightings.one_per_change: one change deployed once is one deployment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdash.dora.records import Deploy
from opsdash.dora.sightings import observer_of, one_per_change, same_version

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SHA = "4f2c1e9b7a0d3c5e8f1a2b4c6d8e0f1a3b5c7d9e"


def seen(minutes: float, version: str, observer: str, result: str = "success", **kw):
    deploy = Deploy("shop", T0 + timedelta(minutes=minutes), version, result, **kw)
    return deploy, observer


def test_a_deploy_run_and_the_deployment_it_created_are_one():
    kept = one_per_change(
        [
            seen(1, SHA, "github:shop:run"),
            seen(0, SHA, "github:shop:deployment"),
            seen(4, SHA[:12], "docker"),  # the container the watcher then finds
        ]
    )
    assert [(d.at, d.version) for d in kept] == [(T0, SHA)]


def test_the_same_observer_deploying_one_version_twice_is_two_deploys():
    kept = one_per_change(
        [seen(0, SHA, "github:shop:deployment"), seen(20, SHA, "github:shop:deployment")]
    )
    assert len(kept) == 2


def test_the_worst_result_of_the_sightings_is_kept():
    (only,) = one_per_change([seen(0, SHA, "a"), seen(2, SHA, "b", "failed")])
    assert only.result == "failed" and only.at == T0


def test_a_return_to_an_earlier_version_is_a_deployment_of_its_own():
    other = "9" * 40
    kept = one_per_change([seen(0, SHA, "ci"), seen(10, other, "ci"), seen(20, SHA, "docker")])
    assert [d.version for d in kept] == [SHA, other, SHA]


def test_rollbacks_and_late_sightings_are_never_merged():
    rollback = seen(5, SHA, "opsdash", source="container-rollback")
    late = seen(61, SHA, "docker")
    assert len(one_per_change([seen(0, SHA, "ci"), rollback])) == 2
    assert len(one_per_change([seen(0, SHA, "ci"), late])) == 2
    assert len(one_per_change([seen(0, SHA, "ci"), seen(0, SHA, "ci2", kind="model")])) == 2


def test_versions_and_observers():
    assert same_version(SHA, SHA[:7]) and same_version(SHA[:9].upper(), SHA)
    assert not same_version(SHA, SHA[:6])  # too short to be a commit abbreviation
    assert not same_version("", "") and not same_version("sha256:ab", "sha256:abc")
    assert observer_of("github:shop", "github:shop:run:42") == "github:shop:run"
    assert observer_of("github:shop", "github:shop:deployment:7") == "github:shop:deployment"
    assert observer_of("docker", "docker:h:shop:v:t") == "docker"
    assert observer_of("container-redeploy", None) == "container-redeploy"
