"""JenkinsSource against a real HTTP server replaying Jenkins' documented responses.

Fixtures in tests/fixtures/jenkins are shaped as Jenkins' remote access API
(api/json with tree=, queue items, crumb issuer) and the Pipeline Stage View
plugin (wfapi/describe) return them; the replay server records every request,
so the assertions are on what opsdash actually sent.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devstack.replay import ReplayServer, Reply, load_fixture
from opsdash.model import RunStatus
from opsdash.sources.base import SourceError
from opsdash.sources.jenkins import JenkinsConfig, JenkinsSource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jenkins"
TOKEN = "11c0ffee5ecret7a9d2b3c4d5e6f7a8b9c"
PASSWORD = "hunter2-Jenkins-pass"
APP = "/job/shop/job/app"
DEPLOY = "/job/shop/job/deploy"
SHA = "4f2b7c1d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
# The exact tree= opsdash sends for runs = 10 (Jenkins filters the fields server-side).
TREE = (
    "name,fullName,url,builds[number,url,result,building,inProgress,timestamp,duration,"
    "estimatedDuration,queueId,displayName,description,actions[causes[shortDescription,"
    "userId,userName],lastBuiltRevision[SHA1,branch[name]]],changeSets[items[msg,commitId]]]"
    "{0,10}"
)
T0 = datetime.fromtimestamp(1764320000).astimezone()


def fixture(file: str, /, **replace) -> Reply:
    return load_fixture(FIXTURES / file, **replace)


def make_source(server: ReplayServer, **overrides) -> JenkinsSource:
    values = {
        "name": "ci",
        "url": server.url,
        "jobs": ("shop/app",),
        "user": "alice",
        "token": TOKEN,
        "deploy": "shop/deploy",
        "deploy_branch": "main",
        "runs": 10,
        "timeout": 5.0,
    }
    values.update(overrides)
    source = JenkinsSource(JenkinsConfig(**values))
    source.queue_interval = 0.01  # the real loop, without Jenkins' 5 s quiet period
    source.client.backoff = 0.01
    return source


def route_jobs(server: ReplayServer) -> None:
    server.add("GET", f"{APP}/api/json", fixture("job_app.json"))
    server.add("GET", f"{DEPLOY}/api/json", fixture("job_deploy.json"))


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def assert_clean(message: str) -> None:
    assert message and "\n" not in message
    assert TOKEN not in message and PASSWORD not in message


def poll_runs(source: JenkinsSource) -> dict[str, object]:
    return {run.id: run for run in source.poll().runs}


# --- reading ---------------------------------------------------------------------


def test_poll_sends_the_tree_and_maps_builds(server):
    route_jobs(server)
    source = make_source(server)
    try:
        snapshot = source.poll()
    finally:
        source.close()

    for path in (APP, DEPLOY):
        (call,) = server.calls("GET", f"{path}/api/json")
        assert call.query == {"tree": [TREE]}
        assert call.headers["authorization"] == basic("alice", TOKEN)

    runs = {run.id: run for run in snapshot.runs}
    assert list(runs) == [
        "shop/app#45",
        "shop/deploy#8",
        "shop/app#44",
        "shop/deploy#7",
        "shop/app#43",
        "shop/app#42",
        "shop/app#41",
    ]  # newest start first, across jobs
    running = runs["shop/app#45"]
    assert running.status is RunStatus.RUNNING and running.vendor_status == "building"
    assert running.finished is None
    assert running.branch == "main" and running.sha == "9" * 40
    assert running.started == T0 + timedelta(minutes=10)
    assert running.pipeline == "shop/app" and running.number == 45
    assert running.url == "https://jenkins.example.com/job/shop/job/app/45/"

    unstable = runs["shop/app#44"]
    assert unstable.status is RunStatus.FAILED and unstable.vendor_status == "UNSTABLE"
    assert unstable.sha == SHA and unstable.branch == "main"
    assert unstable.message == "Fix the [bold red]x[/] in checkout \x1b[2J"  # kept as-is
    assert unstable.event == "schedule"
    assert unstable.finished == unstable.started + timedelta(seconds=185)

    aborted = runs["shop/app#43"]
    assert aborted.status is RunStatus.CANCELLED and aborted.vendor_status == "ABORTED"
    assert aborted.actor == "Alice Admin" and aborted.event == "manual"
    assert aborted.branch == "feature/cart"
    assert aborted.message == "aborted by hand"  # no changes: the description

    assert runs["shop/app#42"].status is RunStatus.SUCCESS
    assert runs["shop/app#42"].message == "Add the [link=https://evil.example]cart[/link]"
    assert runs["shop/app#41"].status is RunStatus.FAILED
    assert runs["shop/app#41"].message == "Started by an SCM change"

    assert runs["shop/deploy#7"].is_deploy
    assert not runs["shop/deploy#8"].is_deploy  # no revision, so not on the deploy branch
    assert not runs["shop/app#42"].is_deploy
    (deployment,) = snapshot.deployments
    assert deployment.id == "build:shop/deploy#7"
    assert deployment.version == SHA
    assert deployment.at == T0 + timedelta(seconds=245)
    assert deployment.environment == "production"
    assert deployment.service == "ci"  # no service or project configured: the name
    assert snapshot.quota == "" and source.health_note() == ""


def test_runs_are_cut_to_the_newest_configured_number(server):
    route_jobs(server)
    source = make_source(server, runs=3, deploy="")
    try:
        runs = source.poll().runs
    finally:
        source.close()
    assert [r.id for r in runs] == ["shop/app#45", "shop/app#44", "shop/app#43"]
    (call,) = server.calls("GET")
    assert call.path == f"{APP}/api/json"  # no deploy job configured: not fetched
    assert call.arg("tree").endswith("]{0,3}")


def test_stages_from_stage_view_else_the_build_itself(server):
    route_jobs(server)
    server.add("GET", f"{APP}/44/wfapi/describe", fixture("wfapi_describe.json"))
    server.add("GET", f"{DEPLOY}/7/wfapi/describe", Reply(404, "<html>Not Found</html>"))
    source = make_source(server)
    try:
        runs = poll_runs(source)
        stages = source.jobs(runs["shop/app#44"])
        fallback = source.jobs(runs["shop/deploy#7"])
    finally:
        source.close()
    assert [s.name for s in stages] == ["Build", "Test [bold]unit[/bold] \x1b[2J", "Deploy"]
    assert [s.status for s in stages] == [RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.SKIPPED]
    assert [s.vendor_status for s in stages] == ["SUCCESS", "UNSTABLE", "NOT_EXECUTED"]
    assert stages[0].id == "6" and stages[0].duration_s() == 60.0
    (only,) = fallback
    assert only.name == "shop/deploy" and only.status is RunStatus.SUCCESS


def test_console_tail_is_the_text_as_sent(server):
    route_jobs(server)
    server.add("GET", f"{APP}/44/consoleText", fixture("console_text.json"))
    source = make_source(server)
    try:
        run = poll_runs(source)["shop/app#44"]
        log = source.log_tail(run, source.jobs(run)[0])
    finally:
        source.close()
    assert log.startswith("Started by an SCM change\n")
    assert "[bold red]not markup[/] \x1b[2J\n" in log
    assert log.endswith("Finished: UNSTABLE\n")
    (call,) = server.calls("GET", f"{APP}/44/consoleText")
    assert call.headers["authorization"] == basic("alice", TOKEN)


# --- acting ----------------------------------------------------------------------


def test_rerun_with_the_builds_parameters_follows_the_queue_item(server):
    route_jobs(server)
    server.add("GET", f"{APP}/44/api/json", fixture("build_parameters.json"))
    server.add(
        "POST",
        f"{APP}/buildWithParameters",
        Reply(201, None, {"Location": "{url}/queue/item/1234/"}),
    )
    server.add(
        "GET",
        "/queue/item/1234/api/json",
        fixture("queue_item_waiting.json"),
        fixture("queue_item_started.json"),
    )
    source = make_source(server)
    try:
        line = source.rerun(poll_runs(source)["shop/app#44"])
    finally:
        source.close()
    assert line == "build #46 of shop/app started"
    (params,) = server.calls("GET", f"{APP}/44/api/json")
    assert params.arg("tree") == "actions[parameters[name,value]]"
    (post,) = server.calls("POST", f"{APP}/buildWithParameters")
    assert post.form == {"BRANCH": ["main"], "DRY_RUN": ["false"]}  # the password is not exported
    assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert post.headers["authorization"] == basic("alice", TOKEN)
    assert "jenkins-crumb" not in post.headers  # an API token needs no crumb
    assert len(server.calls("GET", "/queue/item/1234/api/json")) == 2


def test_rerun_without_parameters_posts_build_and_reports_the_queue(server):
    route_jobs(server)
    server.add("GET", f"{APP}/42/api/json", Reply(200, {"_class": "x", "actions": [{}, {}]}))
    server.add("POST", f"{APP}/build", Reply(201, None, {"Location": "{url}/queue/item/77/"}))
    server.add("GET", "/queue/item/77/api/json", fixture("queue_item_waiting.json", id=77))
    source = make_source(server)
    try:
        line = source.rerun(poll_runs(source)["shop/app#42"])
    finally:
        source.close()
    assert line == "build of shop/app queued (item 77: In the quiet period. Expires in 4.9 sec)"
    (post,) = server.calls("POST", f"{APP}/build")
    assert post.body == b""
    assert len(server.calls("GET", "/queue/item/77/api/json")) == source.queue_tries


def test_deploy_posts_build_with_parameters_form(server):
    server.add(
        "POST",
        f"{DEPLOY}/buildWithParameters",
        Reply(201, None, {"Location": "{url}/queue/item/88/"}),
    )
    server.add(
        "GET",
        "/queue/item/88/api/json",
        fixture(
            "queue_item_started.json",
            id=88,
            executable={"number": 9, "url": "https://jenkins.example.com/job/shop/job/deploy/9/"},
        ),
    )
    source = make_source(server, deploy_inputs=(("TARGET", "prod"),), ref_parameter="REF")
    try:
        assert source.deploy_target == f"job shop/deploy on {server.url}"
        line = source.deploy("v1.2.3")
    finally:
        source.close()
    assert line == "build #9 of shop/deploy started"
    (post,) = server.calls("POST", f"{DEPLOY}/buildWithParameters")
    assert post.form == {"TARGET": ["prod"], "REF": ["v1.2.3"]}
    assert post.query == {}


def test_deploy_without_parameters_posts_build(server):
    server.add("POST", f"{DEPLOY}/build", Reply(201, None, {"Location": "{url}/queue/item/5/"}))
    server.add("GET", "/queue/item/5/api/json", Reply(404, "<html>gone</html>"))
    source = make_source(server)
    try:
        line = source.deploy("main")
    finally:
        source.close()
    assert line == "build of shop/deploy queued (item 5)"
    assert server.calls("POST", f"{DEPLOY}/build")[0].body == b""


def test_cancel_stops_a_running_build_only(server):
    route_jobs(server)
    server.add("POST", f"{APP}/45/stop", Reply(302, None, {"Location": "{url}/job/shop/job/app/"}))
    source = make_source(server)
    try:
        runs = poll_runs(source)
        line = source.cancel(runs["shop/app#45"])
        with pytest.raises(SourceError, match="already finished"):
            source.cancel(runs["shop/app#42"])
    finally:
        source.close()
    assert line == "stop of shop/app #45 requested"
    (stop,) = server.calls("POST", f"{APP}/45/stop")
    assert stop.headers["authorization"] == basic("alice", TOKEN)
    assert len(server.calls("POST")) == 1


def test_missing_crumb_is_fetched_once_and_the_post_repeated(server):
    route_jobs(server)
    server.add(
        "POST",
        f"{APP}/45/stop",
        Reply(
            403,
            "<html><body><h2>HTTP ERROR 403 No valid crumb was included in the request</h2>"
            "</body></html>",
            {"Content-Type": "text/html;charset=utf-8"},
        ),
        Reply(302, None, {"Location": "{url}/job/shop/job/app/45/"}),
    )
    server.add("GET", "/crumbIssuer/api/json", fixture("crumb.json"))
    source = make_source(server, token="", password=PASSWORD)
    try:
        runs = poll_runs(source)
        line = source.cancel(runs["shop/app#45"])
    finally:
        source.close()
    assert line == "stop of shop/app #45 requested"
    first, second = server.calls("POST", f"{APP}/45/stop")
    assert "jenkins-crumb" not in first.headers
    crumb = fixture("crumb.json").body["crumb"]
    assert second.headers["jenkins-crumb"] == crumb
    # The crumb is bound to the session the issuer started.
    assert "JSESSIONID.4f1b2c3d=node01abcdef.node0" in second.headers.get("cookie", "")
    assert second.headers["authorization"] == basic("alice", PASSWORD)
    assert len(server.calls("GET", "/crumbIssuer/api/json")) == 1


def test_forbidden_without_crumb_trouble_is_one_clear_line(server):
    route_jobs(server)
    server.add(
        "POST",
        f"{APP}/45/stop",
        Reply(
            403,
            f"<html><body>alice is missing the Job/Cancel permission {TOKEN}</body></html>",
            {"Content-Type": "text/html"},
        ),
    )
    source = make_source(server)
    try:
        run = poll_runs(source)["shop/app#45"]
        with pytest.raises(SourceError) as caught:
            source.cancel(run)
    finally:
        source.close()
    message = str(caught.value)
    assert message.startswith(f"POST {APP}/45/stop: HTTP 403 Forbidden: ")
    assert "missing the Job/Cancel permission" in message and "<" not in message
    assert_clean(message)
    assert len(server.calls("POST")) == 1 and not server.calls("GET", "/crumbIssuer/api/json")


# --- failures --------------------------------------------------------------------


def test_server_error_is_retried_then_succeeds(server):
    route_jobs(server)
    server.add(
        "GET",
        f"{APP}/api/json",
        Reply(500, "<html>Oops</html>", {"Content-Type": "text/html"}),
        fixture("job_app.json"),
    )
    source = make_source(server)
    try:
        runs = poll_runs(source)
    finally:
        source.close()
    assert "shop/app#44" in runs
    assert len(server.calls("GET", f"{APP}/api/json")) == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply(200, "<html>Dashboard [Jenkins]</html>", {"Content-Type": "text/html"}),
            f"GET {APP}/api/json: malformed response: not JSON (text/html",
        ),
        (Reply(200, [{"builds": []}]), "unexpected response shape"),
        (Reply(200, {"name": "app", "builds": {"number": 1}}), "unexpected response shape"),
    ],
)
def test_malformed_bodies_are_one_line_errors(server, reply, expected):
    route_jobs(server)
    server.add("GET", f"{APP}/api/json", reply)
    source = make_source(server)
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    assert expected in str(caught.value)
    assert_clean(str(caught.value))


def test_a_folder_instead_of_a_job_says_so(server):
    route_jobs(server)
    server.add(
        "GET",
        f"{APP}/api/json",
        Reply(200, {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "app"}),
    )
    source = make_source(server)
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    assert str(caught.value) == (
        "jenkins:ci: shop/app has no builds (Folder); for a folder or multibranch project,"
        " configure its jobs, e.g. shop/app/main"
    )


def test_bad_credentials_name_the_request(server):
    route_jobs(server)
    server.add("GET", f"{APP}/api/json", Reply(401, f"Invalid password/token for user: {TOKEN}"))
    source = make_source(server)
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    message = str(caught.value)
    assert message.startswith(f"GET {APP}/api/json: HTTP 401 Unauthorized")
    assert "***" in message
    assert_clean(message)


def test_read_only_refuses_without_a_request(server):
    route_jobs(server)
    source = make_source(server, read_only=True)
    try:
        run = poll_runs(source)["shop/app#45"]
        for act in (
            lambda: source.cancel(run),
            lambda: source.rerun(run),
            lambda: source.deploy("x"),
        ):
            with pytest.raises(SourceError, match="read-only"):
                act()
    finally:
        source.close()
    assert not server.calls("POST")
