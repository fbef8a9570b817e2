"""Key latency through the pty: from writing `j` to the pseudo-terminal until
the containers table's cursor is drawn on the next row.

The output stream is replayed into pyte (a terminal emulator) chunk by chunk,
each chunk with the time the pty's reader read it, so that pyte's own cost
never counts: a press's latency is the read time of the first chunk after
which a row name (`bench-042`, or `row-0042` in the bare table) that was not
under the cursor before is drawn with the cursor's background; the next press
follows 150 ms (± 50) after that. Textual draws the DataTable's
cursor row as a background colour (the `datatable--cursor` component class),
not as reverse video; the cursor's colour is the one background that exactly
one row name on screen has.

The reference is benchmarks/bare_table.py: a bare Textual app with a DataTable
of as many rows and the same binding, measured in the same run.
"""

from __future__ import annotations

import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.instruments import COLS, ROWS, PtyRun

BARE_TABLE = Path(__file__).resolve().parent / "bare_table.py"

ROW_NAME = re.compile(r"\b(?:bench|row)-\d+\b")
PRESS = b"j"
MISSED_AFTER = 2.0  # seconds: a press not drawn by then counts as missed


def pyte_missing() -> str | None:
    """A note for the report when pyte (the `bench` extra) is not installed."""
    try:
        import pyte  # noqa: F401
    except ImportError:
        return "pyte is missing: pip install -e '.[bench]' (key latency not measured)"
    return None


class ScreenReplay:
    """A pyte screen fed with one PtyRun's recorded output, chunk by chunk."""

    def __init__(self, run: PtyRun):
        import pyte

        self.run = run
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.index = 0
        self.cursor_bg: str | None = None

    def pending(self) -> list[tuple[float, bytes]]:
        chunks = self.run.chunks_from(self.index)
        self.index += len(chunks)
        return chunks

    def catch_up(self) -> None:
        for _, data in self.pending():
            self.stream.feed(data)

    def name_cells(self) -> list[tuple[str, str]]:
        """(row name, background of its first cell) for every row name on screen."""
        cells = []
        for y, text in enumerate(self.screen.display):
            for match in ROW_NAME.finditer(text):
                cells.append((match.group(), self.screen.buffer[y][match.start()].bg))
        return cells

    def calibrate(self) -> bool:
        """The cursor's background: the one background exactly one row name has."""
        counts = Counter(bg for _, bg in self.name_cells())
        single = [bg for bg, count in counts.items() if count == 1]
        self.cursor_bg = single[0] if len(single) == 1 and len(counts) > 1 else None
        return self.cursor_bg is not None

    def under_cursor(self) -> set[str]:
        return {name for name, bg in self.name_cells() if bg == self.cursor_bg}

    def press(self) -> float | None:
        """Seconds from writing `j` until a row name that was not under the cursor
        is drawn with the cursor's background; None if not within MISSED_AFTER."""
        self.catch_up()
        before = self.under_cursor()
        sent = self.run.send(PRESS)
        deadline = time.monotonic() + MISSED_AFTER
        while time.monotonic() < deadline:
            chunks = self.pending()
            for read_at, data in chunks:
                self.stream.feed(data)
                if read_at >= sent and self.under_cursor() - before:
                    return read_at - sent
            if not chunks:
                time.sleep(0.001)
        return None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def key_latency(
    run: PtyRun, presses: int = 40, spacing: float = 0.15, jitter: float = 0.05
) -> dict[str, Any]:
    """p50/p95 of `presses` presses of `j`, each `spacing` ± `jitter` seconds after
    the previous one was drawn (or missed).

    `run` must have been spawned with keep_chunks=True and show its table. pyte
    parses in this thread while the pty's reader thread stamps the chunks: a
    short GIL switch interval keeps the stamps within a fraction of a millisecond."""
    replay = ScreenReplay(run)
    time.sleep(0.5)
    replay.catch_up()
    if not replay.calibrate():
        return {"error": "no cursor row found: " + run.screen_text(200)}
    rng = random.Random(14)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    samples: list[float] = []
    missed = 0
    try:
        for i in range(3 + presses):  # 3 untimed: the first presses may pay for imports
            time.sleep(max(0.0, spacing + rng.uniform(-jitter, jitter)))
            took = replay.press()
            if i < 3:
                continue
            if took is None:
                missed += 1
            else:
                samples.append(took)
    finally:
        sys.setswitchinterval(interval)
    return {
        "p50_s": percentile(samples, 50),
        "p95_s": percentile(samples, 95),
        "max_s": max(samples, default=None),
        "presses": presses,
        "missed": missed,
        "samples_s": samples,
    }


