"""Secret values never leave the process: the one place that knows which they are.

The first line of defence is that a manifest cannot interpolate them (manifest/_interpolate).
This is the second: every text a command writes (stdout, stderr, the debug log, tracebacks)
goes through `MaskedStream`, which replaces their values with `****`, and a plan file that
would hold one is not written at all (masking it would change what it applies).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

# What interpolation refuses: the secret key, the STS token and the plan-signing key.
SECRET_VARIABLES = ("TOS_SECRET_KEY", "TOS_SECURITY_TOKEN", "RECONCILER_PLAN_KEY")
# Masked in output: the secrets, and the access key too (not a secret in TOS terms, but no
# output needs it, and the debug log already shows only its first four characters).
MASKED_VARIABLES = (*SECRET_VARIABLES, "TOS_ACCESS_KEY")
MASK = "****"
# A shorter value is not masked: replacing every "short" or "true" in the output would garble
# it, and a value that short protects nothing (real keys and tokens are tens of characters).
MIN_MASKED_LENGTH = 8


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_AUTHORITY_END = re.compile(r"[/?#\\\s]")  # a backslash or a space ends it too, as for browsers
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]*\]|[^:\[\]]*)(:[0-9]*)?\Z")  # a name, or an IPv6 address; a port of digits


def shown_url(url: str) -> str:
    """A URL as output may show it: scheme, host and port, when they are plainly that.
    Everything up to the last `@` shows as `…@` (a secret key may hold `/`, `?` or `#`, so
    the user part is not cut where a URL parser would cut it), anything after the host
    as `/…`, and a host or port that is not plainly one as `…`: each may hold a token
    (webhook relays put one in the path; a pasted endpoint may carry a key pair)."""
    text = url.strip()
    scheme = m.group(0) if (m := _SCHEME.match(text)) else ""
    rest = text[len(scheme):]
    user = "…@" if "@" in rest else ""
    rest = rest.rpartition("@")[2]
    cut = _AUTHORITY_END.search(rest)
    authority, tail = (rest[:cut.start()], rest[cut.start():]) if cut else (rest, "")
    if not _HOST_PORT.match(authority):
        authority = "…"
    return scheme + user + authority + ("/…" if tail.strip("/") else "")


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each form in which a secret could be written → the variable it belongs to, longest
    first (so a value that contains another is masked whole)."""
    env = os.environ if environ is None else environ
    forms: dict[str, str] = {}
    for name in MASKED_VARIABLES:
        raw = env.get(name, "")
        for value in (raw, raw.strip(), json.dumps(raw.strip())[1:-1]):  # JSON escapes " and \ in files
            if len(value) >= MIN_MASKED_LENGTH:
                forms.setdefault(value, name)
    return dict(sorted(forms.items(), key=lambda kv: -len(kv[0])))


def mask(text: str, values: Mapping[str, str] | None = None) -> str:
    for value in secret_values() if values is None else values:
        if value in text:
            text = text.replace(value, MASK)
    return text


# A cut text that ends in this much of a secret has shown part of it (3 characters tell
# nothing: "AKL" starts every access key).
MIN_PARTIAL = 4


def mask_cut_end(head: str, values: Mapping[str, str] | None = None) -> str:
    """`head` (the start of a longer, already masked text) with a trailing start of a
    secret replaced by `****`: a cut that falls inside a secret never shows its first part."""
    for value in secret_values() if values is None else values:
        for n in range(min(len(value) - 1, len(head)), MIN_PARTIAL - 1, -1):
            if head.endswith(value[:n]):
                return head[:-n] + MASK
    return head


def refused_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The values a manifest may not hold, whatever a variable holding them is called: each
    form of TOS_SECRET_KEY, TOS_SECURITY_TOKEN and RECONCILER_PLAN_KEY → that variable,
    longest first (as `mask` wants them)."""
    forms: dict[str, str] = {}
    for name in SECRET_VARIABLES:
        raw = environ.get(name, "")
        for value in (raw, raw.strip()):
            if value:
                forms.setdefault(value, name)
    return dict(sorted(forms.items(), key=lambda kv: -len(kv[0])))


def secret_in(text: str, refused: Mapping[str, str]) -> str | None:
    """The secret variable whose value `text` is or contains, or None. Containment counts
    from MIN_MASKED_LENGTH characters (a shorter secret is in too much text by chance);
    equality at any length."""
    for value, name in refused.items():
        if text == value or (len(value) >= MIN_MASKED_LENGTH and value in text):
            return name
    return None


def secrets_in(text: str, values: Mapping[str, str] | None = None) -> list[str]:
    """The names of the variables whose values appear in `text`."""
    found = secret_values() if values is None else values
    return sorted({name for value, name in found.items() if value in text})


class MaskedStream:
    """A text stream that masks secret values in everything written through it; anything
    else (fileno, isatty, encoding, buffer) is the wrapped stream's."""

    def __init__(self, stream: TextIO, values: Mapping[str, str]):
        self._stream = stream
        self._values = values

    def write(self, text: str) -> int:
        self._stream.write(mask(text, self._values))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def masked_output(environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Point sys.stdout and sys.stderr at masking wrappers for the duration (a command)."""
    values = secret_values(environ)
    if not values:
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout = MaskedStream(sys.stdout, values)
    sys.stderr = MaskedStream(sys.stderr, values)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
