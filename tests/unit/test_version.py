"""`opsdash --version`: the installed distribution's version, the source's otherwise;
one version in the tree (pyproject reads `opsdash.__version__`)."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import opsdash
from opsdash import cli

ROOT = Path(__file__).resolve().parents[2]


def test_version_prints_the_installed_version(capsys, monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.8.7")
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == "opsdash 9.8.7\n"


def test_version_falls_back_to_the_source_when_not_installed(capsys, monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out == f"opsdash {opsdash.__version__} (not installed)\n"


def test_the_version_has_one_home():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "opsdash.__version__"}


def _can_build_wheels() -> bool:
    """setuptools 70.1 builds wheels by itself; older ones need the wheel package."""
    import importlib.util

    import setuptools

    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def test_the_wheel_has_the_entry_point_and_the_stylesheet(tmp_path):
    """What pipx and uv install, built by setuptools from a copy of the tree (the
    build writes beside the sources) without network or build isolation."""
    if not _can_build_wheels():
        pytest.skip("setuptools < 70.1 without wheel: reinstall the test extras")
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "opsdash", source / "opsdash", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path / "dist"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta as b; print(b.build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,  # a bound on the wait, not a timing
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = out / done.stdout.strip().splitlines()[-1]
    assert wheel.name.startswith(f"opsdash-{opsdash.__version__}-py3-none-any")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(entry_points).decode()
    assert "[console_scripts]\nopsdash = opsdash.cli:main" in text
    assert "docker = opsdash.sources.docker:DockerSource" in text
    assert "opsdash/opsdash.tcss" in names and "opsdash/themes.py" in names
