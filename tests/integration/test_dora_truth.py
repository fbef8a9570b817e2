"""The DORA keys against an independent computation.

A local git repo gets a history of commits; a replay server (devstack/replay.py,
a real HTTP server on 127.0.0.1) serves GitHub's deployments of those commits
across pages with `Link` headers, their statuses, and the successful runs of the
deploy workflow that made some of them, as docs.github.com documents them. The
test computes frequency, lead time and change failure rate from that history by
hand, and `opsdash snapshot --json`, run from a fresh store as cron would, must
say the same.
"""

from __future__ import annotations

import json
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from devstack.replay import ReplayServer, Reply, Request, load_fixture
from opsdash.cli import main
from tests.unit.test_dora_source import commit, git

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"
REPO = "/repos/acme/shop"
NOW = datetime.now(UTC).replace(microsecond=0)
SHIPPED = 47  # deployments in the last 90 days
OLD = 5  # deployments 100..120 days ago: older than the longest window, never read
PAGE = 20  # the replay server sends 20 a page, whatever per_page asks (a server may)
FAILED = {10, 25, 40}  # deployments whose status is "failure"
WITH_RUN = 21  # the newest successful deployments also have a successful deploy run


@dataclass
class Shipped:
    id: int
    sha: str
    at: datetime  # the settled status's time
    state: str
    commits: list[tuple[str, datetime]] = field(default_factory=list)


def make_history(repo: Path) -> tuple[list[Shipped], list[Shipped]]:
    """(the last 90 days' deployments oldest first, older ones), committed to `repo`."""
    rng = random.Random(10)
    root = commit(repo, "root", NOW - timedelta(days=200))
    old = [
        Shipped(1_400_000 + i, root, NOW - timedelta(days=100 + 5 * i), "success")
        for i in range(OLD)
    ]
    minutes = sorted(rng.sample(range(60, 88 * 24 * 60), SHIPPED), reverse=True)
    times = [NOW - timedelta(minutes=m) for m in minutes]
    shipped, previous = [], NOW - timedelta(days=89)
    for i, at in enumerate(times):
        n = rng.randint(1, 3)
        commits = []
        for k in range(n):
            when = (previous + (at - previous) * (k + 1) / (n + 1)).replace(microsecond=0)
            commits.append((commit(repo, f"change {i}.{k}", when), when))
        state = "failure" if i in FAILED else "success"
        shipped.append(Shipped(1_500_000 + i, commits[-1][0], at, state, commits))
        previous = at
    return shipped, old


