"""GitLabSource against a real HTTP server replaying GitLab's documented responses.

Fixtures in tests/fixtures/gitlab are shaped as docs.gitlab.com shows them; the
replay server records every request, so the assertions are on what opsdash
actually sent (method, path, query, PRIVATE-TOKEN, JSON body).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

import pytest

from devstack.replay import ReplayServer, Reply, Request, load_fixture
from opsdash.model import RunStatus
from opsdash.sources.base import SourceError
from opsdash.sources.gitlab import GitLabConfig, GitLabSource
from opsdash.sources.http import RateLimited

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"
TOKEN = "glpat-s3cr3t-Token-4242"
API = "/api/v4/projects/acme%2Fshop"
SHA_A = "50f0acb76a40e34a4ff304f7347dcc6587da8a14"  # no longer in the repository
SHA_B = "8a24fb3c5877a6d0b611ca41fc86edc174593e2b"
SHA_C = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"

# What the detail endpoint adds per pipeline (the list items lack these).
DETAILS = {
    1004: {"status": "running", "sha": SHA_A, "name": None, "finished_at": None},
    1003: {"status": "success", "sha": SHA_B},
    1002: {"status": "failed", "sha": SHA_C, "name": None, "ref": "feature/cart"},
    1001: {"status": "canceled", "sha": SHA_C, "name": None},
}


def fixture(file: str, /, **replace) -> Reply:
    return load_fixture(FIXTURES / file, **replace)


def make_source(server: ReplayServer, **overrides) -> GitLabSource:
    values = {
        "name": "shop",
        "url": server.url,
        "project": "acme/shop",
        "token": TOKEN,
        "runs": 4,
        "timeout": 5.0,
    }
    values.update(overrides)
    return GitLabSource(GitLabConfig(**values))


def detail_reply(request: Request) -> Reply:
    pipeline_id = int(request.path.rsplit("/", 1)[1])
    page = fixture("pipelines_page1.json").body + fixture("pipelines_page2.json").body
    item = next(p for p in page if p["id"] == pipeline_id)
    reply = fixture("pipeline.json", **{**item, **DETAILS[pipeline_id]})
    return reply


def route_project(server: ReplayServer) -> None:
    """Two pages of pipelines, their details, commits and the deploy pipeline's jobs."""
    server.add("GET", f"{API}/pipelines", fixture("pipelines_page1.json"))
    server.add("GET", f"{API}/pipelines", fixture("pipelines_page2.json"), query={"page": "2"})
    for pipeline_id in DETAILS:
        server.add("GET", f"{API}/pipelines/{pipeline_id}", detail_reply)
    server.add(
        "GET",
        f"{API}/repository/commits/{SHA_A}",
        Reply(404, {"message": "404 Commit Not Found"}),
    )
    server.add("GET", f"{API}/repository/commits/{SHA_B}", fixture("commit.json"))
    server.add(
        "GET",
        f"{API}/repository/commits/{SHA_C}",
        fixture("commit.json", id=SHA_C, title="Cart: keep items\r"),
    )
    server.add("GET", f"{API}/pipelines/1003/jobs", fixture("jobs.json"))


def assert_clean(message: str) -> None:
    assert TOKEN not in message
    assert "\n" not in message
    assert message


# --- reading ---------------------------------------------------------------------


