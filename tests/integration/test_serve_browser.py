"""`opsdash serve` in Debian's headless Chromium, driven by Playwright: the real
command, the real textual-serve, one real app process per browser session.

The page draws into canvases (xterm.js), so the screen is read from the
websocket's frames (the app's terminal output, ANSI stripped) and the test
waits for `body.-first-byte`. Nothing outside 127.0.0.1 is reachable, so every
other request (the page's web font) is blocked. The containers come from a
`fixeddocker` plugin source (tests.integration.serve_fixtures), no engine.

Set OPSDASH_SCREENSHOTS=1 to write screenshots/browser-view.png.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from opsdash.safetext import strip_unsafe
from opsdash.store import Store
from tests.fakes import sample_containers
from tests.integration.serve_fixtures import CONFIG, install_fixed_docker, need
from tests.missing import missing

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
TOKEN = "browser-test-token-0123456789abcdef"
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def _websocket_status(port: int, origin: str, cookie: str) -> int:
    """The status of a websocket handshake on /ws (101: upgraded)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "GET",
        "/ws?width=80&height=24",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Origin": origin,
            "Cookie": cookie,
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def _wait(condition: Callable[[], object], what: str, timeout: float = 60.0, page=None):
    """`condition()` once true; with a page, the pause lets Playwright deliver the
    websocket's frames (its sync API handles events only inside its own calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if page is None:
            time.sleep(0.2)
        else:
            page.wait_for_timeout(200)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def _serving(tmp_path: Path, *serve_args: str, config_text: str = CONFIG):
    """`opsdash serve` on a free 127.0.0.1 port with the token given; yields the
    base URL, the port and its log file."""
    need("textual_serve")
    site = install_fixed_docker(tmp_path / "site")
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "OPSDASH_SERVE_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "opsdash", "--config", str(config), "serve"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), *serve_args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its app processes are in its group: all stopped at the end
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _reachable(base), "opsdash serve to listen", 60)
        yield base, port, tmp_path / "serve.log"
    finally:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
        proc.wait(10)
        log.close()


@pytest.fixture
def served(tmp_path):
    """Read-only (no --allow-actions)."""
    with _serving(tmp_path) as serving:
        yield serving


def _reachable(base: str) -> bool:
    try:
        return _status(base + "/") == 403  # up, and the page without a token is refused
    except OSError:
        return False


def _launch(playwright):
    if not Path(CHROMIUM).exists():
        missing("chromium missing: scripts/test installs it")
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
    )


def _app_processes(config: Path) -> dict[int, bytes]:
    """The environment of each `opsdash --config CONFIG ... tui` process (textual-serve's)."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if str(config.resolve()).encode() in argv and b"tui" in argv:
                found[int(proc.name)] = (proc / "environ").read_bytes()
        except OSError:
            continue
    return found


def _restarts(count: int) -> list | None:
    """The audit log's restart entries (newest first) once there are `count`."""
    store = Store.open_default()
    try:
        entries = [e for e in store.audit_entries() if e.action == "restart"]
    finally:
        store.close()
    return entries if len(entries) == count else None


def _open_dashboard(playwright, base: str, screen: Screen):
    """A browser on the page (with the token) once the containers are drawn."""
    browser = _launch(playwright)
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(base) else route.abort(),
    )
    page.on("websocket", screen.on_websocket)
    return browser, context, page


