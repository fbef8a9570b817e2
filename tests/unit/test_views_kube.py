"""The Kubernetes columns and the resource prompt's words, without the TUI."""

from __future__ import annotations

from datetime import datetime

import pytest

from opsdash.model import SourceResult
from opsdash.model.kube import RESOURCE_ALIASES
from opsdash.snapshot_output import snapshot_tables, summary
from opsdash.views.kube import (
    POD_COLUMNS,
    WORKLOAD_COLUMNS,
    event_rows,
    pod_search_text,
    workload_search_text,
)
from opsdash.views.kube_prompt import KubeView, apply_command, prompt_words
from tests.kube_fakes import prod_records, staging_records, two_contexts

CONTEXTS = ["gke_acme_prod", "staging"]


def cells(columns, record) -> dict[str, str]:
    now = datetime.now().astimezone()
    return {c.key: c.render(record, now).plain for c in columns}


def test_workload_and_pod_cells_say_what_kubectl_says():
    web, db, agent = prod_records("p")[0]
    assert cells(WORKLOAD_COLUMNS, web) | {"age": ""} == {
        "context": "p",
        "namespace": "shop",
        "name": "web",
        "kind": "deploy",
        "ready": "3/3",
        "updated": "3",
        "available": "3",
        "images": "registry.local/web:1.4",
        "revision": "4",
        "age": "",
        "rollout": "complete",
    }
    assert cells(WORKLOAD_COLUMNS, db)["rollout"] == "progressing"
    assert cells(WORKLOAD_COLUMNS, agent)["kind"] == "ds"
    crashing = prod_records("p")[1][2]
    pod = cells(POD_COLUMNS, crashing)
    assert (pod["ready"], pod["status"], pod["restarts"]) == ("0/1", "CrashLoopBackOff", "7")
    now = datetime.now().astimezone()
    status = next(c for c in POD_COLUMNS if c.key == "status").render(crashing, now)
    assert "red" in str(status.style)
    failed = staging_records("s")[0][0]
    rollout = next(c for c in WORKLOAD_COLUMNS if c.key == "rollout").render(failed, now)
    assert rollout.plain == "failed" and "red" in str(rollout.style)


def test_search_text_finds_labels_kinds_and_states():
    web = prod_records("p")[0][0]
    assert "app=web" in workload_search_text(web) and "deployment" in workload_search_text(web)
    assert "crashloopbackoff" in pod_search_text(prod_records("p")[1][2])


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("pods", KubeView(resource="pods")),
        ("po", KubeView(resource="pods")),
        ("deploy", KubeView(kind="Deployment")),
        ("statefulsets", KubeView(kind="StatefulSet")),
        ("DS", KubeView(kind="DaemonSet")),
        ("ns web", KubeView(namespace="web")),
        ("ctx staging", KubeView(context="staging")),
    ],
)
def test_each_word_sets_one_part_of_the_view(command, expected):
    assert apply_command(KubeView(), command, CONTEXTS) == (expected, "")


def test_every_alias_is_a_word():
    for alias in RESOURCE_ALIASES:
        view, error = apply_command(KubeView(), alias, CONTEXTS)
        assert not error
        if RESOURCE_ALIASES[alias] == "Pod":
            assert view.resource == "pods" and view.kind is None
        else:
            assert view.resource == "workloads" and view.kind == RESOURCE_ALIASES[alias]


def test_clearing_and_all():
    view = KubeView(resource="pods", namespace="a", context="staging")
    assert apply_command(view, "ns", CONTEXTS)[0].namespace is None
    assert apply_command(view, "ns all", CONTEXTS)[0].namespace is None
    assert apply_command(view, "ctx", CONTEXTS)[0].context is None
    workloads = apply_command(KubeView(kind="Deployment"), "all", CONTEXTS)[0]
    assert workloads == KubeView()
    assert workloads.title() == "workloads · ctx all · ns all"
    assert KubeView(kind="StatefulSet", context="c", namespace="n").title() == "sts · ctx c · ns n"


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("jobs", "unknown resource 'jobs'"),
        ("ctx nowhere", "no context 'nowhere' (configured: gke_acme_prod, staging)"),
        ("ns a b", "one namespace"),
        ("pods extra", "takes no argument"),
    ],
)
def test_a_wrong_word_changes_nothing_and_says_why_in_one_line(command, says):
    view = KubeView(resource="pods")
    after, error = apply_command(view, command, CONTEXTS)
    assert after is view and says in error and "\n" not in error


def test_prompt_words_complete_namespaces_and_contexts():
    words = prompt_words(["prod"], ["web", "api", "web"])
    assert words[:4] == ["pods", "deploy", "sts", "ds"]
    assert "ns api" in words and words.count("ns web") == 1 and "ctx prod" in words


def test_events_keep_the_sources_newest_first_order():
    rows = event_rows(["b", "a"])  # type: ignore[list-item]
    assert [r.key for r in rows] == ["0", "1"]


def test_check_line_and_snapshot_tables_per_context():
    prod, staging = (s.poll() for s in two_contexts())
    result = SourceResult(
        source="kubernetes:staging",
        data=staging,
        error=None,
        latency_s=0.1,
        finished=staging.taken_at,
    )
    assert summary(result) == (
        "context staging: 2 workloads, 1 pod, 1 failing rollout, 1 pod in trouble"
    )
    tables = snapshot_tables("kubernetes:prod", prod)
    assert [str(t.title) for t in tables] == ["kubernetes:prod: workloads", "kubernetes:prod: pods"]
    assert "CONTEXT" not in [str(c.header) for c in tables[0].columns]
    assert tables[1].row_count == 4


def test_snapshot_json_holds_workloads_and_pods():
    import json

    from opsdash.model import to_jsonable

    data = json.loads(json.dumps(to_jsonable(two_contexts()[1].poll())))
    assert data["context"] == "staging"
    assert [w["name"] for w in data["workloads"]] == ["web", "api"]
    assert data["workloads"][0]["rollout"] == "failed"
    assert data["pods"][0]["containers"][0]["reason"] == "ImagePullBackOff"
