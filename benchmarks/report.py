"""The benchmark's report: the figures scenarios.py measured, and the facts
instruments.py gathered, as the markdown block written between the markers of
docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.importtime import import_lines
from benchmarks.targets import get, secs, target_lines

START_MARK = "<!-- results:start -->"
END_MARK = "<!-- results:end -->"


def pct(window: dict[str, Any] | None) -> str:
    return "n/a" if not window else f"{window['percent_of_core']:.1f} %"


def rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1024:.1f} KiB/s" if value >= 1024 else f"{value:.0f} B/s"


def mib(value: int | None) -> str:
    return "n/a" if not value else f"{value / 2**20:.0f} MiB"


def panels_lines(data: dict[str, Any]) -> list[str]:
    """benchmarks/panels.py writes its own section (report_lines) when --panels ran it."""
    if not data.get("panels"):
        return []
    from benchmarks import panels

    return ["", *panels.report_lines(data["panels"])]


def stats_off_lines(results: list[dict[str, Any]]) -> list[str]:
    """What the stats-off run's settled bytes changed on screen (screen_changes.py)."""
    out = []
    for r in results:
        screen = get(r, "opsdash_no_stats", "screen")
        if not screen:
            continue
        texts = "; ".join(f"`{t}`" for t in screen["changed_text"]) or "none"
        out.append(
            f"- {r['n']} containers: {screen['bytes_changing_nothing']} of {screen['bytes']} bytes "
            f"changed no cell; rows that changed: {screen['rows_changed'] or 'none'} ({texts})"
        )
    if not out:
        return []
    return [
        "",
        "Settled with `stats = false`, replayed through pyte after the 5 s settle:",
        "",
        *out,
    ]


