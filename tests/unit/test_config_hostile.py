"""Hostile and malformed configs, generated from the schema and run through the real CLI.

Each generated config is valid, or valid with one mutation (a wrong type, a number
out of range, NaN or inf, a hostile string, an unknown key, a list too long, a
required key dropped, a table of the wrong type). The oracle in config_cases:
exit 2 with one line naming the file and the mutated key, or a sane Config.
OPSDASH_CONFIG_EXAMPLES sets how many configs hypothesis tries (default 200).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import certifi
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from opsdash import config as schema
from opsdash.config_checks import RANGES, range_of
from tests.unit.config_cases import (
    ENV,
    UNSET_ENV,
    assert_clean,
    run_cli,
    toml_document,
)
from tests.unit.hostile_configs import CASES, FIFO, Case

EXAMPLES = int(os.environ.get("OPSDASH_CONFIG_EXAMPLES", "200"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    """The ${ENV} values the configs name; nothing autodetected from this machine."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(UNSET_ENV, raising=False)
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/opsdash-test.sock")


# --- valid values, by table kind and key ------------------------------------------

# dora, logs and store (single tables whose values are checked beyond their type):
# below, and store's url in tests/unit/test_config_store.py;
# ui: its one key names a theme from a closed list (tests/unit/test_themes.py)
SCHEMAS = {
    k: v for k, v in schema.schemas().items() if k not in ("dora", "logs", "store", "ui", "record")
}
TOP = {
    "refresh": ((int, float), 2),
    "read_only": (bool, False),
    "health_timeout": ((int, float), 60),
}
REQUIRED = {
    "github": ("repo",),
    "gitlab": ("project",),
    "jenkins": ("url", "jobs"),
    "buildbot": ("url",),
    "mlflow": ("url",),
    "prometheus": ("url", "query"),
    "airflow": ("url",),
    "kubeflow": ("url",),
    "service": ("name",),
    "redeploy": ("match_name", "argv"),
    "protect": ("match_name",),
}
SAFE_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp"))
safe_text = st.text(SAFE_CHARS, max_size=12)
ident = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
idents = st.lists(ident, max_size=3)
urls = st.sampled_from(["http://127.0.0.1:9", "https://127.0.0.1:9/", "http://localhost:1/api"])
secrets = st.sampled_from(["", "${OPSDASH_T_OK}"])
GOOD_KEYS = {"filter": "ctrl+f", "sort": "o", "quit": "ctrl+q", "zoom": "f9", "audit": "f10"}


def number(range_key: str, integer: bool):
    low, high, _ = range_of(range_key)
    ints = st.integers(math.ceil(max(low, -1e6)), math.floor(min(high, 1e6)))
    return ints if integer else ints | st.floats(max(low, -1e6), min(high, 1e6))


def valid_value(kind: str, key: str, repo_dir: str):
    expected = (TOP if kind == "" else SCHEMAS[kind])[key][0]
    special = {
        "host": st.sampled_from(["unix:///nonexistent/x.sock", "tcp://127.0.0.1:1", "ssh://u@h"]),
        "url": urls,
        "context": st.sampled_from(["", "default"]),  # a named one needs its files
        "repo": st.just("own/rep") if kind == "github" else st.sampled_from(["", repo_dir]),
        "project": st.sampled_from(["grp/proj", "42"]),
        "jobs": st.lists(ident, min_size=1, max_size=3),
        "metrics": st.lists(ident, min_size=1, max_size=3),
        "disks": st.lists(st.sampled_from(["/", "/tmp"]), max_size=2),
        "argv": st.lists(
            st.sampled_from(["make", "deploy", "{name}", "-l={host}", "a b"]),
            min_size=1,
            max_size=4,
        ),
        "direction": st.sampled_from(["higher", "lower"]),
        "api": st.sampled_from(["auto", "v2", "v1"]),
        "timezone": st.sampled_from(["", "UTC", "Europe/Berlin"]),
        "ca_bundle": st.sampled_from(["", certifi.where()]),
        "query": st.sampled_from(["up", 'model_accuracy{env="prod"}', "sum(\n  x\n)"]),
        "match_name": st.sampled_from(["shop-*", "web", "*"]),
        "match_label": st.sampled_from(["", "tier=db", "k8s.deployment"]),
        "deploy_inputs": st.dictionaries(
            ident, safe_text | st.integers(-9, 9) | st.booleans(), max_size=3
        ),
        "warning": st.dictionaries(ident, st.floats(-1e6, 1e6), max_size=2),
        "breach": st.dictionaries(ident, st.floats(-1e6, 1e6), max_size=2),
    }
    if kind == "prometheus" and key in ("warning", "breach"):
        return st.floats(-1e6, 1e6)
    if key in ("token", "password"):
        return secrets
    if key in special:
        return special[key]
    if expected is bool:
        return st.booleans()
    if expected in (int, (int, float)):
        return number(f"{kind}.{key}" if kind else key, expected is int)
    if expected is list:
        return idents
    return safe_text


