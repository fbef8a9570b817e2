"""The browser view's door (`opsdash.serve_auth.Guard`) through aiohttp's own
test client, no browser: the token on the page only, then the HttpOnly
SameSite=Strict cookie; the cookie and the page's Origin on /static and /ws;
nothing of the token in the access log or in a refusal."""

from __future__ import annotations

import logging

import pytest

from tests.integration.serve_fixtures import need

need("aiohttp")

from aiohttp import WSServerHandshakeError, web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from opsdash.serve_auth import (  # noqa: E402
    Guard,
    PathOnlyAccessLogger,
    TokenError,
    checked_token,
    is_loopback,
    origin_of,
)

TOKEN = "s3cret-token-0123456789abcdef"
PUBLIC = "http://127.0.0.1:8765"
ORIGIN = {"Origin": PUBLIC}


def _app(guard: Guard) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="the page")

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("hello")
        await ws.close()
        return ws

    app = web.Application(middlewares=[guard.middleware])
    app.router.add_get("/", page)
    app.router.add_get("/ws", socket)
    app.router.add_get("/static/{name}", page)
    app.on_response_prepare.append(guard.add_headers)
    return app


@pytest.fixture
def guard() -> Guard:
    return Guard.for_url(TOKEN, PUBLIC)


@pytest.fixture
async def client(guard, caplog):
    caplog.set_level(logging.INFO)
    server = TestServer(_app(guard))
    # started here, with the access log `opsdash serve` runs with (TestClient passes none)
    await server.start_server(
        access_log_class=PathOnlyAccessLogger, access_log=logging.getLogger("test.access")
    )
    async with TestClient(server) as client:
        yield client


def _cookie(guard: Guard) -> dict[str, str]:
    return {"Cookie": f"{guard.cookie_name}={guard.cookie_value}"}


async def test_the_page_needs_the_token(client, caplog):
    for path in ("/", "/?token=", "/?token=wrong-token-0123456789", f"/?token={TOKEN}x"):
        response = await client.get(path)
        assert response.status == 403, path
        assert TOKEN not in await response.text()
    assert TOKEN not in caplog.text


async def test_the_token_on_the_page_sets_a_strict_httponly_cookie(client, guard, caplog):
    response = await client.get(f"/?token={TOKEN}")
    assert response.status == 200
    assert await response.text() == "the page"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{guard.cookie_name}={guard.cookie_value};")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie holds an HMAC of the token
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    # the access log has the path, never the query that holds the token
    assert '"GET /" 200' in caplog.text
    assert TOKEN not in caplog.text


async def test_static_needs_the_cookie_and_nothing_from_another_origin(client, guard):
    assert (await client.get("/static/textual.js")).status == 403
    assert (await client.get(f"/static/textual.js?token={TOKEN}")).status == 403
    assert (await client.get("/static/textual.js", headers=_cookie(guard))).status == 200
    wrong = {"Origin": "http://127.0.0.1:9999", **_cookie(guard)}  # same site, other port
    assert (await client.get("/static/textual.js", headers=wrong)).status == 403
    same_site = {"Sec-Fetch-Site": "same-site", **_cookie(guard)}
    assert (await client.get("/static/textual.js", headers=same_site)).status == 403
    same_origin = {"Sec-Fetch-Site": "same-origin", **ORIGIN, **_cookie(guard)}
    assert (await client.get("/static/textual.js", headers=same_origin)).status == 200


async def test_the_page_again_with_the_cookie(client, guard):
    assert (await client.get("/", headers=_cookie(guard))).status == 200
    stale = {"Cookie": f"{guard.cookie_name}={'0' * 64}"}
    assert (await client.get("/", headers=stale)).status == 403
    other = Guard.for_url("another-token-0123456789abcdef", PUBLIC)
    assert (await client.get("/", headers=_cookie(other))).status == 403


async def test_the_websocket_needs_the_cookie_and_the_pages_origin(client, guard):
    ws = await client.ws_connect("/ws", headers={**ORIGIN, **_cookie(guard)})
    assert (await ws.receive_str()) == "hello"
    await ws.close()
    refused = [
        {**ORIGIN},  # no cookie
        {**_cookie(guard)},  # no Origin: a browser always sends one
        {"Origin": "http://127.0.0.1:9999", **_cookie(guard)},
        {"Origin": "http://evil.example", **_cookie(guard)},
        {"Origin": "null", **_cookie(guard)},
    ]
    for headers in refused:
        with pytest.raises(WSServerHandshakeError) as err:
            await client.ws_connect("/ws", headers=headers)
        assert err.value.status == 403, headers
    with pytest.raises(WSServerHandshakeError) as err:  # the token works on the page only
        await client.ws_connect(f"/ws?token={TOKEN}", headers=ORIGIN)
    assert err.value.status == 403


async def test_unknown_paths_are_refused_before_they_are_looked_up(client, guard):
    assert (await client.get("/download/abc")).status == 403
    assert (await client.get("/nothing")).status == 403
    assert (await client.get("/nothing", headers=_cookie(guard))).status == 404


def test_cookies_are_per_port_and_secure_behind_https():
    assert Guard.for_url(TOKEN, "http://127.0.0.1:8765").cookie_name == "opsdash_serve8765"
    behind_tls = Guard.for_url(TOKEN, "https://dash.example.com")
    assert behind_tls.origin == "https://dash.example.com"
    assert behind_tls.secure


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (TOKEN, True),
        (f"  {TOKEN}\n", True),
        ("", False),
        ("short", False),
        (f"{TOKEN}\n{TOKEN}", False),
        (f"{TOKEN} two", False),
    ],
)
def test_a_token_is_one_word_of_at_least_16_characters(text, ok):
    if ok:
        assert checked_token(text, "t") == TOKEN
        return
    with pytest.raises(TokenError) as err:
        checked_token(text, "the file")
    assert TOKEN not in str(err.value)
    assert str(err.value).startswith("the file")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("dash.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_origins_as_browsers_send_them():
    assert origin_of("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"
    assert origin_of("HTTPS://Dash.Example.com:443/x") == "https://dash.example.com"
    assert origin_of("http://[::1]:80") == "http://[::1]"
