"""Secrets out of every text opsdash shows or keeps.

Error messages quote what servers answer, and a server (or a proxy in front of
it) may echo the request's credentials back: the raw token, `Bearer <token>`,
Jenkins' Basic `base64(user:token)`, or the token URL-encoded or JSON-escaped
inside a bigger body. So each HTTP client registers the secrets it sends
(`remember`), and `redact` replaces every known form of every secret a live
client holds, plus any credential header value or URL password echoed whole,
whoever configured it.

Redaction comes before any cut: a token straddling the cut would no longer
match afterwards, and its first half would be shown. `clip` is the one way to
shorten a text that may hold a secret: redact, then cut, then drop a trailing
piece that begins a secret.

Core code: no textual, no SDK. Every sink that keeps or shows an error (the
poller's `describe_error`, the `--log` file, the audit log) passes it through here.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import weakref
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET = 3  # shorter values would be "found" everywhere
MIN_FRAGMENT = 8  # shortest base64 run of a secret looked for inside a longer base64 blob
MIN_PARTIAL = 4  # shortest secret prefix dropped from the end of a cut text
SCAN_LIMIT = 256 * 1024  # characters of a huge body looked at before it is cut

# A credential header echoed whole: its scheme and value, whatever the value is.
_HEADER = re.compile(
    r"""(?ix)
    \b(proxy-authorization|authorization|private-token|job-token|x-api-key|x-auth-token
       |x-jenkins-crumb|cookie|set-cookie)
    (["']?\s*[:=]\s*["']?)
    ((?:(?:bearer|basic|token|digest|negotiate)\s+)?)
    [^\s"',;|}\]]+
    """
)
# `Bearer <token>` / `Basic <base64>` in prose, when the value looks like a credential
# (8 characters or more, one a digit: "token required." stays).
_SCHEME = re.compile(
    r"(?i)\b(bearer|basic|token)(\s+)(?=[A-Za-z0-9._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}"
)
# scheme://user:password@host
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")
# ?token=...&password=... and signed-URL signatures
_QUERY = re.compile(
    r"(?i)([?&](?:access_token|private_token|token|password|passwd|api_?key|secret"
    r"|sig|signature|x-amz-signature|x-amz-credential)=)[^&\s#\"']+"
)


def _base64_forms(raw: bytes) -> set[str]:
    """The secret's base64 alone, and the run of it seen inside `base64(x + secret + y)`."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        forms |= {whole, whole.rstrip("=")}
        for pad in (0, 1, 2):
            # Bytes before the secret change the first group; bytes after it the last.
            shifted = encode(b"\0" * pad + raw + b"\0\0\0").decode()
            run = shifted[4 if pad else 0 : (pad + len(raw)) // 3 * 4]
            if len(run) >= MIN_FRAGMENT:
                forms.add(run)
    return forms


def encodings(secret: str, users: Iterable[str] = ()) -> set[str]:
    """Every form in which `secret` may come back inside a server's answer."""
    forms = {secret, html.escape(secret), secret.replace("\\", "\\\\"), repr(secret)[1:-1]}
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        forms |= {escaped, escaped.replace("/", "\\/")}
    for url in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms |= {url, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), url)}
    forms |= _base64_forms(secret.encode())
    for user in users:
        if user:
            forms |= _base64_forms(f"{user}:{secret}".encode())
    return {form for form in forms if len(form) >= MIN_SECRET}


class Secrets:
    """The secrets one client sends, compiled into one pattern of all their forms."""

    def __init__(self, secrets: Iterable[str], users: Iterable[str] = ()):
        self.values = tuple(dict.fromkeys(s for s in secrets if s and len(s) >= MIN_SECRET))
        users = tuple(users)
        forms: set[str] = set()
        for secret in self.values:
            forms |= encodings(secret, users)
        self.forms = tuple(sorted(forms, key=len, reverse=True))  # longest match first
        self._pattern = re.compile("|".join(map(re.escape, self.forms))) if self.forms else None

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def partial_tail(self, text: str) -> int:
        """How many characters at the end of `text` begin one of the forms (0 if none)."""
        longest = 0
        for form in self.forms:
            for size in range(min(len(form) - 1, len(text)), max(MIN_PARTIAL, longest + 1) - 1, -1):
                if text.endswith(form[:size]):
                    longest = size
                    break
        return longest


_lock = threading.Lock()
_live: weakref.WeakSet[Secrets] = weakref.WeakSet()


def remember(secrets: Iterable[str], users: Iterable[str] = ()) -> Secrets:
    """Register secrets for process-wide redaction, for as long as the caller keeps
    the returned object (a client's secrets are forgotten with the client)."""
    known = Secrets(secrets, users)
    if known.forms:
        with _lock:
            _live.add(known)
    return known


def _known() -> list[Secrets]:
    with _lock:
        return list(_live)


def redact(value: object) -> str:
    """`value` as text with every known secret and every echoed credential masked."""
    text = str(value)
    for known in _known():
        text = known.redact(text)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{MASK}", text)
    text = _SCHEME.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _USERINFO.sub(lambda m: f"{m[1]}{MASK}@", text)
    return _QUERY.sub(lambda m: f"{m[1]}{MASK}", text)


def _drop_partial(text: str) -> str:
    cut = max((known.partial_tail(text) for known in _known()), default=0)
    return text[:-cut] if cut else text


def clip(value: object, limit: int) -> str:
    """One line of at most `limit` characters, redacted before it is cut."""
    text = str(value)
    if len(text) > SCAN_LIMIT:
        text = _drop_partial(text[:SCAN_LIMIT])
    text = " ".join(redact(text).split())
    if len(text) <= limit:
        return text
    return _drop_partial(text[:limit]).rstrip()
