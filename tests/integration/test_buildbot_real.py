"""opsdash's Buildbot source against a real Buildbot master and worker.

The harness (devstack/buildbot_server.py) starts both on free 127.0.0.1 ports
in a temp dir and stops them afterwards. The last test kills the master.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from devstack.buildbot_server import MARKUP_LINE, TITLE, BuildbotServer, available, buildbot_bin
from opsdash.model import PipelineRun, PipelineSnapshot, RunStatus
from opsdash.sources import buildbot as buildbot_module
from opsdash.sources.base import SourceError
from opsdash.sources.buildbot import BuildbotConfig, BuildbotSource, rpc_error_text, status_of
from tests.missing import missing
from tests.pilot import sync_wait

DEADLINE = 60.0  # generous: a build here takes about a second


def need_buildbot() -> None:
    if not available():
        reason = f"Buildbot is not installed in {buildbot_bin().parent} (scripts/test installs it)"
        missing(reason)


@pytest.fixture
def server(buildbot) -> BuildbotServer:
    """The session's Buildbot (tests/conftest.py), shared with the UI tests."""
    return buildbot


@pytest.fixture
def make_source(server) -> Iterator[Callable[..., BuildbotSource]]:
    sources: list[BuildbotSource] = []

    def make(**kw) -> BuildbotSource:
        config = BuildbotConfig(
            name="bb",
            url=server.url,
            ref_parameter="branch",
            timeout=5,
            **kw,
        )
        source = BuildbotSource(config)
        sources.append(source)
        return source

    yield make
    for source in sources:
        source.close()


def wait_run(
    source: BuildbotSource,
    match: Callable[[PipelineRun], bool],
    timeout: float = DEADLINE,
    seen: list[RunStatus] | None = None,
) -> tuple[PipelineRun, PipelineSnapshot]:
    """Poll until a run matches; `seen` collects the statuses of runs with the same id."""
    deadline = time.monotonic() + timeout
    last: PipelineSnapshot | None = None
    while time.monotonic() < deadline:
        last = source.poll()
        for run in last.runs:
            if match(run):
                return run, last
        time.sleep(0.2)
    runs = [(r.pipeline, r.id, r.status.value) for r in (last.runs if last else ())][:10]
    raise AssertionError(f"no matching run within {timeout}s; newest runs: {runs}")


def build_of(server: BuildbotServer, scheduler: str, complete: bool = True, **fields) -> dict:
    request = server.force(scheduler, **fields)
    return server.wait_build(request["buildrequestid"], complete=complete, timeout=DEADLINE)


def test_result_codes_map_to_statuses():
    assert status_of(None, False, "building")[0] is RunStatus.RUNNING
    assert status_of(0, True) == (RunStatus.SUCCESS, "success")
    assert status_of(1, True) == (RunStatus.SUCCESS, "warnings")
    assert status_of(2, True)[0] is RunStatus.FAILED
    assert status_of(3, True)[0] is RunStatus.SKIPPED
    assert status_of(4, True) == (RunStatus.FAILED, "exception")
    assert status_of(5, True) == (RunStatus.FAILED, "retry")
    assert status_of(6, True)[0] is RunStatus.CANCELLED
    assert rpc_error_text({"code": -32602, "message": {"a": "x\ny", "b": "z"}}) == "x y; z"


def test_forced_build_runs_then_succeeds(server, make_source):
    source = make_source()
    request = server.force("force")
    seen: list[RunStatus] = []

    build = server.wait_build(request["buildrequestid"], complete=False, timeout=DEADLINE)
    buildid = str(build["buildid"])

    def finished(run: PipelineRun) -> bool:
        if run.id == buildid:
            seen.append(run.status)
            return run.status.finished
        return False

    run, snapshot = wait_run(source, finished)
    assert set(seen) <= {RunStatus.RUNNING, RunStatus.SUCCESS}
    assert run.status is RunStatus.SUCCESS and run.vendor_status == "success"
    assert run.pipeline == "hello" and run.number == build["number"]
    assert run.project == TITLE and run.provider == "buildbot" and run.source == "buildbot:bb"
    assert run.url == f"{server.url}/#/builders/{build['builderid']}/builds/{build['number']}"
    assert run.message == "forced by test" and run.event == "force"
    assert run.started is not None and run.finished is not None
    assert run.finished >= run.started and not run.is_deploy
    assert snapshot.deployments == ()
    # Builds of every builder are listed, newest first.
    ids = [int(r.id) for r in snapshot.runs if not r.id.startswith("req-")]
    assert ids == sorted(ids, reverse=True)


