"""The names `[ui] theme` and `--theme` accept, without importing Textual.

The config is read before Textual loads (and `opsdash check` never loads it),
so the names live here: opsdash's own themes (defined in `opsdash.themes`) and
Textual's built-in ones. tests/unit/test_themes.py checks both lists against
what the app registers, so a Textual upgrade that adds or drops a theme fails
a test instead of a user's config.
"""

from __future__ import annotations

DEFAULT_THEME = "textual-dark"

# opsdash's own: only the 16 terminal colours (the terminal's palette decides
# how they look), and white on black with bright accents.
OPSDASH_THEMES = ("ansi", "high-contrast")

# Textual's BUILTIN_THEMES, in its order.
TEXTUAL_THEMES = (
    "textual-dark",
    "textual-light",
    "nord",
    "gruvbox",
    "catppuccin-mocha",
    "dracula",
    "tokyo-night",
    "monokai",
    "flexoki",
    "catppuccin-latte",
    "catppuccin-frappe",
    "catppuccin-macchiato",
    "solarized-light",
    "solarized-dark",
    "rose-pine",
    "rose-pine-moon",
    "rose-pine-dawn",
    "atom-one-dark",
    "atom-one-light",
    "ansi-dark",
    "ansi-light",
)

THEME_NAMES = (*OPSDASH_THEMES, *TEXTUAL_THEMES)


def unknown_theme(name: str) -> str | None:
    """Why `name` is not a theme (with the closest one), or None when it is."""
    if name in THEME_NAMES:
        return None
    import difflib

    close = difflib.get_close_matches(name, THEME_NAMES, n=1) if len(name) <= 100 else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown theme {name!r}{hint}; one of: {', '.join(THEME_NAMES)}"
