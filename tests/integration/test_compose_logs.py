"""`L` on the real engine: two containers of one compose project print
interleaved lines; the merged screen shows them in the engine's time order,
each with its container's name, and the timestamps toggle without reopening."""

from __future__ import annotations

import itertools

import pytest

from opsdash.log_lines import short_stamp, stamp_nanoseconds
from opsdash.screens.logs import LogsScreen
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import real_app, select_container, sync_wait, wait_for

pytestmark = pytest.mark.docker

# Each prints 10 lines 0.5 s apart; the second starts while the first still
# prints (however slow `docker run` is here), so by the engine's clock their
# lines interleave.
LINES = 10
SCRIPT = (
    f"i=0; while [ $i -lt {LINES} ]; do echo {{name}}-$i; i=$((i+1)); sleep 0.5; done; sleep 600"
)


def _compose(engine, project: str, service: str, name: str) -> str:
    return run_isolated(
        engine,
        name,
        "--label",
        f"com.docker.compose.project={project}",
        "--label",
        f"com.docker.compose.service={service}",
        "local/busybox:1",
        "sh",
        "-c",
        SCRIPT.format(name=service),
    )


def _logged(engine, name: str) -> int:
    return len(engine.cli("logs", name).stdout.split())


def _engine_order(engine, *names: str) -> list[str]:
    """Every line of these containers, ordered by the stamps `docker logs -t` prints."""
    stamped = []
    for name in names:
        for row in engine.cli("logs", "-t", name).stdout.splitlines():
            stamp, _, text = row.partition(" ")
            stamped.append((stamp_nanoseconds(stamp), text))
    return [text for _, text in sorted(stamped)]


async def test_L_interleaves_a_compose_project_in_time_order(engine):
    project = unique("proj")
    first, second = unique("api"), unique("db")
    try:
        _compose(engine, project, "api", first)
        sync_wait(lambda: _logged(engine, first) >= 1, timeout=30, step=0.05)
        _compose(engine, project, "db", second)
        sync_wait(
            lambda: _logged(engine, first) >= LINES and _logged(engine, second) >= LINES,
            timeout=60,
        )
        expected = _engine_order(engine, first, second)
        assert len(expected) == 2 * LINES
        app = real_app(docker_config(engine.docker_host))
        async with app.run_test(size=(80, 24)) as pilot:
            await select_container(pilot, first)
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
            screen = app.screen
            await wait_for(pilot, lambda: len(screen.lines) >= 2 * LINES, timeout=30)
            lines = list(screen.lines)
            assert {line.origin for line in lines} == {first, second}
            assert all(line.stamp for line in lines)  # the engine stamped every line
            assert [line.at for line in lines] == sorted(line.at for line in lines)
            # the engine's order, interleaved (not one tail after the other)
            assert [str(line) for line in lines] == expected
            switches = sum(a.origin != b.origin for a, b in itertools.pairwise(lines))
            assert switches >= 2, [str(line) for line in lines]
            assert len({line.slot for line in lines}) == 2  # a colour each
            await pilot.press("t")
            assert screen.stamps
            await pilot.pause()
            shown = screen.query_one("#logs").lines[0].text
            assert shown.endswith(f"{short_stamp(lines[0].stamp)} api-0")
            await pilot.press("escape")
            assert not isinstance(app.screen, LogsScreen)
    finally:
        engine.cli("rm", "-f", first, second, check=False)


async def test_L_on_a_scaled_compose_service_shows_its_replicas_then_the_project(engine):
    """Two replicas of `web` and one `db`: `L` on a web replica merges the two
    replicas; `L` again widens the same screen to the whole project."""
    project = unique("proj")
    web1, web2, db = unique("web-1"), unique("web-2"), unique("db-1")
    try:
        for name, service in ((web1, "web"), (web2, "web"), (db, "db")):
            _compose(engine, project, service, name)
        sync_wait(lambda: all(_logged(engine, n) >= 2 for n in (web1, web2, db)), timeout=60)
        app = real_app(docker_config(engine.docker_host))
        async with app.run_test(size=(120, 30)) as pilot:
            await select_container(pilot, web1)
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
            screen = app.screen
            await wait_for(pilot, lambda: {line.origin for line in screen.lines} == {web1, web2})
            assert all(str(line).startswith("web-") for line in screen.lines)
            await pilot.press("L")
            await wait_for(
                pilot, lambda: {line.origin for line in app.screen.lines} == {web1, web2, db}
            )
            assert isinstance(app.screen, LogsScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, LogsScreen)
    finally:
        engine.cli("rm", "-f", web1, web2, db, check=False)


async def test_L_on_a_swarm_service_merges_its_tasks_named_by_slot(own_engine):
    """A real two-replica Swarm service: one stream from /services/{id}/logs,
    each line named `service.slot`, both tasks there, in the engine's time order."""
    from tests.pilot import select_row

    own_engine.swarm_init()
    own_engine.cli(
        "service",
        "create",
        "--detach",
        "--name",
        "talk",
        "--replicas",
        "2",
        "--no-resolve-image",
        "local/busybox:1",
        "sh",
        "-c",
        SCRIPT.format(name="talk"),
    )

    def tasks_logged() -> bool:
        out = own_engine.cli("service", "logs", "--raw", "talk", check=False).stdout
        return len(out.split()) >= 2 * LINES

    sync_wait(tasks_logged, timeout=120)
    app = real_app(docker_config(own_engine.docker_host))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: any(
                s.name == "talk" for s in app.screen.query_one("#services-table").records.values()
            ),
            timeout=60,
        )
        await select_row(pilot, "services-table", lambda s: s.name == "talk")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.lines) >= 2 * LINES, timeout=60)
        lines = list(screen.lines)
        assert {line.origin for line in lines} == {"talk.1", "talk.2"}
        assert all(str(line).startswith("talk-") for line in lines)  # details split off
        assert [line.at for line in lines] == sorted(line.at for line in lines)
        assert len({line.slot for line in lines}) == 2
        await pilot.press("escape")
