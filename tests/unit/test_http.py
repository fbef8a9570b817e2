"""The shared HttpClient: nothing vendor-specific, against a real local server.

Waiting is never real: `sleep=` records the delays and `clock=` is moved by hand.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from devstack.replay import Reply
from opsdash.sources.http import (
    DEFAULT_RATE_WAIT,
    HttpClient,
    HttpError,
    Quota,
    RateLimited,
    next_link,
    quota_from,
    rate_limit_wait,
    with_params,
)

NOW = 1_800_000_000.0
SECRET = "s3cr3t-T0KEN-value"


class Sleeps:
    """An injected `sleep`: records each delay, waits for nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_client(server):
    made: list[HttpClient] = []

    def make(**kwargs) -> HttpClient:
        kwargs.setdefault("sleep", Sleeps())
        kwargs.setdefault("timeout", 5.0)
        client = HttpClient(server.url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def response(status: int, headers: dict[str, str] | None = None, text: str = "") -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, text=text)


# --- Link -----------------------------------------------------------------------


def test_next_link_github_header():
    headers = httpx.Headers(
        {
            "link": '<https://api.github.com/repositories/1/actions/runs?page=3>; rel="next",'
            ' <https://api.github.com/repositories/1/actions/runs?page=9>; rel="last",'
            ' <https://api.github.com/repositories/1/actions/runs?page=1>; rel="first",'
            ' <https://api.github.com/repositories/1/actions/runs?page=1>; rel="prev"'
        }
    )
    assert next_link(headers) == "https://api.github.com/repositories/1/actions/runs?page=3"


def test_next_link_gitlab_header_order_and_absence():
    gitlab = httpx.Headers(
        {
            "link": "<https://gitlab.example.com/api/v4/projects/8/pipelines?page=1&per_page=3>;"
            ' rel="prev", <https://gitlab.example.com/api/v4/projects/8/pipelines?page=3'
            '&per_page=3>; rel="next", <https://gitlab.example.com/api/v4/projects/8/pipelines'
            '?page=1&per_page=3>; rel="first"'
        }
    )
    assert next_link(gitlab) == (
        "https://gitlab.example.com/api/v4/projects/8/pipelines?page=3&per_page=3"
    )
    last_page = httpx.Headers(
        {"link": '<https://h/x?page=1>; rel="prev", <https://h/x?page=1>; rel="first"'}
    )
    assert next_link(last_page) is None
    assert next_link(httpx.Headers()) is None
    unquoted = httpx.Headers({"link": "<https://h/x?page=2>; rel=next"})
    assert next_link(unquoted) == "https://h/x?page=2"


def test_with_params_keeps_the_query_a_link_url_already_has():
    assert with_params("http://h/x?page=2&per_page=5", None) == "http://h/x?page=2&per_page=5"
    assert with_params("http://h/x?page=2", {}) == "http://h/x?page=2"
    assert with_params("http://h/x?page=2", {"branch": "main"}) == "http://h/x?page=2&branch=main"


# --- quota --------------------------------------------------------------------


def test_quota_from_github_headers():
    quota = quota_from(
        httpx.Headers(
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4980",
                "x-ratelimit-used": "20",
                "x-ratelimit-reset": "1800000600",
            }
        )
    )
    assert quota == Quota(4980, 5000, 1800000600.0)
    assert str(quota) == "4,980/5,000 left"


def test_quota_from_gitlab_ratelimit_headers():
    quota = quota_from(
        httpx.Headers(
            {
                "RateLimit-Limit": "2000",
                "RateLimit-Observed": "2000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": "1800000060",
                "RateLimit-ResetTime": "Fri, 15 Jan 2027 08:01:00 GMT",
            }
        )
    )
    assert quota == Quota(0, 2000, 1800000060.0)
    assert str(quota).startswith("0/2,000 left, resets ")


def test_quota_absent_or_garbage():
    assert quota_from(httpx.Headers({"x-ratelimit-limit": "60"})) is None
    assert quota_from(httpx.Headers({"x-ratelimit-remaining": "lots"})) is None
    assert str(Quota()) == ""
    partial = quota_from(httpx.Headers({"x-ratelimit-remaining": "7", "x-ratelimit-reset": "x"}))
    assert partial == Quota(7, None, None)
    assert str(partial) == "7 left"


# --- rate_limit_wait ------------------------------------------------------------


def test_retry_after_wins_over_the_reset_time():
    r = response(
        403,
        {
            "retry-after": "30",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(NOW + 900)),
        },
    )
    assert rate_limit_wait(r, NOW) == 30.0


def test_retry_after_as_http_date():
    at = datetime.fromtimestamp(NOW + 45, UTC)
    r = response(429, {"retry-after": format_datetime(at, usegmt=True)})
    assert rate_limit_wait(r, NOW) == pytest.approx(45, abs=1)


