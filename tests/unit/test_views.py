"""The renderer package: what `/` finds comes from the columns, and it stays Rich-only."""

from __future__ import annotations

import dataclasses

import pytest
from rich.text import Text

from opsdash.views.common import Column, search_text
from opsdash.views.containers import CONTAINER_COLUMNS, container_search_text
from opsdash.views.models import model_search_text
from opsdash.views.pipelines import run_search_text
from tests.fakes import sample_containers, sample_model_rows, sample_runs


def test_search_text_joins_the_searchable_columns_and_the_unshown_facts():
    columns = [
        Column("a", "A", lambda r, _: Text(r["a"]), lambda r: r["a"], search=lambda r: r["a"]),
        Column("n", "N", lambda r, _: Text(str(r["n"])), lambda r: r["n"]),  # not searched
    ]
    text = search_text(columns, lambda r: r["hidden"])
    assert text({"a": "Web API", "n": 42, "hidden": "Tier=Front"}) == "web api tier=front"


def test_the_filter_finds_what_a_cell_cuts_short_or_does_not_show():
    web = dataclasses.replace(sample_containers()[0], name="x" * 40 + "-tail")
    found = container_search_text(web)
    assert "-tail" in found  # the NAME cell stops at 32 characters
    assert "tier=front" in found  # labels: in no column
    assert "shop" in found and "web" in found  # PROJECT's two halves

    run = sample_runs()[0]
    assert run.sha[:12].lower() in run_search_text(run)
    assert run.vendor_status.lower() in run_search_text(run)

    assert "champion" in model_search_text(sample_model_rows()[0])  # the alias, in SERVING


def test_containers_are_filtered_on_the_columns_a_user_types_words_from():
    """Numbers, ages and ports are not searched; the words are (as before the split)."""
    searched = {c.key for c in CONTAINER_COLUMNS if c.search is not None}
    assert searched == {"name", "host", "state", "health", "image", "project"}


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        ("acc/busybox:1", "acc/busybox:1"),  # the real stack's: was cut to `acc/busybox:`
        ("registry.example.com:5000/acme/shop-web:2026.12.03-rc1", "…shop-web:2026.12.03-rc1"),
        ("registry.example.com:5000/acme/shop-web", "….com:5000/acme/shop-web"),
        ("acc/busybox@sha256:" + "cd" * 32, "acc/busybox@cdcdcdcdcdcd"),
        ("sha256:" + "ab" * 32, "abababababab"),
        ("3f2a9c1d8e7b6a5f4e3d2c1b", "3f2a9c1d8e7b"),  # a commit
        ("x/y:" + "t" * 40, "x/y:ttttttt…tttttttttttt"),
    ],
)
def test_last_deploy_keeps_the_tag_of_an_image(version, shown):
    from opsdash.views.deployments import VERSION_WIDTH, short_version

    assert short_version(version) == shown
    assert len(shown) <= VERSION_WIDTH