def test_jobs_are_steps_and_logs_are_literal(server, make_source, monkeypatch):
    build = build_of(server, "force")
    source = make_source()
    run, _ = wait_run(source, lambda r: r.id == str(build["buildid"]))
    jobs = source.jobs(run)
    names = [job.name for job in jobs]
    assert names[-2:] == ["say-hi", "tricky-output"]
    assert all(job.status is RunStatus.SUCCESS for job in jobs)
    assert all(job.started is not None and job.finished is not None for job in jobs)

    hi = source.log_tail(run, jobs[-2])
    assert "\nhi\n" in hi and "program finished with exit code 0" in hi
    tricky = source.log_tail(run, jobs[-1])
    assert f"\n{MARKUP_LINE}\n" in tricky  # as printed, not interpreted
    assert "\x1b[31mred" in tricky  # raw; the UI neutralises escapes

    # A long log is read from its end through /contents, without the stream letters.
    monkeypatch.setattr(buildbot_module, "LOG_TAIL_LINES", 6)
    end = source.log_tail(run, jobs[-1]).splitlines()
    assert MARKUP_LINE in end and "program finished with exit code 0" in end
    assert len(end) <= 6


def test_rerun_creates_a_newer_build(server, make_source):
    build = build_of(server, "force")
    source = make_source()
    run, _ = wait_run(source, lambda r: r.id == str(build["buildid"]))
    message = source.rerun(run)
    assert message.startswith(f"rebuild of hello #{run.number} requested (buildrequest ")
    newer, _ = wait_run(
        source,
        lambda r: (
            r.pipeline == "hello" and (r.number or 0) > (run.number or 0) and r.status.finished
        ),
    )
    assert newer.status is RunStatus.SUCCESS and int(newer.id) > int(run.id)


def test_queued_request_and_running_build_can_be_cancelled(server, make_source):
    source = make_source(jobs=("slow",))
    first = server.force("force-slow")
    second = server.force("force-slow")  # one build per builder and worker: this one waits
    running, _ = wait_run(source, lambda r: r.status is RunStatus.RUNNING and r.pipeline == "slow")
    queued_id = f"req-{second['buildrequestid']}"
    queued, _ = wait_run(source, lambda r: r.id == queued_id)
    assert queued.status is RunStatus.QUEUED and queued.pipeline == "slow"
    assert queued.number is None and queued.created is not None
    assert "forced by test" in queued.message
    assert source.jobs(queued) == []

    assert source.cancel(queued) == f"build request {second['buildrequestid']} of slow cancelled"
    request = sync_wait(
        lambda: next(
            (
                r
                for r in server.get(f"/buildrequests/{second['buildrequestid']}")["buildrequests"]
                if r["complete"]
            ),
            None,
        ),
        timeout=DEADLINE,
    )
    assert request["results"] == 6

    assert running.id == str(server.wait_build(first["buildrequestid"], complete=False)["buildid"])
    assert source.cancel(running) == f"stop of slow #{running.number} requested"
    stopped, snapshot = wait_run(source, lambda r: r.id == running.id and r.status.finished)
    assert stopped.status is RunStatus.CANCELLED and stopped.vendor_status == "cancelled"
    assert not any(r.id == queued_id for r in snapshot.runs)
    assert {r.pipeline for r in snapshot.runs} == {"slow"}  # the builder filter
    with pytest.raises(SourceError, match="already finished"):
        source.cancel(stopped)