def test_reset_time_when_no_request_is_left():
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 900))}
    assert rate_limit_wait(response(403, headers), NOW) == 900.0
    assert rate_limit_wait(response(429, headers), NOW) == 900.0
    past = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW - 10))}
    assert rate_limit_wait(response(403, past), NOW) == 0.0


def test_default_wait_for_a_limit_that_names_no_time():
    assert rate_limit_wait(response(429), NOW) == DEFAULT_RATE_WAIT
    secondary = response(
        403,
        {"content-type": "application/json", "x-ratelimit-remaining": "4000"},
        '{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}',
    )
    assert rate_limit_wait(secondary, NOW) == DEFAULT_RATE_WAIT
    assert DEFAULT_RATE_WAIT == 60.0


def test_not_a_rate_limit():
    forbidden = response(
        403, {"x-ratelimit-remaining": "4000"}, '{"message": "Must have admin rights"}'
    )
    assert rate_limit_wait(forbidden, NOW) is None
    assert rate_limit_wait(response(200, {"retry-after": "5"}), NOW) is None
    assert rate_limit_wait(response(503, {"retry-after": "5"}), NOW) is None


# --- requests against a real server -----------------------------------------------


def test_get_5xx_is_retried_with_exponential_backoff(server, make_client):
    server.add("GET", "/x", Reply(500, "boom"), Reply(502, "bad gateway"), Reply(200, {"ok": 1}))
    sleeps = Sleeps()
    client = make_client(sleep=sleeps, backoff=0.5, retries=2)
    assert client.call(client.get_json, "/x") == {"ok": 1}
    assert len(server.calls("GET", "/x")) == 3
    assert client.stats["retries"] == 2
    first, second = sleeps.calls
    assert 0.5 <= first <= 1.0  # backoff plus up to as much jitter
    assert 1.0 <= second <= 2.0


def test_get_5xx_gives_up_after_the_retries(server, make_client):
    server.add("GET", "/x", Reply(503, {"message": "Service Unavailable"}))
    client = make_client(retries=2)
    with pytest.raises(HttpError) as err:
        client.call(client.get_json, "/x")
    assert err.value.status == 503
    assert str(err.value) == "GET /x: HTTP 503 Service Unavailable: Service Unavailable"
    assert len(server.calls("GET", "/x")) == 3


def test_post_is_not_repeated_on_5xx(server, make_client):
    server.add("POST", "/do", Reply(503, {"message": "try later"}), Reply(201, {}))
    sleeps = Sleeps()
    client = make_client(sleep=sleeps)
    with pytest.raises(HttpError) as err:
        client.call(client.request, "POST", "/do", json_body={"a": 1})
    assert err.value.status == 503
    assert len(server.calls("POST", "/do")) == 1
    assert sleeps.calls == []
    assert client.stats["retries"] == 0


def test_post_is_not_repeated_after_a_timeout(server, make_client):
    server.add("POST", "/slow", Reply(201, {}, delay=1.0))
    client = make_client(timeout=0.2)
    with pytest.raises(HttpError, match=r"^POST /slow: no answer within 0.2s$"):
        client.call(client.request, "POST", "/slow")
    assert len(server.calls("POST", "/slow")) == 1


def test_rate_limit_blocks_until_the_wait_is_over(server, make_client):
    server.add(
        "GET",
        "/x",
        Reply(429, {"message": "slow down"}, {"Retry-After": "120"}),
        Reply(200, {"ok": True}),
    )
    clock = Clock()
    client = make_client(clock=clock)
    with pytest.raises(RateLimited) as err:
        client.call(client.get_json, "/x")
    assert err.value.until == NOW + 120
    assert err.value.status == 429
    assert "\n" not in str(err.value) and "rate limited (HTTP 429)" in str(err.value)
    # Before the time is up no request leaves.
    clock.now += 60
    with pytest.raises(RateLimited, match="rate limited, waiting until"):
        client.call(client.get_json, "/x")
    assert len(server.calls("GET", "/x")) == 1
    clock.now += 61
    assert client.call(client.get_json, "/x") == {"ok": True}
    assert len(server.calls("GET", "/x")) == 2
    assert client.stats["rate_limited"] == 1


def test_short_rate_limit_is_slept_through(server, make_client):
    server.add("GET", "/x", Reply(429, "", {"Retry-After": "1"}), Reply(200, [1]))
    sleeps = Sleeps()
    client = make_client(sleep=sleeps)
    assert client.call(client.get_json, "/x") == [1]
    assert sleeps.calls == [1.0]
    assert client.blocked_until == 0.0


def test_quota_is_kept_from_every_answer(server, make_client):
    server.add(
        "GET", "/x", Reply(200, {}, {"x-ratelimit-remaining": "99", "x-ratelimit-limit": "100"})
    )
    client = make_client()
    client.call(client.get_json, "/x")
    assert str(client.quota) == "99/100 left"


