"""Where `import opsdash.app` spends its time: `python -X importtime` in the run.

The first frame cannot come before the app's modules are imported, so the
report lists the slowest imports by cumulative time and how the self time
splits between opsdash's own modules, textual's and everything else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from benchmarks.instruments import ROOT

TOP = 15


def parse_importtime(stderr: str) -> list[dict[str, Any]]:
    """Lines look like `import time:  self [us] |  cumulative | imported package`."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        entries.append(
            {"module": parts[2].strip(), "self_us": self_us, "cumulative_us": cumulative_us}
        )
    return entries


def owner_of(module: str) -> str:
    root = module.split(".")[0]
    return root if root in ("opsdash", "textual", "rich") else "other"


def import_profile() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import opsdash.app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    entries = parse_importtime(done.stderr)
    totals: dict[str, int] = {}
    for entry in entries:
        owner = owner_of(entry["module"])
        totals[owner] = totals.get(owner, 0) + entry["self_us"]
    top = sorted(entries, key=lambda e: e["cumulative_us"], reverse=True)[:TOP]
    return {"returncode": done.returncode, "self_us_by_owner": totals, "top": top}


def import_lines(profile: dict[str, Any] | None) -> list[str]:
    if not profile or not profile.get("top"):
        return []
    totals = profile["self_us_by_owner"]
    split = ", ".join(f"{k} {v / 1000:.0f} ms" for k, v in sorted(totals.items()))
    lines = [
        "",
        '`python -X importtime -c "import opsdash.app"` (one run; self time by owner: '
        + split
        + "):",
        "",
        "| Module | cumulative | self |",
        "|---|---:|---:|",
    ]
    for e in profile["top"]:
        lines.append(
            f"| `{e['module']}` | {e['cumulative_us'] / 1000:.1f} ms | {e['self_us'] / 1000:.1f} ms |"
        )
    return lines
