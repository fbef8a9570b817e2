"""Value checks for the config: the file itself, numbers, strings, CA bundles.

A config is written by the user but often assembled from pieces they do not
control (a `${ENV}` filled by a CI system, a file dropped by a tool), and every
value ends up in a poll loop, a thread pool or on the screen. So each check
here bounds something: the bytes read, the range of a number (finite, never
0 or a busy-poll), the characters of a string (no terminal escape or newline
reaches a header), the size of a list. A failed check raises `Invalid`; the
caller adds the file, key and line and turns it into a one-line ConfigError.
Pure functions, no textual: the key names are checked for printable ASCII
here and against Textual's key syntax in `opsdash.keys`.
"""

from __future__ import annotations

import os
import re
import ssl
import stat

MAX_CONFIG_BYTES = 1024 * 1024  # the config file; a real one is a few kB
MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024  # Debian's full bundle is about 220 kB
MAX_TEXT = 4096  # characters of one string value (names, URLs, queries, argv items)
MAX_ITEMS = 256  # entries of one list or inline table
MAX_TABLES = 64  # [[docker]], [[github]], ... tables of one kind
MAX_KEY_TEXT = 100  # characters of one [keys] value
MAX_NESTING = 100  # brackets and braces open at once in the TOML text

DAY = 86400.0