def test_poll_follows_pages_and_maps_pipelines(server):
    route_project(server)
    source = make_source(server, deploy="deploy", deploy_branch="main")
    try:
        snapshot = source.poll()
    finally:
        source.close()

    runs = {run.id: run for run in snapshot.runs}
    assert [r.id for r in snapshot.runs] == ["1004", "1003", "1002", "1001"]
    assert {i: r.status for i, r in runs.items()} == {
        "1004": RunStatus.RUNNING,
        "1003": RunStatus.SUCCESS,
        "1002": RunStatus.FAILED,
        "1001": RunStatus.CANCELLED,
    }
    assert runs["1001"].vendor_status == "canceled"
    deploy = runs["1003"]
    assert deploy.pipeline == "Deploy pipeline"
    assert runs["1004"].pipeline == "pipeline"  # no name: the word, not "None"
    assert deploy.number == 143
    assert deploy.provider == "gitlab" and deploy.project == "acme/shop"
    assert deploy.source == "gitlab:shop"
    assert deploy.actor == "root"
    assert deploy.event == "push"
    assert deploy.branch == "main" and deploy.sha == SHA_B
    assert deploy.started == datetime(2025, 11, 28, 8, 0, 14, 197000, tzinfo=UTC)
    assert deploy.finished == datetime(2025, 11, 28, 8, 9, 50, 175000, tzinfo=UTC)
    assert deploy.url == "https://gitlab.example.com/acme/shop/-/pipelines/1003"
    # Text is kept as GitLab sent it: markup and escapes are the UI's job to show literally.
    assert deploy.message == "Fix the [bold red]x[/] in checkout \x1b[2J"
    assert runs["1004"].message == ""  # commit 404: no message, no failure
    assert runs["1002"].message == "Cart: keep items"
    assert runs["1002"].branch == "feature/cart"
    assert runs["1004"].finished is None

    assert deploy.is_deploy and not any(r.is_deploy for r in snapshot.runs if r.id != "1003")
    (deployment,) = snapshot.deployments
    assert deployment.id == "pipeline:1003"
    assert deployment.version == SHA_B
    assert deployment.at == datetime(2025, 11, 28, 8, 9, 45, tzinfo=UTC)  # the deploy job's end
    assert deployment.result == "success"
    assert snapshot.quota == "1,988/2,000 left"

    first, second = server.calls("GET", f"{API}/pipelines")
    assert first.query == {"per_page": ["4"], "order_by": ["id"], "sort": ["desc"]}
    # The Link next URL is followed as GitLab wrote it (its page and the original filters).
    assert first.arg("page") is None and second.arg("page") == "2"
    assert second.arg("order_by") == "id" and second.arg("sort") == "desc"
    jobs_call = server.calls("GET", f"{API}/pipelines/1003/jobs")[0]
    assert jobs_call.arg("scope[]") == "success"
    for request in server.requests:
        assert request.headers["private-token"] == TOKEN
        assert request.path.startswith(API + "/")


def test_steady_state_poll_fetches_only_what_can_change(server):
    route_project(server)
    source = make_source(server, deploy="deploy", deploy_branch="main")
    try:
        source.poll()
        before = len(server.requests)
        again = source.poll()
    finally:
        source.close()
    later = [(r.method, r.path) for r in server.requests[before:]]
    # The two list pages only: nothing's updated_at moved, so the details (the
    # running pipeline's too), commit titles and the deploy jobs come from the cache.
    assert sorted(later) == [("GET", f"{API}/pipelines"), ("GET", f"{API}/pipelines")]
    assert [r.message for r in again.runs][1] == "Fix the [bold red]x[/] in checkout \x1b[2J"
    assert len(again.deployments) == 1


def test_branch_filter_and_numeric_project(server):
    server.add(
        "GET",
        "/api/v4/projects/21/pipelines",
        Reply(200, [fixture("pipelines_page2.json").body[1]]),
    )
    server.add("GET", "/api/v4/projects/21/pipelines/1001", Reply(404, {"message": "404 Not"}))
    server.add("GET", f"/api/v4/projects/21/repository/commits/{SHA_C}", fixture("commit.json"))
    source = make_source(server, project="21", branch="main", token="", runs=150)
    try:
        (run,) = source.poll().runs
    finally:
        source.close()
    assert run.id == "1001" and run.status is RunStatus.CANCELLED  # list data only
    (listing,) = server.calls("GET", "/api/v4/projects/21/pipelines")
    assert listing.arg("ref") == "main"
    assert listing.arg("per_page") == "100"  # GitLab's maximum page
    assert all("private-token" not in r.headers for r in server.requests)  # no token, no header


