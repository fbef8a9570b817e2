"""opsdash settled with `stats = false`: the bytes it writes and the CPU it uses
once nothing changes, beside the bare app.

Nothing else may tick: it runs from an empty directory with HOME and XDG
pointed at empty temp dirs, DOCKER_HOST and friends cleared (first_frame_cases'
empty_env), and a config that turns every installed source kind off (`kind =
[]`, docs/config.md) but the one [[docker]] table, so autodetection adds no
host source (an earlier run without this measured a host panel's 3.24 KiB/s).
What those bytes change on screen is replayed too (screen_changes.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.first_frame_cases import empty_env
from benchmarks.key_latency import pyte_missing
from benchmarks.screen_changes import screen_changes


def quiet_config(docker_host: str) -> str:
    """Every installed kind off but one [[docker]] table without stats."""
    from opsdash.sources.registry import installed_kinds

    off = "".join(f"{kind} = []\n" for kind in installed_kinds() if kind != "docker")
    return off + f'\n[[docker]]\nname = "bench"\nhost = "{docker_host}"\nstats = false\n'


def measure_stats_off(bench: Any, ready: bytes, opsdash_ready: bytes) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="stats-off-", dir=bench.tmp))
    for sub in ("config", "data", "run", "cwd"):
        (home / sub).mkdir()
    config = home / "config-no-stats.toml"
    config.write_text(quiet_config(bench.engine.docker_host))
    argv = [sys.executable, "-m", "opsdash", "--config", str(config)]
    run = bench.spawn(
        "opsdash (stats off)",
        argv,
        empty_env(home),
        (opsdash_ready, ready),
        cwd=home / "cwd",
        keep_chunks=True,
    )
    try:
        out = bench.steady(run, ready, 5, cpu=False)
        if ready in run.seen and not pyte_missing():
            out["screen"] = screen_changes(run.chunks_from(0), run.seen[ready] + 5)
        return out
    finally:
        bench.finish(run)
