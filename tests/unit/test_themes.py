"""The theme names the config accepts, `[ui] theme` and `--theme`, and the glyphs
opsdash draws (no Nerd Font, no emoji: a plain terminal font shows them all)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from opsdash.cli import main
from opsdash.config import ConfigError, load_config
from opsdash.theme_names import OPSDASH_THEMES, TEXTUAL_THEMES, unknown_theme

ROOT = Path(__file__).resolve().parents[2]


def test_the_names_are_textuals_and_opsdashs_own():
    from textual.theme import BUILTIN_THEMES

    from opsdash.themes import THEMES

    assert tuple(BUILTIN_THEMES) == TEXTUAL_THEMES, "Textual's themes changed: update theme_names"
    assert tuple(t.name for t in THEMES) == OPSDASH_THEMES
    assert not set(OPSDASH_THEMES) & set(TEXTUAL_THEMES)


def test_the_ansi_theme_names_only_the_16_terminal_colours():
    from opsdash.themes import ANSI

    colours = [
        getattr(ANSI, name)
        for name in ("primary", "secondary", "accent", "warning", "error", "success")
    ]
    colours += [ANSI.foreground, ANSI.background, ANSI.surface, ANSI.panel, ANSI.boost]
    colours += [v for k, v in ANSI.variables.items() if not k.endswith("text-style")]
    assert ANSI.ansi and all(c.startswith("ansi_") for c in colours), colours


def _config(tmp_path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_ui_theme_is_read(tmp_path):
    path = _config(tmp_path, '[ui]\ntheme = "ansi"\n')
    assert load_config(path, explicit=True, autodetect=False).theme == "ansi"
    assert load_config(_config(tmp_path, ""), explicit=True, autodetect=False).theme == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'refresh = 5\n\n[ui]\ntheme = "nrod"\n',
            ":4: ui.theme: unknown theme 'nrod' (did you mean 'nord'?); one of: ansi,",
        ),
        ("[ui]\ntheme = 3\n", ":2: ui.theme: must be str, not int"),
        ('[ui]\ncolours = "ansi"\n', ":2: ui.colours: unknown key"),
        ('ui = "ansi"\n', ":1: ui: must be a table, not str"),
        ('[ui]\ntheme = "a\\u001b[2J"\n', "ui.theme: contains an escape"),
    ],
)
def test_a_bad_ui_theme_is_one_line_naming_file_key_and_line(tmp_path, text, expected):
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, explicit=True, autodetect=False)
    message = str(caught.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_theme_option_is_checked_before_anything_starts(capsys):
    assert main(["--theme", "high-contrats", "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("opsdash: --theme: unknown theme 'high-contrats'")
    assert "did you mean 'high-contrast'?" in err and err.count("\n") == 1
    assert unknown_theme("ansi") is None and unknown_theme("textual-light") is None


def test_no_nerd_font_or_emoji_glyph_is_drawn():
    """Private-use code points (Nerd Font icons), astral characters (emoji) and
    the media-control symbols a terminal may draw as a wide emoji."""
    bad = []
    for path in sorted((ROOT / "opsdash").rglob("*")):
        if path.suffix not in (".py", ".tcss"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for char in line:
                code = ord(char)
                if (
                    unicodedata.category(char) == "Co"
                    or code >= 0x10000
                    or code == 0xFE0F
                    or 0x23E9 <= code <= 0x23FA
                ):
                    bad.append(f"{path.relative_to(ROOT)}:{number}: U+{code:04X}")
    assert not bad, bad
