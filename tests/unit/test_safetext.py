"""Untrusted text is shown literally; only colour escapes survive."""

from __future__ import annotations

import pytest
from rich.console import Console

from opsdash.safetext import ansi_text, literal, strip_unsafe
from tests.hostile import BIDI, HOSTILE, HOSTILE_BYTES, MARKUP, ZERO_WIDTH, unsafe_chars


def render(text) -> str:
    console = Console(force_terminal=True, color_system="truecolor", width=200)
    with console.capture() as capture:
        console.print(text, end="")
    return capture.get()


def test_markup_stays_text():
    assert literal("[bold red]boom[/]").plain == "[bold red]boom[/]"
    assert "[bold red]boom[/]" in render(literal("[bold red]boom[/]"))


def test_escape_sequences_stripped():
    evil = "a\x1b]0;pwned title\x07b\x1b[2Jc\x1b]52;c;ZXZpbA==\x07d\x1bPq#0\x1b\\e\x9b31mf\x07g\rh"
    assert strip_unsafe(evil) == "abcdefgh"


def test_ansi_keeps_colour_but_not_other_sequences():
    line = "\x1b[31mred\x1b[0m \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x1b[1;1H[b]x[/b]"
    text = ansi_text(line)
    assert text.plain == "red link [b]x[/b]"
    assert [(s.start, s.end) for s in text.spans if s.style.color] == [(0, 3)]
    out = render(text)
    assert "\x1b]" not in out and "\x1b[1;1H" not in out


def test_control_characters_removed():
    assert strip_unsafe("tab\there\x00\x08\x7f") == "tab    here"


# --- the shared hostile corpus (tests/hostile.py) ---------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_entry_comes_out_clean_in_each_form(name):
    value = HOSTILE[name]
    for out in (strip_unsafe(value), literal(value).plain, ansi_text(value).plain):
        assert unsafe_chars(out) == []
    for rendered in (render(literal(value)), render(ansi_text(value, keep_colour=False))):
        assert unsafe_chars(rendered.replace("\x1b[0m", "")) == []
        assert "\x1b]" not in rendered and "\x1bP" not in rendered
    rendered.encode("utf-8")  # no lone surrogate left: every terminal can print it


@pytest.mark.parametrize("name", sorted(MARKUP))
def test_markup_entries_are_shown_as_written(name):
    value = MARKUP[name]
    assert strip_unsafe(value) == value
    assert literal(value).plain == value
    assert value in render(literal(value))


@pytest.mark.parametrize("name", sorted(HOSTILE_BYTES))
def test_bytes_are_decoded_with_replacement(name):
    out = strip_unsafe(HOSTILE_BYTES[name])
    assert unsafe_chars(out) == []
    assert not out.startswith("b'")


def test_invalid_utf8_becomes_replacement_characters():
    assert strip_unsafe(b"caf\xc3 \xff") == "caf\ufffd \ufffd"
    smuggled = b"caf\xc3 \xff".decode("utf-8", "surrogateescape")
    assert strip_unsafe(smuggled) == "caf\ufffd \ufffd"


def test_bidi_and_zero_width_characters_are_made_visible():
    assert strip_unsafe("invoice\u202etxt.exe") == "invoice<U+202E>txt.exe"
    shown = strip_unsafe(BIDI + ZERO_WIDTH)
    for char in BIDI + ZERO_WIDTH:
        assert f"<U+{ord(char):04X}>" in shown
    assert unsafe_chars(shown) == []


def test_c1_and_st_terminated_sequences_are_removed():
    assert strip_unsafe("a\x9d0;TITLE\x9cb\x90q\x9cc\x9b2Jd") == "abcd"
    assert strip_unsafe("a\x1b]0;T\x1b\\b\x1bP+q\x1b\\c") == "abc"
    assert strip_unsafe("a\x1b]52;c;cHdu") == "a"  # unterminated: the rest is dropped


def test_printable_text_is_unchanged():
    text = "naïve café — 日本語 ✓ 👍 [x] {y} <z> 100%"
    assert strip_unsafe(text) == text
