"""A bearer token read from a file that is rotated under us (a Kubernetes
service-account token, a projected token for Kubeflow Pipelines).

The kubelet rewrites a projected token before it expires (by swapping the
``..data`` symlink), so the file is stat'ed before each request and read again
when its mtime, size or inode changed; a 401 reads it once more (the server may
have seen the new token before the stat did) and the request is sent again
only if the token changed. Every token read is registered for redaction
(`opsdash.redact.remember`) for as long as it may still be echoed back.
Problems with the file are one line naming it, never its content.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from opsdash.redact import Secrets, remember
from opsdash.sources.base import SourceError
from opsdash.sources.http import HttpClient
from opsdash.sources.lazy_module import lazy

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

KEPT_SECRETS = 4  # tokens kept registered: the current one and the few before it


class BearerFile:
    """The token in `path`, re-read when the file changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._stamp: tuple[int, int, int] | None = None
        self._token = ""
        self._known: list[Secrets] = []
        self.reads = 0

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise SourceError(f"cannot read token_file {self.path}: {exc.strerror}") from None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _read(self, stamp: tuple[int, int, int]) -> None:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise SourceError(f"cannot read token_file {self.path}: {reason}") from None
        if not text or "\n" in text:
            raise SourceError(f"token_file {self.path} does not hold one token")
        self.reads += 1
        self._known = [*self._known, remember([text])][-KEPT_SECRETS:]
        self._token, self._stamp = text, stamp

    def token(self) -> str:
        stamp = self._stat()
        if stamp != self._stamp:
            self._read(stamp)
        return self._token

    def reload(self) -> bool:
        """Read the file again whatever its stamp; whether the token changed."""
        before = self._token
        self._read(self._stat())
        return self._token != before


def bearer_file_auth(file: BearerFile) -> httpx.Auth:
    """`Authorization: Bearer <token from the file>`, re-read once on a 401."""
    return _auth_class()(file)


@cache
def _auth_class() -> type[httpx.Auth]:
    """Made on first use: subclassing httpx.Auth imports httpx, which a module
    imported only to autodetect must not (opsdash.sources.lazy_module)."""

    class BearerFileAuth(httpx.Auth):
        def __init__(self, file: BearerFile) -> None:
            self.file = file

        def auth_flow(
            self, request: httpx.Request
        ) -> Generator[httpx.Request, httpx.Response, None]:
            request.headers["Authorization"] = f"Bearer {self.file.token()}"
            response = yield request
            if response.status_code == 401 and self.file.reload():
                request.headers["Authorization"] = f"Bearer {self.file.token()}"
                yield request

    return BearerFileAuth


class BearerFileClient(HttpClient):
    """An `HttpClient` whose bearer token comes from a file (see the module doc)."""

    def __init__(self, base_url: str, *, token_file: str, **kwargs) -> None:
        super().__init__(base_url, **kwargs)
        self.bearer = BearerFile(token_file)
        # HttpClient builds its httpx client with this auth; it takes only Basic
        # credentials as an argument, so the flow is set here.
        self._auth = bearer_file_auth(self.bearer)  # type: ignore[assignment]
