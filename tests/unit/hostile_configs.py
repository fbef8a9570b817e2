"""The hand-written list of malformed and hostile configs (issue 10 tried 68 like these).

Each case is a file (text or bytes, or a special path) and the key its error must
name; `ok` marks the ones that must load (or may load) instead. The test runs
each through `opsdash.cli.main` with the oracle of config_cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GH = '[[github]]\nrepo = "a/b"\n'
PROM = '[[prometheus]]\nurl = "http://p"\nquery = "q"\n'
FIFO = "<fifo>"  # in `files`: make a named pipe there
FAKE_PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes | None = None
    key: str | None = None  # the key the one error line must name
    ok: bool = False  # must load (True) ...
    either: bool = False  # ... or may load or fail
    path: str = ""  # "dev-zero", "directory", "fifo", "missing": instead of a file
    via_env: bool = False  # named by $OPSDASH_CONFIG instead of --config
    files: dict[str, str] = field(default_factory=dict)  # more files beside it, {dir} in text
    argv: tuple[str, ...] = ()  # extra global options


CASES = [
    # the file itself
    Case("config-dev-zero", path="dev-zero"),
    Case("env-config-dev-zero", path="dev-zero", via_env=True),
    Case("config-directory", path="directory"),
    Case("config-fifo", path="fifo"),
    Case("config-missing", path="missing"),
    Case("env-config-missing", path="missing", via_env=True),
    Case("config-2-mib", "# padding\n" * 210_000),
    Case("10-mb-string", 'name = "' + "x" * 10_000_000 + '"\n'),
    Case("invalid-utf8", b"refresh = 2\n# caf\xe9\n"),
    Case("nul-byte", b"refresh = 2\x00\n"),
    Case("utf16", "refresh = 2\n".encode("utf-16")),
    Case("bom", b"\xef\xbb\xbfrefresh = 3\n", ok=True),
    Case("empty", "", ok=True),
    Case("only-comments", "# nothing\n", ok=True),
    Case("nested-5000-arrays", "x = " + "[" * 5000 + "\n"),
    Case("nested-5000-inline-tables", "x = " + "{a=" * 5000 + "\n"),
    Case("nested-150-closed", "x = " + "[" * 150 + "]" * 150 + "\n"),
    Case("nested-50-closed", "x = " + "[" * 50 + "]" * 50 + "\n", key="x"),
    Case("int-5000-digits", "refresh = " + "1" * 5000 + "\n"),
    Case("duplicate-table", "[dora]\n[dora]\n"),
    Case("duplicate-key", "refresh = 2\nrefresh = 3\n"),
    # numbers
    Case("refresh-nan", "refresh = nan\n", key="refresh"),
    Case("refresh-inf", "refresh = inf\n", key="refresh"),
    Case("refresh-1e400", "refresh = 1e400\n", key="refresh"),
    Case("refresh-minus-inf", "refresh = -inf\n", key="refresh"),
    Case("refresh-zero", "refresh = 0\n", key="refresh"),
    Case("refresh-negative", "refresh = -1\n", key="refresh"),
    Case("refresh-huge", "refresh = 9223372036854775807\n", key="refresh"),
    Case("refresh-bool", "refresh = true\n", key="refresh"),
    Case("refresh-string", 'refresh = "2"\n', key="refresh"),
    Case("refresh-array", "refresh = [2]\n", key="refresh"),
    Case("cli-refresh-nan", "", argv=("--refresh", "nan"), key="--refresh"),
    Case("health-timeout-nan", "health_timeout = nan\n", key="health_timeout"),
    Case("docker-refresh-zero", "[[docker]]\nrefresh = 0\n", key="docker[0].refresh"),
    Case("docker-timeout-nan", "[[docker]]\ntimeout = nan\n", key="docker[0].timeout"),
    Case(
        "stats-concurrency-1e8",
        "[[docker]]\nstats_concurrency = 100000000\n",
        key="docker[0].stats_concurrency",
    ),
    Case(
        "stats-concurrency-zero",
        "[[docker]]\nstats_concurrency = 0\n",
        key="docker[0].stats_concurrency",
    ),
    Case(
        "stats-concurrency-float",
        "[[docker]]\nstats_concurrency = 1.5\n",
        key="docker[0].stats_concurrency",
    ),
    Case("runs-million", GH + "runs = 1000000\n", key="github[0].runs"),
    Case("retention-1e10", "[dora]\nretention_days = 10000000000\n", key="dora.retention_days"),
    Case("failure-window-inf", "[dora]\nfailure_window = inf\n", key="dora.failure_window"),
    Case("trend-negative", PROM + "trend = -1\n", key="prometheus[0].trend"),
    Case("breach-nan", PROM + "breach = nan\n", key="prometheus[0].breach"),
    Case(
        "mlflow-warning-inf",
        '[[mlflow]]\nurl = "http://m"\nwarning = { rmse = inf }\n',
        key="mlflow[0].warning.rmse",
    ),
    Case("deploy-input-nan", GH + "deploy_inputs = { n = nan }\n", key="github[0].deploy_inputs.n"),
    # wrong types and shapes
    Case("unknown-table", "[foo]\n", key="foo"),
    Case("unknown-key", '[[docker]]\nhots = "unix:///x"\n', key="docker[0].hots"),
    Case("keys-array-of-tables", '[[keys]]\nquit = "q"\n', key="keys"),
    Case("keys-number", "keys = 5\n", key="keys"),
    Case("dora-number", "dora = 5\n", key="dora"),
    Case("dora-array", "[[dora]]\n", key="dora"),
    Case("docker-single-table", '[docker]\nhost = "unix:///x"\n', key="docker"),
    Case("docker-array-of-ints", "docker = [1]\n", key="docker[0]"),
    Case("docker-host-int", "[[docker]]\nhost = 5\n", key="docker[0].host"),
    Case("docker-host-http", '[[docker]]\nhost = "http://box"\n', key="docker[0].host"),
    Case("disks-string", '[[host]]\ndisks = "/"\n', key="host[0].disks"),
    Case("disks-ints", "[[host]]\ndisks = [1]\n", key="host[0].disks"),
    Case("disks-300", "[[host]]\ndisks = [" + '"/", ' * 300 + "]\n", key="host[0].disks"),
    Case("protect-65-tables", '[[protect]]\nmatch_name = "x"\n' * 65, key="protect"),
    Case("github-no-repo", "[[github]]\n", key="github[0].repo"),
    Case("protect-empty-match", '[[protect]]\nmatch_name = ""\n', key="protect[0].match_name"),
    Case("deploy-input-array", GH + "deploy_inputs = { a = [1] }\n", key="github[0].deploy_inputs"),
    Case(
        "mlflow-warning-string",
        '[[mlflow]]\nurl = "http://m"\nwarning = { x = "high" }\n',
        key="mlflow[0].warning.x",
    ),
    Case(
        "mlflow-no-metrics", '[[mlflow]]\nurl = "http://m"\nmetrics = []\n', key="mlflow[0].metrics"
    ),
    Case("prometheus-direction", PROM + 'direction = "up"\n', key="prometheus[0].direction"),
    Case("url-javascript", '[[buildbot]]\nurl = "javascript:alert(1)"\n', key="buildbot[0].url"),
    Case(
        "service-repo-missing",
        '[[service]]\nname = "s"\nrepo = "/nonexistent/repo"\n',
        key="service[0].repo",
    ),
    Case("timezone-bogus", '[dora]\ntimezone = "Mars/Olympus"\n', key="dora.timezone"),
    Case("timezone-path", '[dora]\ntimezone = "../../etc/passwd"\n', key="dora.timezone"),
    Case("timezone-4000", '[dora]\ntimezone = "' + "z" * 4000 + '"\n', key="dora.timezone"),
    Case(
        "argv-bad-placeholder",
        '[[redeploy]]\nmatch_name = "x"\nargv = ["{nope}"]\n',
        key="redeploy[0].argv",
    ),
    # hostile strings
    Case("name-osc-title", '[[docker]]\nname = "\\u001b]0;TITLE\\u0007"\n', key="docker[0].name"),
    Case("name-csi-c1", '[[docker]]\nname = "\\u009b31m"\n', key="docker[0].name"),
    Case("name-bidi", '[[docker]]\nname = "\\u202egnp.exe"\n', key="docker[0].name"),
    Case("name-newline", '[[docker]]\nname = "a\\nb"\n', key="docker[0].name"),
    Case("name-nul", '[[docker]]\nname = "a\\u0000b"\n', key="docker[0].name"),
    Case("name-5000", '[[docker]]\nname = "' + "n" * 5000 + '"\n', key="docker[0].name"),
    Case("name-markup", '[[docker]]\nname = "[bold red]x[/]"\n', ok=True),
    Case("argv-newline", '[[redeploy]]\nmatch_name = "x"\nargv = ["a\\nb"]\n', ok=True),
    Case("query-multiline", PROM.replace('"q"', '"""\nsum(\n  up\n)\n"""'), ok=True),
    Case("key-name-escape", '"\\u001b]0;EVIL\\u0007" = 1\n', key="\x1b]0;EVIL\x07"),
    Case("key-name-5000", '"' + "k" * 5000 + '" = 1\n', key="k" * 100),
    Case("env-newline", '[[docker]]\nhost = "${OPSDASH_T_NL}"\n', key="docker[0].host"),
    Case("env-escape", GH + 'token = "${OPSDASH_T_ESC}"\n', key="github[0].token"),
    Case("env-unset", GH + 'token = "${OPSDASH_T_UNSET}"\n', key="github[0].token"),
    Case("env-20k", GH + 'branch = "${OPSDASH_T_BIG}"\n', key="github[0].branch"),
    Case("literal-token-warns", GH + 'token = "ghp_literal"\n', ok=True),
    # [keys]
    Case("keys-escape", '[keys]\nquit = "\\u001b]0;TITLE\\u0007"\n', key="keys.quit"),
    Case("keys-nul", '[keys]\nquit = "q\\u0000"\n', key="keys.quit"),
    Case("keys-unicode", '[keys]\nquit = "é"\n', key="keys.quit"),
    Case("keys-1000", '[keys]\nquit = "' + "q," * 500 + '"\n', key="keys.quit"),
    Case("keys-quit-j", '[keys]\nquit = "j"\n', key="keys.quit"),
    Case("keys-sort-r", '[keys]\nsort = "r"\n', key="keys.sort"),
    Case("keys-unknown-id", '[keys]\nfliter = "f"\n', key="keys.fliter"),
    Case("keys-id-escape", '[keys]\n"\\u001b]0;x\\u0007" = "f"\n', key="keys.\x1b]0;x\x07"),
    Case("keys-typo-name", '[keys]\nquit = "ctlr+q"\n', key="keys.quit"),
    Case("keys-good", '[keys]\nquit = "ctrl+q"\nsort = "o"\n', ok=True),
    # CA bundles
    Case("ca-missing", GH + 'ca_bundle = "/nonexistent/ca.pem"\n', key="github[0].ca_bundle"),
    Case("ca-directory", GH + 'ca_bundle = "{dir}"\n', key="github[0].ca_bundle"),
    Case("ca-dev-zero", GH + 'ca_bundle = "/dev/zero"\n', key="github[0].ca_bundle"),
    Case(
        "ca-not-pem",
        GH + 'ca_bundle = "{dir}/notes.txt"\n',
        key="github[0].ca_bundle",
        files={"notes.txt": "hello\n"},
    ),
    Case(
        "ca-fake-pem",
        GH + 'ca_bundle = "{dir}/fake.pem"\n',
        key="github[0].ca_bundle",
        files={"fake.pem": FAKE_PEM},
    ),
    Case(
        "ca-fifo",
        GH + 'ca_bundle = "{dir}/ca-fifo"\n',
        key="github[0].ca_bundle",
        files={"ca-fifo": FIFO},
    ),
    # loads, though it points at nothing
    Case(
        "tls-cert-path-missing",
        '[[docker]]\nhost = "tcp://127.0.0.1:1"\ntls_verify = true\ncert_path = "/nonexistent"\n',
        ok=True,
    ),
    Case("docker-empty", "docker = []\nhost = []\n", ok=True),
]
