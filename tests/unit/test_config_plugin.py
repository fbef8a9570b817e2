"""A third-party source's table is read from its own dataclass, with no edit to config.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from opsdash.config import ConfigError, load_config
from opsdash.config_doc import key_table
from opsdash.config_tables import schema_of
from opsdash.sources import registry
from opsdash.sources.base import Source
from opsdash.sources.settings import http_url, option, token_option


@dataclass(frozen=True, slots=True, kw_only=True)
class WidgetConfig:
    """One [[widget]] table: a throwaway source of this test."""

    kind: ClassVar[str] = "widget"
    name: str = option(doc="unique")
    endpoint: str = option(doc="where the widgets are", check=http_url)
    api_key: str = token_option(("OPSDASH_T_WIDGET_KEY",))
    limit: int = option(5, doc="widgets shown", bounds=(1, 10, ""))
    ratio: float | None = option(None, doc="a fraction", bounds=(0.0, 1.0, ""))
    tags: tuple[str, ...] = option((), toml="labels", doc="tags to show")
    weights: tuple[tuple[str, float], ...] = option((), bounds=(-1e300, 1e300, ""))
    options: tuple[tuple[str, str], ...] = option(())
    verbose: bool = option(False)
    refresh: float = option(2.0, doc="seconds between polls", from_refresh=True)


class WidgetSource(Source):
    kind = "widget"
    feeds = object
    config_class = WidgetConfig

    def __init__(self, config: WidgetConfig):
        super().__init__(config.name, config.refresh, 10.0)

    def poll(self) -> object:
        return object()


class _Point:
    """What an entry point of a third-party distribution gives."""

    value = "widgets_plugin:WidgetSource"

    def load(self) -> type[Source]:
        return WidgetSource


@pytest.fixture(autouse=True)
def _installed(monkeypatch):
    real = registry._entry_points()
    monkeypatch.setattr(registry, "_entry_points", lambda: {**real, "widget": _Point()})
    monkeypatch.delenv("OPSDASH_T_WIDGET_KEY", raising=False)


def load(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text("docker = []\nhost = []\n" + text)
    return path, load_config(path)


def test_a_plugin_table_is_read_from_its_dataclass(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSDASH_T_WIDGET_KEY", "k3y")
    _, config = load(
        tmp_path,
        "refresh = 7\n[[widget]]\nendpoint = 'https://w.example.com/'\nlimit = 3\n"
        'labels = ["a", "b"]\nweights = { a = 1 }\noptions = { dry = true }\nratio = 0.5\n'
        "[[widget]]\nname = 'second'\nendpoint = 'http://w2'\n",
    )
    first, second = config.of_kind("widget")
    assert first == WidgetConfig(
        name="widget",
        endpoint="https://w.example.com",
        api_key="k3y",
        limit=3,
        ratio=0.5,
        tags=("a", "b"),
        weights=(("a", 1.0),),
        options=(("dry", "true"),),
        refresh=7.0,
    )
    assert (second.name, second.limit, second.ratio, second.api_key) == ("second", 5, None, "k3y")
    assert "k3y" not in repr(first)
    assert not config.warnings


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "[[widget]]\nendpoint = 'http://w'\nlimt = 3\n",
            "5: widget[0].limt: unknown key (did you mean 'limit'?)",
        ),
        ("[[widget]]\nname = 'w'\n", "3: widget[0].endpoint: is required"),
        (
            "[[widget]]\nendpoint = 'ftp://w'\n",
            "4: widget[0].endpoint: must be an http:// or https:// URL, not 'ftp://w'",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\nlimit = 50\n",
            "5: widget[0].limit: must be from 1 to 10, not 50",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\nratio = nan\n",
            "5: widget[0].ratio: must be from 0 to 1, not nan",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\nlimit = 2.5\n",
            "5: widget[0].limit: must be int, not float",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\nlabels = [1]\n",
            "5: widget[0].labels: must be a list of non-empty strings",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\nweights = { x = 'a' }\n",
            "5: widget[0].weights.x: must be a number",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\nverbose = 1\n",
            "5: widget[0].verbose: must be bool, not int",
        ),
        (
            "[[widget]]\nendpoint = 'http://w'\n[[widget]]\nname = 'widget'\nendpoint = 'http://v'\n",
            "6: widget[1].name: duplicate source name 'widget'",
        ),
        ("[[widgte]]\n", "3: widgte: unknown source kind (did you mean 'widget'?)"),
    ],
)
def test_plugin_errors_are_the_same_one_line_errors(tmp_path, text, line):
    path = tmp_path / "config.toml"
    path.write_text("docker = []\nhost = []\n" + text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:{line}")


def test_a_literal_plugin_secret_warns(tmp_path):
    _, config = load(tmp_path, "[[widget]]\nendpoint = 'http://w'\napi_key = 'literal'\n")
    assert any("widget[0].api_key: literal secret" in w for w in config.warnings)


def test_a_plugin_number_without_a_range_is_refused_when_declared():
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Unbounded:
        kind: ClassVar[str] = "unbounded"
        name: str
        size: int = 3

    with pytest.raises(TypeError, match=r"Unbounded\.size: a number needs bounds="):
        schema_of(Unbounded)


def test_a_plugin_table_is_documented_from_its_dataclass():
    table = key_table(WidgetConfig)
    assert "| `labels` | list of strings | `[]` | tags to show |" in table
    assert "| `endpoint` | string | required | where the widgets are |" in table
    assert "| `api_key` | string | $OPSDASH_T_WIDGET_KEY |" in table
