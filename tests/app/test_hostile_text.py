"""The hostile corpus (tests/hostile.py) through every path to the screen.

Toasts (from the app, a widget and a worker thread), dialogs, the progress
screen, titles, the footer, the help screen, the command palette, the input
lines, panels, status lines and error messages, driven through the real app.
Each must show markup as text, write no escape or invisible character to the
terminal, and never crash (the issue's `MarkupError` after a rollback).
"""

from __future__ import annotations

import ast
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from textual import events

import opsdash
from devstack.replay import ReplayServer, Reply, load_fixture
from opsdash.actions.base import ActionPlan
from opsdash.app import OpsdashApp
from opsdash.config import Config
from opsdash.dora.source import DoraSource
from opsdash.literal_app import LiteralTextApp
from opsdash.poller import Poller
from opsdash.safetext import strip_unsafe
from opsdash.screens.actions import ConfirmScreen, ProgressScreen
from opsdash.screens.details import RecordScreen
from opsdash.screens.help import HelpScreen
from opsdash.sources.github import GitHubConfig
from opsdash.store import Store
from opsdash.widgets.literal_input import LiteralInput
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import (
    FixedDockerSource,
    FixedHostSource,
    FixedModelsSource,
    FixedPipelineSource,
    docker_config,
    run_isolated,
    unique,
)
from tests.hostile import HOSTILE, LOG_TAIL, MARKUP, assert_clean_screen, shown, unsafe_chars
from tests.pilot import fixed_app, real_app, select_container, settle, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SIZE = (160, 48)
PATHS_TRIED: dict[str, int] = {}  # path -> hostile inputs tried (the figure in the report)


def _count(path: str, n: int = 1) -> None:
    PATHS_TRIED[path] = PATHS_TRIED.get(path, 0) + n


@pytest.fixture(scope="module", autouse=True)
def _report_figures():
    """With -s, print how many hostile inputs went through which path."""
    yield
    for path, n in PATHS_TRIED.items():
        print(f"hostile inputs x path: {n:4d}  {path}")
    print(f"hostile inputs x paths tried: {sum(PATHS_TRIED.values())}")


def visible(value: str) -> str:
    """A piece of `value` that must be on screen: markup as written, else its first
    line once cleaned (a toast wraps long text, so at most 24 characters)."""
    if value in MARKUP.values():
        return value
    first = strip_unsafe(value).split("\n")[0].strip()
    return first[:24]


async def wait_shown(pilot, text: str) -> None:
    await wait_for(pilot, lambda: shown(pilot.app, text), timeout=10, step=0.05)


def hostile_plan(value: str, **extra) -> ActionPlan:
    return ActionPlan(
        action="redeploy",
        target=value,
        target_id="c0ffee",
        host="demo",
        steps=(value, f"Stop {value}."),
        old_image=value,
        new_image=value,
        **extra,
    )


async def test_every_toast_path_is_literal():
    """app.notify (message and title), a widget's notify and call_from_thread."""
    app = fixed_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        for index, value in enumerate(HOSTILE.values()):
            app.clear_notifications()
            app.notify(f"m{index} {value}", timeout=60)
            app.notify(f"t{index}", title=value, timeout=60)
            app.screen.notify(f"w{index} {value}", severity="error", timeout=60)
            thread = threading.Thread(
                target=app.call_from_thread,
                args=(app.notify, f"x{index} {value}"),
                kwargs={"severity": "warning", "timeout": 60},
            )
            thread.start()
            await wait_for(pilot, lambda t=thread: not t.is_alive(), timeout=10)
            for marker in (f"m{index}", f"t{index}", f"w{index}", f"x{index}"):
                await wait_shown(pilot, marker)
            assert_clean_screen(app)
            await wait_shown(pilot, visible(value))
            _count("toast", 4)
        assert app.is_running and app.return_code is None


