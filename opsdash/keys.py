"""`[keys]` validation, against the bindings each screen and widget declares.

The bindings live where they are used (each class's BINDINGS, with ids); the
help screen groups them (`opsdash.screens.help.binding_groups`) and this
module checks a keymap against those groups.

A remap in `[keys]` is checked three ways before the app starts: the id must
exist, every key name must be one Textual can bind (a typo would silently bind
nothing), and the new key must not take another binding's key where both are
live at once, nor a key that moves the cursor (``quit = "j"`` would quit from a
list instead of moving down). Textual itself resolves such clashes silently.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import KEY_ALIASES, KEY_NAME_REPLACEMENTS, Keys

from opsdash.config import Config, ConfigError
from opsdash.config_checks import config_text, line_of, shown
from opsdash.screens.help import EVERYWHERE, LISTS, WITH_LISTS
from opsdash.screens.help import binding_groups as help_groups

MOVE_IDS = {
    "cursor-down",
    "cursor-up",
    "cursor-top",
    "cursor-bottom",
    "joblog-down",
    "joblog-up",
    "joblog-top",
    "joblog-bottom",
    "logs-down",
    "logs-up",
}
_MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}


def binding_groups() -> list[tuple[str, list[Binding]]]:
    """The help screen's groups, with the app's own bindings as "Everywhere".

    The app is imported here, not in `opsdash.screens.help`: this module sits
    above the app (the CLI validates `[keys]` before starting it), while the help
    screen sits below it and reads the running app's BINDINGS instead.
    """
    from opsdash.app import OpsdashApp

    return help_groups(OpsdashApp.BINDINGS)


def binding_ids() -> set[str]:
    return {b.id for _, group in binding_groups() for b in group if b.id}


def _character_key(char: str) -> str:
    """Textual's name for a one-character key: "?" is "question_mark", "/" is "slash"."""
    if char.isalnum():
        return char
    try:
        name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return char
    return KEY_NAME_REPLACEMENTS.get(name, name)


def _known_names() -> set[str]:
    names = {key.value.rsplit("+", 1)[-1] for key in Keys}
    names |= {_character_key(chr(code)) for code in range(0x20, 0x7F)}
    names |= {chr(code) for code in range(0x21, 0x7F)}
    return {name for name in names if name and not name.startswith("<")}


def normalize(key: str) -> str:
    """One key as Textual compares it (single characters by their name)."""
    key = key.strip()
    return _character_key(key) if len(key) == 1 else key


def _valid(key: str, known: set[str]) -> bool:
    if len(key) == 1:
        return True
    *modifiers, name = key.split("+")
    return bool(name) and name in known and all(m in _MODIFIERS for m in modifiers)


def _aliases(key: str) -> set[str]:
    same = {key, *KEY_ALIASES.get(key, [])}
    same |= {main for main, others in KEY_ALIASES.items() if key in others}
    return same


@dataclass(frozen=True)
class _Live:
    """One binding with the keys it has once the keymap is applied."""

    group: str
    id: str | None
    keys: frozenset[str]
    remapped: bool

    @property
    def moves(self) -> bool:
        return self.id in MOVE_IDS or (self.group == LISTS and self.id is None)

    @property
    def label(self) -> str:
        return self.id or "the cursor movement of lists"


def _live_together(a: _Live, b: _Live) -> bool:
    """Whether both bindings can answer a key on the same screen at the same time."""
    groups = {a.group, b.group}
    if a.group == b.group or EVERYWHERE in groups:
        return True
    return LISTS in groups and bool(groups & WITH_LISTS)


def _error(config: Config, key: str, message: str) -> ConfigError:
    text = ""
    if config.path:
        try:
            text = config_text(str(config.path))
        except ValueError:
            text = ""
    return ConfigError(config.path or "config", key, message, line_of(text, key))


def validate_keymap(config: Config) -> None:
    """Unknown ids, unknown key names and keys that shadow another binding are errors."""
    groups = binding_groups()
    known_ids = {b.id for _, group in groups for b in group if b.id}
    known_names = _known_names()
    keymap: dict[str, frozenset[str]] = {}
    for binding_id, value in config.keys.items():
        key = f"keys.{binding_id}"
        if binding_id not in known_ids:
            hint = difflib.get_close_matches(binding_id, known_ids, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise _error(config, key, f"unknown binding id{suggestion}")
        names = [normalize(name) for name in value.split(",")]
        for name in names:
            if not _valid(name, known_names):
                raise _error(
                    config,
                    key,
                    f"unknown key name {shown(name, 40)!r} (a key is one character or a name "
                    'such as "ctrl+r", "f5", "escape", "question_mark")',
                )
        keymap[binding_id] = frozenset(names)

    live: list[_Live] = []
    for group, bindings in groups:
        for binding in bindings:
            default = frozenset(normalize(k) for k in binding.key.split(","))
            keys = keymap.get(binding.id, default) if binding.id else default
            live.append(_Live(group, binding.id, keys, keys != default))
    for mine in (b for b in live if b.remapped):
        for other in live:
            if other.id == mine.id or not (
                mine.keys & {a for k in other.keys for a in _aliases(k)}
            ):
                continue
            shared = sorted(mine.keys & {a for k in other.keys for a in _aliases(k)})[0]
            if other.moves and not mine.moves:
                raise _error(
                    config,
                    f"keys.{mine.id}",
                    f"{shared!r} is a move key ({other.label}); pick another key",
                )
            if _live_together(mine, other):
                where = mine.group if mine.group == other.group else f"{mine.group}/{other.group}"
                raise _error(
                    config,
                    f"keys.{mine.id}",
                    f"{shared!r} is also the key of {other.label} ({where}); "
                    f"pick another key or remap {other.label} too",
                )
