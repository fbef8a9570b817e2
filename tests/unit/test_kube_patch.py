"""devstack.kube.patch: the three PATCH bodies the emulator accepts."""

from __future__ import annotations

import pytest

from devstack.kube.patch import PatchError, apply, json_patch, merge_patch, strategic_merge

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [
            {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "envoy:1"},
        ]
    },
}


def test_merge_patch_is_rfc7386():
    # the RFC's own example
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    # lists replace whole
    patched = merge_patch(TEMPLATE, {"spec": {"containers": [{"name": "web", "image": "x"}]}})
    assert patched["spec"]["containers"] == [{"name": "web", "image": "x"}]


def test_strategic_merge_merges_lists_by_their_key():
    patch = {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    patched = strategic_merge(TEMPLATE, patch)
    web, sidecar = patched["spec"]["containers"]
    assert web == {"name": "web", "image": "nginx:2", "env": [{"name": "A", "value": "1"}]}
    assert sidecar == {"name": "sidecar", "image": "envoy:1"}
    gone = strategic_merge(
        TEMPLATE, {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}
    )
    assert [c["name"] for c in gone["spec"]["containers"]] == ["web"]
    env = strategic_merge(
        TEMPLATE, {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}
    )
    assert [e["name"] for e in env["spec"]["containers"][0]["env"]] == ["A", "B"]
    assert strategic_merge(TEMPLATE, {"metadata": {"labels": None}})["metadata"] == {}
    assert TEMPLATE["spec"]["containers"][0]["image"] == "nginx:1"  # the target is not mutated


def test_json_patch_operations():
    ops = [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:3"},
        {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "1"}},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "x", "image": "y"}},
        {"op": "remove", "path": "/spec/containers/1"},
        {"op": "test", "path": "/metadata/annotations/a~1b", "value": "1"},
        {"op": "copy", "from": "/metadata/labels", "path": "/metadata/copied"},
    ]
    doc = json_patch(TEMPLATE, ops)
    assert [c["name"] for c in doc["spec"]["containers"]] == ["web", "x"]
    assert doc["spec"]["containers"][0]["image"] == "nginx:3"
    assert doc["metadata"]["copied"] == {"app": "web"}
    with pytest.raises(PatchError):
        json_patch(TEMPLATE, [{"op": "replace", "path": "/spec/missing", "value": 1}])
    with pytest.raises(PatchError):
        json_patch(TEMPLATE, [{"op": "test", "path": "/metadata/labels/app", "value": "db"}])
    with pytest.raises(PatchError):
        json_patch(TEMPLATE, {"op": "add"})


def test_apply_picks_by_content_type():
    body = {"metadata": {"labels": {"tier": "front"}}}
    assert apply("application/merge-patch+json; charset=utf-8", TEMPLATE, body)["metadata"][
        "labels"
    ] == {"app": "web", "tier": "front"}
    with pytest.raises(LookupError):
        apply("application/json", TEMPLATE, body)