@st.composite
def valid_table(draw, kind: str, index: int, repo_dir: str) -> dict:
    keys = SCHEMAS[kind]
    optional = [k for k in keys if k not in REQUIRED.get(kind, ()) and k != "name"]
    chosen = [
        *REQUIRED.get(kind, ()),
        *draw(st.lists(st.sampled_from(optional), unique=True, max_size=5)),
    ]
    table = {k: draw(valid_value(kind, k, repo_dir)) for k in chosen}
    if "name" in keys and kind not in ("redeploy",):
        table["name"] = f"n-{kind}-{index}"  # no default name can collide with it
    return table


@st.composite
def valid_config(draw, repo_dir: str) -> dict:
    doc: dict = {}
    for key in draw(st.lists(st.sampled_from(sorted(TOP)), unique=True)):
        doc[key] = draw(valid_value("", key, repo_dir))
    for kind in draw(st.lists(st.sampled_from(sorted(SCHEMAS)), unique=True, max_size=5)):
        count = draw(st.integers(1, 2))
        doc[kind] = [draw(valid_table(kind, i, repo_dir)) for i in range(count)]
    if draw(st.booleans()):
        doc["dora"] = {
            "failure_window": draw(number("dora.failure_window", False)),
            "retention_days": draw(number("dora.retention_days", True)),
        }
    if draw(st.booleans()):
        doc["logs"] = {
            "tail": draw(number("logs.tail", True)),
            "since": draw(st.sampled_from(["", "15m", "2h", "1h30m", "2026-12-03T10:00:00Z"])),
        }
    if draw(st.booleans()):
        doc["record"] = {
            "max_mib": draw(number("record.max_mib", True)),
            "keep": draw(st.sampled_from(["7d", "36h", "2w", "90m"])),
        }
    if draw(st.booleans()):
        doc["store"] = {"lease_timeout": draw(number("store.lease_timeout", False))}
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(sorted(GOOD_KEYS)), unique=True, min_size=1))
        doc["keys"] = {k: GOOD_KEYS[k] for k in chosen}
    return doc


# --- one mutation ------------------------------------------------------------------

HOSTILE_STRINGS = [  # each must be refused wherever a string is read
    "\x1b]0;TITLE\x07",
    "\x1b[31mred",
    "a\x00b",
    "\x9b31m",
    "del\x7f",
    "\u202egnp.exe",
    "line\u2028break",
    "x" * 5000,
    "${OPSDASH_T_NL}",
    "${OPSDASH_T_ESC}",
    "${OPSDASH_T_BIG}",
    "${" + UNSET_ENV + "}",
]
ODD_STRINGS = [  # shown literally if accepted: either outcome is fine
    "[bold red]x[/]",
    "cannot read [/etc/app.conf]",
    "é漢字😀",
    "a\nb",
    "tab\there",
    "y" * 4000,
    "../../etc/passwd",
    "",
]
WRONG_TYPES = ["text", 7, 2.5, True, [1, "a"], {"a": 1}]


