"""The store creates itself; every module is core, UI or entry, and the layers
do not import what they must not (here and in pyproject's import-linter contracts)."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import opsdash
from opsdash.model import HealthState, SourceHealth
from opsdash.store import Store
from opsdash.store.schema import _MIGRATIONS


def test_store_created_on_first_run_and_reopened(tmp_path):
    path = tmp_path / "data" / "opsdash.db"
    store = Store(path)
    assert path.exists() and store.schema_version == len(_MIGRATIONS)
    store.record_health(SourceHealth("local", "docker", HealthState.ERROR, "down"))
    store.close()
    again = Store(path)
    assert again.schema_version == len(_MIGRATIONS)
    assert again.health_events()[0][1:] == ("docker:local", "error", "down")
    again.close()


ROOT = Path(__file__).resolve().parents[2]

# What every module of the package is, by name pattern (fnmatch), so a module
# split into a package (opsdash.views -> opsdash.views.*, opsdash.dora ->
# opsdash.dora.*) keeps its class. A module that matches none of these fails
# `test_every_module_is_classified`: decide what it is and add it here (and to
# the matching contract in pyproject.toml).
CORE = (
    "opsdash",  # the package itself: only the version
    "opsdash.model",
    "opsdash.model.*",
    "opsdash.sources",
    "opsdash.sources.*",
    "opsdash.poller",
    "opsdash.store",
    "opsdash.store.*",
    "opsdash.dora",
    "opsdash.dora.*",
    "opsdash.config",
    "opsdash.config_*",
    "opsdash.actions",
    "opsdash.actions.*",
    "opsdash.alerts",
    "opsdash.eventlog",
    "opsdash.formatting",
    "opsdash.locations",
    "opsdash.logbuffer",
    "opsdash.log_*",  # log lines, search, merge, options, files: no Textual
    "opsdash.redact",
    "opsdash.safetext",  # Rich text, no Textual
    "opsdash.services",
    "opsdash.snapshot_output",  # the CLI's tables, Rich only
    "opsdash.theme_names",  # what [ui] theme accepts, read before Textual loads
    "opsdash.views",  # Rich renderables shared by the TUI and the CLI
    "opsdash.views.*",
    "opsdash.recording_codec",  # the recorder's wire format
    "opsdash.recorder",  # every poll into the store
    "opsdash.replay_timeline",  # recorded polls read back, as a poller
)
UI = (
    "opsdash.app",
    "opsdash.screens",
    "opsdash.screens.*",
    "opsdash.widgets",
    "opsdash.widgets.*",
    "opsdash.literal_app",
    "opsdash.keys",
    "opsdash.messages",  # Textual messages the screens post up
    "opsdash.panel_feed",  # snapshots routed to the panels
    "opsdash.action_flow",  # the App mixins that drive actions and recovery
    "opsdash.recovery_flow",
    "opsdash.cluster_flow",  # the Kubernetes actions from the keyboard
    "opsdash.pipeline_flow",  # the pipeline and orchestrator actions from the keyboard
    "opsdash.shell_flow",  # E: the terminal handed to a shell in a container
    "opsdash.themes",  # opsdash's Textual themes
    "opsdash.replay_flow",  # the panels on recorded data
    "opsdash.replay_keys",  # b, B, [ ], T, space, + -
    "opsdash.replay_app",  # opsdash replay
)
# The command line wires config, sources and the TUI together: it may import
# both sides, and loads Textual only when it starts the TUI (so `opsdash
# snapshot` and the config checks run without it). `opsdash serve` (textual-serve,
# the optional extra) and its aiohttp guard are entry points of their own.
ENTRY = (
    "opsdash.__main__",
    "opsdash.cli",
    "opsdash.serve",
    "opsdash.serve_auth",
    "opsdash.serve_cli",
)

SDKS = (
    "docker",
    "httpx",
    "psutil",
    "paramiko",
    "kubernetes",
    "lightkube",
    "yaml",
    "requests",
    "psycopg",
)


def _is(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _raise(name: str) -> None:
    raise ImportError(f"walk_packages could not import {name}")


def _package_modules() -> list[str]:
    walked = pkgutil.walk_packages(opsdash.__path__, "opsdash.", onerror=_raise)
    return ["opsdash", *sorted(m.name for m in walked)]


MODULES = _package_modules()
CORE_MODULES = [m for m in MODULES if _is(m, CORE)]
UI_MODULES = [m for m in MODULES if _is(m, UI)]


def test_every_module_is_classified():
    assert Path(opsdash.__file__).is_relative_to(ROOT), "tests must import this tree's opsdash"
    package = ROOT / "opsdash"
    on_disk = {
        ".".join(("opsdash", *path.relative_to(package).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in package.rglob("*.py")
    }
    unwalked = on_disk - set(MODULES)
    assert not unwalked, (
        f"not found by walk_packages (a directory without __init__.py?): {unwalked}"
    )
    classes = {
        m: [n for n, p in (("core", CORE), ("UI", UI), ("entry", ENTRY)) if _is(m, p)]
        for m in MODULES
    }
    unclassified = sorted(m for m, c in classes.items() if not c)
    assert not unclassified, f"classify these as core, UI or entry in this file: {unclassified}"
    ambiguous = {m: c for m, c in classes.items() if len(c) > 1}
    assert not ambiguous, f"in more than one class: {ambiguous}"
    assert "opsdash.poller" in CORE_MODULES and "opsdash.app" in UI_MODULES


# Imports one module in a fresh interpreter; reports whether Textual got loaded
# and, if so, the opsdash lines that were importing when it first was.
_PROBE = """
import importlib, json, sys, traceback
chain = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "textual" and not chain:
            chain.extend(f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()
                         if "/opsdash/" in f.filename)
        return None
