"""One corpus of hostile text, and the checks that it came out harmless.

Every path from text others control to the screen or a terminal is fed each
entry (tests/app/test_hostile_text.py, tests/unit/test_safetext.py); other
tests import it too. An entry is what an attacker controls: a container name,
a log tail, a CI server's error message, an image typed into a dialog.
`MARKUP` entries must show on screen exactly as written.
"""

from __future__ import annotations

import re

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

# Shown literally, character for character.
MARKUP = {
    "rich-style": "[bold red]X[/]",
    "auto-close": "[/]",
    "path-in-brackets": "cannot read [/etc/app.conf]",
    "ci-denied": "denied [/etc/ci.conf]",
    "typed-image": "acc/busybox:[/x]",
    "link": "[link=https://evil.example/]click[/link]",
    "textual-action": "[@click=app.quit]quit[/]",
    "textual-variable": "[$accent]x[/] [on $error]y",
    "escaped-bracket": "\\[not markup] \\\\[b]x",
    "emoji-code": ":warning: :red_circle:",
    "unclosed": "[bold",
}

# Escapes and invisible characters: none of them may reach the terminal.
CONTROLS = {
    "csi-clear": "\x1b[2J\x1b[Hcleared",
    "csi-colour": "\x1b[31mred\x1b[0m",
    "osc0-bel": "\x1b]0;TITLE\x07after",
    "osc0-st": "\x1b]0;TITLE\x1b\\after",
    "osc8-link": "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",
    "osc52-bel": "\x1b]52;c;cHdu\x07after",
    "osc52-st": "\x1b]52;c;cHdu\x1b\\after",
    "dcs": "\x1bP+q544e\x1b\\after",
    "c1-csi": "\x9b2Jafter",
    "c1-osc": "\x9d0;TITLE\x9cafter",
    "c1-dcs": "\x90qdata\x9cafter",
    "nul": "a\x00b",
    "backspace-cr": "safe\x08\x08\rEVIL\x7f",
    "invalid-utf8": b"caf\xc3 \xff\xfe bytes".decode("utf-8", "surrogateescape"),
    "rlo": "invoice\u202etxt.exe",
    "bidi": f"a{BIDI}b",
    "zero-width": f"a{ZERO_WIDTH}b",
    "separators": "line\u2028para\u2029end",
    "tags": "x\U000e0041\U000e0042y",
}

# The log tail: a container that exits printing this on its next start.
LOG_TAIL = "cannot read [/etc/app.conf]\n[bold red]X[/]\n\x1b]0;TITLE\x07 \x1b]52;c;cHdu\x07"

HOSTILE = {**MARKUP, **CONTROLS, "log-tail": LOG_TAIL}

# Raw bytes (a docker log stream, a file): decoded with replacement.
HOSTILE_BYTES = {
    "invalid-utf8": b"caf\xc3 \xff\xfe bytes",
    "c1-8bit-csi": b"\x9b2J after",
    "esc-in-bytes": b"\x1b]52;c;cHdu\x07after",
}

# What must never be written: controls (newline excepted), DEL, C1, bidi and
# zero-width characters, separators, tag characters, lone surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]"
)


def unsafe_chars(text: str) -> list[str]:
    """The characters of `text` that must not reach a terminal (empty: clean)."""
    return sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})


# What Textual itself writes between text: SGR styles and cursor moves.
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]")


def terminal_leftovers(output: str) -> list[str]:
    """Anything in what goes to the terminal besides text, SGR and cursor moves:
    an OSC (title, clipboard, hyperlink), a DCS, a C1 control, bidi..."""
    return unsafe_chars(_OWN_SEQUENCES.sub("", output))


def screen_output(app) -> tuple[str, str]:
    """(text, bytes-to-terminal) of the whole current screen, toasts included:
    the text of every segment, and what the driver would write for them."""
    compositor = app.screen._compositor
    text = "".join(
        segment.text for strip in compositor.render_strips() for segment in strip if segment.text
    )
    written = compositor.render_full_update().render_segments(app.console)
    return text, written


def assert_clean_screen(app) -> str:
    """The screen holds no unsafe character; returns its text for further checks."""
    text, written = screen_output(app)
    assert unsafe_chars(text) == [], unsafe_chars(text)
    assert terminal_leftovers(written) == [], terminal_leftovers(written)
    return text


def screen_lines(app) -> list[str]:
    """The current screen as rows of text (what a person reads), toasts included."""
    return [
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    ]


def shown(app, text: str) -> bool:
    """`text` is on one row of the screen."""
    return any(text in line for line in screen_lines(app))
