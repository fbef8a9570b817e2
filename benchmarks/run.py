"""Measure opsdash against its references on a private Docker engine.

    python benchmarks/run.py [--counts 50 200] [--cpu-seconds 60] [--out docs/benchmarks.md]

For every container count N it starts N busybox containers on a private
dockerd (devstack.docker_engine, its own socket, never the system daemon) and
measures, in the same run, each opsdash figure beside its reference:

1. time to first frame in a pseudo-terminal: opsdash vs a bare Textual app;
2. time until all N containers are listed, and until they all have stats:
   DockerSource, the TUI (headless and in a pty) and `opsdash snapshot --json`
   vs `docker ps -a` and `docker stats --no-stream`;
3. CPU of the TUI over --cpu-seconds at the default 2 s refresh vs
   `docker stats` streaming in a pty, with the engine's own CPU (dockerd,
   containerd and the shims) in each window and with nobody polling;
4. bytes written to the terminal per second once settled: opsdash vs the
   bare app;
5. peak RSS: opsdash vs the bare app (and `docker stats`);
6. the stats design: DockerSource.poll() wall times, and passes of stats
   calls over every container on the raw API (16 threads vs all at once,
   one-shot vs two-sample);
7. opsdash settled with `stats = false` (bytes/s, CPU) vs the bare app;
8. first frame with nothing configured, a dead source and a hanging source
   (first_frame_cases.py, no engine needed);
9. the `python -X importtime -c "import opsdash.app"` profile (importtime.py);
10. key latency through the pty (key_latency.py): `j` written to the pty until
    the cursor is drawn on the next row, p50/p95 of 40 presses, opsdash with
    its stats flowing vs a bare Textual DataTable of N rows (bare_table.py);
    needs pyte, the `bench` extra: pip install -e '.[bench]';
11. glances (glances_peer.py, at up to 200 containers): its CPU and the
    engine's over the same window as opsdash's and `docker stats`'; made in
    its own venv under the servers dir when missing, else skipped with a note.

The stats-off run (7) starts from an empty cwd, HOME and XDG dirs with every
other source kind turned off (stats_off.py), so nothing else ticks.

A "Targets" table (targets.py) leads the block: each issue-14 target with its
figure, its reference, the ratio or budget and met / not met. --panels also
runs benchmarks/panels.py (measure(bench) -> dict, report_lines(data)) when
that module exists.

The results are printed and written into --out between the
`<!-- results:start -->` and `<!-- results:end -->` markers (the rest of that
file is left alone); --json also keeps the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # devstack, benchmarks

from benchmarks.first_frame_cases import first_frame_cases
from benchmarks.importtime import import_profile
from benchmarks.instruments import ROOT, log
from benchmarks.key_latency import pyte_missing
from benchmarks.report import report, write_report
from benchmarks.scenarios import Bench


def measure_panels(bench: Bench) -> dict:
    """The pipelines/models/DORA panels scenario lives in benchmarks/panels.py (its own owner);
    a missing module is a note in the report, not a failed run."""
    try:
        from benchmarks import panels
    except ImportError as error:
        bench.note(f"--panels: benchmarks.panels not available ({error}); skipped")
        return {}
    return panels.measure(bench)


def compile_opsdash() -> None:
    """Measure opsdash as installed, with its bytecode: pip compiles a package
    on install, but a checkout run with PYTHONDONTWRITEBYTECODE=1 (as CI and
    this machine set it) recompiles every module it imports at each start,
    which the first frame would count (20-45 ms CPU, measured) while Textual,
    installed, pays nothing."""
    import compileall

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(ROOT / "opsdash"), quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[50, 200], metavar="N")
    parser.add_argument("--cpu-seconds", type=float, default=60.0, metavar="S")
    parser.add_argument("--idle-seconds", type=float, default=20.0, metavar="S")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--busy", type=int, default=0, metavar="K", help="K containers spin a CPU (default 0)"
    )
    parser.add_argument(
        "--panels",
        action="store_true",
        help="also run benchmarks.panels (measure(bench) -> dict), if that module exists",
    )
    parser.add_argument("--out", type=Path, help="markdown file to write the results into")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    missing = pyte_missing()
    if missing:
        print(f"run.py: {missing}", file=sys.stderr)
        return 2

    command = "python benchmarks/run.py --counts " + " ".join(map(str, args.counts))
    command += f" --cpu-seconds {args.cpu_seconds:g} --idle-seconds {args.idle_seconds:g}"
    command += f" --repeats {args.repeats}" + (f" --busy {args.busy}" if args.busy else "")
    if args.out:
        command += " --out " + (
            str(args.out.resolve().relative_to(ROOT))
            if args.out.resolve().is_relative_to(ROOT)
            else args.out.name
        )

    compile_opsdash()
    bench = Bench(args)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        data = bench.run()
        data["importtime"] = import_profile()
        log("first frame: nothing configured, a dead source, a hanging source")
        data["first_frame_cases"] = first_frame_cases(args.repeats, bench.notes)
        if args.panels:
            data["panels"] = measure_panels(bench)
    finally:
        bench.cleanup()
        signal.signal(signal.SIGTERM, previous)
    block = report(data, command, args.cpu_seconds)
    print(block)
    if args.out:
        write_report(args.out, block)
        log(f"results written to {args.out}")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
