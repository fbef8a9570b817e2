"""The git reader behind lead time and "commits not deployed", against real
repositories the tests build: fixed commit dates in several UTC offsets, a
branch and a merge, a shallow clone, a detached HEAD."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdash.dora.lead_time import lead_times, median_lead_time
from opsdash.dora.records import Deploy
from opsdash.sources import git as gitmod
from opsdash.sources.base import SourceError
from opsdash.sources.git import FIRST_DEPLOY_DAYS, UNDEPLOYED_LIMIT, GitRepo
from tests.missing import missing

H = timedelta(hours=1)
MARKUP = "[bold red]boom[/] \x1b[31mred\x1b[0m \x1b]0;title\x07 [link=x]y[/link]"


@pytest.fixture(autouse=True)
def _git_env(tmp_path, monkeypatch):
    """git must be there (in CI it must); nobody's own git config takes part,
    and no repository above tmp_path is found."""
    if shutil.which("git") is None:
        missing("git is not installed")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str, when: datetime | None = None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="A U Thor", GIT_AUTHOR_EMAIL="a@example.org")
    env.update(GIT_COMMITTER_NAME="C O Mitter", GIT_COMMITTER_EMAIL="c@example.org")
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def commit(repo: Path, message: str, when: datetime) -> str:
    name = f"{when.isoformat().replace(':', '-')}.txt"  # one file per commit: no conflicts
    (repo / name).write_text(message.encode("unicode_escape").decode())
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "commit.gpgsign", "false")
    return path


@pytest.fixture
def shop(tmp_path):
    """main: c0 (old) - c1 | D1 | c2 - c3 | D2 | c4 + branch f1, merged as m | D3

    Offsets differ per commit; the comments give each commit's UTC time."""
    repo = new_repo(tmp_path / "shop")
    shas = {}
    shas["c0"] = commit(repo, "old history", at("2023-11-01T12:00:00+00:00"))
    shas["c1"] = commit(repo, "first", at("2024-03-01T10:00:00+01:00"))  # 09:00Z
    shas["c2"] = commit(repo, "second", at("2024-03-01T14:00:00-05:00"))  # 19:00Z
    shas["c3"] = commit(repo, "third", at("2024-03-02T05:30:00+05:30"))  # 00:00Z Mar 2
    git(repo, "checkout", "-q", "-b", "feature")
    shas["f1"] = commit(repo, "feature work", at("2024-03-02T10:00:00+02:00"))  # 08:00Z
    git(repo, "checkout", "-q", "main")
    shas["c4"] = commit(repo, "fix on main", at("2024-03-02T09:00:00+00:00"))  # 09:00Z
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'feature'\n\nbody line",
        "feature",
        when=at("2024-03-02T07:00:00-05:00"),  # 12:00Z
    )
    shas["m"] = git(repo, "rev-parse", "HEAD")
    return repo, shas


DEPLOYS = [  # (time, version key, how the version is written)
    (at("2024-03-01T12:00:00+00:00"), "c1", "full"),
    (at("2024-03-02T06:00:00+00:00"), "c3", "short"),
    (at("2024-03-02T10:00:00+00:00"), None, "unknown"),
    (at("2024-03-02T14:00:00+00:00"), "m", "upper"),
]
UNKNOWN = "0123456789abcdef0123456789abcdef01234567"


def _versions(shas):
    out = []
    for when, key, how in DEPLOYS:
        if key is None:
            out.append((when, UNKNOWN))
        elif how == "short":
            out.append((when, shas[key][:7]))
        elif how == "upper":
            out.append((when, shas[key].upper()))
        else:
            out.append((when, shas[key]))
    return out


# --- resolve and commit_time --------------------------------------------------------


def test_resolve_full_short_and_unknown(shop):
    repo, shas = shop
    r = GitRepo(str(repo))
    assert r.resolve(shas["c1"]) == shas["c1"]
    assert r.resolve(shas["c1"][:7]) == shas["c1"]
    assert r.resolve(f" {shas['m'][:10].upper()} ") == shas["m"]
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    for version in (
        UNKNOWN,
        "deadbeef",
        "ab",
        "",
        "main",
        "HEAD",
        "v1.2.3",
        f"sha256:{UNKNOWN}",
        tree,
    ):
        assert r.resolve(version) is None, version


def test_commit_time_is_aware_committer_date(shop):
    repo, shas = shop
    r = GitRepo(str(repo))
    moment = r.commit_time(shas["c2"][:8])
    assert moment == at("2024-03-01T19:00:00+00:00")
    assert moment.utcoffset() == timedelta(hours=-5)
    with pytest.raises(SourceError, match="not in the local repo"):
        r.commit_time(UNKNOWN)


# --- changes_by_version -> dora.lead_times ------------------------------------------