def test_jobs_in_pipeline_order_and_log_tail_kept_literal(server):
    route_project(server)
    server.add("GET", f"{API}/jobs/7002/trace", fixture("job_trace.json"))
    source = make_source(server)
    try:
        run = next(r for r in source.poll().runs if r.id == "1003")
        jobs = source.jobs(run)
        log = source.log_tail(run, jobs[1])
    finally:
        source.close()
    assert [j.name for j in jobs] == ["build", "lint \x1b[2J[bold]now[/bold]", "deploy"]
    assert [j.stage for j in jobs] == ["build", "test", "deploy"]
    assert [j.status for j in jobs] == [RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.SUCCESS]
    assert jobs[1].vendor_status == "failed (allowed)"
    assert jobs[1].id == "7002"
    assert jobs[0].url == "https://gitlab.example.com/acme/shop/-/jobs/7001"
    assert jobs[0].duration_s() == 150.0
    assert log.endswith("\x1b[31;1mERROR: Job failed: exit code 1\n\x1b[0;m")
    assert "[bold red]not markup[/] \x1b[2J" in log
    (jobs_call,) = server.calls("GET", f"{API}/pipelines/1003/jobs")
    assert jobs_call.arg("per_page") == "100" and jobs_call.arg("scope[]") is None


def test_environment_deployments_replace_pipeline_deploys(server):
    route_project(server)
    server.add("GET", f"{API}/deployments", fixture("deployments.json"))
    source = make_source(
        server, deploy="deploy", deploy_branch="main", environments=("production",)
    )
    try:
        snapshot = source.poll()
    finally:
        source.close()
    (deployment,) = snapshot.deployments  # the running one may still change: not reported
    assert deployment.id == "deployment:41"
    assert deployment.environment == "production"
    assert deployment.version == SHA_B
    assert deployment.result == "success"
    assert deployment.at == datetime(2025, 11, 28, 8, 9, 44, tzinfo=UTC)
    assert deployment.service == "acme/shop"
    assert deployment.url == "https://gitlab.example.com/acme/shop/-/jobs/7003"
    assert next(r for r in snapshot.runs if r.id == "1003").is_deploy
    (call,) = server.calls("GET", f"{API}/deployments")
    assert call.query == {
        "environment": ["production"],
        "order_by": ["updated_at"],
        "sort": ["desc"],
        "per_page": ["20"],
    }


# --- failures --------------------------------------------------------------------


def test_rate_limit_blocks_until_reset_without_touching_the_server(server):
    reset = int(time.time()) + 120
    server.add(
        "GET",
        f"{API}/pipelines",
        Reply(
            429,
            "Retry later",
            {
                "Retry-After": "120",
                "RateLimit-Limit": "2000",
                "RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Observed": "2000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset),
                "RateLimit-ResetTime": formatdate(reset, usegmt=True),
            },
        ),
    )
    source = make_source(server)
    try:
        with pytest.raises(RateLimited) as first:
            source.poll()
        assert "rate limited (HTTP 429)" in str(first.value)
        assert f"{API}/pipelines" in str(first.value)
        assert_clean(str(first.value))
        hits = len(server.requests)
        assert hits == 1
        with pytest.raises(RateLimited) as second:
            source.poll()
        assert len(server.requests) == hits  # blocked locally until the reset
        assert_clean(str(second.value))
        note = source.health_note()
        assert note.startswith("0/2,000 left, resets ")
    finally:
        source.close()


def test_server_error_is_retried_then_succeeds(server):
    route_project(server)
    server.add(
        "GET",
        f"{API}/pipelines",
        Reply(500, {"message": "500 Internal Server Error"}),
        fixture("pipelines_page1.json"),
    )
    source = make_source(server)
    source.client.backoff = 0.01  # keep the test fast; the retry itself is real
    try:
        snapshot = source.poll()
    finally:
        source.close()
    assert len(snapshot.runs) == 4
    assert len(server.calls("GET", f"{API}/pipelines")) == 3  # 500, page 1, page 2


def test_timeout_is_one_clear_line(server):
    server.add("GET", f"{API}/pipelines", Reply(body=[], delay=1.5))
    source = make_source(server, timeout=0.2)
    source.client.backoff = 0.01
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    message = str(caught.value)
    assert message == f"GET {API}/pipelines: no answer within 0.2s"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply(200, "<html><body>Sign in</body></html>", {"Content-Type": "text/html"}),
            "malformed response: not JSON (text/html",
        ),
        (Reply(200, {"message": "not a list"}), "unexpected response shape"),
        (Reply(200, [1, 2]), "unexpected response shape"),
        (Reply(200, [{"iid": 1}]), "unexpected response shape"),
    ],
)
def test_malformed_bodies_are_one_line_errors(server, reply, expected):
    server.add("GET", f"{API}/pipelines", reply)
    source = make_source(server)
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    assert expected in str(caught.value)
    assert_clean(str(caught.value))


