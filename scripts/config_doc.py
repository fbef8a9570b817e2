"""Rewrite docs/config.md's key table of each source from the config dataclasses.

Usage::

    python scripts/config_doc.py          # rewrite the tables between the markers
    python scripts/config_doc.py --check  # exit 1 if the file is out of date

Only the text between the two markers changes; the prose around it is kept.
tests/unit/test_config_doc.py fails when the file differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opsdash.config_doc import with_tables  # noqa: E402

DOC = ROOT / "docs" / "config.md"


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = with_tables(current)
    if "--check" in argv:
        if current != wanted:
            print(f"{DOC} is out of date: run python scripts/config_doc.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"rewrote the source tables of {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
