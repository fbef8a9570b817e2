"""Bounded lines from any byte stream: huge and endless lines, split characters."""

from __future__ import annotations

from opsdash.logbuffer import CUT_MARK, LineCutter, LineQueue


def _lines(cutter: LineCutter, *chunks: bytes) -> list[str]:
    out = [line for chunk in chunks for line in cutter.feed(chunk)]
    last = cutter.flush()
    return out + ([last] if last is not None else [])


def test_lines_are_split_across_chunks_and_the_last_one_is_kept():
    assert _lines(LineCutter(), b"one\ntw", b"o\r\nthr", b"ee") == ["one", "two", "three"]


def test_a_huge_line_is_cut_at_the_limit_and_says_how_much_was_left_out():
    cutter = LineCutter(max_line=100)
    [line, after] = _lines(cutter, b"x" * 5_000_000 + b"\nnext")
    assert line == "x" * 100 + CUT_MARK.format(5_000_000 - 100)
    assert after == "next" and cutter.cut_lines == 1


def test_an_endless_line_keeps_no_more_than_the_limit():
    cutter = LineCutter(max_line=1000)
    for _ in range(2000):  # 200 MB without a newline
        assert list(cutter.feed(b"y" * 100_000)) == []
    assert sum(len(p) for p in cutter._pending) == 1000  # memory stays bounded
    [line] = list(cutter.feed(b"\n"))
    assert line.startswith("y" * 1000) and "cut 199,999,000 more bytes" in line


def test_multibyte_characters_split_across_chunks_survive():
    data = "é€😀 ok\n".encode()
    chunks = [bytes([b]) for b in data]
    assert _lines(LineCutter(), *chunks) == ["é€😀 ok"]


def test_invalid_utf8_is_replaced_not_fatal():
    assert _lines(LineCutter(), b"bad \xff\xfe here\n") == ["bad \ufffd\ufffd here"]


def test_the_cut_falls_on_a_character_not_inside_one():
    [line] = _lines(LineCutter(max_line=3), "ééééé\n".encode())
    assert line.startswith("ééé ") and "cut 4 more bytes" in line


def test_the_queue_keeps_the_newest_and_counts_what_it_dropped():
    queue = LineQueue(limit=3)
    for number in range(10):
        queue.put(str(number))
    assert queue.take() == ["7", "8", "9"]
    assert (queue.received, queue.dropped) == (10, 7)
    assert queue.take() == []
