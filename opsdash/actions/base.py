"""What every mutating action shares: a plan to confirm, progress, a result.

No Textual here: actions run in thread workers and report progress through a
callback; the UI decides how to show it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class ActionError(Exception):
    """An action failed; `rolled_back` says whether the old state was restored."""

    def __init__(self, message: str, *, rolled_back: bool = False):
        super().__init__(message)
        self.rolled_back = rolled_back


class TargetBusy(ActionError):
    """Another action holds the target (here, or in another opsdash): refused."""


class ActionCancelled(ActionError):
    """The user cancelled a running action."""


class NeedsAnswer(Exception):
    """Raised by an action that needs the user's yes/no to go on (e.g. pull failed)."""


# progress(step, detail): a step name ("pull", "stop", "create", "start", "health")
# and a free text line. Called from the worker thread.
Progress = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """Exactly what will happen, shown in the confirmation dialog and audited."""

    action: str  # restart, redeploy, rollback, stop, start, rerun, cancel, deploy, ...
    target: str  # the container's or service's name
    target_id: str
    host: str  # the source name (config entry)
    kind: str = "container"  # container, service, custom, pipeline
    steps: tuple[str, ...] = ()  # plain sentences, in order
    old_image: str = ""
    old_digest: str = ""
    new_image: str = ""
    new_digest: str = ""
    argv: tuple[str, ...] = ()
    ref: str = ""  # the branch or tag a pipeline deploy runs on
    service: str = ""  # the service its deployment counts for (DORA); default: the target
    protected: bool = False
    mutating: bool = True

    @property
    def key(self) -> str:
        """Two actions on the same key may not run at once."""
        return f"{self.host}/{self.kind}/{self.target}"

    @property
    def title(self) -> str:
        return f"{self.action} {self.kind} {self.target} on {self.host}"


@dataclass(frozen=True, slots=True)
class ActionResult:
    ok: bool
    message: str
    new_image: str = ""
    new_digest: str = ""
    rolled_back: bool = False
    duration_s: float = 0.0
    deployed: bool = False  # counts as a deployment event (redeploy, rollback)
    extra: dict[str, str] = field(default_factory=dict)
