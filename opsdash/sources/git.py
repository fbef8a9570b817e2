"""A service's local git checkout: which commits each deploy brought (DORA lead
time for changes) and which commits on the branch are not deployed yet.

UI-free and blocking; the Deployments source calls it off the UI thread. It runs
the `git` binary (never a shell) with `-C <repo> --no-pager`, a timeout, and an
environment that cannot prompt (GIT_TERMINAL_PROMPT=0), speaks C (LC_ALL=C) and
ignores GIT_DIR & co. of whoever started opsdash. Every failure is a one-line
`SourceError` naming the repo and the first line of git's error.

A deploy's version is a commit sha from CI or an OCI revision label, possibly
abbreviated, possibly unknown to the local checkout (not fetched yet, a shallow
clone, an image digest). Only hex strings of 4..64 characters are looked up, so
a tag, a branch name or `sha256:...` never resolves to some unrelated commit; an
unknown version is not an error, it just has no commits.

Decisions (docs/dora.md "Changes" describes the input this produces):

* The commits of a deploy are `git log prev..this`: those reachable from its
  commit and not from the previous deploy that resolved, merge commits
  included (each is a change that reached production). A rollback to an older
  version brings nothing; the deploy after it lists again what the rollback
  removed, and `dora.lead_times` counts every commit once, at its first deploy.
* The first deploy that resolves has no known predecessor (it is older than
  the store's history or than opsdash). Its commits are the newest
  `FIRST_DEPLOY_COMMITS` (500) of its history that were committed at most
  `FIRST_DEPLOY_DAYS` (90) days before it, whichever bound is tighter. Whole
  histories would put years-old commits into the median; 90 days is the
  longest window opsdash shows, and 500 bounds the work on a busy repo.
* A version string given more than once (a redeploy, a rollback and the deploy
  back) gets the union of its commits: every one of them is contained in that
  version, so it was in production from the version's first deploy on.
* `git log` results of two full shas never change, except when a shallow clone
  is deepened: they are cached per git directory, pair and shallow boundary,
  across instances, so polling every few seconds runs one `git cat-file` and
  no `git log` for deploys already seen.
* A shallow clone lacks the commits beyond its boundary: versions there do not
  resolve, and a history reaching the boundary is cut there. Both add a line to
  `GitRepo.notes` instead of failing.
* Commit messages are returned as written (Rich markup, escape sequences and
  all); the UI renders them literally (opsdash.safetext).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from opsdash.dora.records import Change
from opsdash.sources.base import SourceError

FIRST_DEPLOY_COMMITS = 500  # at most this many commits for the first known deploy ...
FIRST_DEPLOY_DAYS = 90  # ... committed at most this many days before it
UNDEPLOYED_LIMIT = 50  # commits listed as not deployed yet
CACHE_SIZE = 4096  # cached `git log` ranges, over all repos

_HEX = re.compile(r"[0-9a-f]{4,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Variables that would point git at another repository than `-C repo`.
_FOREIGN = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
# Settings of the repo or the user that would change what a read prints or run a program.
_SETTINGS = (
    "log.showSignature=false",
    "color.ui=false",
    "i18n.logOutputEncoding=UTF-8",
    "core.fsmonitor=false",
)

Commits = tuple[tuple[str, datetime], ...]
_cache: OrderedDict[tuple, tuple[Commits, bool]] = OrderedDict()
_cache_lock = threading.Lock()


def _one_line(text: str, limit: int = 300) -> str:
    """The first non-empty line, control characters replaced, at most `limit` long."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    line = _CONTROL.sub("?", line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_OPTIONAL_LOCKS="0", GIT_NO_LAZY_FETCH="1")
    return env


