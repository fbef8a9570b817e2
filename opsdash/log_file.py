"""`w` on the logs screen: the buffer into a new file with a safe name.

The name comes from a container's (or a pod's) name, which anyone who can start
a container chooses: it is cut down to a plain basename (letters, digits, `_`,
`-`, single dots; never `/`, `..` or a control character), and the file is
created exclusively (never over an existing file, never through a symlink
planted in its place) in one known directory, `[logs] directory` or
$XDG_STATE_HOME/opsdash/logs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from opsdash.safetext import strip_unsafe

MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_DOTS = re.compile(r"\.{2,}")


def safe_basename(name: str, fallback: str = "logs") -> str:
    """`name` as a file name part that is only itself: no directory, no `..`,
    nothing hidden (no leading dot), nothing a terminal would act on."""
    text = _UNSAFE.sub("_", strip_unsafe(name))
    text = _DOTS.sub("_", text).strip("._-")[:MAX_NAME].strip("._-")
    return text or fallback


def log_directory(configured: str = "") -> Path:
    from opsdash.locations import logs_dir

    return Path(configured) if configured else logs_dir()


def write_log(
    directory: Path, name: str, lines: Iterable[str], now: datetime | None = None
) -> Path:
    """Write `lines` (already plain text) to a new file in `directory` (made,
    private, if missing); its path. OSError (or FileExistsError after 100
    names taken) says why not."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = f"opsdash-{safe_basename(name)}-{(now or datetime.now()):%Y%m%d-%H%M%S}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    for number in range(100):
        path = directory / (f"{stem}.log" if number == 0 else f"{stem}-{number}.log")
        try:
            fd = os.open(path, flags, 0o600)
            break
        except FileExistsError:
            continue  # a file or a link has the name: take the next one
    else:
        raise FileExistsError(f"{stem}.log: 100 files of that name exist")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
    return path