def _accepts(expected, value) -> bool:
    if isinstance(value, bool):
        return expected is bool
    return isinstance(value, expected)


def _numeric(kind: str, key: str) -> bool:
    expected = (TOP if kind == "" else SCHEMAS[kind])[key][0]
    return expected in (int, (int, float)) or (
        kind == "prometheus" and key in ("warning", "breach")
    )


@st.composite
def mutated_config(draw, repo_dir: str):
    """(document, key the error must name, whether it must be an error, what was done)."""
    doc = draw(valid_config(repo_dir))
    tables = [(k, i) for k, v in doc.items() if isinstance(v, list) for i in range(len(v))]
    targets = [("", k) for k in doc if k in TOP]
    targets += [(f"{k}[{i}]", key) for k, i in tables for key in doc[k][i]]
    plain = [t for t in ("dora", "keys") if t in doc]
    what = draw(st.sampled_from(["value"] * 6 + ["unknown", "table-type", "keys-hostile"]))
    if what == "unknown" or not targets:
        where = draw(st.sampled_from(["", *[f"{k}[{i}]" for k, i in tables], *plain]))
        name = draw(st.sampled_from(["zzz", "\x1b]0;T\x07", "é", "a" * 300, "refreshh"]))
        _container(doc, where)[name] = 1
        return doc, f"{where}.{name}" if where else name, True, "unknown key"
    if what == "table-type":
        kind = draw(st.sampled_from(sorted({k for k in doc if k not in TOP} | {"docker", "dora"})))
        doc[kind] = draw(st.sampled_from([5, "x", [1, 2], True]))
        return doc, kind, True, "table of the wrong type"
    if what == "keys-hostile":
        value = draw(st.sampled_from([*HOSTILE_STRINGS, "j", "r", "ctlr+f", "[/]", "é", 5]))
        doc.setdefault("keys", {})["quit"] = value
        return doc, "keys.quit", True, "hostile [keys] value"
    where, key = draw(st.sampled_from(targets))
    kind = where.split("[", 1)[0]
    table = _container(doc, where)
    full = f"{where}.{key}" if where else key
    expected = (TOP if kind == "" else SCHEMAS[kind])[key][0]
    choices = ["wrong-type"]
    if _numeric(kind, key):
        choices += ["nan", "inf", "below", "above"]
    if expected in (str, list):
        choices += ["hostile", "odd"]
    if expected is list:
        choices.append("long-list")
    if key in REQUIRED.get(kind, ()):
        choices.append("drop")
    what = draw(st.sampled_from(choices))
    if what == "drop":
        del table[key]
        spare = key == "match_name" and table.get("match_label")  # either one will do
        return doc, where, not spare, "required key dropped"
    if what in ("nan", "inf", "below", "above"):
        low, high, _ = range_of(f"{kind}.{key}" if kind else key)
        value = {
            "nan": math.nan,
            "inf": draw(st.sampled_from([math.inf, -math.inf])),
            "below": low - 1 if low > -1e300 else -math.inf,
            "above": draw(st.sampled_from([high * 2 + 1, 10**30])) if high < 1e300 else math.inf,
        }[what]
        if expected is int and isinstance(value, float) and math.isfinite(value):
            value = int(value)
        table[key] = value
        return doc, full, True, f"number {what}"
    if what == "long-list":
        table[key] = ["x"] * 300
        return doc, full, True, "list of 300"
    if what in ("hostile", "odd"):
        value = draw(st.sampled_from(HOSTILE_STRINGS if what == "hostile" else ODD_STRINGS))
        table[key] = [value] if expected is list else value
        return doc, full, what == "hostile", f"{what} string"
    table[key] = draw(st.sampled_from([v for v in WRONG_TYPES if not _accepts(expected, v)]))
    return doc, full, True, "wrong type"