class Screen:
    """What the app drew, from the websocket's frames."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def on_websocket(self, ws) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        self.raw.append(payload if isinstance(payload, bytes) else payload.encode())

    @property
    def text(self) -> str:
        return self.since(0)

    def mark(self) -> int:
        """Where the frames end now; `since(mark)` is what was drawn after."""
        return len(self.raw)

    def since(self, mark: int) -> str:
        return _ESCAPES.sub("", b"".join(self.raw[mark:]).decode("utf-8", "replace"))


def test_the_dashboard_in_a_browser_read_only_and_audited_per_session(served, tmp_path):
    need("playwright")
    from playwright.sync_api import sync_playwright

    base, port, log = served
    # Refused without the token: the page, a static file, a download.
    assert _status(base + "/") == 403
    assert _status(base + "/?token=wrong-token-0123456789") == 403
    assert _status(base + "/static/js/textual.js") == 403
    assert _status(base + "/download/x") == 403

    names = {c.name for c in sample_containers()}
    screen = Screen()
    with sync_playwright() as playwright:
        browser, context, page = _open_dashboard(playwright, base, screen)
        try:
            assert page.goto(base + "/").status == 403
            assert page.goto(f"{base}/?token={TOKEN}").status == 200
            page.wait_for_selector("body.-first-byte", state="attached", timeout=60_000)
            _wait(lambda: "Containers" in screen.text, "the containers panel", page=page)
            shown = {n for n in names if n.isprintable()}  # one is hostile: drawn literally
            _wait(lambda: all(n in screen.text for n in shown), "every container", page=page)

            cookie = next(c for c in context.cookies() if c["name"].startswith("opsdash_serve"))
            assert cookie["httpOnly"]
            assert cookie["sameSite"] == "Strict"
            assert TOKEN not in cookie["value"]
            jar = f"{cookie['name']}={cookie['value']}"
            # the session's app process runs without the token in its environment
            apps = _app_processes(tmp_path / "config.toml")
            assert apps
            assert all(
                b"--read-only" in (Path("/proc") / str(p) / "cmdline").read_bytes() for p in apps
            )
            assert not [pid for pid, environ in apps.items() if TOKEN.encode() in environ]
            assert all(b"OPSDASH_ACTOR=web:" in environ for environ in apps.values())
            assert _status(base + "/static/js/textual.js", {"Cookie": jar}) == 200
            assert _websocket_status(port, "http://evil.example", jar) == 403
            assert _websocket_status(port, f"http://127.0.0.1:{port + 1}", jar) == 403
            assert _websocket_status(port, base, "") == 403

            terminal = page.locator(".xterm-helper-textarea")
            terminal.focus()
            page.keyboard.press("r")  # restart the container under the cursor: refused
            _wait(
                lambda: "Refused: opsdash runs read-only" in screen.text, "the refusal", page=page
            )
            page.keyboard.press("j")  # the cursor moves down one row
            page.wait_for_timeout(500)
            page.keyboard.press("r")
            refused = _wait(
                lambda: _restarts(2), "two refused restarts in the audit log", page=page
            )
            shot = (
                ROOT / "screenshots" / "browser-view.png"
                if os.environ.get("OPSDASH_SCREENSHOTS")
                else tmp_path / "browser-view.png"
            )
            page.wait_for_timeout(4500)  # the refusal's notice goes
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
        except AssertionError:
            (tmp_path / "screen.txt").write_text(screen.text)
            page.screenshot(path=str(tmp_path / "failed.png"))
            raise
        finally:
            browser.close()

    second, first = refused  # newest first
    assert first.result.startswith("refused: opsdash runs read-only")
    assert second.result.startswith("refused: opsdash runs read-only")
    assert {first.target, second.target} <= {strip_unsafe(n) for n in names}
    assert first.target != second.target  # `j` moved the cursor to another container
    assert first.actor == second.actor  # one browser session, one name
    assert re.fullmatch(r"web:[0-9a-f]{8}@" + re.escape(socket.gethostname()), first.actor)
    served_log = log.read_text()
    assert TOKEN not in served_log
    assert f"session {first.actor} from 127.0.0.1 started" in served_log


def test_with_allow_actions_a_key_is_not_refused_as_read_only(tmp_path):
    """The fixed source has no engine to plan a restart on, so the action goes as
    far as planning it (a real engine would ask to confirm): not refused."""
    need("playwright")
    from playwright.sync_api import sync_playwright

    screen = Screen()
    with (
        _serving(tmp_path, "--allow-actions") as (base, _port, _log),
        sync_playwright() as playwright,
    ):
        browser, _context, page = _open_dashboard(playwright, base, screen)
        try:
            page.goto(f"{base}/?token={TOKEN}")
            page.wait_for_selector("body.-first-byte", state="attached", timeout=60_000)
            _wait(lambda: "worker" in screen.text, "the containers", page=page)
            assert "READ-ONLY" not in screen.text
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("r")
            _wait(lambda: "Could not plan restart" in screen.text, "the restart planned", page=page)
        finally:
            browser.close()
    assert "Refused" not in screen.text
    assert _restarts(0) == []  # nothing refused, nothing run


@pytest.mark.docker
def test_with_allow_actions_a_session_confirms_on_a_real_engine(tmp_path, engine):
    """On the private engine the restart is planned and asks to confirm; `n`
    cancels it, audited under the session's name."""
    need("playwright")
    from playwright.sync_api import sync_playwright

    from devstack.docker_engine import BUSYBOX_IMAGE
    from tests.fakes import run_isolated, unique

    name = unique("served")
    run_isolated(engine, name, BUSYBOX_IMAGE, "sleep", "3600")
    config = f'host = []\n\n[[docker]]\nname = "test"\nhost = "{engine.docker_host}"\n'
    screen = Screen()
    try:
        with (
            _serving(tmp_path, "--allow-actions", config_text=config) as (base, _port, _log),
            sync_playwright() as playwright,
        ):
            browser, _context, page = _open_dashboard(playwright, base, screen)
            try:
                page.goto(f"{base}/?token={TOKEN}")
                page.wait_for_selector("body.-first-byte", state="attached", timeout=60_000)
                _wait(lambda: name in screen.text, "the container", page=page)
                page.locator(".xterm-helper-textarea").focus()
                # Only this container (other tests' may be there). Each step waits for
                # its frame: a letter sent before the filter line has focus is a key.
                mark = screen.mark()
                page.keyboard.press("/")
                _wait(lambda: "filter: words" in screen.since(mark), "the filter", page=page)
                mark = screen.mark()
                page.keyboard.type(name)
                _wait(lambda: name in screen.since(mark), "the filter's words", page=page)
                page.keyboard.press("Enter")
                page.wait_for_timeout(500)
                page.keyboard.press("r")
                _wait(lambda: f"Restart {name}?" in screen.text, "the confirmation", page=page)
                page.keyboard.press("n")
                cancelled = _wait(lambda: _restarts(1), "the cancelled restart", page=page)
            except AssertionError:
                page.screenshot(path=str(tmp_path / "failed.png"))
                raise
            finally:
                browser.close()
    finally:
        engine.cli("rm", "-f", name, check=False)
    assert cancelled[0].target == name
    assert cancelled[0].result == "cancelled"
    assert cancelled[0].actor.startswith("web:")
