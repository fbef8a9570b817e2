"""What the TUI imports before its first frame: only what that frame draws.

Issue 14: the first frame must come as fast as a bare Textual app's, whatever
the sources do. So the SDKs (docker, httpx, requests), SQLite (the store),
every source module, autodetection, the action machinery and the screens not
shown at start are loaded after it, in a worker or on first use. No timing is
asserted (it would flake on a loaded machine): a fresh interpreter runs the
TUI's own path (`opsdash.cli` reads an empty config, the app draws its first
frame headless with its backend held back) and lists what it had loaded when
the panels were about to replace their frames (right after the first frame).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_FIRST_FRAME = """
import asyncio, sys, threading
from pathlib import Path
from opsdash import cli
from opsdash.app import OpsdashApp
from opsdash.config import load_config
from opsdash.screens.main import MainScreen

config = load_config(Path(sys.argv[1]), explicit=True, autodetect=False)
held = threading.Event()
at_first_frame = []
mount_panels = MainScreen.mount_panels

async def panels_after_the_first_frame(screen):
    at_first_frame.append(sorted(sys.modules))  # what the first frame loaded
    await mount_panels(screen)

MainScreen.mount_panels = panels_after_the_first_frame

def backend():
    held.wait(30)
    raise RuntimeError("held back by the test")

async def first_frame():
    app = OpsdashApp(config, None, backend=backend)  # as `opsdash.cli.run_tui`
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.has_main and app.starting and at_first_frame
        held.set()
    print("\\n".join(at_first_frame[0]))

asyncio.run(first_frame())
"""

# Loaded after the first frame, or only by the command that needs them.
NOT_BEFORE_THE_FIRST_FRAME = (
    "docker",
    "httpx",
    "requests",
    "urllib3",
    "sqlite3",
    "psutil",
    "importlib.metadata",
    "opsdash.store",
    "opsdash.actions",
    "opsdash.action_flow",
    "opsdash.cluster_flow",
    "opsdash.pipeline_flow",
    "opsdash.recovery_flow",
    "opsdash.dora.source",
    "opsdash.dora.watcher",
    "opsdash.sources.build",
    "opsdash.snapshot_output",
    "opsdash.views.audit",
    # The panels (their tables, filter lines and what they show) and the
    # footer's keys are mounted right after the first frame, which draws the
    # panels' frames only (opsdash.widgets.panel_frame); the feed, the poller
    # and the event log come with them.
    "opsdash.widgets.panels",
    "opsdash.widgets.cluster_panel",
    "opsdash.widgets.resource_table",
    "opsdash.widgets.literal_input",
    "opsdash.views.containers",
    "opsdash.views.kube",
    "opsdash.views.pipelines",
    "opsdash.screens.row_keys",
    "opsdash.messages",
    "opsdash.panel_feed",
    "opsdash.poller",
    "opsdash.eventlog",
    "opsdash.redact",
    "opsdash.dora",
    "textual.widgets._data_table",
    "textual.widgets._footer",
    *(
        f"opsdash.screens.{name}"
        for name in (
            "actions",
            "deployments",
            "details",
            "help",
            "kube",
            "logs",
            "models",
            "pipeline",
            "pipeline_list",
            "recovery",
        )
    ),
)
# The source package's declarations and mappings the panels use; no source module.
SOURCE_MODULES_ALLOWED = {
    "opsdash.sources",
    "opsdash.sources.base",
    "opsdash.sources.capabilities",
    "opsdash.sources.registry",  # light: the metadata is read on first use
    "opsdash.sources.settings",
}


def _loaded_at_first_frame(tmp_path: Path, text: str) -> set[str]:
    config = tmp_path / "config.toml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "KUBE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HOME"] = str(tmp_path)
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_FRAME, str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split())


def _offenders(loaded: set[str]) -> list[str]:
    heavy = [
        m
        for m in loaded
        if any(m == n or m.startswith(f"{n}.") for n in NOT_BEFORE_THE_FIRST_FRAME)
    ]
    sources = [
        m for m in loaded if m.startswith("opsdash.sources.") and m not in SOURCE_MODULES_ALLOWED
    ]
    return sorted({*heavy, *sources})


def test_nothing_configured_loads_no_sdk_store_or_source_before_the_first_frame(tmp_path):
    loaded = _loaded_at_first_frame(tmp_path, "")
    assert "opsdash.screens.main" in loaded  # the probe did draw the dashboard
    assert not _offenders(loaded), _offenders(loaded)


def test_a_config_without_source_tables_reads_no_distribution_metadata(tmp_path):
    """Only a key that may name a source kind makes the config ask the registry."""
    loaded = _loaded_at_first_frame(tmp_path, "refresh = 5\nread_only = true\n")
    assert not _offenders(loaded), _offenders(loaded)


def test_the_cli_imports_neither_textual_nor_a_command_it_does_not_run():
    """`opsdash` reads its config before anything else: the CLI module alone
    loads no Textual, no Rich table, no store, no poller, no source."""
    code = "import sys, opsdash.cli; print('\\n'.join(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    loaded = set(done.stdout.split())
    unwanted = (
        "textual",
        "rich.table",
        "opsdash.poller",
        "opsdash.model",
        *NOT_BEFORE_THE_FIRST_FRAME,
    )
    found = sorted(m for m in loaded if any(m == n or m.startswith(f"{n}.") for n in unwanted))
    found += sorted(
        m for m in loaded if m.startswith("opsdash.sources.") and m not in SOURCE_MODULES_ALLOWED
    )
    assert not found, found