def _container(doc: dict, where: str) -> dict:
    if not where:
        return doc
    if "[" in where:
        kind, index = where[:-1].split("[")
        return doc[kind][int(index)]
    return doc.setdefault(where, {})


# --- the tests -----------------------------------------------------------------------

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # no timed assertions: the machine is shared
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _run(tmp_path: Path, doc: dict):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "config.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    return path, run_cli(["--config", str(path), "check"])


@FUZZ
@given(data=st.data())
def test_generated_valid_configs_load_sanely(tmp_path, data):
    doc = data.draw(valid_config(str(tmp_path)))
    path, outcome = _run(tmp_path, doc)
    assert outcome.code == 0, outcome.stderr
    assert_clean(outcome, str(path), None, must_fail=False)


@FUZZ
@given(data=st.data())
def test_generated_mutated_configs_fail_in_one_line_or_load_sanely(tmp_path, data):
    doc, key, must_fail, what = data.draw(mutated_config(str(tmp_path)))
    event(what)
    path, outcome = _run(tmp_path, doc)
    event(assert_clean(outcome, str(path), key, must_fail))


def test_every_range_is_generated_inside_and_outside():
    """The generator draws numbers from RANGES itself: a new range is fuzzed too."""
    numeric = {f"{k}.{n}" for k, s in SCHEMAS.items() for n in s if _numeric(k, n)}
    assert {range_of(key) for key in numeric} | {
        range_of(k) for k in TOP if k != "read_only"
    } <= set(RANGES.values())


# --- the hand-written list -----------------------------------------------------------


def case_argv(tmp_path: Path, case: Case, monkeypatch) -> tuple[list[str], str]:
    """Lay out the case's files; the argv for opsdash and the file its error must name."""
    for name, content in case.files.items():
        if content == FIFO:
            os.mkfifo(tmp_path / name)
        else:
            (tmp_path / name).write_text(content)
    target = tmp_path / "config.toml"
    if case.path == "dev-zero":
        target = Path("/dev/zero")
    elif case.path == "directory":
        target = tmp_path
    elif case.path == "fifo":
        os.mkfifo(target)
    elif case.path != "missing":
        content = case.text if case.text is not None else ""
        if isinstance(content, str):
            content = content.replace("{dir}", str(tmp_path)).encode()
        target.write_bytes(content)
    if case.via_env:
        monkeypatch.setenv("OPSDASH_CONFIG", str(target))
        argv = [*case.argv, "check"]
    else:
        argv = [*case.argv, "--config", str(target), "check"]
    return argv, "--refresh" if "--refresh" in case.argv else str(target)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hand_written_hostile_configs_are_clean(tmp_path, monkeypatch, case):
    argv, where = case_argv(tmp_path, case, monkeypatch)
    outcome = run_cli(argv)
    result = assert_clean(outcome, where, case.key, must_fail=not (case.ok or case.either))
    if case.ok:
        assert result == "loaded", outcome.stderr


# --- a few through a real process: a hang or a 1 GB/s read would show here -------------


@pytest.mark.parametrize(
    "how", ["--config /dev/zero", "OPSDASH_CONFIG=/dev/zero", "fifo", "nested", "big"]
)
def test_the_process_exits_2_in_one_line(tmp_path, how):
    env = {k: v for k, v in os.environ.items() if k != "OPSDASH_CONFIG"}
    target = tmp_path / "config.toml"
    if how == "fifo":
        os.mkfifo(target)
    elif how == "nested":
        target.write_text("x = " + "[" * 5000 + "\n")
    elif how == "big":
        target.write_text("# pad\n" * 400_000)
    else:
        target = Path("/dev/zero")
    if how.startswith("OPSDASH_CONFIG"):
        env["OPSDASH_CONFIG"] = str(target)
        argv = ["check"]
    else:
        argv = ["--config", str(target), "check"]
    done = subprocess.run(
        [sys.executable, "-m", "opsdash", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a bound on the wait, not a timing assertion
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"opsdash: {target}")
    assert "Traceback" not in done.stderr
