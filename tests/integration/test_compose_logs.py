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
