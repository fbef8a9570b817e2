"""opsdash's own themes, registered beside Textual's, and the one chosen at start.

`ansi` paints with the 16 terminal colours only (and the terminal's own
foreground and background), so the terminal's palette decides every colour:
a solarized or light terminal stays itself, and a terminal without truecolor
loses nothing. `high-contrast` is white on black with saturated accents, its
named colours at least 7:1 against black. Both appear in the command palette's
"Theme" list, as every registered theme does.

NO_COLOR wins over any theme: Textual alone would only grey the colours out
(still colour escapes, 24-bit ones), so opsdash switches to `no-color`, the
ansi theme whose cursors and selections are reverse video, and swaps Textual's
greyscale filter for the one that drops every colour. The words and icons of
every status cell carry the meaning.
"""

from __future__ import annotations

from dataclasses import replace

from rich.terminal_theme import TerminalTheme
from textual.app import App
from textual.filter import Monochrome, NoColor
from textual.theme import Theme

ANSI = Theme(
    name="ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    accent="ansi_yellow",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        "ansi-background": "ansi_black",  # Textual's own CSS refers to these two
        "ansi-foreground": "ansi_white",
        "border": "ansi_bright_blue",
        "border-blurred": "ansi_blue",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_cyan",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-foreground": "ansi_default",
        "block-cursor-blurred-background": "ansi_default",
        "block-cursor-blurred-text-style": "reverse",
        "footer-key-foreground": "ansi_yellow",
        "input-cursor-background": "ansi_white",
        "input-cursor-foreground": "ansi_black",
        "input-cursor-text-style": "none",
        "input-selection-background": "ansi_blue",
        "input-selection-foreground": "ansi_bright_white",
        "screen-selection-background": "ansi_blue",
        "screen-selection-foreground": "ansi_bright_white",
    },
)

HIGH_CONTRAST = Theme(
    name="high-contrast",
    primary="#00ffff",
    secondary="#ffff00",
    accent="#ffff00",
    warning="#ffff00",
    error="#ff4040",
    success="#00ff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#000000",
    boost="#000000",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={
        "text-muted": "#ffffff",
        "foreground-muted": "#ffffff",
        "border": "#ffff00",
        "border-blurred": "#ffffff",
        "block-cursor-foreground": "#000000",
        "block-cursor-background": "#ffff00",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-foreground": "#000000",
        "block-cursor-blurred-background": "#ffffff",
        "block-hover-background": "#303030",
        "footer-foreground": "#ffffff",
        "footer-background": "#000000",
        "footer-key-foreground": "#ffff00",
        "footer-description-foreground": "#ffffff",
        "input-cursor-background": "#ffffff",
        "input-cursor-foreground": "#000000",
        "input-selection-background": "#00ffff",
        "input-selection-foreground": "#000000",
        "scrollbar": "#ffffff",
        "scrollbar-background": "#000000",
    },
)

# What the named colours of the views' cells ("red", "green", ...) become in
# high-contrast: every one at least 7:1 against black (Textual's default palette
# has a red of 5:1).
HIGH_CONTRAST_PALETTE = TerminalTheme(
    (0, 0, 0),
    (255, 255, 255),
    [
        (0, 0, 0),
        (255, 120, 120),
        (0, 255, 0),
        (255, 255, 0),
        (130, 170, 255),
        (255, 130, 255),
        (0, 255, 255),
        (255, 255, 255),
    ],
    [
        (200, 200, 200),
        (255, 150, 150),
        (120, 255, 120),
        (255, 255, 120),
        (160, 190, 255),
        (255, 160, 255),
        (120, 255, 255),
        (255, 255, 255),
    ],
)

# Under NO_COLOR only: what stands out must do so by reverse video or bold.
NO_COLOUR = replace(
    ANSI,
    name="no-color",
    variables={
        **ANSI.variables,
        "block-cursor-text-style": "reverse bold",
        "block-cursor-blurred-text-style": "reverse",
        "input-cursor-text-style": "reverse",
        "input-selection-background": "ansi_default",
        "input-selection-foreground": "ansi_default",
        "screen-selection-background": "ansi_default",
        "screen-selection-foreground": "ansi_default",
        "footer-key-foreground": "ansi_default",
    },
)

THEMES = (ANSI, HIGH_CONTRAST)  # in theme_names.OPSDASH_THEMES's order (a test checks)


def use_themes(app: App, name: str) -> None:
    """Register opsdash's themes with `app` and switch to `name` ("" keeps the default).

    `name` was checked when the config (or --theme) was read; under NO_COLOR it
    is set aside for `no-color`."""
    for theme in THEMES:
        app.register_theme(theme)
    if app.no_color:  # Textual read NO_COLOR when the app was built
        app.register_theme(NO_COLOUR)
        app.theme = NO_COLOUR.name
        app._filters[:] = [NoColor() if isinstance(f, Monochrome) else f for f in app._filters]
    else:
        _palette_follows_theme(app)
        if name:
            app.theme = name


def _palette_follows_theme(app: App) -> None:
    """The palette Textual maps named colours through: high-contrast's own while it
    is the theme (also when picked in the command palette), Textual's otherwise."""
    usual = app.ansi_theme_dark

    def follow(name: str) -> None:
        app.ansi_theme_dark = HIGH_CONTRAST_PALETTE if name == HIGH_CONTRAST.name else usual

    app.watch(app, "theme", follow, init=False)