def report(data: dict[str, Any], command: str, cpu_seconds: float) -> str:
    results = data["results"]
    lines = [
        START_MARK,
        "<!-- written by benchmarks/run.py: edit the text around the markers, not between -->",
        "",
        f"Command: `{command}`",
        "",
        "| Setup | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in data["facts"].items()),
        "",
        *target_lines(results, data.get("first_frame_cases")),
    ]
    rows: list[tuple[str, str, Callable[[dict[str, Any]], tuple[str, str]]]] = [
        (
            "First frame in a 160x48 pty (spawn to first row drawn)",
            "bare Textual app",
            lambda r: (secs(get(r, "startup", "ops_frame")), secs(get(r, "startup", "bare_frame"))),
        ),
        (
            "First output byte in the pty",
            "bare Textual app",
            lambda r: (secs(get(r, "startup", "ops_byte")), secs(get(r, "startup", "bare_byte"))),
        ),
        (
            "All N containers listed: first DockerSource.poll() of a new source",
            "`docker ps -a`",
            lambda r: (secs(get(r, "source", "first_poll_s")), secs(r["docker_ps_s"])),
        ),
        (
            "All N with memory: new DockerSource, polled until every container has stats",
            "`docker stats --no-stream`",
            lambda r: (secs(get(r, "source", "all_memory_s")), secs(r["docker_stats_once_s"])),
        ),
        (
            "All N with CPU % too (needs two samples)",
            "`docker stats --no-stream`",
            lambda r: (secs(get(r, "source", "all_cpu_s")), secs(r["docker_stats_once_s"])),
        ),
        (
            "All N rows in the table: TUI in a pty, spawn until the first row is drawn",
            "`docker ps -a`",
            lambda r: (secs(get(r, "startup", "ops_shown")), secs(r["docker_ps_s"])),
        ),
        (
            "All N rows in the table: headless app (`run_test`), start until row_count == N",
            "`docker ps -a`",
            lambda r: (secs(get(r, "headless_s", "rows_s")), secs(r["docker_ps_s"])),
        ),
        (
            "Every row with its memory figure: headless app, start until then",
            "`docker stats --no-stream`",
            lambda r: (secs(get(r, "headless_s", "memory_s")), secs(r["docker_stats_once_s"])),
        ),
        (
            "`opsdash snapshot --json` wall time (waits for stats; polls the host too)",
            "`docker stats --no-stream`",
            lambda r: (secs(r["snapshot_s"]), secs(r["docker_stats_once_s"])),
        ),
        (
            f"CPU of the TUI over {cpu_seconds:g} s, refresh 2 s (% of one core)",
            "`docker stats` in a pty",
            lambda r: (pct(get(r, "opsdash", "cpu")), pct(get(r, "docker_stats", "cpu"))),
        ),
        (
            "dockerd CPU during that window",
            "during `docker stats` / nobody polling",
            lambda r: (
                pct(get(r, "opsdash", "dockerd_cpu")),
                f"{pct(get(r, 'docker_stats', 'dockerd_cpu'))} / {pct(get(r, 'engine_idle', 'dockerd_cpu'))}",
            ),
        ),
        (
            "dockerd + containerd + shims CPU during that window",
            "during `docker stats` / nobody polling",
            lambda r: (
                pct(get(r, "opsdash", "engine_cpu")),
                f"{pct(get(r, 'docker_stats', 'engine_cpu'))} / {pct(get(r, 'engine_idle', 'engine_cpu'))}",
            ),
        ),
        (
            f"CPU over {cpu_seconds:g} s, refresh 2 s: opsdash vs glances (containers plugin)",
            "glances in a pty",
            lambda r: (pct(get(r, "opsdash", "cpu")), pct(get(r, "glances", "cpu"))),
        ),
        (
            "dockerd + containerd + shims CPU: under opsdash vs under glances",
            "glances in a pty",
            lambda r: (pct(get(r, "opsdash", "engine_cpu")), pct(get(r, "glances", "engine_cpu"))),
        ),
        (
            "Key latency (`j` to the cursor on the next row, stats flowing), p50 / p95",
            "bare Textual table of N rows",
            lambda r: (
                f"{secs(get(r, 'key_latency', 'opsdash', 'p50_s'))} / "
                f"{secs(get(r, 'key_latency', 'opsdash', 'p95_s'))}",
                f"{secs(get(r, 'key_latency', 'bare', 'p50_s'))} / "
                f"{secs(get(r, 'key_latency', 'bare', 'p95_s'))}",
            ),
        ),
        (
            "Bytes to the terminal per second, settled",
            "bare Textual app",
            lambda r: (
                rate(get(r, "opsdash", "idle_bytes_per_s")),
                rate(get(r, "bare", "idle_bytes_per_s")),
            ),
        ),
        (
            f"Bytes to the terminal per second over the {cpu_seconds:g} s CPU window",
            "`docker stats` in a pty",
            lambda r: (
                rate(get(r, "opsdash", "window_bytes_per_s")),
                rate(get(r, "docker_stats", "window_bytes_per_s")),
            ),
        ),
        (
            "Idle CPU while settled (same window as the bytes)",
            "bare Textual app",
            lambda r: (pct(get(r, "opsdash", "idle_cpu")), pct(get(r, "bare", "idle_cpu"))),
        ),
        (
            "CPU of DockerSource alone, polled every 2 s, no UI (stats on / off)",
            "`docker stats` in a pty",
            lambda r: (
                f"{pct(get(r, 'source', 'source_cpu'))} / "
                f"{pct(get(r, 'source', 'source_cpu_no_stats'))}",
                pct(get(r, "docker_stats", "cpu")),
            ),
        ),
        (
            "Peak RSS",
            "bare Textual app",
            lambda r: (mib(get(r, "opsdash", "peak_rss")), mib(get(r, "bare", "peak_rss"))),
        ),
        (
            "Peak RSS",
            "`docker stats`",
            lambda r: (mib(get(r, "opsdash", "peak_rss")), mib(get(r, "docker_stats", "peak_rss"))),
        ),
        (
            "Peak RSS",
            "glances",
            lambda r: (mib(get(r, "opsdash", "peak_rss")), mib(get(r, "glances", "peak_rss"))),
        ),
    ]
    head = "| Measure | Reference |" + "".join(
        f" {r['n']}: opsdash | {r['n']}: reference |" for r in results
    )
    lines += [head, "|---|---|" + "---:|---:|" * len(results)]
    for label, ref, cells in rows:
        line = f"| {label} | {ref} |"
        for r in results:
            mine, theirs = cells(r)
            line += f" {mine} | {theirs} |"
        lines.append(line)
    lines += [
        "",
        "The stats design: DockerSource polls, and stats calls on the raw API (one pass each):",
        "",
        "| Call | " + " | ".join(f"{r['n']} containers" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    polls = [
        ("DockerSource.poll(), warm (median of 5)", "poll_median_s"),
        ("first poll of a new DockerSource", "first_poll_s"),
        ("first poll with `blocking_stats` (as `snapshot` and `check`)", "blocking_first_poll_s"),
        ("poll with `stats = false` (median of 3)", "poll_no_stats_s"),
        ("one one-shot stats call, back to back (median of 10)", "one_shot_back_to_back_s"),
        ("one one-shot stats call, 3 s after the last one (median of 3)", "one_shot_after_idle_s"),
        ("one-shot stats of every container, 16 threads", "one_shot_16_threads_s"),
        ("one-shot stats of every container, all requests at once", "one_shot_all_at_once_s"),
        (
            "two-sample stats (no one-shot) of every container, 16 threads",
            "two_sample_16_threads_s",
        ),
    ]
    for label, key in polls:
        lines.append(
            f"| {label} | " + " | ".join(secs(get(r, "source", key)) for r in results) + " |"
        )
    lines += stats_off_lines(results)
    busy = []
    for r in results:
        for name in ("opsdash", "docker_stats", "glances", "engine_idle"):
            window = get(r, name, "cpu")
            if window:
                busy.append(f"{r['n']}/{name} {window['machine_busy_cores']:.2f}")
    lines += [
        "",
        "Whole-machine CPU busy during each CPU window, in cores (other load included): "
        + ", ".join(busy)
        + ".",
    ]
    lines += import_lines(data.get("importtime"))
    lines += panels_lines(data)
    if data["notes"]:
        lines += ["", "Notes from the run:", "", *(f"- {n}" for n in data["notes"])]
    lines.append(END_MARK)
    return "\n".join(lines) + "\n"


def write_report(path: Path, block: str) -> None:
    if path.exists():
        text = path.read_text()
        if START_MARK in text and END_MARK in text:
            before, rest = text.split(START_MARK, 1)
            after = rest.split(END_MARK, 1)[1]
            path.write_text(before + block.rstrip("\n") + after)
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# opsdash benchmarks\n\n" + block)
