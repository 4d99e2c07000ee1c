"""`--var-file FILE`: variables for `${VAR}` interpolation, one `KEY=VALUE` a line.

    # a comment line; blank lines are skipped
    ENV=prod
    export TOS_REGION=cn-beijing      # `export ` is allowed, so the file can be sourced too
    GREETING="hello world"            # quotes keep spaces and '#'; "..." knows \\" \\\\ \\n
    PATTERN='${not-expanded}'         # nothing inside a value is expanded

A ` #` after an unquoted value starts a comment. A later file wins over an earlier one;
`--var` wins over every file (the caller merges). Errors name `file:line` and the key,
never a value (it may be a secret).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.errors import ConfigError
from reconciler.util.files import read_bounded
from reconciler.util.text import cut

# compiled on first use (re caches them): only --var-file needs them
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LINE = r"(?:export\s+)?([^=\s]*)\s*=\s*(.*)"
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "$": "$"}
MAX_BYTES = 1 << 20  # a variables file is small; this stops /dev/zero


def read_var_files(paths: Sequence[str]) -> dict[str, str]:
    """The variables of every file, later files winning."""
    result: dict[str, str] = {}
    for path in paths:
        result.update(parse_var_file(_read(path), path))
    return result


def _read(path: str) -> str:
    try:
        data = read_bounded(path, MAX_BYTES, pipes=True)  # pipes too: `--var-file <(cmd)`
    except OSError as e:
        raise ConfigError(f"--var-file {path}: cannot read file: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text") from None


def parse_var_file(text: str, path: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(_LINE, line)
        if m is None:
            # the line itself is not shown: it may hold a value that is a secret
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE (no '=' on this line)")
        key, rest = m.group(1), m.group(2)
        if not re.fullmatch(_NAME, key):
            raise ConfigError(f"{path}:{number}: {_shown(key)} is not a variable name "
                              "(letters, digits and '_', not starting with a digit)")
        try:
            result[key] = _value(rest)
        except ValueError as e:
            raise ConfigError(f"{path}:{number}: {key}: {e}") from None
    return result


def _value(rest: str) -> str:
    if not rest or rest[0] not in "\"'":
        return re.split(r"\s+#", rest, maxsplit=1)[0].rstrip()
    quote, out, i = rest[0], list[str](), 1
    while i < len(rest):
        ch = rest[i]
        if ch == quote:
            tail = rest[i + 1:].strip()
            if tail and not tail.startswith("#"):
                raise ValueError("unexpected text after the closing quote")
            return "".join(out)
        if ch == "\\" and quote == '"' and i + 1 < len(rest) and rest[i + 1] in _ESCAPES:
            out.append(_ESCAPES[rest[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ValueError(f"unterminated {quote} quote (a value is one line)")


def _shown(text: str) -> str:
    return repr(cut(text, 40, "..."))  # secrets masked before the cut
