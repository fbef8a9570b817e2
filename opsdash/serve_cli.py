"""The `serve` subcommand's options and start: what `opsdash.cli` hands over.

Kept apart from `opsdash.serve` so that building the parser (every start of
opsdash) never imports textual-serve, and a missing `opsdash[serve]` is one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from opsdash import config_checks
from opsdash.config import Config


def add_serve_parser(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="the dashboard in a browser (needs opsdash[serve]); read-only unless "
        "--allow-actions, every page and websocket needs the token",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        type=Path,
        help="the token browsers must bring (else $OPSDASH_SERVE_TOKEN; on a loopback "
        "address without either, one is made and printed in the URL)",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers open, when not http://HOST:PORT (a TLS proxy in front); "
        "pages and websockets must come from its origin",
    )
    serve.add_argument(
        "--allow-actions",
        action="store_true",
        help="let browser sessions act (restart, redeploy, ...), each audited as "
        "web:<session>@<host>",
    )


def _tui_args(args: argparse.Namespace, config: Config, *, read_only: bool) -> list[str]:
    """The global options that give each browser session's TUI this config."""
    words: list[str] = []
    if config.path is not None:
        words += ["--config", str(Path(config.path).resolve())]
    for name in args.context or ():
        words += ["--context", name]
    if args.theme:
        words += ["--theme", args.theme]
    if args.refresh is not None:
        words += ["--refresh", repr(args.refresh)]
    if args.log is not None:
        words += ["--log", str(args.log.resolve())]
    if read_only:
        words.append("--read-only")
    return words


def run_serve(args: argparse.Namespace, config: Config) -> int:
    try:
        import textual_serve  # noqa: F401 - the optional extra, checked before anything else
    except ImportError:
        print(
            "opsdash serve: textual-serve is not installed: pip install 'opsdash[serve]'",
            file=sys.stderr,
        )
        return 2
    from opsdash import serve
    from opsdash.serve_auth import is_loopback

    try:
        settings = serve.settings_for(
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            token_file=args.token_file,
            allow_actions=args.allow_actions,
            environ=dict(os.environ),
        )
    except serve.ServeError as exc:
        print(f"opsdash serve: {config_checks.shown(str(exc), 400)}", file=sys.stderr)
        return 2
    if settings.public_url.startswith("http://") and not is_loopback(settings.host):
        print(
            "opsdash serve: warning: over plain http the token crosses the network in clear; "
            "put a TLS proxy in front (--public-url https://...)",
            file=sys.stderr,
        )
    read_only = args.read_only or not args.allow_actions
    return serve.run(_tui_args(args, config, read_only=read_only), settings)
