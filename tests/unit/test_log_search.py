"""Search in a log: grep -C rows, n/N stepping, highlighting on literal text,
the since/tail/context words, stamped lines, safe file names, the merge."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text

from opsdash.log_file import safe_basename, write_log
from opsdash.log_lines import LogLine, short_stamp, split_stamp, stamp_nanoseconds
from opsdash.log_merge import MergedLogStream, Opener
from opsdash.log_options import (
    LogOptions,
    check_tail,
    next_context,
    parse_prompt,
    since_moment,
)
from opsdash.log_search import SEPARATOR, compile_search, context_rows, highlight, step_match
from opsdash.safetext import ansi_text
from tests.hostile import HOSTILE, MARKUP

LINES = [f"line {i}" + (" ERROR" if i in (3, 4, 10, 20) else "") for i in range(25)]
MATCHED = ["ERROR" in line for line in LINES]


def _numbers(rows):
    return [None if r is SEPARATOR else int(r.split()[1]) for r in rows]


def test_context_rows_are_grep_minus_c():
    # grep -C2: 1-6 (3 and 4 adjacent), gap, 8-12, gap, 18-22
    rows = context_rows(LINES, MATCHED, 2)
    assert _numbers(rows) == [1, 2, 3, 4, 5, 6, None, 8, 9, 10, 11, 12, None, 18, 19, 20, 21, 22]


def test_context_zero_shows_only_matches_with_separators_between_gaps():
    assert _numbers(context_rows(LINES, MATCHED, 0)) == [3, 4, None, 10, None, 20]


def test_context_groups_that_touch_have_no_separator():
    # -C5: every group reaches the next one, so all 25 lines and no `--`
    assert _numbers(context_rows(LINES, MATCHED, 5)) == list(range(25))
    # -C3: 0-7 and 7-13 touch; 14-16 are left out before 17-23
    assert _numbers(context_rows(LINES, MATCHED, 3)) == [*range(0, 14), None, *range(17, 24)]


def test_context_at_the_start_has_no_leading_separator():
    assert context_rows(["b", "a ERROR", "c"], [False, True, False], 0) == ["a ERROR"]


def test_context_window_holds_lines_that_arrive_later():
    from opsdash.log_search import ContextWindow

    window = ContextWindow(1)
    assert window.step("x", False) == [] and window.step("y", False) == []
    assert window.step("hit", True) == ["y", "hit"]  # no `--` before the first group
    assert window.step("after", False) == ["after"] and window.step("z", False) == []
    assert window.step("w", False) == [] and window.step("hit2", True) == [None, "w", "hit2"]


def test_step_match_wraps_both_ways():
    rows = [3, 8, 15]
    assert step_match(rows, None, True) == 3 and step_match(rows, None, False) == 15
    assert step_match(rows, 3, True) == 8 and step_match(rows, 15, True) == 3
    assert step_match(rows, 3, False) == 15 and step_match(rows, 8, False) == 3
    assert step_match([], None, True) is None


def test_search_is_smart_case_and_an_invalid_regex_is_taken_as_written():
    assert compile_search("error").search("An ERROR here")
    assert not compile_search("Error").search("An ERROR here")
    assert compile_search("[/etc").search("cannot read [/etc/app.conf]")
    assert compile_search("a(b").search("xa(by")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_highlight_is_spans_on_the_literal_text(name):
    line = HOSTILE[name] + " needle"
    text = ansi_text(line)
    before = text.plain
    assert highlight(text, compile_search("needle")) == 1
    assert text.plain == before  # nothing parsed, nothing removed
    assert any(span.style == "reverse" for span in text.spans)
    if name in MARKUP:
        assert before.startswith(MARKUP[name])


def test_highlight_skips_empty_matches():
    text = Text("abc")
    assert highlight(text, compile_search("x*")) == 0 and not text.spans


def test_since_takes_durations_and_rfc3339():
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert since_moment("15m", now) == now - timedelta(minutes=15)
    assert since_moment("1h30m", now) == now - timedelta(hours=1, minutes=30)
    assert since_moment("2d", now) == now - timedelta(days=2)
    assert since_moment("2026-12-03T10:00:00Z", now) == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert since_moment("2026-12-03T11:00:00+01:00", now) == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert since_moment("", now) is None
    for bad in ("15x", "yesterday", "2026-12-03", "2026-12-03T10:00:00", "m", "-5m"):
        with pytest.raises(ValueError):
            since_moment(bad, now)


def test_tail_and_context_words():
    assert check_tail("200") == 200
    for bad in ("-1", "10001", "all", "1e3", ""):
        with pytest.raises(ValueError):
            check_tail(bad)
    options, context = parse_prompt("since=15m tail=50 context=3", LogOptions(), None)
    assert options == LogOptions(since="15m", tail=50) and context == 3
    options, context = parse_prompt("2h 300 context=off", options, context)
    assert options == LogOptions(since="2h", tail=300) and context is None
    assert parse_prompt("since=-", options, None)[0].since == ""
    with pytest.raises(ValueError, match="tail=x"):
        parse_prompt("tail=x", options, None)
    with pytest.raises(ValueError, match="colour"):
        parse_prompt("colour=red", options, None)


def test_c_cycles_off_0_2_5_10():
    seen, value = [], None
    for _ in range(6):
        value = next_context(value)
        seen.append(value)
    assert seen == [0, 2, 5, 10, None, 0]
    assert next_context(7) == 10 and next_context(50) is None


def test_engine_stamps_are_split_and_ordered():
    line = split_stamp("2026-12-03T12:10:55.5Z [bold]hi[/]")
    assert line == "[bold]hi[/]" and line.stamp == "2026-12-03T12:10:55.5Z"
    assert line.at == stamp_nanoseconds("2026-12-03T12:10:55.500000000Z")
    assert split_stamp("2026-12-03T12:10:55.123456789Z x").at % 1_000_000_000 == 123456789
    assert split_stamp("no stamp here").stamp == ""
    assert short_stamp("2026-12-03T12:10:55.123456789Z") == "2026-12-03T12:10:55.123Z"
    assert short_stamp("2026-12-03T12:10:55Z") == "2026-12-03T12:10:55.000Z"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("web-1", "web-1"),
        ("../../etc/passwd", "etc_passwd"),
        ("/abs/path", "abs_path"),
        ("..", "logs"),
        ("a..b", "a_b"),
        ("\x1b]0;x\x07evil\nname", "evil_name"),
        (".hidden", "hidden"),
        ("shop/web", "shop_web"),
        ("x" * 500, "x" * 80),
        ("", "logs"),
    ],
)
def test_file_names_are_safe_basenames(name, safe):
    result = safe_basename(name)
    assert result == safe
    assert "/" not in result and ".." not in result and result.isprintable()


def test_write_log_makes_a_private_directory_and_never_overwrites(tmp_path):
    directory = tmp_path / "logs"
    now = datetime(2026, 12, 3, 12, 0)
    first = write_log(directory, "../web", ["a", "b"], now)
    second = write_log(directory, "../web", ["c"], now)
    assert first.parent == directory and second.parent == directory
    assert first.read_text() == "a\nb\n" and second.read_text() == "c\n" and first != second
    assert directory.stat().st_mode & 0o777 == 0o700
    assert first.stat().st_mode & 0o777 == 0o600


class _Fake:
    """A stream of given lines; `fail` raises after them; `wait` holds it open."""

    def __init__(self, lines, fail=None, wait=None):
        self.lines, self.fail, self.wait, self.closed = lines, fail, wait, False

    def __iter__(self):
        yield from self.lines
        if self.fail:
            raise RuntimeError(self.fail)
        if self.wait is not None:
            self.wait.wait(5)

    def close(self):
        self.closed = True


def _stamped(second: int, text: str) -> LogLine:
    return split_stamp(f"2026-12-03T12:00:{second:02d}.000000001Z {text}")


def test_merge_orders_streams_by_engine_time_and_names_each_line():
    a = _Fake([_stamped(s, f"a{s}") for s in (1, 4, 7)])
    b = _Fake([_stamped(s, f"b{s}") for s in (2, 3, 8)])
    merged = list(MergedLogStream([Opener("a", lambda: a), Opener("b", lambda: b)]))
    lines = [line for line in merged if not line.notice]
    assert lines == ["a1", "b2", "b3", "a4", "a7", "b8"]
    assert [line.origin for line in lines] == ["a", "b", "b", "a", "a", "b"]
    assert {line.origin for line in merged if line.notice} == {"a", "b"}


def test_a_failing_stream_is_shown_inline_and_the_others_go_on():
    gate = threading.Event()
    good = _Fake([_stamped(1, "ok1")], wait=gate)

    def broken():
        raise RuntimeError("No such container: gone")

    stream = MergedLogStream([Opener("good", lambda: good), Opener("gone", broken)], hold=0.05)
    seen = []
    for line in stream:
        seen.append(line)
        if len(seen) == 2:
            gate.set()
    errors = [line for line in seen if line.notice and line.startswith("error")]
    assert [e.origin for e in errors] == ["gone"] and "No such container" in errors[0]
    assert "ok1" in seen


def test_closing_a_merge_closes_every_stream():
    gate = threading.Event()
    streams = [_Fake([], wait=gate), _Fake([], wait=gate)]
    merged = MergedLogStream([Opener(str(i), lambda s=s: s) for i, s in enumerate(streams)])
    reader = threading.Thread(target=lambda: list(merged))
    reader.start()
    for _ in range(50):
        if len(merged._streams) == 2:
            break
        threading.Event().wait(0.02)
    merged.close()
    gate.set()
    reader.join(5)
    assert not reader.is_alive() and all(s.closed for s in streams)


def test_a_line_older_than_the_buffer_is_seen_and_put_in_place():
    from opsdash.log_merge import in_time_order, out_of_order

    a, b, c = _stamped(1, "a"), _stamped(2, "b"), _stamped(3, "c")
    assert not out_of_order(a.at, [b, c]) and out_of_order(c.at, [b])
    assert out_of_order(0, [c, a])
    assert in_time_order([a, c, b], 2) == ["b", "c"]


def test_a_notice_sorts_right_after_its_streams_last_line():
    late = _Fake([_stamped(5, "late-5")])
    early = _Fake([_stamped(1, "early-1")], fail="gone")
    merged = list(MergedLogStream([Opener("late", lambda: late), Opener("early", lambda: early)]))
    notice = next(line for line in merged if line.notice and line.origin == "early")
    assert notice.at == merged[0].at  # the engine's time of early-1, not this machine's
