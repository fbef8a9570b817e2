"""GitHub, GitLab and Jenkins side by side in the Pipelines panel, driven from the
keyboard against replay servers that answer as each vendor documents: the
rerun, cancel and deploy calls arrive with the documented method, path, headers
and body."""

from __future__ import annotations

import base64
from pathlib import Path

from devstack.replay import ReplayServer, Reply, load_fixture
from opsdash.config import Config
from opsdash.model import PipelineRun
from opsdash.screens.actions import ConfirmScreen
from opsdash.sources.github import GitHubConfig
from opsdash.sources.gitlab import GitLabConfig
from opsdash.sources.jenkins import JenkinsConfig
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.integration.test_gitlab_replay import API as GITLAB_API
from tests.integration.test_gitlab_replay import route_project
from tests.integration.test_jenkins_replay import APP, route_jobs
from tests.pilot import confirm_and_finish, real_app, select_row, settle, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GH_TOKEN, GL_TOKEN, JENKINS_TOKEN = "ghp_ui_t0ken_42", "glpat-ui-t0ken-42", "jenk1ns-ui-t0ken"
GITHUB_REPO = "/repos/acme/shop"


def runs(app) -> list[PipelineRun]:
    table = app.screen.query_one("#pipelines-table", ResourceTable)
    return list(table.records.values())


async def select(pilot, match) -> None:
    await select_row(pilot, "pipelines-table", match)


async def test_rerun_cancel_and_deploy_from_the_keyboard_reach_each_vendor(tmp_path):
    with ReplayServer() as github, ReplayServer() as gitlab, ReplayServer() as jenkins:
        github.add(
            "GET", f"{GITHUB_REPO}/actions/runs", load_fixture(FIXTURES / "github/runs_page1.json")
        )
        github.add("POST", f"{GITHUB_REPO}/actions/workflows/deploy.yml/dispatches", Reply(204))
        route_project(gitlab)
        gitlab.add(
            "POST",
            f"{GITLAB_API}/pipelines/1003/retry",
            load_fixture(FIXTURES / "gitlab/pipeline_retried.json"),
        )
        route_jobs(jenkins)
        jenkins.add(
            "POST", f"{APP}/45/stop", Reply(302, None, {"Location": "{url}/job/shop/job/app/"})
        )
        config = Config(
            path=None,
            sources=(
                GitHubConfig(
                    name="gh",
                    url=github.url,
                    project="acme/shop",
                    token=GH_TOKEN,
                    deploy="deploy.yml",
                    deploy_branch="main",
                    deploy_inputs=(("env", "prod"),),
                    refresh=0.5,
                    timeout=5,
                ),
                GitLabConfig(
                    name="gl",
                    url=gitlab.url,
                    project="acme/shop",
                    token=GL_TOKEN,
                    runs=4,
                    refresh=0.5,
                    timeout=5,
                ),
                JenkinsConfig(
                    name="jk",
                    url=jenkins.url,
                    jobs=("shop/app",),
                    user="alice",
                    token=JENKINS_TOKEN,
                    refresh=0.5,
                    timeout=5,
                ),
            ),
        )
        store = Store(tmp_path / "db.sqlite")
        app = real_app(config, store=store)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            await wait_for(
                pilot, lambda: {r.provider for r in runs(app)} == {"github", "gitlab", "jenkins"}
            )
            await select(pilot, lambda r: r.provider == "gitlab" and r.id == "1003")
            await pilot.press("r")
            await confirm_and_finish(pilot)
            await select(pilot, lambda r: r.provider == "jenkins" and r.number == 45)
            await pilot.press("c")
            await confirm_and_finish(pilot)
            await select(pilot, lambda r: r.provider == "github")
            await pilot.press("D")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert app.screen.plan.ref == "main" and app.screen.plan.host == "github:gh"
            await confirm_and_finish(pilot)
        (retry,) = gitlab.calls("POST", f"{GITLAB_API}/pipelines/1003/retry")
        assert retry.headers["private-token"] == GL_TOKEN
        (stop,) = jenkins.calls("POST", f"{APP}/45/stop")
        basic = base64.b64encode(f"alice:{JENKINS_TOKEN}".encode()).decode()
        assert stop.headers["authorization"] == f"Basic {basic}"
        (dispatch,) = github.calls("POST", f"{GITHUB_REPO}/actions/workflows/deploy.yml/dispatches")
        assert dispatch.headers["authorization"] == f"Bearer {GH_TOKEN}"
        assert dispatch.headers["accept"] == "application/vnd.github+json"
        assert dispatch.json == {"ref": "main", "inputs": {"env": "prod"}}
    audit = [(e.action, e.host, e.result) for e in store.audit_entries()]
    assert audit == [
        ("deploy", "github:gh", "ok"),
        ("cancel", "jenkins:jk", "ok"),
        ("rerun", "gitlab:gl", "ok"),
    ]
