"""The store creates itself; layers do not import what they must not."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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


def _modules_after(imports: str) -> set[str]:
    code = textwrap.dedent(
        f"""
        import sys
        {imports}
        print("\\n".join(sorted(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_never_imports_textual():
    loaded = _modules_after(
        "import opsdash.model, opsdash.poller, opsdash.store, opsdash.config, "
        "opsdash.sources.docker, opsdash.sources.host, opsdash.sources.registry, "
        "opsdash.dora.watcher, opsdash.dora.source"
    )
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


def test_ui_never_imports_sdks():
    loaded = _modules_after(
        "import opsdash.app, opsdash.screens.main, opsdash.screens.details, "
        "opsdash.screens.logs, opsdash.screens.help, opsdash.widgets.panels, opsdash.keys"
    )
    for sdk in ("docker", "psutil", "httpx", "requests"):
        assert sdk not in loaded, f"the UI imported {sdk}"
