"""Which forge the git checkout opsdash was started in lives on, from its
`.git/config` (no git binary needed): how GitHub and GitLab sources autodetect."""

from __future__ import annotations

import re
from pathlib import Path

_REMOTE = re.compile(
    r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?[:/](?P<path>.+?)(?:\.git)?/?$"
)


def git_remote(start: Path) -> str:
    """The `origin` URL of the git checkout holding `start`, or ""."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_file():  # a worktree: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            dot_git = (folder / text.removeprefix("gitdir:").strip()).resolve()
            common = dot_git / "commondir"
            if common.exists():
                dot_git = (dot_git / common.read_text().strip()).resolve()
        if dot_git.is_dir():
            try:
                lines = (dot_git / "config").read_text(encoding="utf-8", errors="replace")
            except OSError:
                return ""
            section = ""
            for line in lines.splitlines():
                line = line.strip()
                if line.startswith("["):
                    section = line
                elif section == '[remote "origin"]' and line.startswith("url"):
                    return line.split("=", 1)[1].strip()
            return ""
    return ""


def origin(start: Path) -> tuple[str, str] | None:
    """(host, project path) of the checkout's origin, lower-cased host; None without one."""
    match = _REMOTE.match(git_remote(start))
    if not match:
        return None
    return match["host"].lower(), match["path"].strip("/")


def env_token(environ, names: tuple[str, ...]) -> str:
    """The first of the conventional token variables that is set."""
    return next((environ[v] for v in names if environ.get(v)), "")
