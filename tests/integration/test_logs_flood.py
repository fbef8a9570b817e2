"""The log screen against containers that flood it, on the real engine: keys keep
answering, memory stays bounded, a 5 MB line without a newline shows (cut), and
`w` never writes through a planted symlink."""

from __future__ import annotations

import pytest

from opsdash.config_logs import LogsConfig
from opsdash.logbuffer import MAX_LINE
from opsdash.screens.logs import MAX_LINES, LogsScreen
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import real_app, select_container, wait_for

pytestmark = pytest.mark.docker

FLOOD = "while :; do echo flood-line-with-some-words; done"  # busybox echo: a builtin
HUGE = "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo after; sleep 100000"
ENDLESS = "while :; do printf yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy; done"


async def _open_logs(pilot, name: str) -> LogsScreen:
    await select_container(pilot, name)
    await pilot.press("l")
    assert isinstance(pilot.app.screen, LogsScreen)
    return pilot.app.screen


async def test_a_flood_keeps_the_keys_instant_and_says_what_it_dropped(engine):
    name = unique("flood")
    run_isolated(engine, name, "local/busybox:1", "sh", "-c", FLOOD)
    app = real_app(docker_config(engine.docker_host))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _open_logs(pilot, name)
            await wait_for(pilot, lambda: len(screen.lines) == MAX_LINES, timeout=60)
            await wait_for(pilot, lambda: screen.skipped > 0, timeout=60)
            await pilot.press("f")  # answered while the flood goes on
            assert screen.follow is False
            await pilot.press("f")
            assert screen.follow is True
            assert len(screen.lines) == MAX_LINES  # bounded, whatever has arrived
            await pilot.press("escape")
            assert not isinstance(app.screen, LogsScreen)
    finally:
        engine.cli("rm", "-f", name, check=False)


@pytest.mark.parametrize("script", [HUGE, ENDLESS], ids=["5-MB-line", "endless-line"])
async def test_a_line_without_end_is_cut_and_shown(engine, script):
    name = unique("longline")
    run_isolated(engine, name, "local/busybox:1", "sh", "-c", script)
    app = real_app(docker_config(engine.docker_host))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _open_logs(pilot, name)
            if script == HUGE:
                await wait_for(pilot, lambda: "after" in screen.lines, timeout=60)
                [cut] = [line for line in screen.lines if line.startswith("xxx")]
                assert len(cut) < MAX_LINE + 40 and "more bytes]" in cut
            else:
                # No newline ever comes: nothing is kept beyond one line's limit.
                await pilot.pause(3)
                cutter = screen._stream.cutter
                assert sum(len(p) for p in cutter._pending) <= MAX_LINE
                assert cutter._skipping > 0
            await pilot.press("escape")
            assert not isinstance(app.screen, LogsScreen)
    finally:
        engine.cli("rm", "-f", name, check=False)


async def test_w_never_writes_through_a_planted_symlink(engine, tmp_path, monkeypatch):
    name = unique("w-log")
    run_isolated(engine, name, "local/busybox:1", "sh", "-c", "echo secretless; sleep 100000")
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    monkeypatch.chdir(tmp_path)
    app = real_app(docker_config(engine.docker_host, logs=LogsConfig(directory=str(tmp_path))))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await select_container(pilot, name)
            await pilot.press("l")
            screen = app.screen
            await wait_for(pilot, lambda: "secretless" in screen.lines)
            # Links named like every file `w` could pick this second and the next.
            import datetime as dt

            for delta in range(0, 3):
                stamp = (dt.datetime.now() + dt.timedelta(seconds=delta)).strftime("%Y%m%d-%H%M%S")
                (tmp_path / f"opsdash-{name}-{stamp}.log").symlink_to(victim)
            await pilot.press("w")
            await pilot.pause(0.2)
    finally:
        engine.cli("rm", "-f", name, check=False)
    assert victim.read_text() == "keep me\n"
    written = [p for p in tmp_path.glob(f"opsdash-{name}-*.log") if not p.is_symlink()]
    assert len(written) == 1 and written[0].read_text() == "secretless\n"
    assert written[0].stat().st_mode & 0o777 == 0o600
