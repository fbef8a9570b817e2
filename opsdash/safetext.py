"""Render untrusted text literally.

Container names, labels, image names and log lines come from other people. They
are never parsed as Rich markup, and no terminal escape sequence reaches the
terminal except colour (SGR), which `ansi_text` turns into Rich styles.
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


def strip_unsafe(value: object) -> str:
    """Plain text with every escape sequence and control character removed."""
    text = str(value)
    text = _ESCAPES.sub("", text)
    text = text.replace("\t", "    ")
    return _CONTROL.sub("", text)


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