sys.meta_path.insert(0, Spy())
importlib.import_module(sys.argv[1])
print(json.dumps({"file": sys.modules["opsdash"].__file__, "textual": "textual" in sys.modules,
                  "chain": chain}))
"""


def _probe(module: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, f"importing {module} failed:\n{out.stderr}"
    return json.loads(out.stdout.splitlines()[-1])


def test_core_never_imports_textual():
    """Each core module, and the CLI, imported alone in a fresh interpreter,
    leaves Textual unloaded. (`opsdash.__main__` runs the CLI when imported.)"""
    modules = [*CORE_MODULES, "opsdash.cli"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(modules, pool.map(_probe, modules), strict=True))
    elsewhere = {
        m: r["file"] for m, r in results.items() if not Path(r["file"]).is_relative_to(ROOT)
    }
    assert not elsewhere, f"imported another tree's opsdash: {elsewhere}"
    loaded = {m: " <- ".join(reversed(r["chain"])) for m, r in results.items() if r["textual"]}
    assert not loaded, f"core modules that load textual (first import chain): {loaded}"


def _imported_names(module: str) -> set[str]:
    """Every module the file's own import statements name (at any depth of the file)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    names = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text(), spec.origin)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", UI_MODULES)
def test_ui_never_imports_sdks(module):
    """The UI reaches backends through the poller and the sources, never an SDK
    of its own (checked on its import statements: through the poller the SDKs
    are legitimately loaded)."""
    direct = {n for n in _imported_names(module) if n.split(".")[0] in SDKS}
    assert not direct, f"{module} imports {sorted(direct)}"


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["name"]: c for c in config["contracts"]}


def test_import_linter_contracts_cover_the_same_modules():
    """pyproject's contracts name the same layers as this file: every core module
    is a source of the Textual contract, every UI module of the SDK one."""
    core, ui = (
        next(c for c in _contracts().values() if forbidden in c["forbidden_modules"])
        for forbidden in ("textual", "docker")
    )

    def covered(module, sources):
        return any(module == s or module.startswith(s + ".") for s in sources)

    assert not [
        m for m in CORE_MODULES if m != "opsdash" and not covered(m, core["source_modules"])
    ]
    assert not [m for m in UI_MODULES if not covered(m, ui["source_modules"])]
    assert set(SDKS) <= set(ui["forbidden_modules"])
    assert {s.split(".")[0] for s in ui["source_modules"]} == {"opsdash"}


def test_lint_imports():
    script = Path(sys.executable).with_name("lint-imports")
    command = str(script) if script.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]' brings it)")
    out = subprocess.run(
        [command, "--no-cache", "--no-logo"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout
