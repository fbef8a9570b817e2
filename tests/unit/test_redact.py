"""Redaction: every encoding of a secret, before any cut, in every sink that keeps text."""

from __future__ import annotations

import base64
import gc
import json
import re
from urllib.parse import quote, quote_plus

import pytest

from devstack.replay import ReplayServer, Reply
from opsdash.actions.base import ActionError, ActionPlan
from opsdash.actions.runner import ActionRunner
from opsdash.eventlog import event, log_to, logger
from opsdash.poller import describe_error
from opsdash.redact import clip, redact, remember
from opsdash.sources.http import HttpClient, HttpError
from opsdash.store import Store

TOKEN = 'tok3n/Wi+th=Sp"ec\\ials&x%41Qz'
USER = "alice"


@pytest.fixture
def known():
    keep = remember([TOKEN], users=[USER])
    yield keep
    del keep


def forms() -> dict[str, str]:
    return {
        "raw": TOKEN,
        "bearer": f"Bearer {TOKEN}",
        "basic": "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode(),
        "base64": base64.b64encode(TOKEN.encode()).decode(),
        "base64 unpadded": base64.b64encode(TOKEN.encode()).decode().rstrip("="),
        "urlsafe base64": base64.urlsafe_b64encode(TOKEN.encode()).decode(),
        "url": quote(TOKEN, safe=""),
        "url lower-case hex": re.sub(
            r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(TOKEN, safe="")
        ),
        "plus": quote_plus(TOKEN),
        "json": json.dumps(TOKEN)[1:-1],
        "json, slashes escaped": json.dumps(TOKEN)[1:-1].replace("/", "\\/"),
        "repr": repr(TOKEN)[1:-1],
    }


@pytest.mark.parametrize("name", list(forms()))
def test_every_encoding_is_redacted(known, name):
    form = forms()[name]
    text = redact(f"server said: {form} (end)")
    assert text.startswith("server said: ") and text.endswith(" (end)")
    for run in (TOKEN[i : i + 8] for i in range(len(TOKEN) - 7)):
        assert run not in text, (name, text)
    assert "***" in text


def test_base64_of_an_unknown_user_and_the_token_keeps_no_run_of_the_token(known):
    blob = base64.b64encode(f"someone-else:{TOKEN}".encode()).decode()
    text = redact(f"got {blob}")
    whole = base64.b64encode(TOKEN.encode()).decode()
    assert blob not in text and not any(whole[i : i + 8] in text for i in range(4, len(whole) - 8))


@pytest.mark.parametrize("before", range(120, 170))
def test_a_token_straddling_the_cut_leaves_no_piece(known, before):
    """The old code cut at 160 first: the token's first characters stayed on screen."""
    text = clip("." * before + TOKEN + " tail", 160)
    assert len(text) <= 160
    assert not any(TOKEN[:size] in text for size in range(4, len(TOKEN) + 1))


def test_echoed_credentials_are_masked_whoever_configured_them():
    text = redact(
        "Authorization: Basic dXNlcjpwYXNz PRIVATE-TOKEN: glpat-abc123 |"
        " https://me:hunter2@ci.example.com/x?private_token=zz9&page=2 Bearer eyJ0.eXAi.sig1"
    )
    for secret in ("dXNlcjpwYXNz", "glpat-abc123", "hunter2", "zz9", "eyJ0.eXAi.sig1"):
        assert secret not in text, text
    assert "page=2" in text and "ci.example.com" in text
    for prose in ("Basic authentication failed", "Bearer token required.", "token expired"):
        assert redact(prose) == prose


def test_secrets_are_forgotten_with_their_client():
    client = HttpClient("http://127.0.0.1:9", secrets=("forget-me-soon",))
    assert redact("x forget-me-soon") == "x ***"
    del client
    gc.collect()
    assert redact("x forget-me-soon") == "x forget-me-soon"  # no longer anyone's secret


def test_the_client_registers_its_basic_password_and_credential_headers():
    client = HttpClient(
        "http://127.0.0.1:9", auth=("bob", "pw-basic-only"), headers={"PRIVATE-TOKEN": "hdr-tok-1"}
    )
    pair = base64.b64encode(b"bob:pw-basic-only").decode()
    text = client.redact(f"pw-basic-only hdr-tok-1 {pair}")
    assert "pw-basic-only" not in text and "hdr-tok-1" not in text and pair not in text
    client.close()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(401, {"message": "." * 140 + f"Bearer {TOKEN} rest"}),
        Reply(401, {"message": {"detail": "." * 130 + TOKEN}}),  # JSON-escaped into the text
        Reply(503, f"<html><body><p>{'.' * 150}<b>{TOKEN}</b></p></body></html>", raw=True),
    ],
    ids=["json-across-160", "nested-json", "html-across-160"],
)
def test_http_errors_redact_before_the_cut(reply):
    with ReplayServer() as server:
        if isinstance(reply.body, str):
            reply.headers["Content-Type"] = "text/html"
        server.add("GET", "/x", reply)
        client = HttpClient(server.url, secrets=(TOKEN,), retries=0)
        with pytest.raises(HttpError) as err:
            client.call(client.get_json, "/x")
        client.close()
    text = str(err.value)
    assert "HTTP" in text and not any(TOKEN[:size] in text for size in range(6, len(TOKEN) + 1))
    assert not any(forms()["json"][i : i + 8] in text for i in range(len(TOKEN) - 8))


def test_describe_error_redacts_any_exception_before_cutting(known):
    exc = RuntimeError("." * 280 + TOKEN)
    text = describe_error(exc)
    assert len(text) <= 300 and "tok3n/W" not in text and text.startswith("RuntimeError: ")


def test_log_file_and_audit_log_keep_no_secret(known, tmp_path):
    log_file = tmp_path / "opsdash.log"
    log_to(log_file)
    store = Store(tmp_path / "data" / "opsdash.db")
    try:
        event(f"source x error: {quote(TOKEN)}", warning=True)
        runner = ActionRunner(store, actor="tester@host")
        plan = ActionPlan(action="deploy", kind="pipeline", target="t", target_id="t", host="h")

        def fail():
            raise ActionError(
                f"POST /deploy: HTTP 401: {json.dumps(TOKEN)} Basic {forms()['basic']}"
            )

        with pytest.raises(ActionError):
            runner.execute(plan, fail)
        entry = store.audit_entries()[0]
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
        store.close()
    assert entry.result == "failed" and "HTTP 401" in entry.error
    for text in (entry.error, log_file.read_text()):
        assert not any(TOKEN[i : i + 8] in text for i in range(len(TOKEN) - 7)), text
        assert quote(TOKEN) not in text and forms()["basic"] not in text
    for path in (tmp_path / "data").iterdir():
        assert TOKEN.encode() not in path.read_bytes()