def test_wrong_detail_shape_is_an_error(server):
    route_project(server)
    server.add("GET", f"{API}/pipelines/1004", Reply(200, ["not", "an", "object"]))
    source = make_source(server)
    try:
        with pytest.raises(SourceError, match="unexpected response shape"):
            source.poll()
    finally:
        source.close()


def test_unauthorized_names_the_token_but_never_shows_it(server):
    server.add(
        "GET",
        f"{API}/pipelines",
        Reply(401, {"message": f"401 Unauthorized: token {TOKEN} revoked"}),
    )
    source = make_source(server)
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    message = str(caught.value)
    assert f"GET {API}/pipelines: HTTP 401 Unauthorized" in message
    assert "read_api" in message and "***" in message
    assert_clean(message)


# --- acting ----------------------------------------------------------------------


def test_retry_cancel_and_create_pipeline_send_what_gitlab_documents(server):
    route_project(server)
    server.add("POST", f"{API}/pipelines/1002/retry", fixture("pipeline_retried.json"))
    server.add("POST", f"{API}/pipelines/1004/cancel", fixture("pipeline_canceled.json"))
    server.add("POST", f"{API}/pipeline", fixture("pipeline_created.json"))
    source = make_source(
        server,
        deploy="deploy",
        deploy_branch="main",
        deploy_inputs=(("TARGET", "prod"), ("DRY_RUN", "false")),
    )
    try:
        runs = {r.id: r for r in source.poll().runs}
        assert source.can_rerun_failed
        retried = source.rerun(runs["1002"], failed_only=True)
        cancelled = source.cancel(runs["1004"])
        assert source.deploy_target == "pipeline on acme/shop (job deploy)"
        created = source.deploy("release-1.2")
    finally:
        source.close()

    assert retried == (
        "pipeline #142 retried: GitLab reruns its failed and canceled jobs (now pending)"
    )
    assert cancelled == "cancel of pipeline #144 requested (now canceled)"
    assert created == "pipeline #145 created on release-1.2"

    (retry,) = server.calls("POST", f"{API}/pipelines/1002/retry")
    (cancel,) = server.calls("POST", f"{API}/pipelines/1004/cancel")
    (create,) = server.calls("POST", f"{API}/pipeline")
    for request in (retry, cancel, create):
        assert request.headers["private-token"] == TOKEN
        assert request.query == {}
    assert retry.body == b"" and cancel.body == b""
    assert create.headers["content-type"] == "application/json"
    assert create.json == {
        "ref": "release-1.2",
        "variables": [
            {"key": "TARGET", "value": "prod", "variable_type": "env_var"},
            {"key": "DRY_RUN", "value": "false", "variable_type": "env_var"},
        ],
    }


def test_retry_of_a_pipeline_without_failed_jobs_says_nothing_reran(server):
    route_project(server)
    server.add("POST", f"{API}/pipelines/1003/retry", fixture("pipeline.json"))
    source = make_source(server)
    try:
        run = next(r for r in source.poll().runs if r.id == "1003")
        line = source.rerun(run)
    finally:
        source.close()
    assert line == (
        "pipeline #143 not rerun: GitLab retries only failed or canceled jobs and it has"
        " none (success)"
    )


def test_failed_action_is_one_line_without_the_token(server):
    route_project(server)
    server.add(
        "POST",
        f"{API}/pipeline",
        Reply(400, {"message": {"base": [f"Reference not found ({TOKEN})"]}}),
    )
    source = make_source(server, deploy="deploy")
    try:
        with pytest.raises(SourceError) as caught:
            source.deploy("nope")
    finally:
        source.close()
    assert f"POST {API}/pipeline: HTTP 400 Bad Request" in str(caught.value)
    assert "Reference not found" in str(caught.value)
    assert_clean(str(caught.value))
    assert len(server.calls("POST", f"{API}/pipeline")) == 1  # a POST is never repeated


