"""What a test does when a tool it needs is not installed.

Locally that is a skip, so a laptop without Chromium or PostgreSQL can still run
the rest; in CI (`CI` set) it is a failure, because scripts/test installs every
such tool and a skip there would hide a broken install.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str, *, allow_module_level: bool = False) -> NoReturn:
    """Skip with `reason`, or fail with it under CI."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason, allow_module_level=allow_module_level)
