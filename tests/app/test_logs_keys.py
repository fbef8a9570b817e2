"""The logs screen's keys on fixed sources: search (s, n, N, C), timestamps (t),
since/tail (o), write (w, in the logs directory, a safe name) and `L`, the
merged logs of a compose project; all of it literal, at 80x24 too."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import RichLog

from opsdash.config_logs import LogsConfig
from opsdash.log_options import LogOptions
from opsdash.screens.logs import LogsScreen
from tests.fakes import fake_logs
from tests.hostile import MARKUP, assert_clean_screen, shown
from tests.pilot import fixed_app, select_container, settle, spy_notifications, wait_for

SIZE = (80, 24)


def _app(tmp_path, *, failing: str = ""):
    app = fixed_app()
    app.config = replace(app.config, logs=LogsConfig(since="", tail=7, directory=str(tmp_path)))
    calls = fake_logs(app.poller.sources["docker:demo"], failing=failing)
    return app, calls


async def _open(pilot, name: str, key: str = "l") -> LogsScreen:
    await settle(pilot)
    await select_container(pilot, name)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LogsScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: len(screen.lines) >= 7)
    await pilot.pause(0.2)
    return screen


async def test_search_highlights_jumps_and_shows_context(tmp_path):
    app, calls = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web")
        assert calls[0]["timestamps"] is True and calls[0]["tail"] == 7
        await pilot.press("s", *"error", "enter")
        await pilot.pause()
        assert screen.search is not None and len(screen.match_rows) == 2
        assert screen.current == screen.match_rows[-1]  # enter: the newest match
        assert screen.follow is False
        log = screen.query_one(RichLog)
        drawn = [strip.text for strip in log.lines]
        assert "web line 1 ERROR boom" in drawn
        await pilot.press("n")
        assert screen.current == screen.match_rows[0]  # wrapped around
        await pilot.press("n")
        assert screen.current == screen.match_rows[1]
        await pilot.press("N")
        assert screen.current == screen.match_rows[0]
        assert shown(app, "match 1/2")
        await pilot.press("C")  # context 0: only the matches, `--` between them
        assert screen.context == 0
        assert [s.text for s in log.lines] == [
            "web line 1 ERROR boom",
            "--",
            "web line 4 ERROR boom",
        ]
        await pilot.press("C")  # context 2
        assert screen.context == 2
        assert [s.text for s in log.lines][:1] == ["web line 0"] and len(log.lines) == 7
        await pilot.press("C", "C", "C")  # 5, 10, off
        assert screen.context is None and len(log.lines) == 7
        await pilot.press("s", "escape")  # clears the search
        assert screen.search is None and screen.match_rows == []
        assert_clean_screen(app)


async def test_search_highlight_is_a_style_span_on_literal_text(tmp_path):
    app, _ = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web")
        await pilot.press("s", *"[bold", "enter")  # not a valid regex: searched as written
        await pilot.pause()
        assert len(screen.match_rows) == 1
        assert shown(app, MARKUP["rich-style"])
        strip = screen.query_one(RichLog).lines[-1]
        assert any(seg.style and seg.style.reverse for seg in strip if "[bold" in seg.text)
        assert_clean_screen(app)


async def test_t_shows_and_hides_the_engine_timestamps_without_reopening(tmp_path):
    app, calls = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web")
        assert not shown(app, "2026-12-03T12:00:00.500Z")
        await pilot.press("t")
        assert screen.stamps and shown(app, "2026-12-03T12:00:00.500Z web line 0")
        await pilot.press("t")
        assert not screen.stamps and not shown(app, "2026-12-03T12:00:00.500Z")
        assert len(calls) == 1  # never asked the engine again


async def test_o_changes_since_and_tail_and_reads_again(tmp_path):
    app, calls = _app(tmp_path)
    notes = spy_notifications(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open(pilot, "web")
        await pilot.press("o")
        box = screen.query_one("#logs-options")
        assert box.value == "since=- tail=7 context=off"
        box.value = "since=15m tail=3 context=2"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(calls) == 2)
        assert calls[1]["tail"] == 3 and calls[1]["since"] > 1e9
        assert screen.options == LogOptions(since="15m", tail=3) and screen.context == 2
        await wait_for(pilot, lambda: len(screen.lines) == 3)
        assert shown(app, "since 15m  tail 3")
        await pilot.press("o")
        screen.query_one("#logs-options").value = "since=yesterday"
        await pilot.press("enter")
        await pilot.pause()
        assert any("since=yesterday" in n and "duration" in n for n in notes)
        assert len(calls) == 2  # refused: not read again
        await pilot.press("escape")
        assert not screen.query_one("#logs-options").has_focus


async def test_w_writes_a_safe_name_in_the_logs_directory_and_says_where(tmp_path):
    app, _ = _app(tmp_path / "logs")
    notes = spy_notifications(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = await _open(pilot, "web")
        screen.file_name = "../../etc/\x1b]0;x\x07passwd"
        await pilot.press("w")
        await pilot.pause()
    [written] = list((tmp_path / "logs").iterdir())
    assert written.name.startswith("opsdash-etc_passwd-") and written.suffix == ".log"
    assert any(str(written) in note for note in notes)
    text = written.read_text()
    assert "web line 0\n" in text and "\x1b" not in text and MARKUP["rich-style"] in text


async def test_L_merges_a_compose_project_in_time_order_with_a_name_column(tmp_path):
    app, calls = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web", key="L")
        await wait_for(pilot, lambda: len(screen.lines) >= 14)
        assert sorted(c["name"] for c in calls) == ["web", "worker"]
        assert all(c["timestamps"] for c in calls)
        texts = [str(line) for line in screen.lines if not line.notice]
        assert texts[:4] == [
            "web line 0",
            "worker line 0",
            "web line 1 ERROR boom",
            "worker line 1 ERROR boom",
        ]
        assert [line.at for line in screen.lines if not line.notice] == sorted(
            line.at for line in screen.lines if not line.notice
        )
        assert shown(app, "web    | web line 0") and shown(app, "worker | worker line 0")
        drawn = screen.query_one(RichLog).lines
        name_styles = {
            seg.style.color.name
            for strip in drawn
            for seg in strip
            if seg.text.split("|")[0].strip() in ("web", "worker") and seg.style and seg.style.color
        }
        assert len(name_styles) == 2  # a colour per container
        await pilot.press("slash", *"worker")  # the filter matches the name column too
        await pilot.pause()
        assert all("worker" in s.text for s in screen.query_one(RichLog).lines)
        assert_clean_screen(app)


async def test_L_shows_a_failing_stream_inline_and_keeps_the_others(tmp_path):
    app, _ = _app(tmp_path, failing="worker")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web", key="L")
        await wait_for(pilot, lambda: any(line.notice for line in screen.lines))
        errors = [line for line in screen.lines if line.notice and line.startswith("error")]
        assert [e.origin for e in errors] == ["worker"]
        assert shown(app, "worker | ── error: No such container: gone")
        assert "web line 5" in screen.lines
        assert screen._state == "following"  # the web stream goes on


async def test_L_outside_a_compose_project_says_so(tmp_path):
    app, calls = _app(tmp_path)
    notes = spy_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_container(pilot, "db")
        await pilot.press("L")
        await pilot.pause()
        assert not isinstance(app.screen, LogsScreen) and calls == []
        assert any("not in a compose project" in n for n in notes)


async def test_the_logs_screen_fits_80x24(tmp_path):
    app, _ = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "web")
        await pilot.press("s", *"ERROR", "enter")
        await pilot.pause()
        assert shown(app, "Logs: web") and shown(app, "search: ERROR")
        assert shown(app, "^s Search") or shown(app, "s Search")
        assert_clean_screen(app)


async def test_L_names_stay_readable_without_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, _ = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web", key="L")
        await wait_for(pilot, lambda: len(screen.lines) >= 14)
        await pilot.pause(0.2)
        assert app.no_color
        assert shown(app, "web    | web line 0") and shown(app, "worker | worker line 0")
        assert_clean_screen(app)


async def test_L_puts_a_late_older_line_back_in_time_order(tmp_path):
    from opsdash.log_lines import split_stamp

    app, _ = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "web", key="L")
        await wait_for(pilot, lambda: len(screen.lines) >= 14)
        late = split_stamp("2026-12-03T12:00:00.7Z lagged").with_origin("worker", 1)
        screen._incoming.put(late)  # older than every line but the first
        await wait_for(pilot, lambda: "lagged" in screen.lines)
        order = [line.at for line in screen.lines]
        assert order == sorted(order) and list(screen.lines).index("lagged") == 1
        drawn = [strip.text for strip in screen.query_one(RichLog).lines]
        assert drawn[1] == "worker | lagged"


async def test_L_on_a_swarm_service_names_each_line_by_its_task(tmp_path):
    import threading

    from opsdash.sources.docker_service_logs import ServiceLogStream, TaskNames
    from tests.pilot import select_row

    class Chunks:  # what the engine sends: stamped lines with details, then open
        def __init__(self, lines):
            self.lines, self.closed = lines, threading.Event()

        def __iter__(self):
            yield from (f"{line}\n".encode() for line in self.lines)
            self.closed.wait()

        def close(self):
            self.closed.set()

    app, _ = _app(tmp_path)
    asked: list[dict] = []
    details = "com.docker.swarm.task.id={}"

    def service_logs(service_id, service_name, tail=1000, follow=True, *, since=None):
        asked.append({"id": service_id, "name": service_name, "tail": tail})
        lines = [
            f"2026-12-03T12:00:0{n}.5Z {details.format('t' + str(n % 2))} [bold]line {n}"
            for n in range(8)
        ]
        tasks = [{"ID": "t1", "Slot": 1}, {"ID": "t0", "Slot": 2}]
        return ServiceLogStream(Chunks(lines), TaskNames(service_name, lambda: tasks))

    app.poller.sources["docker:demo"].service_logs = service_logs
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_row(pilot, "services-table", lambda s: s.name == "api")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.lines) >= 7)
        await pilot.pause(0.2)
        assert asked[0]["name"] == "api" and asked[0]["tail"] == 7
        assert {line.origin for line in screen.lines} == {"api.1", "api.2"}
        assert shown(app, "api.2 | [bold]line 2") and shown(app, "api.1 | [bold]line 3")
        assert_clean_screen(app)
