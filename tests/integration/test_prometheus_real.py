"""PrometheusSource against Debian's prometheus scraping a stdlib exporter
(devstack.prometheus_server), every second. The first sample takes ~5 s
(Prometheus applies target discovery every 5 s); tests wait, never time."""

from __future__ import annotations

import math

import pytest

from devstack.prometheus_server import Exporter, PrometheusServer, prometheus_binary
from devstack.replay import ReplayServer, Reply
from opsdash.model.ml import ThresholdState
from opsdash.sources.http import HttpError
from opsdash.sources.prometheus import PrometheusConfig, PrometheusSource
from tests.missing import missing
from tests.pilot import sync_wait

QUERY = 'model_accuracy{job="opsdash-model"}'


@pytest.fixture(scope="module")
def exporter():
    with Exporter() as exp:
        exp.set(0.95, model="churn", version="3")
        yield exp


@pytest.fixture(scope="module")
def prometheus(exporter, tmp_path_factory):
    if prometheus_binary() is None:
        reason = "prometheus not installed (apt-get install prometheus)"
        missing(reason)
    with PrometheusServer(tmp_path_factory.mktemp("prom"), targets=(exporter.target,)) as server:
        server.wait_for(QUERY)
        yield server


def config(server, **overrides) -> PrometheusConfig:
    values = {
        "name": "test",
        "url": server.url,
        "query": QUERY,
        "labels": ("model", "version", "env"),
        "warning": 0.9,
        "breach": 0.8,
        "trend": 120.0,
        "timeout": 5.0,
    }
    values.update(overrides)
    return PrometheusConfig(**values)


@pytest.fixture
def source(prometheus):
    src = PrometheusSource(config(prometheus))
    yield src
    src.close()


def churn(snapshot, version: str = "3"):
    return next((r for r in snapshot.rows if r.model == "churn" and r.version == version), None)


def poll_until(source, check, timeout: float = 30):
    """Poll until `check(snapshot)` holds (a missing row counts as not yet); that snapshot."""

    def attempt():
        snap = source.poll()
        try:
            return snap if check(snap) else None
        except AttributeError:  # churn(...) is None: the row is not there yet
            return None

    return sync_wait(attempt, timeout=timeout, step=0.5)


def test_value_is_what_prometheus_reports(prometheus, exporter, source):
    exporter.set(0.95, model="churn", version="3")
    prometheus.wait_for(QUERY, lambda r: r and r[0]["value"][1] == "0.95")
    snap = source.poll()
    assert snap.kind == "prometheus" and snap.source == "prometheus:test"
    row = churn(snap)
    reported = prometheus.query('model_accuracy{model="churn",version="3"}')[0]["value"][1]
    assert row.value == float(reported) == 0.95
    assert row.metric == "accuracy" and row.direction == "higher"
    assert row.labels == (("model", "churn"), ("version", "3"), ("env", "test"))
    assert row.state is ThresholdState.OK
    assert (row.warning, row.breach) == (0.9, 0.8)


def test_accuracy_below_the_breach_threshold_shows_breach(exporter, source):
    exporter.set(0.95, model="churn", version="3")
    poll_until(source, lambda s: churn(s) and churn(s).state is ThresholdState.OK)
    exporter.set(0.85, model="churn", version="3")
    snap = poll_until(source, lambda s: churn(s).value == 0.85)
    assert churn(snap).state is ThresholdState.WARNING
    exporter.set(0.7, model="churn", version="3")
    snap = poll_until(source, lambda s: churn(s).value == 0.7)
    assert churn(snap).state is ThresholdState.BREACH
    exporter.set(0.95, model="churn", version="3")


def test_lower_is_better_inverts_the_thresholds(prometheus, exporter):
    exporter.set(0.95, model="churn", version="3")
    src = PrometheusSource(config(prometheus, direction="lower", warning=0.5, breach=0.6))
    try:
        snap = poll_until(src, lambda s: churn(s).value == 0.95)
    finally:
        src.close()
    assert churn(snap).direction == "lower"
    assert churn(snap).state is ThresholdState.BREACH