def measure_key_latency(bench: Any, n: int, first_name: bytes, ready: bytes) -> dict[str, Any]:
    """The bare table of n rows, then opsdash with n containers and its stats flowing."""
    missing = pyte_missing()
    if missing:
        bench.note(missing)
        return {}
    env = bench.opsdash_env()
    out: dict[str, Any] = {}
    bare_argv = [sys.executable, str(BARE_TABLE), str(n)]
    bare = bench.spawn("the bare table", bare_argv, env, (b"row-0000",), keep_chunks=True)
    try:
        if bare.wait_for(b"row-0000", 60) is None:
            bench.note(f"the bare table never drew its rows: {bare.screen_text(300)}")
        else:
            time.sleep(1)
            out["bare"] = key_latency(bare)
    finally:
        bench.finish(bare)
    ops = bench.spawn("opsdash", bench.opsdash_argv(), env, (ready, first_name), keep_chunks=True)
    try:
        if ops.wait_for(first_name, 120) is None:
            bench.note(f"opsdash never listed {first_name!r}: {ops.screen_text(300)}")
        else:
            time.sleep(5)  # the stats passes are flowing by now
            out["opsdash"] = key_latency(ops)
    finally:
        bench.finish(ops)
    for name, result in out.items():
        if result.get("error"):
            bench.note(f"key latency, {name}: {result['error']}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Key latency alone, on its own private engine: for each count, the bare
    table, opsdash, and (with --baseline) an other checkout of opsdash, all in
    the same run so that a loaded machine weighs on each alike.

        python -m benchmarks.key_latency --counts 200 1000 [--baseline DIR]
    """
    import argparse
    import compileall
    import json

    from benchmarks.instruments import ROOT

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 1000], metavar="N")
    parser.add_argument(
        "--baseline", type=Path, help="another opsdash checkout, measured beside this one"
    )
    args = parser.parse_args(argv)
    args.busy, args.repeats = 0, 1
    missing = pyte_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    trees: dict[str, Path | None] = {"opsdash": None}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    for tree in (ROOT, *filter(None, trees.values())):  # bytecode, as run.py measures it
        compileall.compile_dir(str(tree / "opsdash"), quiet=1)
    bench = _tree_bench(args)
    results: dict[str, Any] = {}
    try:
        bench.engine.start()
        bench.engine.ensure_images()
        bench.write_config()
        first = bench.first_name.encode()
        for n in sorted(set(args.counts)):
            bench.ensure_containers(n)
            time.sleep(3)
            for name, tree in trees.items():
                bench.tree = tree
                out = measure_key_latency(bench, n, first, b"opsdash")
                results[f"{n} {name}"] = out
                for which, figures in out.items():
                    if "p50_s" in figures:
                        print(
                            f"{n:>5} {name:<9} {which:<8} p50 {_ms(figures['p50_s'])}"
                            f" p95 {_ms(figures['p95_s'])} max {_ms(figures['max_s'])}"
                            f" missed {figures['missed']}",
                            flush=True,
                        )
    finally:
        bench.cleanup()
    for text in bench.notes:
        print("NOTE:", text)
    print(json.dumps(results, default=str))
    return 0


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _tree_bench(args: Any) -> Any:
    """Built on first use: scenarios.py imports this module."""
    from benchmarks.containers import container_name
    from benchmarks.scenarios import Bench

    class TreeBench(Bench):
        """The Bench whose opsdash is imported from `tree` (None: this checkout)."""

        tree: Path | None = None

        def __init__(self, args: Any):
            super().__init__(args)
            self.first_name = container_name(0, self.name_width)

        def opsdash_env(self) -> dict[str, str]:
            env = super().opsdash_env()
            if self.tree is not None:
                env["PYTHONPATH"] = str(self.tree)
            return env

        def spawn(self, name: str, argv: list[str], env: dict[str, str], markers, **kw):
            if self.tree is not None:
                kw["cwd"] = self.tree
            return super().spawn(name, argv, env, markers, **kw)

    return TreeBench(args)


if __name__ == "__main__":
    sys.exit(main())
