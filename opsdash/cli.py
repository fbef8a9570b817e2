"""Command line: `opsdash` (the TUI), `opsdash check`, `opsdash snapshot`,
`opsdash audit`, `opsdash replay` and `opsdash serve` (the TUI in a browser, `opsdash.serve`).

Only what reading the config needs is imported up front: each command imports
its own, and the TUI loads the sources, the store and autodetection after its
first frame (`tui_backend`), so none of them delays it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from opsdash import __version__, config_checks
from opsdash.config import Config, ConfigError, load_config
from opsdash.theme_names import unknown_theme

if TYPE_CHECKING:
    from rich.console import Console

    from opsdash.model import SourceResult
    from opsdash.poller import Poller
    from opsdash.sources.base import Source
    from opsdash.store import Store


def installed_version() -> str:
    """The installed distribution's version (what pip, pipx or uv put there); run
    from a source tree that is not installed, the package's own `__version__`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opsdash")
    except PackageNotFoundError:
        return f"{__version__} (not installed)"


class _VersionAction(argparse.Action):
    """`--version`, read only when asked: the metadata lookup stays off the TUI's start."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"opsdash {installed_version()}\n")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsdash",
        description="A keyboard-driven terminal dashboard for containers, pipelines, "
        "deployments and models. Without a command it starts the dashboard.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the installed version and exit"
    )
    parser.add_argument(
        "--theme",
        metavar="NAME",
        help="colour theme (overrides [ui] theme): ansi (the 16 terminal colours only), "
        "high-contrast, or one of Textual's (textual-dark, nord, ...); "
        "the command palette (ctrl+p, Theme) switches it while running",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        help="config file (default: $OPSDASH_CONFIG, else ~/.config/opsdash/config.toml; "
        "without one, the local Docker engine and host are autodetected)",
    )
    parser.add_argument(
        "--context",
        metavar="NAME",
        action="append",
        help="watch the Docker engine of this docker context (`docker context ls`) instead "
        "of the configured or autodetected ones; repeat it for several, each a host in the "
        "header; a [[docker]] table with context = NAME keeps its settings",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="refuse every action that changes anything (restart, redeploy, ...)",
    )
    parser.add_argument(
        "--refresh",
        metavar="SECONDS",
        type=float,
        help="seconds between polls of each source (overrides the config; default 2)",
    )
    parser.add_argument(
        "--log",
        metavar="PATH",
        type=Path,
        help="append a plain-text log of source health changes and actions to PATH "
        "(secrets never appear in it)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("tui", help="start the dashboard (the default)")
    commands.add_parser(
        "check",
        help="try every configured source once, print source/ok/latency/message; "
        "exit 1 if any fails",
    )
    snapshot = commands.add_parser(
        "snapshot", help="poll every source once, print tables (or JSON) and exit"
    )
    snapshot.add_argument("--json", action="store_true", help="print JSON instead of tables")
    audit = commands.add_parser(
        "audit", help="print the audit log: every action, confirmed or refused, newest first"
    )
    audit.add_argument("--json", action="store_true", help="print JSON instead of a table")
    audit.add_argument("--limit", type=int, default=1000, metavar="N", help="at most N entries")
    replay = commands.add_parser(
        "replay",
        help="open the dashboard on what it recorded: [ ] step, T jumps to a time, "
        "space plays, + - change the speed; actions are disabled",
    )
    replay.add_argument(
        "--at",
        metavar="TIME",
        help="the moment to open at: 03:12 (today), 2026-12-03T03:12:00Z, or how long "
        "ago (15m, 2h); default: the last recorded poll",
    )
    replay.add_argument(
        "--source",
        metavar="NAME",
        action="append",
        default=[],
        help="replay only this source (its name, local, or label, docker:local); repeat it",
    )
    replay.add_argument(
        "--session",
        metavar="TEXT",
        help="replay only the recording of the opsdash whose session id holds TEXT "
        "(alice@, a pid); default: per source, the session recording at the moment shown",
    )
    replay.add_argument(
        "--sessions",
        action="store_true",
        help="list the recorded sessions (who, pid, start; sources; first and last time) and exit",
    )
    from opsdash.serve_cli import add_serve_parser  # argparse only: no textual-serve

    add_serve_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "audit":  # reads the store only: no config, so no source's secret
        if not 1 <= args.limit <= 1_000_000:
            print("opsdash: audit --limit: must be from 1 to 1000000", file=sys.stderr)
            return 2
        return run_audit(as_json=args.json, limit=args.limit)
    if args.refresh is not None:
        try:
            config_checks.number("refresh", args.refresh)
        except config_checks.Invalid as exc:
            print(f"opsdash: --refresh: {exc}", file=sys.stderr)
            return 2
    if args.theme is not None and (why := unknown_theme(args.theme)):
        print(f"opsdash: --theme: {config_checks.shown(why, 400)}", file=sys.stderr)
        return 2
    try:
        config = load_config(
            args.config,
            explicit=args.config is not None,
            read_only=args.read_only,
            refresh=args.refresh,
            autodetect=args.command in ("check", "snapshot"),  # the TUI: after its first frame
        )
        _check_keys(config)
    except ConfigError as exc:
        print(f"opsdash: {exc}", file=sys.stderr)
        return 2
    if args.context:
        from opsdash.sources.docker import DockerHostConfig
        from opsdash.sources.docker_contexts import ContextError, with_contexts

        try:
            config = with_contexts(config, args.context, DockerHostConfig)
        except ContextError as exc:
            print(f"opsdash: --context: {config_checks.shown(str(exc), 400)}", file=sys.stderr)
            return 2
    if args.theme:
        config = replace(config, theme=args.theme)
    for warning in config.warnings:
        print(f"opsdash: warning: {warning}", file=sys.stderr)
    if args.log is not None:
        from opsdash.eventlog import log_to  # its redaction is not needed before

        try:
            log_to(args.log)
        except OSError as exc:
            print(
                f"opsdash: --log: cannot write {args.log}: {exc.strerror or exc}", file=sys.stderr
            )
            return 2

    if args.command == "check":
        return run_check(config)
    if args.command == "snapshot":
        return run_snapshot(config, as_json=args.json)
    if args.command == "replay":
        from opsdash.replay_app import run_replay

        return run_replay(
            config, args.at, args.source, session=args.session, list_sessions=args.sessions
        )
    if args.command == "serve":
        from opsdash.serve_cli import run_serve

        return run_serve(args, config)
    return run_tui(config)


def _check_keys(config: Config) -> None:
    if not config.keys:
        return
    from opsdash.keys import validate_keymap

    validate_keymap(config)


def _poller(
    config: Config, *, blocking_stats: bool = False, store=None, keys: bool = True
) -> Poller:
    """The configured sources; with `keys` and a store, the DORA keys too."""
    from opsdash.poller import Poller

    return Poller(_sources(config, blocking_stats=blocking_stats, store=store, keys=keys))


def _sources(
    config: Config, *, blocking_stats: bool = False, store=None, keys: bool = True
) -> list[Source]:
    from functools import partial

    from opsdash.sources.build import build_sources
    from opsdash.sources.capabilities import RemembersDeployments, WaitsForStats

    sources = build_sources(config, store if keys else None)
    for source in sources:
        if isinstance(source, WaitsForStats):
            source.blocking_stats = blocking_stats  # one-shot commands wait for stats
        if store is not None and isinstance(source, RemembersDeployments):
            from opsdash.dora.ci_events import recorded_vendor_ids

            # deployments an earlier run recorded are not read again (cron snapshots)
            source.recorded = partial(recorded_vendor_ids, store, source.label)
    return sources


def _keys_poller(config: Config, store) -> Poller:
    from opsdash.dora.source import DoraSource
    from opsdash.poller import Poller

    return Poller([DoraSource(config, store)])


class Backend(NamedTuple):
    """What the TUI polls, built after its first frame (`OpsdashApp(backend=...)`)."""

    config: Config  # with what autodetection found
    store: Store
    sources: list[Source]


def tui_backend(config: Config) -> Backend:
    """Autodetection, the store (SQLite, migrations) and the sources: run in a
    worker thread once the first frame is drawn. Touches no socket itself (a
    source connects when it first polls) and never raises for a store it cannot
    write (the store says why)."""
    from opsdash.config import with_autodetected
    from opsdash.store import open_store

    config = with_autodetected(config)
    store = open_store(config.store)
    return Backend(config, store, _sources(config, store=store))


def run_tui(config: Config) -> int:
    from functools import partial

    from opsdash.app import OpsdashApp

    # The poller (empty until the backend adds the sources) is made on first use.
    app = OpsdashApp(config, None, backend=partial(tui_backend, config))
    try:
        app.run()
    except OSError as exc:  # the terminal went away (SIGHUP) while the app drew
        print(f"opsdash: the terminal is gone: {exc.strerror or exc}", file=sys.stderr)
    finally:
        app.actions.wait_for_actions()  # a running action ends (and is audited) first
        app.close_backend()
    return app.return_code or 0


def _console() -> Console:
    """Full width in a terminal; wide enough not to cut names when piped."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 250)