async def test_dialogs_progress_and_the_rollback_toast_are_literal():
    """The confirm dialog (plain, protected with its name input, a question), the
    progress log, its outcome and ActionFlow.finished's toast after a rollback."""
    app = fixed_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        for name, value in HOSTILE.items():
            for screen in (
                ConfirmScreen(hostile_plan(value), image_editable=True),
                ConfirmScreen(hostile_plan(value, protected=True)),
                ConfirmScreen(hostile_plan(value), question=value),
            ):
                await app.push_screen(screen)
                await pilot.pause()
                assert_clean_screen(app)
                assert shown(app, visible(value)), (name, screen)
                screen.dismiss(False)
                await pilot.pause()
                _count("confirm dialog")

            app.clear_notifications()
            progress = ProgressScreen(hostile_plan(value))
            await app.push_screen(progress)
            progress.add_line("output", value)
            progress.add_line("rollback", value)
            app.actions.finished(progress, False, f"rolled back: {value}")
            await wait_shown(pilot, "rolled back:")
            assert_clean_screen(app)
            assert progress.done
            _count("progress log and outcome", 3)
            _count("ActionFlow.finished toast")
            progress.dismiss(None)
            await pilot.pause()
        app.actions.finished(ProgressScreen(hostile_plan("x")), False, LOG_TAIL)
        await wait_shown(pilot, "cannot read [/etc/app.conf]")
        assert_clean_screen(app)
        assert app.is_running


class HostileDockerSource(FixedDockerSource):
    """Containers named, imaged, labelled and described with every corpus entry."""

    def poll(self):
        snapshot = super().poll()
        base = snapshot.containers[0]
        hostile = tuple(
            replace(
                base,
                id=f"{index:012x}" + "e" * 52,
                name=value,
                image=value,
                status=value,
                labels=(("note", value),),
            )
            for index, value in enumerate(HOSTILE.values())
        )
        return replace(snapshot, containers=hostile)


class FailingSource(FixedDockerSource):
    """A Docker host whose every poll fails with the issue's log tail and the corpus."""

    def __init__(self):
        super().__init__(name="broken")

    def poll(self):
        raise RuntimeError(f"engine said: {LOG_TAIL} {' '.join(HOSTILE.values())}")


HOSTILE_KEYS = {"quit": "\x1b]0;TITLE\x07", "help": "[b]\u202e?", "filter": "\x9b2J"}


def hostile_app():
    """Hostile names in the tables, a failing source, hostile [keys] values."""
    config = Config(path=None, refresh=3600, keys=dict(HOSTILE_KEYS))
    store = Store(Path(":memory:"))
    sources = [
        HostileDockerSource(services=False),
        FailingSource(),
        FixedHostSource(),
        FixedPipelineSource(),
        FixedModelsSource(),
        DoraSource(config, store, refresh=3600),
    ]
    return OpsdashApp(config, Poller(sources), store=store)


async def test_tables_status_lines_titles_footer_help_palette_and_inputs_are_literal():
    app = hostile_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await wait_shown(pilot, "engine said: cannot read [/etc/app.conf]")  # status line
        text = assert_clean_screen(app)
        assert "docker:broken error" in text  # the health bar
        table = app.screen.query_one("#containers-table", ResourceTable)
        names = {cell.plain for cell in table.get_column("name")}
        assert all(unsafe_chars(n) == [] for n in names)
        for value in MARKUP.values():  # as written (long names are cut: compare the start)
            assert any(n.startswith(value[:12]) for n in names), value
        _count("container table cells", len(HOSTILE) * 3)  # name, image, search labels
        _count("source error in status line and health bar", 2 * len(HOSTILE))

        for value in HOSTILE.values():  # window title and sub-title
            app.title = value
            app.sub_title = value
            assert unsafe_chars(app.title + app.sub_title) == []
            _count("app title and sub-title", 2)

        for container in list(table.records.values()):  # each record's own screen
            app.show_record(container)
            await wait_for(pilot, lambda: isinstance(app.screen, RecordScreen))
            await pilot.pause()
            assert_clean_screen(app)
            assert shown(app, visible(container.name)[:20])
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, RecordScreen))
            _count("record screen (title and fields)")

        await pilot.press("question_mark")  # remapped keys cannot be pressed: open it
        if not isinstance(app.screen, HelpScreen):
            app.action_help()
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        help_text = assert_clean_screen(app)
        assert "[b]<U+202E>?" in help_text
        _count("help screen [keys] values", len(HOSTILE_KEYS))
        app.pop_screen()
        await pilot.pause()
        footer = assert_clean_screen(app)
        assert "TITLE" not in footer
        _count("footer key display", len(HOSTILE_KEYS))

        app.action_command_palette()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.pause(0.3)
        assert_clean_screen(app)
        app.screen.dismiss()
        await pilot.pause()

        box = app.screen.query_one("#containers-filter", LiteralInput)
        for value in HOSTILE.values():  # typed and pasted into the filter line
            box.value = ""
            box.post_message(events.Paste(value))
            await pilot.pause()
            box.insert_text_at_cursor(value)
            box.value = box.value + value
            assert unsafe_chars(box.value) == []
            _count("input line (paste, insert, set)", 3)
        box.add_class("-visible")
        await pilot.pause()
        assert_clean_screen(app)
        assert app.is_running