def github_answers(server: ReplayServer, deployments: list[Shipped]) -> None:
    """Deployments newest first in pages with Link and ETag; statuses; deploy runs."""
    page = load_fixture(FIXTURES / "deployments_page.json")
    template = page.body[0]
    newest = sorted(deployments, key=lambda d: d.at, reverse=True)

    def listing(request: Request) -> Reply:
        assert request.arg("environment") == "production"
        number = int(request.arg("page") or 1)
        items = newest[(number - 1) * PAGE : number * PAGE]
        etag = f'W/"deployments-{number}-{len(items)}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(304, None, {"etag": etag})
        headers = {k: v for k, v in page.headers.items() if k != "link"}
        headers["etag"] = etag
        if number * PAGE < len(newest):
            nxt = f"{{url}}{REPO}/deployments?environment=production&per_page=100&page={number + 1}"
            headers["link"] = f'<{nxt}>; rel="next"'
        body = [
            {
                **template,
                "id": d.id,
                "sha": d.sha,
                "created_at": (d.at - timedelta(minutes=3)).isoformat().replace("+00:00", "Z"),
                "updated_at": d.at.isoformat().replace("+00:00", "Z"),
            }
            for d in items
        ]
        return Reply(200, body, headers)

    server.add("GET", f"{REPO}/deployments", listing)
    for d in deployments:
        status = {
            "id": d.id + 7_000_000,
            "state": d.state,
            "environment": "production",
            "created_at": d.at.isoformat().replace("+00:00", "Z"),
            "log_url": f"https://github.com/acme/shop/deployments/{d.id}",
        }
        server.add(
            "GET",
            f"{REPO}/deployments/{d.id}/statuses",
            Reply(200, [status], {"etag": f'"{d.id}"'}),
        )
    runs = load_fixture(FIXTURES / "workflow_runs_deploy.json")
    run_template = runs.body["workflow_runs"][0]
    with_run = [d for d in newest if d.state == "success"][:WITH_RUN]
    body = {
        "total_count": len(with_run),
        "workflow_runs": [
            {
                **run_template,
                "id": 30_000_000 + d.id,
                "run_number": i + 1,
                "head_sha": d.sha,
                "created_at": (d.at - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
                "run_started_at": (d.at - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
                # the run ends a minute after the deployment it created succeeded
                "updated_at": (d.at + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            }
            for i, d in enumerate(with_run)
        ],
    }
    server.add("GET", f"{REPO}/actions/runs", Reply(200, body, {"etag": '"runs"'}))


# --- the independent computation ---------------------------------------------------


def window(days: int) -> tuple[date, date]:
    today = NOW.date()
    return today - timedelta(days=days - 1), today


def lead_times(shipped: list[Shipped]) -> list[tuple[date, timedelta]]:
    """(deploy date, lead time) per commit: to the first successful deployment
    holding it (history is linear: a deployment holds every earlier commit)."""
    out, waiting = [], []
    for d in shipped:
        waiting += d.commits
        if d.state == "success":
            out += [(d.at.date(), d.at - when) for _sha, when in waiting]
            waiting = []
    return out


def bucket(dates: list[date], first: date, last: date) -> str:
    """Four Keys: daily / weekly / monthly / yearly, from the median week or month
    among those with more than half of their days in the window."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def periods(key, length):
        inside: dict = {}
        for day in days:
            inside[key(day)] = inside.get(key(day), 0) + 1
        return [p for p, n in inside.items() if 2 * n > length(p)] or list(inside)

    def week(day):
        return day - timedelta(days=day.weekday())

    def month(day):
        return (day.year, day.month)

    def month_length(m):
        following = date(m[0] + m[1] // 12, m[1] % 12 + 1, 1)
        return (following - date(m[0], m[1], 1)).days

    weeks = periods(week, lambda _w: 7)
    months = periods(month, month_length)
    if statistics.median(len({d for d in dates if week(d) == w}) for w in weeks) >= 3:
        return "daily"
    if statistics.median(sum(1 for d in dates if week(d) == w) for w in weeks) >= 1:
        return "weekly"
    if statistics.median(sum(1 for d in dates if month(d) == m) for m in months) >= 1:
        return "monthly"
    return "yearly"


def expected(shipped: list[Shipped], days: int) -> dict:
    first, last = window(days)
    inside = [d for d in shipped if first <= d.at.date() <= last]
    leads = [t for on, t in lead_times(shipped) if first <= on <= last]
    return {
        "deploys": len(inside),
        "bucket": bucket([d.at.date() for d in inside], first, last),
        "failed": sum(d.state == "failure" for d in inside),
        "lead_time": statistics.median(leads).total_seconds(),
        "changes": len(leads),
    }


# --- the test --------------------------------------------------------------------------


def write_config(tmp_path: Path, server: ReplayServer, repo: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""docker = []
host = []

[[github]]
name = "shop"
repo = "acme/shop"
url = "{server.url}"
token = "ghp_truthTestToken000000000000000000000"
deploy = "deploy.yml"
environments = ["production"]

[[service]]
name = "shop"
pipelines = ["shop"]
repo = "{repo}"
branch = "main"

[dora]
timezone = "UTC"
""",
        encoding="utf-8",
    )
    return config


def snapshot(config: Path, capsys) -> dict:
    code = main(["--config", str(config), "snapshot", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def shop_keys(payload: dict) -> dict[int, dict]:
    (keys,) = [s for s in payload["sources"] if s["source"] == "dora:keys"]
    (row,) = [r for r in keys["data"]["services"] if r["service"] == "shop"]
    return {report["days"]: report["current"] for report in row["reports"]}


def test_snapshot_keys_match_an_independent_computation(tmp_path, server, repo, capsys):
    shipped, old = make_history(repo)
    github_answers(server, shipped + old)
    config = write_config(tmp_path, server, repo)

    payload = snapshot(config, capsys)  # a fresh store: what cron's first run sees
    (github,) = [s for s in payload["sources"] if s["source"] == "github:shop"]
    assert github["health"]["state"] == "ok"
    keys = shop_keys(payload)
    for days in (7, 30, 90):
        want = expected(shipped, days)
        got = keys[days]
        assert got["frequency"]["deploys"] == want["deploys"], days
        assert got["frequency"]["bucket"] == want["bucket"], days
        assert got["failed"] == want["failed"], days
        assert got["changes"] == want["changes"], days
        assert got["lead_time"] == pytest.approx(want["lead_time"], abs=1), days
        assert got["change_failure_rate"] == pytest.approx(want["failed"] / want["deploys"])
    assert keys[90]["frequency"]["deploys"] == SHIPPED  # every page read, the old ones not

    # The listing stopped at the page that reaches past 90 days: pages 1..3 of 3.
    pages = [r.arg("page") for r in server.calls("GET", f"{REPO}/deployments")]
    assert pages == [None, "2", "3"]
    statuses = [r for r in server.requests if r.path.endswith("/statuses")]
    assert len(statuses) == SHIPPED  # each settled deployment's status read once

    # cron runs it again: what the store holds is not read again, and the keys stay
    before = len(server.requests)
    again = shop_keys(snapshot(config, capsys))
    later = [(r.method, r.path, r.arg("page")) for r in server.requests[before:]]
    assert sorted(later) == [
        ("GET", f"{REPO}/actions/runs", None),
        ("GET", f"{REPO}/deployments", None),
    ]
    assert again[90]["frequency"]["deploys"] == SHIPPED
    assert again[30] == keys[30]


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "shop"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


@pytest.mark.docker
def test_own_redeploy_is_recorded_under_the_revision_and_gets_a_lead_time(engine, repo, tmp_path):
    """On the real engine: an image whose revision label names a commit of the repo."""
    from dataclasses import replace

    from opsdash.actions.docker import DockerActions
    from opsdash.actions.runner import ActionRunner
    from opsdash.config import Config, DoraConfig, ServiceConfig
    from opsdash.dora.source import DoraSource
    from opsdash.dora.watcher import record_events
    from opsdash.sources.docker import DockerHostConfig, DockerSource
    from opsdash.store import Store
    from tests.fakes import run_isolated, unique

    base = NOW - timedelta(days=2)
    shas = [commit(repo, f"c{i}", base + timedelta(hours=i)) for i in range(5)]
    name, image = unique("rev"), f"local/{unique('rev')}:1"
    engine.cli("create", "--name", f"{name}-src", "local/busybox:1", "true")
    label = f"LABEL org.opencontainers.image.revision={shas[2]}"
    engine.cli("commit", "--change", label, f"{name}-src", image)
    engine.cli("rm", f"{name}-src")
    run_isolated(engine, name, image, "sleep", "100000")
    host = DockerHostConfig(name="test", host=engine.docker_host, timeout=20, pull=False)
    config = Config(
        path=None,
        sources=(host,),
        services=(ServiceConfig(name="shop", match_name=name, repo=str(repo), branch="main"),),
        dora=DoraConfig(timezone="UTC"),
    )
    source = DockerSource(host)
    store = Store(tmp_path / "opsdash.db")
    try:
        record_events(store, config, "docker:test", source.poll())  # first sight
        (row,) = DoraSource(config, store).poll().services
        assert row.undeployed == 2  # c3, c4: c0..c2 run in the container

        actions = DockerActions(source, health_timeout=30, settle_seconds=1)
        container = next(c for c in source.poll().containers if c.name == name)
        plan = replace(actions.plan_redeploy(container.id), service="shop")
        runner = ActionRunner(store)
        result = runner.execute(plan, lambda: actions.run_redeploy(plan, lambda *_: None, bool))
        assert result.ok
        (event,) = store.deployments()
        assert (event.source, event.version) == ("container-redeploy", shas[2])
        assert record_events(store, config, "docker:test", source.poll()) == []  # not twice
        (row,) = DoraSource(config, store).poll().services
        keys = row.report(30).current
        assert keys.deploys == 1 and keys.lead_time is not None  # c0..c2 reached production
        assert "not in the local repo" not in row.note and row.undeployed == 2
    finally:
        source.close()
        store.close()
        engine.cli("rm", "-f", name, check=False)
        engine.cli("rmi", image, check=False)
