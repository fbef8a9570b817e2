"""Untrusted text is shown literally; only colour escapes survive."""

from __future__ import annotations

from rich.console import Console

from opsdash.safetext import ansi_text, literal, strip_unsafe


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