def test_changes_by_version_feed_lead_times(shop):
    repo, shas = shop
    versions = _versions(shas)
    changes = GitRepo(str(repo)).changes_by_version(versions, "shop")

    assert list(changes) == [v for _, v in versions]  # keyed by the version as given
    by_deploy = [{c.sha for c in changes[v]} for _, v in versions]
    # the first deploy: its history within FIRST_DEPLOY_DAYS (c0 is older)
    assert by_deploy[0] == {shas["c1"]}
    assert by_deploy[1] == {shas["c2"], shas["c3"]}  # two new commits
    assert by_deploy[2] == set()  # unknown locally; the next deploy compares with D2
    assert by_deploy[3] == {shas["c4"], shas["f1"], shas["m"]}  # branch, main and the merge
    assert all(c.service == "shop" for cs in changes.values() for c in cs)
    c2 = next(c for c in changes[versions[1][1]] if c.sha == shas["c2"])
    assert c2.committed_at == at("2024-03-01T19:00:00+00:00")

    deploys = [Deploy("shop", when, version) for when, version in versions]
    leads = lead_times(deploys, changes)
    assert sorted(lead.time for lead in leads) == [2 * H, 3 * H, 5 * H, 6 * H, 6 * H, 11 * H]
    assert median_lead_time(leads) == timedelta(hours=5, minutes=30)


def test_rollback_and_redeploy_add_nothing(shop):
    repo, shas = shop
    versions = _versions(shas)
    later = at("2024-03-03T00:00:00+00:00")
    versions += [(later, versions[1][1]), (later + H, versions[3][1])]  # back to D2, then D3 again
    changes = GitRepo(str(repo)).changes_by_version(versions, "shop")
    assert {c.sha for c in changes[versions[3][1]]} == {shas["c4"], shas["f1"], shas["m"]}
    deploys = [Deploy("shop", when, version) for when, version in versions]
    assert median_lead_time(lead_times(deploys, changes)) == timedelta(hours=5, minutes=30)


def test_first_deploy_history_is_bounded(shop):
    repo, shas = shop
    # exactly FIRST_DEPLOY_DAYS after c1 (09:00Z): c1 is just inside, c0 far out
    first = at("2024-03-01T09:00:00+00:00") + timedelta(days=FIRST_DEPLOY_DAYS)
    changes = GitRepo(str(repo)).changes_by_version([(first, shas["c1"])], "shop")
    assert [c.sha for c in changes[shas["c1"]]] == [shas["c1"]]  # c0 is older than the bound
    early = at("2023-11-02T00:00:00+00:00")
    changes = GitRepo(str(repo)).changes_by_version([(early, shas["c1"])], "shop")
    assert {c.sha for c in changes[shas["c1"]]} == {shas["c0"], shas["c1"]}


def test_unresolvable_versions_map_to_empty_lists(shop):
    repo, _ = shop
    versions = [(at("2024-03-01T00:00:00+00:00"), v) for v in (UNKNOWN, "sha256:abc", "")]
    assert GitRepo(str(repo)).changes_by_version(versions, "shop") == {v: [] for _, v in versions}
    assert GitRepo(str(repo)).changes_by_version([], "shop") == {}


def test_ranges_are_cached(shop, monkeypatch):
    repo, shas = shop
    versions = _versions(shas)
    first = GitRepo(str(repo)).changes_by_version(versions, "shop")
    calls: list[list[str]] = []
    real = GitRepo._run

    def counting(self, args, stdin=None):
        calls.append(list(args))
        return real(self, args, stdin)

    monkeypatch.setattr(GitRepo, "_run", counting)
    assert GitRepo(str(repo)).changes_by_version(versions, "shop") == first
    assert [a[0] for a in calls] == ["rev-parse", "cat-file"]


# --- undeployed and head ------------------------------------------------------------


def test_undeployed_lists_the_commits_after_the_deployed_one(shop):
    repo, shas = shop
    r = GitRepo(str(repo))
    pending = r.undeployed(shas["c3"][:7])
    assert pending.known and not pending.more and pending.note == ""
    assert [m for _, _, m in pending] == ["Merge branch 'feature'", "fix on main", "feature work"]
    assert [t for _, t, _ in pending] == [
        at("2024-03-02T07:00:00-05:00"),
        at("2024-03-02T09:00:00+00:00"),
        at("2024-03-02T10:00:00+02:00"),
    ]
    for key, (short, _, _) in zip(["m", "c4", "f1"], pending, strict=True):
        assert len(short) >= 7 and shas[key].startswith(short)
    assert r.undeployed(shas["m"]) == []
    assert r.head() == (shas["m"], at("2024-03-02T12:00:00+00:00"))


