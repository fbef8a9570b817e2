"""Many CI runs on the local stand-ins, for the panels benchmark (panels.py).

GitHub Actions, GitLab CI and Jenkins cannot run here: each is a replay server
(devstack/replay.py) answering the endpoints opsdash reads with generated
runs shaped as the vendor documents them. Kubeflow Pipelines is the stateful
emulator (devstack/kubeflow) with generated runs. The newest run of each source
is named `<kind>-newest-run`, so the benchmark sees on screen when each source's
runs arrived. GitHub answers a matching If-None-Match with 304, as GitHub
does; GitLab and Jenkins send no ETags and answer in full every time.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.kubeflow.runs import Pipeline, Run
from devstack.kubeflow.server import KubeflowServer
from devstack.replay import ReplayServer, Reply, Request

REPO = "acme/shop"
GITHUB_RUNS = f"/repos/{REPO}/actions/runs"
GITLAB_API = "/api/v4/projects/acme%2Fshop"
JENKINS_JOB = "/job/shop/job/app"
KUBEFLOW_NAMESPACE = "team-a"
KUBEFLOW_EXPERIMENT = "exp-bench"
# Of every 10 runs: 7 succeed, 2 fail, 1 was cancelled; the 2 newest still run.
OUTCOMES = ("success",) * 7 + ("failure", "failure", "cancelled")
RUNNING = 2


def newest_title(kind: str) -> str:
    return f"{kind}-newest-run"


def _sha(kind: str, index: int) -> str:
    return hashlib.sha1(f"{kind}-{index}".encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _title(kind: str, index: int) -> str:
    return newest_title(kind) if index == 0 else f"{kind} change {index:03d}"


def _outcome(index: int) -> str:
    return "running" if index < RUNNING else OUTCOMES[index % len(OUTCOMES)]


def _started(now: datetime, index: int, offset_s: int) -> datetime:
    """Run `index` (0 newest) started index * 7 minutes ago; `offset_s` keeps the
    sources' newest runs apart, so each newest run is near the top of the panel."""
    return now - timedelta(minutes=7 * index, seconds=offset_s)


# --- GitHub Actions ------------------------------------------------------------------


def github_runs(count: int, now: datetime) -> list[dict[str, Any]]:
    status = {"running": ("in_progress", None), "success": ("completed", "success")}
    status |= {"failure": ("completed", "failure"), "cancelled": ("completed", "cancelled")}
    runs = []
    for index in range(count):
        started = _started(now, index, 10)
        state, conclusion = status[_outcome(index)]
        finished = started + timedelta(minutes=4) if conclusion else started + timedelta(seconds=30)
        run_id = 9_000_000 + count - index
        runs.append(
            {
                "id": run_id,
                "name": "CI" if index % 3 else "Release",
                "head_branch": "main" if index % 4 else f"feature/{index}",
                "head_sha": _sha("github", index),
                "path": ".github/workflows/ci.yml",
                "display_title": _title("github", index),
                "run_number": count - index,
                "event": "push",
                "status": state,
                "conclusion": conclusion,
                "workflow_id": 161335 if index % 3 else 161336,
                "html_url": f"https://github.com/{REPO}/actions/runs/{run_id}",
                "created_at": _iso(started),
                "updated_at": _iso(finished),
                "run_started_at": _iso(started),
                "run_attempt": 1,
                "actor": {"login": "octocat"},
                "triggering_actor": {"login": "octocat"},
                "head_commit": {"message": _title("github", index)},
            }
        )
    return runs


def route_github(server: ReplayServer, count: int, now: datetime) -> None:
    """GET /repos/acme/shop/actions/runs, 100 a page, with ETags and 304s."""
    runs = github_runs(count, now)
    pages = [runs[i : i + 100] for i in range(0, len(runs), 100)] or [[]]

    def page(number: int):
        body = {"total_count": len(runs), "workflow_runs": pages[number - 1]}
        etag = f'W/"bench-{number}-{len(runs)}"'
        headers = {"etag": etag, "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4900"}
        headers["x-ratelimit-used"] = "100"
        headers["x-ratelimit-reset"] = str(int(time.time()) + 3600)
        headers["x-ratelimit-resource"] = "core"
        if number < len(pages):
            headers["link"] = f'<{{url}}{GITHUB_RUNS}?per_page=100&page={number + 1}>; rel="next"'

        def answer(request: Request) -> Reply:
            if request.headers.get("if-none-match") == etag:
                return Reply(304, None, headers)
            return Reply(200, body, headers)

        return answer

    server.add("GET", GITHUB_RUNS, page(1))
    for number in range(2, len(pages) + 1):
        server.add("GET", GITHUB_RUNS, page(number), query={"page": str(number)})


# --- GitLab CI ---------------------------------------------------------------------------


def gitlab_pipelines(count: int, now: datetime) -> list[dict[str, Any]]:
    status = {"running": "running", "success": "success", "failure": "failed"}
    status["cancelled"] = "canceled"
    items = []
    for index in range(count):
        started = _started(now, index, 20)
        state = status[_outcome(index)]
        done = state != "running"
        pipeline_id = 50_000 + count - index
        items.append(
            {
                "id": pipeline_id,
                "iid": count - index,
                "project_id": 21,
                "status": state,
                "source": "push",
                "ref": "main" if index % 4 else f"feature/{index}",
                "sha": _sha("gitlab", index),
                "name": None,
                "web_url": f"https://gitlab.example.com/{REPO}/-/pipelines/{pipeline_id}",
                "created_at": _iso(started - timedelta(seconds=5)),
                "updated_at": _iso(started + timedelta(minutes=5 if done else 1)),
                "started_at": _iso(started),
                "finished_at": _iso(started + timedelta(minutes=5)) if done else None,
                "duration": 300 if done else None,
                "user": {"username": "root", "name": "Administrator"},
            }
        )
    return items