def test_deploy_forces_the_scheduler_and_reports_a_deployment(server, make_source):
    source = make_source(deploy="deploy", deploy_branch="main", service="shop")
    assert source.deploy_target == f"force scheduler deploy on {server.url}"
    message = source.deploy("main")
    assert message.startswith("deploy of main requested: deploy via deploy (buildrequest ")
    run, snapshot = wait_run(
        source, lambda r: r.pipeline == "deploy" and r.branch == "main" and r.status.finished
    )
    assert run.status is RunStatus.SUCCESS and run.is_deploy
    assert run.message == "deploy from opsdash"
    assert not any(r.is_deploy for r in snapshot.runs if r.pipeline != "deploy")
    deployment = next(d for d in snapshot.deployments if d.id == f"build:{run.id}")
    assert deployment.service == "shop" and deployment.environment == "production"
    assert deployment.version == "main" and deployment.at == run.finished
    assert deployment.source == "buildbot:bb" and deployment.url == run.url
    log = source.log_tail(run, next(j for j in source.jobs(run) if j.name == "show-branch"))
    assert "branch=main" in log

    # Another branch is a deploy-builder run but not a deploy of deploy_branch.
    other = build_of(server, "deploy", branch="feature")
    run, snapshot = wait_run(source, lambda r: r.id == str(other["buildid"]))
    assert run.branch == "feature" and not run.is_deploy
    assert not any(d.id == f"build:{run.id}" for d in snapshot.deployments)


def test_failing_build_is_failed(server, make_source):
    build = build_of(server, "force-fails")
    source = make_source(jobs=("fails", "hello"))
    run, snapshot = wait_run(source, lambda r: r.id == str(build["buildid"]))
    assert run.status is RunStatus.FAILED and run.vendor_status == "failure"
    assert run.pipeline == "fails"
    assert {r.pipeline for r in snapshot.runs} <= {"fails", "hello"}
    failing = next(j for j in source.jobs(run) if j.name == "fail")
    assert failing.status is RunStatus.FAILED
    assert "failing" in source.log_tail(run, failing)


def test_configuration_mistakes_are_one_line_errors(server, make_source):
    with pytest.raises(SourceError, match=r"no builder 'nope' .*builders: deploy, fails, hello"):
        make_source(jobs=("nope",)).poll()
    with pytest.raises(SourceError, match=r"no force scheduler 'nope' .*force-slow"):
        make_source(deploy="nope").deploy("main")
    # A JSON-RPC error from the master (the username field wants an e-mail address).
    source = make_source(deploy="deploy", deploy_inputs=(("username", "bob"),))
    with pytest.raises(SourceError) as info:
        source.deploy("main")
    assert "email" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(SourceError, match="no deploy is configured"):
        make_source().deploy("main")
    read_only = make_source(deploy="deploy", read_only=True)
    with pytest.raises(SourceError, match="read-only"):
        read_only.deploy("main")


def test_killed_master_is_a_clear_error_and_recovers(server, make_source):
    """Last in this module: it kills the master and starts it again."""
    source = make_source()
    before = source.poll()
    server.kill_master()
    with pytest.raises(SourceError) as info:
        source.poll()
    text = str(info.value)
    assert "\n" not in text and "cannot connect" in text and "/api/v2/" in text
    server.start_master()
    after = source.poll()
    assert {r.id for r in before.runs if r.status.finished} <= {r.id for r in after.runs}


def test_login_with_user_and_password():
    """A master with a login: anonymous users read, only the user may act."""
    need_buildbot()
    password = "s3cret-pw"
    with BuildbotServer(users={"admin": password}) as bb:

        def source(**kw) -> BuildbotSource:
            return BuildbotSource(BuildbotConfig(name="auth", url=bb.url, deploy="deploy", **kw))

        anonymous, wrong, admin = (
            source(),
            source(user="admin", password="wrong-pw"),
            source(user="admin", password=password),
        )
        try:
            assert anonymous.poll().runs == ()
            with pytest.raises(SourceError, match="you need to have role 'admins'"):
                anonymous.deploy("main")
            with pytest.raises(SourceError, match=r"login as admin .* failed") as info:
                wrong.poll()
            assert "wrong-pw" not in str(info.value)
            assert admin.deploy("main").startswith("deploy of main requested")
            run, _ = wait_run(admin, lambda r: r.pipeline == "deploy" and r.status.finished)
            assert run.status is RunStatus.SUCCESS and run.branch == "main"
            assert run.actor == "admin"
        finally:
            for s in (anonymous, wrong, admin):
                s.close()
