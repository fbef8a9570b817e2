"""Where opsdash reads its config and keeps its data (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var, "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / fallback


def env_config_path() -> Path | None:
    """The file $OPSDASH_CONFIG names, if set: like --config, it must then exist."""
    explicit = os.environ.get("OPSDASH_CONFIG")
    return Path(explicit).expanduser() if explicit else None


def config_path() -> Path:
    """$OPSDASH_CONFIG, else $XDG_CONFIG_HOME/opsdash/config.toml."""
    return env_config_path() or _xdg("XDG_CONFIG_HOME", ".config") / "opsdash" / "config.toml"


def data_dir() -> Path:
    """$OPSDASH_DATA_DIR, else $XDG_DATA_HOME/opsdash: the SQLite store lives here."""
    explicit = os.environ.get("OPSDASH_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "opsdash"


def state_dir() -> Path:
    """$XDG_STATE_HOME/opsdash: what is this machine's alone (a shared store's spool)."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "opsdash"


def logs_dir() -> Path:
    """$XDG_STATE_HOME/opsdash/logs: where `w` on the logs screen writes (the
    `[logs] directory` key names another)."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "opsdash" / "logs"