def test_read_only_and_no_deploy_refuse_without_a_request(server):
    route_project(server)
    source = make_source(server, read_only=True, deploy="deploy")
    plain = make_source(server)
    try:
        run = source.poll().runs[0]
        with pytest.raises(SourceError, match="read-only"):
            source.cancel(run)
        with pytest.raises(SourceError, match="read-only"):
            source.deploy("main")
        assert plain.deploy_target == ""
        with pytest.raises(SourceError, match="no deploy is configured"):
            plain.deploy("main")
    finally:
        source.close()
        plain.close()
    assert not server.calls("POST")


def test_unchanged_poll_of_thirty_pipelines_is_one_list_request(server):
    """Pipelines waiting on a manual job (or created, or running) do not change
    until their updated_at does: their details are not asked again either."""
    statuses = ["manual", "running", "created", "success", "failed", "canceled"]
    items = [
        {
            "id": 2000 + i,
            "iid": 500 + i,
            "status": statuses[i % len(statuses)],
            "ref": "main",
            "sha": SHA_B,
            "source": "push",
            "web_url": f"https://gitlab.example.com/acme/shop/-/pipelines/{2000 + i}",
            "created_at": "2025-11-28T09:05:07.200Z",
            "updated_at": "2025-11-28T09:05:50.185Z",
        }
        for i in range(30, 0, -1)
    ]
    server.add("GET", f"{API}/pipelines", Reply(200, items))
    for item in items:
        server.add("GET", f"{API}/pipelines/{item['id']}", Reply(200, item))
    server.add("GET", f"{API}/repository/commits/{SHA_B}", fixture("commit.json"))
    server.add("GET", f"{API}/deployments", fixture("deployments.json"))
    source = make_source(server, runs=30, environments=("production",))
    try:
        source.poll()
        first = len(server.requests)
        again = source.poll()
        later = [(r.method, r.path) for r in server.requests[first:]]
        # a pipeline moves on: its updated_at changes, and only it is asked again
        moved = dict(items[0], status="success", updated_at="2025-11-28T09:15:00.000Z")
        server.add("GET", f"{API}/pipelines", Reply(200, [moved, *items[1:]]))
        server.add("GET", f"{API}/pipelines/{moved['id']}", Reply(200, moved))
        before = len(server.requests)
        moved_on = source.poll()
        last = [(r.method, r.path) for r in server.requests[before:]]
    finally:
        source.close()
    assert first == 1 + 30 + 1 + 1  # the list, each pipeline once, the commit, deployments
    assert sorted(later) == [("GET", f"{API}/deployments"), ("GET", f"{API}/pipelines")]
    assert len(again.runs) == 30
    assert sorted(last) == sorted(
        [
            ("GET", f"{API}/deployments"),
            ("GET", f"{API}/pipelines"),
            ("GET", f"{API}/pipelines/{moved['id']}"),
        ]
    )
    assert moved_on.runs[0].status is RunStatus.SUCCESS


def test_first_poll_reads_commit_titles_in_one_listing(server):
    """Every cron `snapshot` is a first poll: 30 distinct commits cost one
    listing of the newest commits, not 30 requests (the one it lacks is asked)."""
    shas = [f"{i:040x}" for i in range(1, 31)]
    items = [
        {"id": 3000 + i, "status": "success", "ref": "main", "sha": sha, "updated_at": "x"}
        for i, sha in enumerate(shas)
    ]
    server.add("GET", f"{API}/pipelines", Reply(200, items))
    for item in items:
        server.add("GET", f"{API}/pipelines/{item['id']}", Reply(200, item))
    listing = [{"id": sha, "title": f"change {sha[-2:]} [b]x[/]"} for sha in shas[1:]]
    server.add("GET", f"{API}/repository/commits", Reply(200, listing))
    server.add("GET", f"{API}/repository/commits/{shas[0]}", fixture("commit.json", id=shas[0]))
    source = make_source(server, runs=30)
    try:
        snapshot = source.poll()
    finally:
        source.close()
    commits = [r for r in server.requests if "/repository/commits" in r.path]
    assert sorted(r.path for r in commits) == [
        f"{API}/repository/commits",
        f"{API}/repository/commits/{shas[0]}",
    ]
    assert len(server.requests) == 1 + 30 + 2
    titles = {r.sha: r.message for r in snapshot.runs}
    assert titles[shas[5]] == f"change {shas[5][-2:]} [b]x[/]"  # kept literally
    assert titles[shas[0]] == "Fix the [bold red]x[/] in checkout \x1b[2J"
