"""The "Targets" table at the top of the results block (issue 14).

One row per target and container count: opsdash's figure, the reference
measured in the same run, the ratio or budget, and whether it is met. Figures
the run did not produce show as n/a and "not measured", never as met.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[str, str, str, str, str]  # target, opsdash, reference, ratio/budget, met?
KIB = 1024


def get(d: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def secs(v: float | None) -> str:
    return "n/a" if v is None else (f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s")


def met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**not met**")


def _ratio_row(label: str, mine: Any, ref: Any, limit: float, fmt: Callable[[Any], str]) -> Row:
    if not mine or not ref:
        return (label, fmt(mine), fmt(ref), f"≤ {limit:g}x", met(None))
    ratio = mine / ref
    return (label, fmt(mine), fmt(ref), f"{ratio:.2f}x (≤ {limit:g}x)", met(ratio <= limit))


def _budget_row(label: str, mine: Any, ref: str, budget: float, fmt: Callable[[Any], str]) -> Row:
    ok = None if mine is None else mine <= budget
    return (label, fmt(mine), ref, f"≤ {fmt(budget)}", met(ok))


def rate(v: float | None) -> str:
    return "n/a" if v is None else (f"{v / KIB:.2f} KiB/s" if v >= KIB else f"{v:.0f} B/s")


def mib(v: float | None) -> str:
    return "n/a" if v is None else f"{v / 2**20:.1f} MiB"


def _cpu(window: dict[str, Any] | None) -> float | None:
    return None if not window else window["percent_of_core"]


def target_rows(results: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for r in results:
        n = r["n"]
        rows.append(
            _ratio_row(
                f"First frame, {n} containers, vs the bare Textual app",
                get(r, "startup", "ops_frame"),
                get(r, "startup", "bare_frame"),
                1.3,
                secs,
            )
        )
        rows.append(
            _budget_row(
                f"Every row shown (headless), {n} containers",
                get(r, "headless_s", "rows_s"),
                "2 s after start",
                2.0,
                secs,
            )
        )
        rows.append(
            _budget_row(
                f"{n}: all rows within 2 s of spawn (pty: first row drawn, once a poll listed all)",
                get(r, "startup", "ops_shown"),
                f"`docker ps -a` {secs(get(r, 'docker_ps_s'))}",
                2.0,
                secs,
            )
        )
        rows += key_rows(r)
        mine, ref = _cpu(get(r, "opsdash", "cpu")), _cpu(get(r, "docker_stats", "cpu"))
        rows.append(
            (
                f"TUI CPU at 2 s refresh, {n} containers, vs `docker stats`",
                "n/a" if mine is None else f"{mine:.1f} %",
                "n/a" if ref is None else f"{ref:.1f} %",
                "n/a" if not mine or not ref else f"{mine / ref:.2f}x",
                "ratio only",
            )
        )
        rows.append(
            _budget_row(
                f"Bytes/s to the terminal with stats on, {n} containers",
                get(r, "opsdash", "window_bytes_per_s"),
                "—",
                float(KIB),
                rate,
            )
        )
        quiet_bytes = get(r, "opsdash_no_stats", "idle_bytes_per_s")
        rows.append(
            _budget_row(
                f"Bytes/s settled with stats off, {n} containers",
                quiet_bytes,
                "—",
                0.0,
                rate,
            )
        )
        quiet_cpu = _cpu(get(r, "opsdash_no_stats", "idle_cpu"))
        bare_cpu = _cpu(get(r, "bare", "idle_cpu"))
        diff = None if quiet_cpu is None or bare_cpu is None else quiet_cpu - bare_cpu
        rows.append(
            (
                f"CPU settled with stats off, {n} containers, vs the bare app",
                "n/a" if quiet_cpu is None else f"{quiet_cpu:.2f} %",
                "n/a" if bare_cpu is None else f"{bare_cpu:.2f} %",
                "n/a" if diff is None else f"{diff:+.2f} pp (≤ +0.5 pp)",
                met(None if diff is None else diff <= 0.5),
            )
        )
        rows += glances_rows(r)
        bare_rss = get(r, "bare", "peak_rss")
        mine_rss = get(r, "opsdash", "peak_rss")
        if bare_rss:
            budget = 1.5 * bare_rss + 20 * KIB * n
            rows.append(
                _budget_row(
                    f"Peak RSS, {n} containers (1.5x bare + 20 KiB each)",
                    mine_rss,
                    f"bare {mib(bare_rss)}",
                    budget,
                    mib,
                )
            )
    return rows


def key_rows(r: dict[str, Any]) -> list[Row]:
    """Key latency through the pty, p95 within 30 ms, the bare table's beside it."""
    n, mine, bare = r["n"], get(r, "key_latency", "opsdash"), get(r, "key_latency", "bare")
    if not mine and not bare:
        return [(f"Key latency p95 (`j`), {n} containers", "n/a", "n/a", "≤ 30 ms", met(None))]
    mine, bare = mine or {}, bare or {}

    def both(key: str) -> tuple[str, str]:
        return secs(mine.get(key)), f"bare table {secs(bare.get(key))}"

    p95 = mine.get("p95_s")
    missed = f"; {mine.get('missed')} of {mine.get('presses')} missed" if mine.get("missed") else ""
    return [
        (f"Key latency p50 (`j`, stats flowing), {n} containers", *both("p50_s"), "—", "figure"),
        (
            f"Key latency p95 (`j`, stats flowing), {n} containers",
            *both("p95_s"),
            f"≤ 30 ms{missed}",
            met(None if p95 is None else p95 <= 0.030 and not mine.get("missed")),
        ),
    ]


def glances_rows(r: dict[str, Any]) -> list[Row]:
    """opsdash's CPU beside glances', and the engine's under each (informative)."""
    glances = get(r, "glances")
    if not glances:
        return []
    n = r["n"]
    mine, theirs = _cpu(get(r, "opsdash", "cpu")), _cpu(glances.get("cpu"))
    engine_mine = _cpu(get(r, "opsdash", "engine_cpu"))
    engine_theirs = _cpu(glances.get("engine_cpu"))
    return [
        (
            f"TUI CPU at 2 s refresh, {n} containers, vs glances",
            "n/a" if mine is None else f"{mine:.1f} %",
            "n/a" if theirs is None else f"{theirs:.1f} %",
            "n/a" if not mine or not theirs else f"{mine / theirs:.2f}x",
            "informative",
        ),
        (
            f"Engine CPU meanwhile, {n} containers: under opsdash vs under glances",
            "n/a" if engine_mine is None else f"{engine_mine:.1f} %",
            "n/a" if engine_theirs is None else f"{engine_theirs:.1f} %",
            "n/a"
            if not engine_mine or not engine_theirs
            else f"{engine_mine / engine_theirs:.2f}x",
            "informative",
        ),
    ]


def case_rows(cases: dict[str, dict[str, Any]] | None) -> list[Row]:
    return [
        _ratio_row(
            f"First frame, {case}, vs the bare Textual app",
            c.get("ops_frame"),
            c.get("bare_frame"),
            1.3,
            secs,
        )
        for case, c in (cases or {}).items()
    ]


def target_lines(results: list[dict[str, Any]], cases: dict[str, Any] | None = None) -> list[str]:
    lines = [
        "Targets (issue 14):",
        "",
        "| Target | opsdash | Reference | Ratio / budget | Met? |",
        "|---|---:|---:|---:|---|",
    ]
    rows = case_rows(cases) + target_rows(results)
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return [*lines, ""]