def _time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _commits(text: str) -> Commits:
    """`%H %cI` lines -> ((sha, committed at), ...); malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        sha, _, when = line.partition(" ")
        moment = _time(when)
        if _HEX.fullmatch(sha) and moment is not None:
            out.append((sha, moment))
    return tuple(out)


class Undeployed(list[tuple[str, datetime, str]]):
    """(short sha, commit time, first line of the message), newest first.

    A list, plus what the UI may say about it: `known` is False when the
    deployed version is not in the local repo (the list is then empty, and
    `note` says so); `more` is True when the branch has more than the listed
    commits not deployed.
    """

    def __init__(
        self,
        items: Iterable[tuple[str, datetime, str]] = (),
        *,
        known: bool = True,
        more: bool = False,
        note: str = "",
    ):
        super().__init__(items)
        self.known = known
        self.more = more
        self.note = note


class GitRepo:
    """A local checkout (or bare repo) and the branch deployed from it."""

    def __init__(self, path: str, branch: str = "main", timeout: float = 10):
        self.path = path  # as configured, for messages
        self.where = os.path.expanduser(path)
        self.branch = branch
        self.timeout = timeout
        self.notes: list[str] = []  # things worth telling the user, e.g. a shallow clone
        self._git_dir: str | None = None
        self._shallow_file = ""

    def __repr__(self) -> str:
        return f"GitRepo({self.path!r}, branch={self.branch!r})"

    # --- running git ----------------------------------------------------------------

    def _error(self, message: str) -> SourceError:
        return SourceError(f"{_one_line(self.path, 120)}: {_one_line(message)}")

    def _run(self, args: Sequence[str], stdin: str | None = None) -> str:
        command = ["git", "--no-pager", "-C", self.where]
        for setting in _SETTINGS:
            command += ["-c", setting]
        command += args
        try:
            proc = subprocess.run(
                command,
                input=stdin.encode() if stdin is not None else None,
                stdin=subprocess.DEVNULL if stdin is None else None,
                capture_output=True,
                timeout=self.timeout,
                env=_env(),
                check=False,
            )
        except FileNotFoundError:
            raise self._error("git is not installed (no `git` on PATH)") from None
        except subprocess.TimeoutExpired:
            raise self._error(f"git {args[0]} timed out after {self.timeout:g}s") from None
        except OSError as exc:
            raise self._error(f"git could not be run: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace")
            raise self._error(message or f"git {args[0]} exited with {proc.returncode}")
        return proc.stdout.decode("utf-8", "replace")

    def _info(self) -> str:
        """The git directory; fails for a path that is not a git repo."""
        if self._git_dir is None:
            out = self._run(["rev-parse", "--absolute-git-dir", "--git-path", "shallow"])
            lines = out.splitlines()
            if len(lines) < 2:
                raise self._error(f"unexpected answer from git rev-parse: {out!r}")
            self._git_dir = lines[0]
            self._shallow_file = os.path.join(self.where, lines[1])
        return self._git_dir

    def _boundary(self) -> frozenset[str]:
        """The shallow clone's boundary commits (their parents are missing); empty
        for a full clone. Read each time: a fetch may deepen the clone."""
        self._info()
        try:
            with open(self._shallow_file, encoding="ascii", errors="replace") as fh:
                return frozenset(x.strip() for x in fh if _HEX.fullmatch(x.strip()))
        except OSError:
            return frozenset()

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _shallow_hint(self) -> str:
        return (
            " (a shallow clone: it may be older than the clone's history)"
            if self._boundary()
            else ""
        )

    # --- commits ---------------------------------------------------------------------

    def _resolve_many(self, versions: Iterable[str]) -> dict[str, str | None]:
        """Each version -> the full sha of the local commit it abbreviates, or None.

        One `git cat-file --batch-check` for all of them."""
        wanted = {v: v.strip().lower() for v in versions}
        asks = sorted({x for x in wanted.values() if _HEX.fullmatch(x)})
        found: dict[str, str] = {}
        if asks:
            self._info()
            out = self._run(
                ["cat-file", "--batch-check"], "".join(f"{x}^{{commit}}\n" for x in asks)
            )
            for ask, line in zip(asks, out.splitlines(), strict=False):
                parts = line.split()
                # A hex string that is also a ref name resolves to the ref: not ours.
                if len(parts) == 3 and parts[1] == "commit" and parts[0].startswith(ask):
                    found[ask] = parts[0]
        return {v: found.get(x) for v, x in wanted.items()}

    def resolve(self, version: str) -> str | None:
        """The full sha of the local commit `version` (a full or abbreviated sha)
        names; None when it is not one, unknown or ambiguous."""
        return self._resolve_many([version])[version]

    def commit_time(self, sha: str) -> datetime:
        """The committer date of a commit, aware, in the committer's offset."""
        full = self.resolve(sha)
        if full is None:
            raise self._error(f"commit {sha[:64]!r} is not in the local repo{self._shallow_hint()}")
        moment = _time(self._run(["log", "-1", "--format=%cI", "--end-of-options", full, "--"]))
        if moment is None:
            raise self._error(f"no commit date for {full[:12]}")
        return moment

    def _log(self, key: tuple, args: list[str], boundary: frozenset[str]) -> Commits:
        """`git log --format=%H %cI <args>`, cached under `key`; notes a shallow cut."""
        key = (self._info(), boundary, *key)
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
        if hit is None:
            commits = _commits(self._run(["log", "--format=%H %cI", *args]))
            hit = (commits, any(sha in boundary for sha, _ in commits))
            with _cache_lock:
                _cache[key] = hit
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
        commits, cut = hit
        if cut:
            self._note(
                "shallow clone: commits beyond its history are not counted "
                "(git fetch --unshallow for complete lead times)"
            )
        return commits

    def _first_commits(self, this: str, at: datetime, boundary: frozenset[str]) -> Commits:
        since = at - timedelta(days=FIRST_DEPLOY_DAYS)
        commits = self._log(
            ("first", this),
            [f"--max-count={FIRST_DEPLOY_COMMITS}", "--end-of-options", this, "--"],
            boundary,
        )
        return tuple(c for c in commits if c[1] >= since)

    def changes_by_version(
        self, versions: Sequence[tuple[datetime, str]], service: str
    ) -> dict[str, list[Change]]:
        """The commits each deploy newly brought, by its version as given.

        `versions` are the deploys' (time, version), in time order (sorted again,
        stably, to be sure). A deploy's commits are those of `git log prev..this`
        against the previous deploy that resolved; the first one that resolves
        gets its bounded recent history (see the module docstring). A version
        that does not resolve maps to [] and is skipped as a predecessor.
        """
        self._info()  # a wrong path fails even without versions to look up
        ordered = sorted(versions, key=lambda tv: tv[0])
        full = self._resolve_many(v for _, v in ordered)
        out: dict[str, list[Change]] = {v: [] for _, v in ordered}
        if not any(full.values()):
            return out
        boundary = self._boundary()
        if boundary and any(_HEX.fullmatch(v.strip().lower()) and not full[v] for v in out):
            self._note("shallow clone: deployed versions older than its history are not counted")
        have: dict[str, set[str]] = {}
        prev: str | None = None
        for at, version in ordered:
            this = full[version]
            if this is None:
                continue
            if prev is None:
                commits = self._first_commits(this, at, boundary)
            elif prev == this:
                commits = ()
            else:
                commits = self._log(
                    (prev, this), ["--end-of-options", f"{prev}..{this}", "--"], boundary
                )
            prev = this
            seen = have.setdefault(version, set())
            for sha, when in commits:
                if sha not in seen:
                    seen.add(sha)
                    out[version].append(Change(sha, when, service))
        return out

    # --- the branch ------------------------------------------------------------------

    def _branch_tip(self) -> tuple[str, str, datetime] | None:
        """(ref, sha, commit time) of `branch`, else of `origin/branch`; None if neither."""
        refs = (f"refs/heads/{self.branch}", f"refs/remotes/origin/{self.branch}")
        fmt = "%(refname)%00%(objectname)%00%(objecttype)%00%(committerdate:iso-strict)"
        out = self._run(["for-each-ref", f"--format={fmt}", *refs])
        tips: dict[str, tuple[str, datetime]] = {}
        for line in out.splitlines():
            parts = line.split("\0")
            if len(parts) != 4 or parts[2] != "commit":
                continue
            moment = _time(parts[3])
            if moment is not None:
                tips[parts[0]] = (parts[1], moment)
        for ref in refs:  # exact names: a pattern also matches refs below it
            if ref in tips:
                return ref, *tips[ref]
        return None

    def head(self) -> tuple[str, datetime] | None:
        """The branch tip (full sha, commit time): the local branch, else
        origin's; None when neither exists (an empty repo, a wrong name)."""
        tip = self._branch_tip()
        return None if tip is None else (tip[1], tip[2])

    def undeployed(self, deployed_version: str | None) -> Undeployed:
        """The branch's commits not contained in the deployed version, newest
        first, at most UNDEPLOYED_LIMIT: (short sha, commit time, first line of
        the message). With nothing deployed (None or ""), the branch's newest
        commits. A deployed version unknown to the local repo gives an empty
        list with `known` False and a `note` for the UI."""
        tip = self._branch_tip()
        if tip is None:
            raise self._error(
                f"branch {self.branch!r} not found "
                f"(no refs/heads/{self.branch} or refs/remotes/origin/{self.branch})"
            )
        ref = tip[0]
        rev = ref
        if deployed_version:
            full = self.resolve(deployed_version)
            if full is None:
                note = (
                    f"deployed version {_one_line(deployed_version, 19)} is not in the local repo"
                    f"{self._shallow_hint()}"
                )
                self._note(note)
                return Undeployed(known=False, note=note)
            rev = f"{full}..{ref}"
        out = self._run(
            [
                "log",
                f"--max-count={UNDEPLOYED_LIMIT + 1}",
                "-z",
                "--format=%H%n%h%n%cI%n%B",
                "--end-of-options",
                rev,
                "--",
            ]
        )
        rows: list[tuple[str, datetime, str]] = []
        for record in out.split("\0"):
            parts = record.split("\n", 3)
            if len(parts) < 3 or not _HEX.fullmatch(parts[0]):
                continue  # the empty tail, or a message with a NUL in it
            moment = _time(parts[2])
            if moment is None:
                continue
            message = parts[3] if len(parts) > 3 else ""
            subject = message.lstrip("\n").split("\n", 1)[0].rstrip("\r")
            rows.append((parts[1], moment, subject))
        return Undeployed(rows[:UNDEPLOYED_LIMIT], more=len(rows) > UNDEPLOYED_LIMIT)
