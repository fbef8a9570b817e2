"""Panels draw only what is seen.

A panel that is not on the terminal (another panel is the one shown on a
narrow terminal or zoomed, a screen covers the dashboard, the app is
suspended) keeps only its latest data and draws it when it is shown again:
a poll then costs no diff of a table nobody can see, and showing the panel
costs one draw of the newest data, not one per poll missed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from textual.dom import NoScreen

F = TypeVar("F", bound=Callable[..., None])


def when_seen(method: F) -> F:
    """Wrap a panel's `update_data`: applied now while the panel is in view,
    else kept (the latest call only) until `SeenOnly.catch_up`."""

    @functools.wraps(method)
    def update(self: SeenOnly, *args: Any, **kwargs: Any) -> None:
        if self.in_view:
            self._pending = None
            method(self, *args, **kwargs)
        else:
            self._pending = functools.partial(method, self, *args, **kwargs)

    return update  # type: ignore[return-value]


class SeenOnly:
    """Mixed into a widget whose `update_data` is `when_seen`; its screen may
    say whether its panels are drawn at all (`panels_drawn`: it is the top
    screen and the app is not suspended)."""

    _pending: Callable[[], None] | None = None
    is_attached: bool
    display: bool
    screen: Any

    @property
    def in_view(self) -> bool:
        if not self.is_attached:
            return True  # not mounted yet: as before, the caller finds out
        try:
            drawn = getattr(self.screen, "panels_drawn", True)
        except NoScreen:
            return True
        return bool(drawn) and self.display

    @property
    def behind(self) -> bool:
        """It holds data it has not drawn yet."""
        return self._pending is not None

    def catch_up(self) -> None:
        """Draw the latest data kept while it was out of view, if it is in view now."""
        pending = self._pending
        if pending is not None and self.in_view:
            self._pending = None
            pending()

    def on_show(self) -> None:
        self.catch_up()


class PanelsWhenSeen:
    """Mixed into the screen that holds `SeenOnly` panels: says whether they
    reach the terminal (`panels_drawn`) and has them catch up when they do
    again (the screen comes back on top, the app resumes)."""

    _suspended = False  # App.suspend or ctrl+z: nothing reaches the terminal
    app: Any
    is_active: bool

    def on_mount(self) -> None:
        self.app.app_suspend_signal.subscribe(self, self._app_suspended)
        self.app.app_resume_signal.subscribe(self, self._app_resumed)

    @property
    def panels_drawn(self) -> bool:
        """This is the top screen and the app is not suspended."""
        return self.is_active and not self._suspended

    def catch_up(self) -> None:
        """Every panel in view draws the data it kept while it was not."""
        for widget in self.query("*"):  # type: ignore[attr-defined]
            if isinstance(widget, SeenOnly):
                widget.catch_up()

    def on_screen_resume(self) -> None:
        self.catch_up()

    def _app_suspended(self, _app: object) -> None:
        self._suspended = True

    def _app_resumed(self, _app: object) -> None:
        self._suspended = False
        self.catch_up()