class Invalid(ValueError):
    """A value that fails a check; the message says why, without echoing secrets."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


# Allowed range of every numeric option, by "table.key" (indices dropped) or by
# the bare key. Every number the schema accepts must have an entry here (a
# test checks it); docs/config.md lists the same ranges.
RANGES: dict[str, tuple[float, float, str]] = {
    "refresh": (0.5, DAY, "seconds"),
    "timeout": (0.5, 3600.0, "seconds"),
    "health_timeout": (1.0, 3600.0, "seconds"),
    "redeploy.timeout": (1.0, DAY, "seconds"),
    "docker.stats_concurrency": (1, 64, ""),
    "runs": (1, 200, ""),
    "prometheus.trend": (60.0, 30 * DAY, "seconds"),
    "prometheus.warning": (-1e300, 1e300, ""),
    "prometheus.breach": (-1e300, 1e300, ""),
    "mlflow.warning": (-1e300, 1e300, ""),
    "mlflow.breach": (-1e300, 1e300, ""),
    "deploy_inputs": (-1e300, 1e300, ""),
    "dora.failure_window": (60.0, 30 * DAY, "seconds"),
    "dora.retention_days": (1, 3650, "days"),
    "kubernetes.rollout_timeout": (5.0, DAY, "seconds"),
    "logs.tail": (0, 10_000, "lines"),
    "record.max_mib": (1, 1_048_576, "MiB"),  # opsdash.config_record
    "store.lease_timeout": (5.0, DAY, "seconds"),
}
_INDEX = re.compile(r"\[\d+\]")


def range_of(key: str) -> tuple[float, float, str]:
    """The range for a key such as ``docker[1].refresh``: by "table.key", else by key."""
    plain = _INDEX.sub("", key)
    if plain in RANGES:
        return RANGES[plain]
    return RANGES[plain.rsplit(".", 1)[-1]]  # KeyError: a schema number without a range


def number_text(value: float) -> str:
    """86400.0 as "86400", 1e9 as "1e+09", nan as "nan"."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def number(
    key: str, value: int | float, bounds: tuple[float, float, str] | None = None
) -> int | float:
    """`value` if it is finite and within `bounds`, else the documented range of `key`."""
    low, high, unit = bounds or range_of(key)
    if not low <= value <= high:  # also false for NaN; inf is past every bound
        shown_value = shown(number_text(value), 40)
        unit_text = f" {unit}" if unit else ""
        if low <= -1e300:
            raise Invalid(f"must be a finite number, not {shown_value}")
        raise Invalid(
            f"must be from {number_text(low)} to {number_text(high)}{unit_text}, not {shown_value}"
        )
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi overrides and isolates (Trojan Source), the bidi marks and the Unicode line and
# paragraph separators: no config value needs them, and they reorder or break a line.
_INVISIBLE = re.compile("[\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def text(value: str, *, multiline: bool = False) -> str:
    """`value` if it holds no control or bidi character and is not too long.

    `multiline` allows newline and tab (a PromQL query, an argv item); the
    message names the character, never the value (it may be a secret).
    """
    if len(value) > MAX_TEXT:
        raise Invalid(f"is {len(value)} characters long, at most {MAX_TEXT} are allowed")
    bad = (_CONTROL if multiline else _CONTROL_OR_LINE).search(value) or _INVISIBLE.search(value)
    if bad:
        what = {"\n": "a newline", "\t": "a tab", "\x1b": "an escape", "\x00": "a NUL"}.get(
            bad.group(),
            "a control character"
            if ord(bad.group()) < 0x100
            else "a bidi or line-separator character",
        )
        raise Invalid(f"contains {what} (U+{ord(bad.group()):04X}); remove it")
    return value


def items(count: int, what: str = "entries") -> None:
    if count > MAX_ITEMS:
        raise Invalid(f"has {count} {what}, at most {MAX_ITEMS} are allowed")


_KEY_TEXT = re.compile(r"[!-~]+")


def key_list(value: str) -> str:
    """A [keys] value: comma-separated key names of printable ASCII ("ctrl+r", "j,down")."""
    if len(value) > MAX_KEY_TEXT:
        raise Invalid(f"is {len(value)} characters long; a key list is at most {MAX_KEY_TEXT}")
    names = [name.strip() for name in value.split(",")]
    if not all(_KEY_TEXT.fullmatch(name) for name in names):
        raise Invalid(
            'must be key names of printable ASCII separated by commas, such as "ctrl+r" or "j,down"'
        )
    return ",".join(names)


def shown(value: str, limit: int = 80) -> str:
    """`value` for an error line: non-printable characters escaped, cut at `limit`."""
    out: list[str] = []
    for char in value[: limit + 1]:
        if char.isprintable():
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    cut = "".join(out)
    return cut[:limit] + "..." if len(value) > limit else cut


def read_regular(path: str, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Opened non-blocking so a FIFO cannot hang the start, then checked with
    fstat on the open descriptor (no race with a swapped path), then read to at
    most `limit + 1` bytes: /dev/zero, a pipe or a growing file cannot make
    opsdash read forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise Invalid(f"{what} not found") from None
    except (OSError, ValueError) as exc:
        raise Invalid(f"cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Invalid(f"is {_kind(mode)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise Invalid(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise Invalid(f"is larger than {limit // 1024} KiB; is this the right file?")
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def config_text(path: str) -> str:
    """The config file's text: a bounded regular file of UTF-8 (a BOM is skipped)."""
    data = read_regular(path, MAX_CONFIG_BYTES, "config file")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Invalid(f"not valid UTF-8 text (byte {exc.start})", line) from None
    return decoded.removeprefix("\ufeff")


_TOKEN = re.compile(r"\"\"\"|'''|[\"'#\[\]{}]")
_STRING_END = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*(?:"|(?=\n)|$)'),
    "'": re.compile(r"[^'\n]*(?:'|(?=\n)|$)"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*(?:"""|$)', re.S),
    "'''": re.compile(r"(?:[^']|'(?!''))*(?:'''|$)", re.S),
    "#": re.compile(r"[^\n]*"),
}


def nesting(document: str) -> None:
    """Refuse arrays or inline tables nested deeper than MAX_NESTING.

    tomllib recurses once per level, so 5,000 `[` raise RecursionError deep
    inside it; counting brackets outside strings and comments first is cheap
    and gives the line. (A table header's brackets open and close on one line.)
    """
    depth = 0
    index = 0
    while match := _TOKEN.search(document, index):
        token = match.group()
        index = match.end()
        if token in _STRING_END:
            index = _STRING_END[token].match(document, index).end()
        elif token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                line = document.count("\n", 0, match.start()) + 1
                raise Invalid(f"arrays or inline tables nested deeper than {MAX_NESTING}", line)
        else:
            depth = max(0, depth - 1)


def syntax_line(err: Exception, document: str) -> int | None:
    """The line of a tomllib syntax error (its message ends "(at line N, column M)")."""
    lineno = getattr(err, "lineno", None)
    if lineno:
        return int(lineno)
    match = re.search(r"at line (\d+)", str(err))
    if match:
        return int(match.group(1))
    return max(1, len(document.splitlines())) if "end of document" in str(err) else None


_HEADER = re.compile(r"^\s*\[")
_TABLE_KEY = re.compile(r"^(?P<name>[^.\[]+)(?:\[(?P<index>\d+)\])?$")


def _assignment(leaf: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*[\"']?{re.escape(leaf)}[\"']?\s*=")


def line_of(document: str, key: str) -> int | None:
    """Best-effort line of a key such as ``docker[1].refresh``, to point the user at it.

    Looks for the leaf inside the right table (the second ``[[docker]]`` for
    ``docker[1]``), then falls back to the first line assigning the leaf.
    """
    lines = document.splitlines()
    head, _, rest = key.partition(".")
    match = _TABLE_KEY.match(head)
    if match:
        name, index = match["name"], int(match["index"] or 0)
        header = re.compile(rf"^\s*\[\[?\s*[\"']?{re.escape(name)}[\"']?\s*\]\]?\s*(#.*)?$")
        seen = -1
        for number, line in enumerate(lines, start=1):
            if not header.match(line):
                continue
            seen += 1
            if seen != index:
                continue
            if not rest:
                return number
            leaf = _assignment(rest.split(".", 1)[0])
            for offset, inner in enumerate(lines[number:], start=number + 1):
                if _HEADER.match(inner):
                    break
                if leaf.match(inner):
                    return offset
            return number
        if not rest:  # a top-level key
            leaf = _assignment(name)
            for number, line in enumerate(lines, start=1):
                if _HEADER.match(line):
                    break
                if leaf.match(line):
                    return number
    leaf = _assignment(key.rsplit(".", 1)[-1].split("[", 1)[0])
    for number, line in enumerate(lines, start=1):
        if leaf.match(line):
            return number
    return None


def ca_bundle(path: str) -> str:
    """`path` (with ~ expanded) if it is a bounded regular file of PEM CAs that ssl loads."""
    expanded = os.path.expanduser(path)
    try:
        data = read_regular(expanded, MAX_CA_BUNDLE_BYTES)
    except Invalid as exc:
        raise Invalid(f"{shown(expanded)}: {exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise Invalid(f"{shown(expanded)}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.create_default_context().load_verify_locations(cafile=expanded)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise Invalid(f"{shown(expanded)}: not a valid PEM certificate bundle ({reason})") from None
    return expanded