def route_gitlab(server: ReplayServer, count: int, now: datetime) -> None:
    """The pipelines list (100 a page), each pipeline's details and the commits."""
    items = gitlab_pipelines(count, now)
    listed = [{k: v for k, v in p.items() if k not in ("started_at", "finished_at")} for p in items]
    pages = [listed[i : i + 100] for i in range(0, len(listed), 100)] or [[]]
    for number, page in enumerate(pages, start=1):
        headers = {"X-Page": str(number), "X-Per-Page": "100", "X-Total": str(len(listed))}
        if number < len(pages):
            link = f"{{url}}{GITLAB_API}/pipelines?order_by=id&per_page=100&sort=desc&page="
            headers["Link"] = f'<{link}{number + 1}>; rel="next"'
        query = {"page": str(number)} if number > 1 else None
        server.add("GET", f"{GITLAB_API}/pipelines", Reply(200, page, headers), query=query)
    for item in items:
        server.add("GET", f"{GITLAB_API}/pipelines/{item['id']}", Reply(200, item))
    commits = [
        {"id": item["sha"], "short_id": item["sha"][:8], "title": _title("gitlab", index)}
        for index, item in enumerate(items)
    ]
    server.add("GET", f"{GITLAB_API}/repository/commits", Reply(200, commits[:100]))
    for commit in commits:
        server.add("GET", f"{GITLAB_API}/repository/commits/{commit['id']}", Reply(200, commit))


# --- Jenkins ---------------------------------------------------------------------------------


def jenkins_job(count: int, now: datetime) -> dict[str, Any]:
    result = {"running": None, "success": "SUCCESS", "failure": "FAILURE"}
    result["cancelled"] = "ABORTED"
    builds = []
    for index in range(count):
        started = _started(now, index, 30)
        outcome = result[_outcome(index)]
        number = count - index
        sha = _sha("jenkins", index)
        builds.append(
            {
                "number": number,
                "url": f"https://jenkins.example.com{JENKINS_JOB}/{number}/",
                "result": outcome,
                "building": outcome is None,
                "inProgress": outcome is None,
                "timestamp": int(started.timestamp() * 1000),
                "duration": 0 if outcome is None else 240_000,
                "estimatedDuration": 240_000,
                "queueId": 10_000 + number,
                "displayName": f"#{number}",
                "description": None,
                "actions": [
                    {"causes": [{"shortDescription": "Started by an SCM change"}]},
                    {
                        "lastBuiltRevision": {
                            "SHA1": sha,
                            "branch": [{"SHA1": sha, "name": "refs/remotes/origin/main"}],
                        }
                    },
                ],
                "changeSets": [{"items": [{"msg": _title("jenkins", index), "commitId": sha}]}],
            }
        )
    return {
        "name": "app",
        "fullName": "shop/app",
        "url": f"https://jenkins.example.com{JENKINS_JOB}/",
        "builds": builds,
    }


def route_jenkins(server: ReplayServer, count: int, now: datetime) -> None:
    """One job's `api/json?tree=...` with its `count` newest builds."""
    headers = {"X-Jenkins": "2.479.1"}
    server.add("GET", f"{JENKINS_JOB}/api/json", Reply(200, jenkins_job(count, now), headers))


# --- Kubeflow Pipelines ----------------------------------------------------------------------


def seed_kubeflow(server: KubeflowServer, count: int, now: float) -> None:
    """One experiment, two pipelines, `count` runs; all finished but the newest two."""
    server.add_experiment(KUBEFLOW_EXPERIMENT, "bench", KUBEFLOW_NAMESPACE)
    day = 86_400.0
    train = server.add_pipeline(
        Pipeline(
            "p-train",
            "train-churn",
            ("prepare", "train", "evaluate", "push"),
            KUBEFLOW_NAMESPACE,
            now - 60 * day,
            [("v-train-1", "v1", now - 60 * day)],
        )
    )
    etl = server.add_pipeline(
        Pipeline(
            "p-etl",
            "etl-hourly",
            ("extract", "load"),
            KUBEFLOW_NAMESPACE,
            now - 60 * day,
            [("v-etl-1", "v1", now - 60 * day)],
        )
    )
    for index in range(count):
        pipeline, version = (train, "v-train-1") if index % 2 else (etl, "v-etl-1")
        outcome = _outcome(index)
        created = now - 7 * 60 * index - 40
        run = Run.plan(
            run_id=f"be0c4000-0000-4000-8000-{index:012d}",
            display_name=_title("kubeflow", index),
            experiment_id=KUBEFLOW_EXPERIMENT,
            pipeline=pipeline,
            version_id=version,
            parameters={"batch": index},
            created=created,
            step=day if outcome == "running" else 30.0,
            fail_at=pipeline.components[-1] if outcome == "failure" else "",
        )
        if outcome == "cancelled":
            run.terminate(run.pending_until + 10)
        server.add_run(run)
