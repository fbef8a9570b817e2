"""Render untrusted text literally.

Container names, labels, image names, log lines and the error messages of
servers come from other people. They are never parsed as Rich or Textual
markup, and nothing in them reaches the terminal as a control: escape
sequences and control characters are dropped (colour (SGR) survives only in
log lines, through `ansi_text`), and the invisible characters that reorder or
hide text (bidi controls, zero-width characters, line separators, tag
characters) are shown as `<U+202E>` so a name cannot pretend to be another.
Bytes are decoded as UTF-8 with replacement, and lone surrogates (undecodable
bytes smuggled in by `surrogateescape`) become U+FFFD, which every terminal
can print.

`strip_unsafe` is the plain-text form, for the audit log, the store and the
`--log` file; `literal` is the Rich form every screen uses.
"""

from __future__ import annotations

import re

from rich.text import Text

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC (ESC P|X|^|_ ... ST),
# other two-byte ESC sequences, and the 8-bit C1 forms of CSI and OSC.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]              # CSI
    | (?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c|$)     # OSC
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c|$)  # DCS SOS PM APC
    | \x1b[ -/]*[0-~]?                             # other ESC sequences
    """,
    re.VERBOSE | re.DOTALL,
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Invisible characters that reorder (bidi embeddings, overrides, isolates and
# marks, U+061C) or hide text (zero-width space/joiners, word joiner, BOM,
# invisible operators, the Mongolian vowel separator, interlinear annotation
# and tag characters), and the line/paragraph separators some terminals break on.
_INVISIBLE = re.compile(
    "[\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group(0)):04X}>"


def strip_unsafe(value: object) -> str:
    """Plain text with every escape sequence and control character removed
    (newlines stay; a tab becomes four spaces) and invisible characters shown."""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("utf-8", errors="replace")
    else:
        text = str(value)
    text = _ESCAPES.sub("", text)
    text = text.replace("\t", "    ")
    text = _CONTROL.sub("", text)
    text = _INVISIBLE.sub(_shown, text)
    return _SURROGATE.sub("\ufffd", text)


def literal(value: object, style: str = "") -> Text:
    """A Rich Text that shows `value` exactly as written (markup stays text)."""
    return Text(strip_unsafe(value), style=style, no_wrap=True, overflow="ellipsis")


def ansi_text(line: str, *, keep_colour: bool = True) -> Text:
    """A log line: colours kept as styles, all other escape sequences dropped."""
    pieces: list[str] = []
    position = 0
    for match in _SGR.finditer(line):
        pieces.append(strip_unsafe(line[position : match.start()]))
        if keep_colour:
            pieces.append(match.group(0))
        position = match.end()
    pieces.append(strip_unsafe(line[position:]))
    cleaned = "".join(pieces)
    if not keep_colour or "\x1b" not in cleaned:
        return Text(cleaned)
    return Text.from_ansi(cleaned, end="")