def run_audit(*, as_json: bool, limit: int) -> int:
    import json

    from opsdash.config_store import load_store_config
    from opsdash.model import to_jsonable
    from opsdash.store import open_store
    from opsdash.views.audit import audit_table

    try:
        settings = load_store_config()  # [store] alone: no source's secret is read
    except ConfigError as exc:
        print(f"opsdash: {exc}", file=sys.stderr)
        return 2
    store = open_store(settings)  # read-only is enough to read the audit log
    entries = store.audit_entries(limit)
    store.close()
    if as_json:
        json.dump([to_jsonable(e) for e in entries], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    console = _console()
    console.print(audit_table(entries) if entries else "no actions recorded yet")
    return 0


def _open_store(config: Config):
    """The data store; one that cannot be written says why in one line (what it
    holds is still read, and the command still works)."""
    from opsdash.safetext import strip_unsafe
    from opsdash.store import open_store

    store = open_store(config.store)
    if store.problem:
        print(f"opsdash: warning: {strip_unsafe(store.problem)}", file=sys.stderr)
    return store


def _record(store, config: Config, results: dict[str, SourceResult]) -> None:
    """What the polls saw goes into the store through the TUI's own watchers."""
    from opsdash.dora.watcher import record_poll

    for label, result in results.items():
        if result.ok:
            record_poll(store, config, label, result.data)


def run_check(config: Config) -> int:
    from rich.table import Table
    from rich.text import Text

    from opsdash.safetext import literal
    from opsdash.snapshot_output import summary

    store = _open_store(config)
    poller = _poller(config, store=store, keys=False)
    try:
        results = poller.poll_all_once()
        if store is not None:
            _record(store, config, results)
    finally:
        poller.close()
        if store is not None:
            store.close()
    console = _console()
    table = Table("SOURCE", "STATUS", "LATENCY", "MESSAGE", box=None, pad_edge=False)
    for label, result in results.items():
        status = Text("ok", style="green") if result.ok else Text("error", style="red bold")
        table.add_row(
            literal(label), status, f"{result.latency_s * 1000:.0f} ms", literal(summary(result))
        )
    if not results:
        console.print("no sources configured")
    console.print(table)
    return 0 if all(r.ok for r in results.values()) else 1


def run_snapshot(config: Config, *, as_json: bool) -> int:
    import json
    from datetime import datetime

    from opsdash.model import to_jsonable

    store = _open_store(config)  # the DORA keys come from its deployment history
    poller = _poller(config, blocking_stats=True, store=store, keys=False)
    try:
        results = poller.poll_all_once()
        health = {h.label: h for h in poller.all_health()}
        if store is not None:
            # Recorded first, so the keys below include what this very poll saw.
            _record(store, config, results)
            keys = _keys_poller(config, store)
            results |= keys.poll_all_once()
            health |= {h.label: h for h in keys.all_health()}
    finally:
        poller.close()
        store.close()
    if as_json:
        payload = {
            "version": __version__,
            "taken_at": datetime.now().astimezone().isoformat(),
            "sources": [
                {
                    "source": label,
                    "health": to_jsonable(health[label]),
                    "data": to_jsonable(result.data),
                }
                for label, result in results.items()
            ],
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_snapshot(results)
    return 0 if all(r.ok for r in results.values()) else 1


def _print_snapshot(results: dict[str, SourceResult]) -> None:
    from opsdash.safetext import literal
    from opsdash.snapshot_output import snapshot_tables

    console = _console()
    for label, result in results.items():
        if not result.ok:
            console.print(literal(f"{label}: error: ", "red bold") + literal(result.error))
            continue
        for table in snapshot_tables(label, result.data):
            console.print(table)
        console.print()


if __name__ == "__main__":
    sys.exit(main())