def test_nothing_bypasses_the_literal_notify():
    """Every toast goes through LiteralTextApp.notify: no code builds a Notification,
    posts Notify, calls App.notify or super().notify, or passes markup=True; and the
    app, its screens and their widgets all end in the one wrapper."""
    assert OpsdashApp.notify is LiteralTextApp.notify
    root = Path(opsdash.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            literal_false = isinstance(node, ast.keyword) and ast.unparse(node.value) == "False"
            if isinstance(node, ast.keyword) and node.arg == "markup" and not literal_false:
                offenders.append(f"{where} markup={ast.unparse(node.value)}")
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            if func.split(".")[-1] in ("Notify", "Notification", "Toast"):
                offenders.append(f"{where} {func}(...)")
            if func in ("App.notify", "super().notify") and path.name != "literal_app.py":
                offenders.append(f"{where} {func}(...)")
    assert offenders == [], offenders


def test_no_markup_string_is_built_from_values_in_the_ui():
    """Strings handed to what parses markup (Static, update, border titles, Rich
    Table titles, toasts' titles) are never f-strings or concatenations in the UI:
    a value goes in as literal(...) Text, which is never parsed."""
    root = Path(opsdash.__file__).parent
    ui = [root / "app.py", root / "action_flow.py", *root.glob("screens/*.py")]
    ui += [*root.glob("widgets/*.py"), *root.glob("views/*.py"), root / "cli.py"]
    sinks = {"Static", "Label", "update", "Table"}  # palette entries: LiteralSystemCommands
    offenders = []
    for path in ui:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.JoinedStr | ast.BinOp):
                targets = {t.attr for t in node.targets if isinstance(t, ast.Attribute)}
                titled = {"border_title", "border_subtitle", "title", "tooltip"} & targets
                if titled and "PANEL_TITLES" not in ast.unparse(node.value):  # constants
                    offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] in sinks:
                args = [*node.args, *(k.value for k in node.keywords if k.arg == "title")]
                for arg in args:
                    if isinstance(arg, ast.JoinedStr | ast.BinOp) and not isinstance(
                        getattr(arg, "left", None), ast.Call
                    ):
                        offenders.append(f"{path.name}:{node.lineno} {ast.unparse(arg)[:60]}")
    assert offenders == [], offenders


async def test_ci_server_error_on_deploy_is_shown_literally(tmp_path):
    """A CI server answering `D` with `{"message": "denied [/etc/ci.conf]"}` (plus the
    corpus): the issue's `MarkupError ... exit 1`. Its runs carry the corpus too."""
    repo = "/repos/acme/shop"
    message = f"denied [/etc/ci.conf] {LOG_TAIL}"
    runs = load_fixture(FIXTURES / "github" / "runs_page1.json")
    page = runs.body["workflow_runs"]
    hostile_runs = []
    for index, value in enumerate(HOSTILE.values()):
        run = json.loads(json.dumps(page[index % len(page)]))
        run.update(id=800000 + index, display_title=value, head_branch=value, name=value)
        run["head_commit"] = {**(run.get("head_commit") or {}), "message": value}
        hostile_runs.append(run)
    runs.body = {"total_count": len(hostile_runs), "workflow_runs": hostile_runs}
    with ReplayServer() as github:
        github.add("GET", f"{repo}/actions/runs", runs)
        github.add(
            "POST",
            f"{repo}/actions/workflows/deploy.yml/dispatches",
            Reply(403, {"message": message, "documentation_url": "https://docs.github.com"}),
        )
        config = Config(
            path=None,
            sources=(
                GitHubConfig(
                    name="gh",
                    url=github.url,
                    project="acme/shop",
                    token="ghp_hostileTextTest0123456789abcdefABCD",
                    deploy="deploy.yml",
                    deploy_branch="main",
                    runs=len(HOSTILE),
                    refresh=3600,
                    timeout=5,
                ),
            ),
        )
        store = Store(tmp_path / "db.sqlite")
        app = real_app(config, store=store)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("3")
            await pilot.pause()
            assert_clean_screen(app)
            assert shown(app, "[bold red]X[/]")  # a run's title in the table
            await pilot.press("enter")  # the run's own screen
            await pilot.pause()
            assert_clean_screen(app)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("D")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
            progress = app.screen
            await wait_for(pilot, lambda: progress.done, timeout=30)
            await wait_shown(pilot, "denied [/etc/ci.conf]")
            assert_clean_screen(app)
            await pilot.press("escape")
            await pilot.pause()
            assert_clean_screen(app)
            assert app.is_running and app.return_code is None
        _count("CI run titles, branches and workflow names (table)", 3 * len(HOSTILE))
        _count("CI error on D (progress outcome and toast)", 2)
        (entry,) = store.audit_entries()
        assert "denied [/etc/ci.conf]" in entry.error
        store.close()


