"""GitHubSource against a real HTTP server replaying GitHub-shaped answers.

The fixtures in tests/fixtures/github are shaped as GitHub documents each
endpoint (the `doc` key names the page). The server records every request, so
each test asserts what opsdash sent: method, path, query, headers and body.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devstack.replay import ReplayServer, Reply, Request, load_fixture
from opsdash.model import PipelineJob, PipelineRun, RunStatus
from opsdash.sources.base import SourceError
from opsdash.sources.ci import LOG_TAIL_BYTES
from opsdash.sources.github import GitHubConfig, GitHubSource
from opsdash.sources.http import HttpError, RateLimited

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"
TOKEN = "ghp_R3playT0kenNeverShown0123456789ab"
REPO = "/repos/acme/shop"
RUNS = f"{REPO}/actions/runs"
FIXTURES_NOW = datetime(2026, 3, 2, tzinfo=UTC)
HOSTILE_LINE = "Fix [bold red]x[/] checkout \x1b]52;c;cm0gLXJmIH4=\x07 and \x1b[2J screen"


def fixture(name: str) -> Reply:
    return load_fixture(FIXTURES / f"{name}.json")


def one_line(exc: BaseException) -> str:
    """The error as the user sees it: one line, never the token."""
    text = str(exc)
    assert isinstance(exc, SourceError), repr(exc)
    assert text and "\n" not in text and "Traceback" not in text
    assert TOKEN not in text
    return text


def api_headers_ok(request: Request) -> None:
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def a_run(run_id: str = "30433640", number: int = 411, pipeline: str = "CI") -> PipelineRun:
    return PipelineRun(
        source="github:shop",
        provider="github",
        project="acme/shop",
        pipeline=pipeline,
        id=run_id,
        status=RunStatus.FAILED,
        number=number,
    )


@pytest.fixture
def make_source(server):
    made: list[GitHubSource] = []

    def make(**overrides) -> GitHubSource:
        values = {
            "name": "shop",
            "url": server.url,
            "project": "acme/shop",
            "token": TOKEN,
            "runs": 5,
            "timeout": 5.0,
        }
        values.update(overrides)
        source = GitHubSource(GitHubConfig(**values))
        source.client.backoff = 0.001  # retries without real waiting
        source.clock = lambda: FIXTURES_NOW  # the fixtures' deployments are recent
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def serve_three_pages(server: ReplayServer) -> None:
    server.add("GET", RUNS, fixture("runs_page1"))
    server.add("GET", RUNS, fixture("runs_page2"), query={"page": "2"})
    server.add("GET", RUNS, fixture("runs_page3"), query={"page": "3"})


# --- reading runs ---------------------------------------------------------------------


def test_runs_across_pages_newest_first_and_mapped(server, make_source):
    serve_three_pages(server)
    source = make_source(deploy="deploy.yml", deploy_branch="main")
    snapshot = source.poll()

    calls = server.calls("GET", RUNS)
    assert [c.arg("page") for c in calls] == [None, "2"]  # 5 runs: page 3 is never asked for
    assert all(c.arg("per_page") == "5" for c in calls)
    assert calls[0].arg("branch") is None
    for call in calls:
        api_headers_ok(call)

    assert snapshot.source == "github:shop" and snapshot.provider == "github"
    assert [r.id for r in snapshot.runs] == [
        "30433642",
        "30433641",
        "30433640",
        "30433639",
        "30433638",
    ]
    running, deploy, timed_out, failed_deploy, cancelled = snapshot.runs
    assert running.status is RunStatus.RUNNING and running.vendor_status == "in_progress"
    assert running.pipeline == "CI" and running.project == "acme/shop"
    assert running.number == 412 and running.attempt == 1
    assert running.branch == "main" and running.event == "push" and running.actor == "octocat"
    assert running.sha == "009b8a3a9ccbb128af87f9b1c0f4c62e8a304f6d"
    assert running.message == HOSTILE_LINE  # kept as is; the UI renders it literally
    assert running.created == at("2026-03-01T10:05:00")
    assert running.started == at("2026-03-01T10:05:00") and running.finished is None
    assert running.created.tzinfo is not None
    assert running.url == "https://github.com/acme/shop/actions/runs/30433642"
    assert running.key == "github:shop/30433642"
    assert not running.is_deploy

    assert deploy.status is RunStatus.SUCCESS and deploy.vendor_status == "completed/success"
    assert deploy.is_deploy and deploy.pipeline == "Deploy" and deploy.event == "workflow_dispatch"
    assert deploy.started == at("2026-03-01T09:40:05") and deploy.finished == at(
        "2026-03-01T09:47:31"
    )
    assert deploy.duration_s() == 446.0

    assert timed_out.status is RunStatus.FAILED and timed_out.vendor_status == "completed/timed_out"
    assert timed_out.attempt == 2 and timed_out.branch == "feature/cache"
    assert failed_deploy.status is RunStatus.FAILED and failed_deploy.is_deploy
    assert cancelled.status is RunStatus.CANCELLED and cancelled.event == "pull_request"

    # Only the successful deploy run is a deployment.
    assert [d.id for d in snapshot.deployments] == ["run:30433641"]
    deployment = snapshot.deployments[0]
    assert deployment.source == "github:shop" and deployment.service == "acme/shop"
    assert deployment.environment == "production" and deployment.result == "success"
    assert deployment.version == "acb5820ced9479c074f688cc328bf03f341a511d"
    assert deployment.at == at("2026-03-01T09:47:31")
    assert deployment.url == deploy.url

    assert snapshot.quota == "4,986/5,000 left"  # from the last answer
    assert source.health_note() == "4,986/5,000 left"


@pytest.mark.parametrize("deploy", ["deploy.yml", ".github/workflows/deploy.yml", "161336"])
def test_deploy_workflow_by_file_name_path_or_id(server, make_source, deploy):
    server.add("GET", RUNS, fixture("workflow_runs_deploy"))
    snapshot = make_source(deploy=deploy).poll()
    assert all(r.is_deploy for r in snapshot.runs)
    # No deploy_branch: every successful run of the workflow is a deployment.
    assert [d.id for d in snapshot.deployments] == ["run:30433641", "run:30433635"]
    assert not any(r.is_deploy for r in make_source(deploy="ci.yml").poll().runs)


def test_all_pages_up_to_the_configured_number_of_runs(server, make_source):
    serve_three_pages(server)
    snapshot = make_source(runs=30).poll()
    assert [c.arg("page") for c in server.calls("GET", RUNS)] == [None, "2", "3"]
    assert server.calls("GET", RUNS)[0].arg("per_page") == "30"
    queued = snapshot.runs[-1]
    assert len(snapshot.runs) == 6
    assert queued.status is RunStatus.QUEUED and queued.vendor_status == "queued"
    assert queued.started is None and queued.finished is None
    assert queued.event == "schedule" and queued.pipeline == "Nightly"


def test_unchanged_poll_is_304s_with_the_same_runs(server, make_source):
    def conditional(name: str):
        answer = fixture(name)

        def reply(request: Request) -> Reply:
            if request.headers.get("if-none-match") == answer.headers["etag"]:
                return Reply(304, None, {"etag": answer.headers["etag"]})
            return answer

        return reply

    server.add("GET", RUNS, conditional("runs_page1"))
    server.add("GET", RUNS, conditional("runs_page2"), query={"page": "2"})
    source = make_source()
    first = source.poll()
    assert source.client.stats["not_modified"] == 0
    assert all("if-none-match" not in c.headers for c in server.calls("GET", RUNS))

    second = source.poll()
    again = server.calls("GET", RUNS)[2:]
    assert [c.arg("page") for c in again] == [None, "2"]
    assert again[0].headers["if-none-match"] == 'W/"7c1f0a6e0a3f4b3fa2d0c9e2b1a0f3e1"'
    assert again[1].headers["if-none-match"] == 'W/"2b9d3c4e5f6a7b8c9d0e1f2a3b4c5d6e"'
    assert source.client.stats["not_modified"] == 2
    assert second.runs == first.runs


def test_named_workflows_are_read_with_the_branch_filter(server, make_source):
    server.add("GET", f"{REPO}/actions/workflows/ci.yml/runs", fixture("workflow_runs_ci"))
    server.add("GET", f"{REPO}/actions/workflows/deploy.yml/runs", fixture("workflow_runs_deploy"))
    source = make_source(
        jobs=("ci.yml",), branch="feature/cache", deploy="deploy.yml", deploy_branch="main", runs=4
    )
    snapshot = source.poll()

    # The deploy workflow is always read, on its own branch.
    for path, branch in (("ci.yml", "feature/cache"), ("deploy.yml", "main")):
        (call,) = server.calls("GET", f"{REPO}/actions/workflows/{path}/runs")
        assert call.arg("branch") == branch and call.arg("per_page") == "4"
        api_headers_ok(call)
    assert server.calls("GET", RUNS) == []
    # Merged, newest first, capped at 4.
    assert [r.id for r in snapshot.runs] == ["30433642", "30433641", "30433640", "30433639"]
    # 30433635, a successful deploy run of release/2.3 (not deploy_branch), is no deployment.
    assert [d.id for d in snapshot.deployments] == ["run:30433641"]


def test_environments_deployments_and_their_latest_status(server, make_source):
    server.add("GET", RUNS, fixture("workflow_runs_deploy"))
    server.add("GET", f"{REPO}/deployments", fixture("deployments"))
    for deployment, state in (
        (1400003, "success"),
        (1400002, "failure"),
        (1400001, "in_progress"),
    ):
        server.add(
            "GET",
            f"{REPO}/deployments/{deployment}/statuses",
            fixture(f"deployment_statuses_{state}"),
        )
    source = make_source(
        deploy="deploy.yml",
        deploy_branch="main",
        environments=("production",),
        service="shop",
    )
    snapshot = source.poll()

    (listing,) = server.calls("GET", f"{REPO}/deployments")
    assert listing.arg("environment") == "production" and listing.arg("per_page") == "100"
    api_headers_ok(listing)
    for deployment in (1400003, 1400002, 1400001):
        (call,) = server.calls("GET", f"{REPO}/deployments/{deployment}/statuses")
        assert call.arg("per_page") == "1"

    by_id = {d.id: d for d in snapshot.deployments}
    # The deploy run on main, and the settled GitHub deployments; in_progress comes later.
    assert set(by_id) == {"run:30433641", "deployment:1400003", "deployment:1400002"}
    assert by_id["run:30433641"].environment == "production"
    success = by_id["deployment:1400003"]
    assert success.result == "success" and success.environment == "production"
    assert success.service == "shop" and success.source == "github:shop"
    assert success.version == "acb5820ced9479c074f688cc328bf03f341a511d"
    assert success.at == at("2026-03-01T09:47:30")
    assert success.url == "https://github.com/acme/shop/actions/runs/30433641/job/399444500"
    assert by_id["deployment:1400002"].result == "failure"


def test_deployment_without_any_status_is_left_for_later(server, make_source):
    server.add("GET", RUNS, fixture("runs_page3"))
    server.add("GET", f"{REPO}/deployments", fixture("deployments"))
    for deployment in (1400003, 1400002, 1400001):
        server.add("GET", f"{REPO}/deployments/{deployment}/statuses", Reply(200, []))
    snapshot = make_source(environments=("staging",)).poll()
    assert snapshot.deployments == ()
    assert server.calls("GET", f"{REPO}/deployments")[0].arg("environment") == "staging"


# --- limits and failures ----------------------------------------------------------------


def test_primary_rate_limit_blocks_the_next_poll_without_a_request(server, make_source):
    limited = fixture("rate_limited")
    reset = int(time.time()) + 3600
    limited.headers["x-ratelimit-reset"] = str(reset)
    server.add("GET", RUNS, limited)
    source = make_source()

    with pytest.raises(RateLimited) as err:
        source.poll()
    text = one_line(err.value)
    assert text.startswith(f"GET {RUNS}: rate limited (HTTP 403), waiting until ")
    assert err.value.until == pytest.approx(reset, abs=2)
    assert source.health_note().startswith("0/5,000 left, resets ")

    with pytest.raises(RateLimited) as again:
        source.poll()
    assert "rate limited, waiting until" in one_line(again.value)
    assert len(server.calls("GET", RUNS)) == 1  # the second poll never left


def test_secondary_rate_limit_retry_after(server, make_source):
    server.add("GET", RUNS, fixture("secondary_rate_limited"))
    source = make_source()
    with pytest.raises(RateLimited) as err:
        source.poll()
    assert "rate limited (HTTP 429)" in one_line(err.value)
    assert err.value.until == pytest.approx(time.time() + 120, abs=5)
    with pytest.raises(HttpError):
        source.poll()
    with pytest.raises(HttpError):
        source.jobs(a_run())  # every call of this source waits, not only the runs
    assert len(server.requests) == 1


def test_server_error_then_success_is_retried(server, make_source):
    server.add("GET", RUNS, Reply(500, {"message": "Server Error"}), fixture("runs_page3"))
    source = make_source()
    snapshot = source.poll()
    assert [r.id for r in snapshot.runs] == ["30433637"]
    assert len(server.calls("GET", RUNS)) == 2
    assert source.client.stats["retries"] == 1


def test_persistent_server_error_is_one_line(server, make_source):
    server.add("GET", RUNS, Reply(502, "<html>\n<body>Bad gateway</body>\n</html>"))
    with pytest.raises(HttpError) as err:
        make_source().poll()
    assert one_line(err.value).startswith(f"GET {RUNS}: HTTP 502 Bad Gateway")
    assert len(server.calls("GET", RUNS)) == 3  # first try and two retries


def test_timeout_is_a_clear_error(server, make_source):
    server.add("GET", RUNS, Reply(200, {"total_count": 0, "workflow_runs": []}, delay=1.0))
    source = make_source(timeout=0.2)
    with pytest.raises(HttpError) as err:
        source.poll()
    assert one_line(err.value) == f"GET {RUNS}: no answer within 0.2s"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply(
                200, "<html><body>Sign in to GitHub</body></html>", {"Content-Type": "text/html"}
            ),
            "malformed response: not JSON (text/html, 43 bytes)",
        ),
        (Reply(200, '{"workflow_runs": [', raw=True), "malformed response: not JSON"),
        (Reply(200, {"runs": []}), "unexpected response shape (KeyError: 'workflow_runs')"),
        (Reply(200, []), "unexpected response shape (TypeError:"),
        (Reply(200, {"workflow_runs": {"id": 1}}), "unexpected response shape (TypeError"),
        (
            Reply(200, {"workflow_runs": [{"id": 1}]}),
            "unexpected response shape (KeyError: 'status')",
        ),
        (Reply(200, {"workflow_runs": ["run"]}), "unexpected response shape (TypeError"),
        (
            Reply(
                200, {"workflow_runs": [{"id": 1, "status": "queued", "created_at": "yesterday"}]}
            ),
            "unexpected response shape (ValueError: bad timestamp 'yesterday')",
        ),
    ],
    ids=[
        "html",
        "truncated-json",
        "no-runs-key",
        "list",
        "runs-not-list",
        "no-status",
        "run-not-object",
        "bad-time",
    ],
)
def test_malformed_answers_are_one_line_errors(server, make_source, reply, expected):
    server.add("GET", RUNS, reply)
    with pytest.raises(HttpError) as err:
        make_source().poll()
    text = one_line(err.value)
    assert text.startswith(f"GET {RUNS}: ")
    assert expected in text


def test_the_token_never_appears_in_errors(server, make_source):
    server.add(
        "GET",
        RUNS,
        Reply(
            401,
            {
                "message": f"Bad credentials: {TOKEN}",
                "documentation_url": "https://docs.github.com/rest",
            },
        ),
    )
    with pytest.raises(HttpError) as err:
        make_source().poll()
    assert one_line(err.value) == f"GET {RUNS}: HTTP 401 Unauthorized: Bad credentials: ***"
    bad_time = {"id": 1, "status": "queued", "created_at": TOKEN}
    server.add("GET", RUNS, Reply(200, {"workflow_runs": [bad_time]}))
    with pytest.raises(HttpError) as shape:
        make_source().poll()
    assert "bad timestamp '***'" in one_line(shape.value)


def test_bad_credentials(server, make_source):
    server.add("GET", RUNS, fixture("bad_credentials"))
    with pytest.raises(HttpError) as err:
        make_source().poll()
    assert one_line(err.value) == f"GET {RUNS}: HTTP 401 Unauthorized: Bad credentials"
    assert err.value.status == 401
    assert len(server.calls("GET", RUNS)) == 1  # not retried


def test_without_a_token_no_authorization_is_sent(server, make_source):
    server.add("GET", RUNS, fixture("runs_page3"))
    make_source(token="").poll()
    (call,) = server.calls("GET", RUNS)
    assert "authorization" not in call.headers
    assert call.headers["x-github-api-version"] == "2022-11-28"


def test_a_project_that_is_not_owner_repo_is_refused(server, make_source):
    with pytest.raises(SourceError, match='project must be "owner/repo"'):
        make_source(project="acme").poll()
    assert server.requests == []


# --- jobs and logs ----------------------------------------------------------------------------


def test_jobs_with_steps(server, make_source):
    path = f"{RUNS}/30433640/jobs"
    server.add("GET", path, fixture("jobs"))
    jobs = make_source().jobs(a_run())

    (call,) = server.calls("GET", path)
    assert call.arg("filter") == "latest"
    api_headers_ok(call)
    build, test, lint = jobs
    assert build.id == "399444496"
    assert build.name == "build [bold red]x[/] \x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07"  # kept verbatim
    assert build.status is RunStatus.SUCCESS and build.vendor_status == "completed/success"
    assert build.started == at("2026-03-01T09:45:00") and build.finished == at(
        "2026-03-01T09:47:10"
    )
    assert build.url == "https://github.com/acme/shop/actions/runs/30433640/job/399444496"
    assert [s.name for s in build.steps] == [
        "Set up job",
        "Run actions/checkout@v4",
        "Build [link=https://evil.example]wheel[/link]",
        "Complete job",
    ]
    assert [s.number for s in build.steps] == [1, 2, 3, 4]
    assert build.steps[2].started == at("2026-03-01T09:45:05")

    assert test.status is RunStatus.FAILED and test.vendor_status == "completed/timed_out"
    pytest_step, _setup, upload = test.steps[1], test.steps[0], test.steps[2]
    assert pytest_step.status is RunStatus.CANCELLED
    assert upload.status is RunStatus.SKIPPED and upload.started is None
    assert lint.status is RunStatus.QUEUED and lint.started is None and lint.steps == ()


def test_jobs_of_the_wrong_shape_are_one_line(server, make_source):
    path = f"{RUNS}/30433640/jobs"
    server.add("GET", path, Reply(200, {"jobs": [{"id": 1, "name": "x"}]}))
    with pytest.raises(HttpError) as err:
        make_source().jobs(a_run())
    assert one_line(err.value) == f"GET {path}: unexpected response shape (KeyError: 'status')"


def test_log_tail_follows_the_redirect_without_the_token(server, make_source):
    logs = f"{REPO}/actions/jobs/399444497/logs"
    blob = "/_blob/acme/shop/jobs/399444497/logs.txt"
    lines = [
        f"2026-03-01T09:47:{i % 60:02d}.0000000Z line {i} [red]not markup[/]" for i in range(4000)
    ]
    lines.append(
        "2026-03-01T10:29:58.0000000Z \x1b[31m##[error]The job has exceeded 40 minutes\x1b[0m"
    )
    text = "\n".join(lines) + "\n"
    assert len(text) > LOG_TAIL_BYTES
    server.add("GET", logs, fixture("job_logs_redirect"))
    server.add("GET", blob, Reply(200, text))
    job = PipelineJob(id="399444497", name="test (3.12)", status=RunStatus.FAILED)

    log = make_source().log_tail(a_run(), job)

    (api,) = server.calls("GET", logs)
    api_headers_ok(api)
    (download,) = server.calls("GET", blob)
    assert "authorization" not in download.headers
    assert TOKEN not in str(download.headers)
    assert download.arg("sig") == "Zm9vYmFy"  # the pre-signed query arrives intact
    assert log.endswith("\x1b[31m##[error]The job has exceeded 40 minutes\x1b[0m\n")
    assert len(log) <= LOG_TAIL_BYTES
    assert log.startswith("2026-03-01T")  # cut at a line start
    assert "[red]not markup[/]" in log


def test_log_answered_directly(server, make_source):
    logs = f"{REPO}/actions/jobs/399444497/logs"
    server.add("GET", logs, Reply(200, "step 1\nstep 2\n"))
    job = PipelineJob(id="399444497", name="test", status=RunStatus.FAILED)
    assert make_source().log_tail(a_run(), job) == "step 1\nstep 2\n"


def test_log_download_failure_is_one_line_without_the_signature(server, make_source):
    logs = f"{REPO}/actions/jobs/399444497/logs"
    server.add("GET", logs, fixture("job_logs_redirect"))
    server.add(
        "GET", "/_blob/acme/shop/jobs/399444497/logs.txt", Reply(403, "AuthenticationFailed")
    )
    job = PipelineJob(id="399444497", name="test", status=RunStatus.FAILED)
    with pytest.raises(HttpError) as err:
        make_source().log_tail(a_run(), job)
    text = one_line(err.value)
    assert text == "GET /_blob/acme/shop/jobs/399444497/logs.txt: HTTP 403 Forbidden"
    assert "sig=" not in text


def test_expired_log_is_one_line(server, make_source):
    logs = f"{REPO}/actions/jobs/399444497/logs"
    server.add("GET", logs, Reply(410, {"message": "Gone"}))
    job = PipelineJob(id="399444497", name="test", status=RunStatus.FAILED)
    with pytest.raises(HttpError) as err:
        make_source().log_tail(a_run(), job)
    assert one_line(err.value) == f"GET {logs}: HTTP 410 Gone: Gone"


# --- acting --------------------------------------------------------------------------------


def test_rerun_whole_run(server, make_source):
    path = f"{RUNS}/30433640/rerun"
    server.add("POST", path, fixture("rerun"))
    source = make_source()
    assert source.can_rerun_failed
    message = source.rerun(a_run(), failed_only=False)
    (call,) = server.calls("POST", path)
    api_headers_ok(call)
    assert call.body == b""
    assert message == "CI #411 queued again"
    assert server.calls("POST", f"{RUNS}/30433640/rerun-failed-jobs") == []


def test_rerun_failed_jobs(server, make_source):
    path = f"{RUNS}/30433640/rerun-failed-jobs"
    server.add("POST", path, fixture("rerun_failed_jobs"))
    message = make_source().rerun(a_run(), failed_only=True)
    (call,) = server.calls("POST", path)
    api_headers_ok(call)
    assert message == "failed jobs of CI #411 queued again"
    assert server.calls("POST", f"{RUNS}/30433640/rerun") == []


def test_rerun_refused_is_one_line(server, make_source):
    path = f"{RUNS}/30433640/rerun"
    server.add(
        "POST",
        path,
        Reply(403, {"message": "This workflow is already running", "status": "403"}),
    )
    with pytest.raises(HttpError) as err:
        make_source().rerun(a_run())
    assert (
        one_line(err.value) == f"POST {path}: HTTP 403 Forbidden: This workflow is already running"
    )
    assert len(server.calls("POST", path)) == 1


def test_cancel(server, make_source):
    path = f"{RUNS}/30433642/cancel"
    server.add("POST", path, fixture("cancel"))
    message = make_source().cancel(a_run("30433642", 412))
    (call,) = server.calls("POST", path)
    api_headers_ok(call)
    assert message == "cancelling CI #412"


def test_cancel_of_a_finished_run(server, make_source):
    path = f"{RUNS}/30433640/cancel"
    server.add("POST", path, fixture("cancel_conflict"))
    with pytest.raises(HttpError) as err:
        make_source().cancel(a_run())
    assert one_line(err.value) == "run #411 is already finished"
    assert err.value.status == 409
    assert len(server.calls("POST", path)) == 1


def test_deploy_dispatches_the_workflow_with_inputs(server, make_source):
    path = f"{REPO}/actions/workflows/deploy.yml/dispatches"
    server.add("POST", path, fixture("dispatch"))
    source = make_source(
        deploy="deploy.yml",
        deploy_branch="main",
        deploy_inputs=(("environment", "production"), ("version", "2.4.0")),
    )
    assert source.deploy_target == "workflow deploy.yml on acme/shop"
    assert source.default_ref == "main"
    message = source.deploy("release/2.4")
    (call,) = server.calls("POST", path)
    api_headers_ok(call)
    assert call.headers["content-type"] == "application/json"
    assert call.json == {
        "ref": "release/2.4",
        "inputs": {"environment": "production", "version": "2.4.0"},
    }
    assert message == "workflow deploy.yml dispatched on release/2.4"


def test_deploy_without_inputs_sends_only_the_ref(server, make_source):
    path = f"{REPO}/actions/workflows/deploy.yml/dispatches"
    server.add("POST", path, fixture("dispatch"))
    make_source(deploy="deploy.yml").deploy("main")
    (call,) = server.calls("POST", path)
    assert call.json == {"ref": "main"}


def test_deploy_with_an_unknown_input_is_one_line(server, make_source):
    path = f"{REPO}/actions/workflows/deploy.yml/dispatches"
    server.add(
        "POST",
        path,
        Reply(422, {"message": 'Unexpected inputs provided: ["colour"]', "status": "422"}),
    )
    source = make_source(deploy="deploy.yml", deploy_inputs=(("colour", "blue"),))
    with pytest.raises(HttpError) as err:
        source.deploy("main")
    text = one_line(err.value)
    assert (
        text
        == f'POST {path}: HTTP 422 Unprocessable Entity: Unexpected inputs provided: ["colour"]'
    )


def test_no_deploy_configured(server, make_source):
    source = make_source()
    assert source.deploy_target == ""
    with pytest.raises(SourceError, match="no deploy is configured for github:shop"):
        source.deploy("main")
    assert server.requests == []


def test_read_only_source_refuses_to_act(server, make_source):
    source = make_source(read_only=True, deploy="deploy.yml")
    for act in (
        lambda: source.rerun(a_run()),
        lambda: source.rerun(a_run(), failed_only=True),
        lambda: source.cancel(a_run()),
        lambda: source.deploy("main"),
    ):
        with pytest.raises(SourceError, match="github:shop is read-only"):
            act()
    assert server.requests == []


def serve_deployments(server: ReplayServer, ids: list[int], per_page: int = 2) -> None:
    """Deployments `ids` (newest first) a few a page with Link next and ETags;
    each with one success status."""
    template = fixture("deployments").body[0]

    def listing(request: Request) -> Reply:
        number = int(request.arg("page") or 1)
        items = ids[(number - 1) * per_page : number * per_page]
        etag = f'W/"{number}-{items}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(304, None, {"etag": etag})
        headers = {"etag": etag}
        if number * per_page < len(ids):
            headers["link"] = (
                f'<{{url}}{REPO}/deployments?environment=production&page={number + 1}>; rel="next"'
            )
        return Reply(200, [{**template, "id": i} for i in items], headers)

    server.add("GET", f"{REPO}/deployments", listing)
    for i in ids:
        server.add(
            "GET", f"{REPO}/deployments/{i}/statuses", fixture("deployment_statuses_success")
        )


def test_deployments_are_read_across_pages_then_incrementally(server, make_source):
    server.add("GET", RUNS, fixture("workflow_runs_deploy"))
    serve_deployments(server, [105, 104, 103, 102, 101])
    source = make_source(environments=("production",))
    first = source.poll()
    assert sorted(d.id for d in first.deployments) == [f"deployment:{i}" for i in range(101, 106)]
    pages = [r.arg("page") for r in server.calls("GET", f"{REPO}/deployments")]
    assert pages == [None, "2", "3"]  # Link rel=next followed to the end

    before = len(server.requests)
    again = source.poll()  # nothing changed: page 1 is a 304 of known deployments
    later = [(r.path, r.arg("page")) for r in server.requests[before:]]
    assert sorted(later) == [(RUNS, None), (f"{REPO}/deployments", None)]
    assert again.deployments == first.deployments

    serve_deployments(server, [106, 105, 104, 103, 102, 101])  # one new deployment
    before = len(server.requests)
    newer = source.poll()
    later = [(r.path, r.arg("page")) for r in server.requests[before:] if r.path != RUNS]
    # page 1 holds the new one, page 2 only known ones: paging stops there
    assert later == [
        (f"{REPO}/deployments", None),
        (f"{REPO}/deployments", "2"),
        (f"{REPO}/deployments/106/statuses", None),
    ]
    assert len(newer.deployments) == 6


def test_deployments_older_than_the_longest_window_are_not_read(server, make_source):
    server.add("GET", RUNS, fixture("workflow_runs_deploy"))
    serve_deployments(server, [103, 102, 101])
    source = make_source(environments=("production",))
    source.clock = lambda: FIXTURES_NOW + timedelta(days=91)  # all three are 91 days old
    assert source.poll().deployments == ()
    assert len(server.calls("GET", f"{REPO}/deployments")) == 1  # no page after the first
    assert not [r for r in server.requests if r.path.endswith("/statuses")]