def test_trend_points_come_from_the_range_query(source):
    snap = poll_until(source, lambda s: len(churn(s).trend) >= 3)
    trend = churn(snap).trend
    assert source.step == 2.0  # 120 s of trend in ~60 points
    assert all(math.isfinite(p.value) and p.step is None for p in trend)
    times = [p.at for p in trend]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len(trend) <= 61


def test_nan_and_stale_series(exporter, source):
    exporter.set(math.nan, model="churn", version="nan")
    snap = poll_until(source, lambda s: churn(s, "nan") is not None)
    row = churn(snap, "nan")
    assert row.value is None and row.state is ThresholdState.UNKNOWN
    assert row.note == "value is NaN"
    assert all(math.isfinite(p.value) for p in row.trend)

    exporter.set(0.9, model="churn", version="9")
    poll_until(source, lambda s: churn(s, "9") is not None and churn(s, "9").value == 0.9)
    exporter.remove(model="churn", version="9")
    exporter.remove(model="churn", version="nan")
    # Stale now: no current sample, but the trend still has it.
    snap = poll_until(source, lambda s: churn(s, "9").value is None)
    gone = churn(snap, "9")
    assert gone.note == "no current sample" and gone.state is ThresholdState.UNKNOWN
    assert gone.trend and gone.trend[-1].value == 0.9


def test_query_errors_are_one_line_with_type_and_message(prometheus):
    src = PrometheusSource(config(prometheus, query="model_accuracy{"))
    try:
        with pytest.raises(
            HttpError, match=r"GET /api/v1/query\S*: bad_data: .*parse error"
        ) as info:
            src.poll()
    finally:
        src.close()
    assert "\n" not in str(info.value) and info.value.status == 400


def test_killed_prometheus_is_a_clear_error_and_a_restart_recovers(prometheus, exporter, source):
    exporter.set(0.95, model="churn", version="3")
    assert churn(source.poll()) is not None
    prometheus.kill()
    with pytest.raises(HttpError) as info:
        source.poll()
    assert "\n" not in str(info.value) and "cannot connect" in str(info.value)
    prometheus.start()
    exporter.set(0.75, model="churn", version="3")
    snap = poll_until(source, lambda s: churn(s) is not None and churn(s).value == 0.75, 60)
    assert churn(snap).state is ThresholdState.BREACH


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(200, "<html>login</html>"), "malformed response: not JSON"),
        (Reply(200, None), "malformed response: an empty body"),
        (Reply(200, {"data": {}}), "not a Prometheus envelope"),
        (Reply(200, {"status": "success"}), "no data.resultType"),
        (
            Reply(200, {"status": "success", "data": {"resultType": "vector", "result": {}}}),
            "result is not a list of series",
        ),
        (
            Reply(
                200,
                {
                    "status": "success",
                    "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1]}]},
                },
            ),
            "is not \\[time, value\\]",
        ),
        (
            Reply(200, {"status": "success", "data": {"resultType": "string", "result": [1, "x"]}}),
            "returns a string",
        ),
        (
            Reply(422, {"status": "error", "errorType": "execution", "error": "too\nmany samples"}),
            "execution: too many samples",
        ),
        (Reply(401, "Unauthorized"), "HTTP 401"),
    ],
)
def test_malformed_answers_are_one_line_errors(reply, words):
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    with ReplayServer() as fake:
        fake.add("GET", "/api/v1/query", reply)
        fake.add("GET", "/api/v1/query_range", Reply(200, matrix))
        src = PrometheusSource(
            PrometheusConfig(name="fake", url=fake.url, query="up", token="tok-secret")
        )
        try:
            with pytest.raises(HttpError, match=words) as info:
                src.poll()
        finally:
            src.close()
        assert "\n" not in str(info.value) and "tok-secret" not in str(info.value)
        assert fake.calls("GET", "/api/v1/query")[0].headers["authorization"] == "Bearer tok-secret"