async def test_image_typed_in_the_i_dialog_is_shown_literally(engine):
    """`R`, then `i` and `acc/busybox:[/x]`: the redeploy fails and is rolled back;
    the outcome and its toast name the image as typed (the issue's crash)."""
    name = unique("acc-web")
    run_isolated(engine, name, "local/busybox:1", "sleep", "3600")
    app = real_app(docker_config(engine.docker_host))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await select_container(pilot, name)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=30)
        await pilot.press("i")
        box = app.screen.query_one("#confirm-image", LiteralInput)
        box.value = ""
        await pilot.press(*"acc/busybox:[/x]")
        assert box.value == "acc/busybox:[/x]"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ConfirmScreen)
                and app.screen.plan.new_image == "acc/busybox:[/x]"
            ),
            timeout=30,
        )
        assert shown(app, "acc/busybox:[/x]")
        assert_clean_screen(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), timeout=30)
        progress = app.screen
        await wait_for(pilot, lambda: progress.done, timeout=90)
        await wait_shown(pilot, "[/x]")
        assert_clean_screen(app)
        assert app.is_running and app.return_code is None
    _count("image typed in the i dialog (dialog, outcome, toast)", 3)
    assert engine.cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"


# printf %b in busybox sh: the log tail, CSI, OSC 0/52, DCS, an 8-bit CSI
# (invalid UTF-8 once read), NUL, U+202E and U+200B, as a container would print them.
PRINTF_LOG = (
    r"cannot read [/etc/app.conf]\n[bold red]X[/]\n\0033]0;TITLE\0007 \0033]52;c;cHdu\0007"
    r" \0033[2Jcsi \0033P+q544e\0033\\dcs \0233\0062Jc1 nul\0000 inv\0342\0200\0256oice"
    r" zero\0342\0200\0213width denied [/etc/ci.conf]\n"
)


async def test_log_tail_after_a_rollback_and_the_log_screen_are_literal(engine):
    """The issue's first case: the new container exits on start printing markup and
    escapes; the rollback's outcome and toast carry its log tail. Then `l` on a
    container printing the same."""
    name = unique("acc-web")
    bad_image = unique("local/hostile").lower() + ":1"
    dockerfile = (
        f'FROM local/busybox:1\nENTRYPOINT ["sh", "-c", "printf \'%b\' \'{PRINTF_LOG}\'; exit 3"]\n'
    ).replace("\\", "\\\\")  # JSON string in the Dockerfile
    engine.cli("build", "-q", "-t", bad_image, "-", input=dockerfile.encode())
    run_isolated(
        engine, name, "local/busybox:1", "sh", "-c", f"printf '%b' '{PRINTF_LOG}'; sleep 3600"
    )
    app = real_app(docker_config(engine.docker_host))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await select_container(pilot, name)
        await pilot.press("l")
        await wait_for(pilot, lambda: len(getattr(app.screen, "lines", ())) >= 3, timeout=30)
        await wait_shown(pilot, "[bold red]X[/]")
        assert_clean_screen(app)
        assert shown(app, "inv<U+202E>oice")
        _count("log screen lines (docker logs, bytes)", 13)
        await pilot.press("escape")

        await select_container(pilot, name)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=30)
        await pilot.press("i")
        box = app.screen.query_one("#confirm-image", LiteralInput)
        box.value = bad_image
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ConfirmScreen) and app.screen.plan.new_image == bad_image
            ),
            timeout=30,
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), timeout=30)
        progress = app.screen
        await wait_for(pilot, lambda: progress.done, timeout=90)
        assert "cannot read [/etc/app.conf]" in progress.outcome
        await wait_shown(pilot, "exited with code 3")
        assert_clean_screen(app)
        assert app.is_running and app.return_code is None
        _count("rollback log tail (progress outcome, toast)", 2 * 13)
    assert engine.cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
