"""docs/config.md's key tables are the ones the config dataclasses write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opsdash.config_doc import BEGIN, END, with_tables

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "config.md"


def test_the_doc_holds_the_generated_source_tables():
    current = DOC.read_text(encoding="utf-8")
    assert current.count(BEGIN) == 1 and current.count(END) == 1
    assert current == with_tables(current), "run: python scripts/config_doc.py"


def test_every_key_of_every_source_is_in_the_doc():
    from opsdash.config import schemas
    from opsdash.sources.registry import installed_kinds

    tables = DOC.read_text(encoding="utf-8").partition(BEGIN)[2].partition(END)[0]
    for kind in installed_kinds():
        section = tables.partition(f"### `[[{kind}]]`")[2].partition("### ")[0]
        for key in schemas()[kind]:
            assert f"| `{key}` |" in section, (kind, key)


def test_the_script_checks_without_writing():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "config_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,  # a bound on the wait, not a timing assertion
    )
    assert done.returncode == 0, done.stderr