def test_secrets_are_redacted_from_errors(server, make_client):
    server.add(
        "GET",
        f"/hooks/{SECRET}",
        Reply(401, {"message": f"Bad credentials: token {SECRET} is not valid"}),
    )
    client = make_client(secrets=(SECRET, "", "ab"))
    with pytest.raises(HttpError) as err:
        client.call(client.get_json, f"/hooks/{SECRET}")
    text = str(err.value)
    assert SECRET not in text
    assert text == "GET /hooks/***: HTTP 401 Unauthorized: Bad credentials: token *** is not valid"
    assert client.secrets == (SECRET,)  # empty and too-short secrets are not "redacted" everywhere
    assert client.redact("ab cd") == "ab cd"


def test_connection_errors_are_one_line_without_secrets():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = HttpClient(f"http://127.0.0.1:{port}", secrets=(SECRET,), sleep=Sleeps(), retries=1)
    try:
        with pytest.raises(HttpError) as err:
            client.call(client.get_json, f"/api/{SECRET}")
    finally:
        client.close()
    text = str(err.value)
    assert text.startswith("GET /api/***: cannot connect")
    assert SECRET not in text and "\n" not in text


def test_html_error_page_becomes_one_short_line(server, make_client):
    page = (
        "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>"
        + "x" * 500
        + "</body>\n</html>"
    )
    server.add("GET", "/x", Reply(404, page, {"Content-Type": "text/html"}))
    client = make_client()
    with pytest.raises(HttpError) as err:
        client.call(client.get_json, "/x")
    text = str(err.value)
    assert "\n" not in text and len(text) < 250
    assert text.startswith("GET /x: HTTP 404 Not Found: 502 Bad Gateway xxx")  # text, not tags


def test_non_json_body_is_a_clear_error(server, make_client):
    server.add("GET", "/x", Reply(200, "<html>login</html>", {"Content-Type": "text/html"}))
    client = make_client()
    with pytest.raises(
        HttpError, match=r"^GET /x: malformed response: not JSON \(text/html, 18 bytes\)$"
    ):
        client.call(client.get_json, "/x")


def test_pages_follow_link_keep_their_query_and_stop_at_the_limit(server, make_client):
    server.add(
        "GET",
        "/items",
        Reply(200, [1, 2], {"Link": '<{url}/items?per_page=2&page=2>; rel="next"'}),
    )
    server.add(
        "GET",
        "/items",
        Reply(200, [3, 4], {"Link": '<{url}/items?per_page=2&page=3>; rel="next"'}),
        query={"page": "2"},
    )
    server.add(
        "GET",
        "/items",
        Reply(200, [5, 6], {"Link": '<{url}/items?per_page=2&page=4>; rel="next"'}),
        query={"page": "3"},
    )
    client = make_client()
    assert client.call(client.get_pages, "/items", {"per_page": 2}, limit=5) == [1, 2, 3, 4, 5]
    pages = [r.arg("page") for r in server.calls("GET", "/items")]
    assert pages == [None, "2", "3"]  # page 4 is never asked for
    assert all(r.arg("per_page") == "2" for r in server.calls("GET", "/items"))


def test_unchanged_pages_are_304s_that_return_the_cached_body(server, make_client):
    def conditional(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, None, {"ETag": '"v1"'})
        return Reply(200, {"items": [1]}, {"ETag": '"v1"', "Link": '<{url}/c?page=2>; rel="next"'})

    server.add("GET", "/c", conditional)
    server.add("GET", "/c", Reply(200, {"items": [2]}, {"ETag": '"p2"'}), query={"page": "2"})
    client = make_client()

    def fetch():
        return client.call(
            client.get_pages, "/c", items=lambda b: b["items"], limit=10, conditional=True
        )

    assert fetch() == [1, 2]
    assert fetch() == [1, 2]
    first, second = server.calls("GET", "/c")[:1], server.calls("GET", "/c")[2:3]
    assert "if-none-match" not in first[0].headers
    assert second[0].headers["if-none-match"] == '"v1"'
    assert client.stats["not_modified"] == 1  # page 2 answered 200 again (its etag was not "v1")


def test_304_without_a_cached_copy_is_an_error(server, make_client):
    server.add("GET", "/x", Reply(304))
    client = make_client()
    with pytest.raises(HttpError, match="304 without a cached copy"):
        client.call(client.get_json, "/x")


def test_body_of_the_wrong_shape_is_one_line(server, make_client):
    server.add("GET", "/x", Reply(200, {"unexpected": True}))
    client = make_client()
    with pytest.raises(HttpError) as err:
        client.call(client.get_pages, "/x", items=lambda b: b["items"])
    assert str(err.value) == "GET /x: unexpected response shape (KeyError: 'items')"
    server.add("GET", "/x", Reply(200, {"items": "not a list"}))
    with pytest.raises(HttpError, match="expected a list"):
        client.call(client.get_pages, "/x", items=lambda b: b["items"])