def test_undeployed_keeps_markup_and_escapes_verbatim(shop):
    repo, shas = shop
    new = commit(repo, MARKUP + "\nsecond line\n\nbody", at("2024-03-05T08:00:00+09:00"))
    pending = GitRepo(str(repo)).undeployed(shas["m"])
    assert len(pending) == 1
    short, when, message = pending[0]
    assert new.startswith(short) and len(short) >= 7
    assert when == at("2024-03-04T23:00:00+00:00")
    assert message == MARKUP


def test_undeployed_without_a_deploy_is_the_newest_commits(tmp_path):
    repo = new_repo(tmp_path / "busy")
    start = int(at("2024-01-01T00:00:00+00:00").timestamp())
    stream = []
    for i in range(UNDEPLOYED_LIMIT + 10):
        message = f"change {i}\n"
        stream += [
            "commit refs/heads/main",
            f"committer C <c@example.org> {start + 60 * i} +0100",
            f"data {len(message.encode())}",
            message.rstrip("\n"),
        ]
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"],
        input="\n".join(stream) + "\n",
        text=True,
        check=True,
    )
    r = GitRepo(str(repo))
    pending = r.undeployed(None)
    assert len(pending) == UNDEPLOYED_LIMIT and pending.more
    assert [m for _, _, m in pending] == [f"change {i}" for i in range(59, 9, -1)]
    assert pending[0][1] == datetime.fromtimestamp(start + 60 * 59, UTC)
    assert r.undeployed("") == pending


def test_undeployed_unknown_version_says_so(shop):
    repo, _ = shop
    pending = GitRepo(str(repo)).undeployed(UNKNOWN)
    assert pending == [] and not pending.known
    assert "not in the local repo" in pending.note
    assert "\n" not in pending.note


def test_detached_head_and_origin_branch(shop, tmp_path):
    repo, shas = shop
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "--detach")
    git(clone, "branch", "-q", "-D", "main")
    c = GitRepo(str(clone))
    assert c.head() == (shas["m"], at("2024-03-02T12:00:00+00:00"))  # origin/main
    assert [m for _, _, m in c.undeployed(shas["c4"])] == ["Merge branch 'feature'", "feature work"]

    git(repo, "checkout", "-q", "--detach", shas["c2"])  # HEAD is not the branch
    r = GitRepo(str(repo))
    assert r.head() == (shas["m"], at("2024-03-02T12:00:00+00:00"))
    assert len(r.undeployed(shas["c3"])) == 3


def test_shallow_clone_says_so_and_does_not_crash(shop, tmp_path):
    repo, shas = shop
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    r = GitRepo(str(clone))
    versions = _versions(shas)
    changes = r.changes_by_version(versions, "shop")
    assert changes[versions[0][1]] == [] and changes[versions[1][1]] == []  # beyond the boundary
    assert [c.sha for c in changes[versions[3][1]]] == [shas["m"]]  # the history stops there
    assert any("shallow clone" in note for note in r.notes)
    pending = r.undeployed(shas["c3"])
    assert pending == [] and not pending.known and "shallow clone" in pending.note
    with pytest.raises(SourceError, match="shallow clone"):
        r.commit_time(shas["c3"])


# --- errors -------------------------------------------------------------------------


def _one_line_error(call) -> str:
    with pytest.raises(SourceError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


def test_not_a_repo_is_a_one_line_error(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    r = GitRepo(str(plain))
    for call in (
        lambda: r.resolve("abcdef1"),
        lambda: r.changes_by_version([], "x"),
        lambda: r.undeployed(None),
        r.head,
    ):
        message = _one_line_error(call)
        assert message.startswith(f"{plain}: ") and "not a git repository" in message
    missing = tmp_path / "missing"
    assert _one_line_error(GitRepo(str(missing)).head).startswith(f"{missing}: ")


def test_unknown_branch(shop):
    repo, _ = shop
    r = GitRepo(str(repo), branch="release")
    message = _one_line_error(lambda: r.undeployed(None))
    assert message.startswith(f"{repo}: ") and "'release' not found" in message
    assert r.head() is None


def test_git_missing(shop, tmp_path, monkeypatch):
    repo, _ = shop
    empty = tmp_path / "no-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    message = _one_line_error(lambda: GitRepo(str(repo)).undeployed(None))
    assert message == f"{repo}: git is not installed (no `git` on PATH)"


def test_git_error_first_line_only(shop, monkeypatch):
    repo, _ = shop
    r = GitRepo(str(repo))
    r._info()
    monkeypatch.setattr(gitmod, "_SETTINGS", (*gitmod._SETTINGS, "no-such-setting"))
    message = _one_line_error(r.head)
    assert message.startswith(f"{repo}: ") and "no-such-setting" in message


def test_environment_cannot_redirect_git(shop, tmp_path, monkeypatch):
    repo, shas = shop
    other = new_repo(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert GitRepo(str(repo)).resolve(shas["c1"]) == shas["c1"]
