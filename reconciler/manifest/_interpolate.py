"""`${VAR}` interpolation in manifest strings, and `--var KEY=VALUE` parsing.

Syntax (in any string value, never in keys):

    ${NAME}            the value of NAME; an error if NAME is undefined
    ${NAME:-default}   the value of NAME, or `default` if NAME is undefined or empty
    $${                a literal "${" (so "$${NAME}" stays "${NAME}")

NAME is [A-Za-z_][A-Za-z0-9_]*. Values come from the --var flags first, then the
environment. A default is literal text (no nested ${...}) and cannot contain "}".
An empty value counts as defined for ${NAME} (it yields ""), as in the shell.
The secrets (TOS_SECRET_KEY, TOS_SECURITY_TOKEN, RECONCILER_PLAN_KEY) cannot be
interpolated: their values would end up in plans, PR comments and error messages, and be
sent to the service (in a bucket policy). Nor can their values under any other name: a
string whose result is or contains one is refused (README.md, "Manifest reference"), whether it came from a
variable or was written in the file, and the refused value never reaches the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from reconciler.errors import ConfigError
from reconciler.util.secrets import SECRET_VARIABLES, mask, refused_values, secret_in
from reconciler.util.text import cut

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
# Compiled on first use (re caches them): a manifest without ${...} or --var needs neither,
# and start-up is the floor of every run.
_REFERENCE = rf"(?s)({_NAME})(?::-(.*))?"
_ASSIGNMENT = rf"(?s)({_NAME})=(.*)"


class VarProblem(NamedTuple):  # not a frozen dataclass: ~0.5 ms of start-up less
    offset: int  # where in the source string the reference starts
    token: str  # the reference as written, to find it again in the raw YAML text
    message: str


class Interpolator:
    def __init__(self, variables: Mapping[str, str], environ: Mapping[str, str]):
        self._variables = variables
        self._environ = environ
        self._refused = refused_values(environ)

    def _secret_problem(self, text: str, token: str, offset: int, name: str | None) -> VarProblem | None:
        secret = secret_in(text, self._refused) if self._refused else None
        if secret is None:
            return None
        what = f"${{{name}}} holds" if name is not None else "this value holds"
        return VarProblem(offset, token, f"{what} the value of {secret}, a secret: no manifest value may be or "
                                         f"contain a secret, whatever its variable is called (manifests end up in "
                                         f"plans, PR comments, error messages and the service's policies)")

    def lookup(self, name: str) -> str | None:
        if name in self._variables:
            return self._variables[name]
        return self._environ.get(name)

    def expand(self, text: str) -> tuple[str, bool, list[VarProblem]]:
        """(result, whether any ${...} was substituted, problems)."""
        if "$" not in text:
            problem = self._secret_problem(text, "", 0, None)
            return (text, False, []) if problem is None else (mask(text, self._refused), False, [problem])
        out: list[str] = []
        problems: list[VarProblem] = []
        substituted = False
        pos = 0
        for m in _TOKEN.finditer(text):
            out.append(text[pos:m.start()])
            pos = m.end()
            token = m.group(0)
            if token == "$${":
                out.append("${")
                continue
            if m.group(1) is None:
                problems.append(VarProblem(m.start(), token, "unterminated '${': expected ${NAME} or "
                                                             "${NAME:-default} (write $${ for a literal ${)"))
                continue
            ref = re.fullmatch(_REFERENCE, m.group(1))
            if ref is None:
                problems.append(VarProblem(
                    m.start(), token,
                    f"invalid variable reference {cut(token)!r}: expected ${{NAME}} or ${{NAME:-default}} "
                    f"with NAME of letters, digits and '_' (write $${{ for a literal ${{)",
                ))
                continue
            name, default = ref.group(1), ref.group(2)
            if name in SECRET_VARIABLES:  # never looked up, so its value cannot leak from here
                problems.append(VarProblem(
                    m.start(), token,
                    f"${{{name}}} cannot be used in a manifest: it is a secret, and manifests end up in "
                    "plans, PR comments and error messages (reconciler reads credentials from the "
                    "environment itself)",
                ))
                continue
            value = self.lookup(name)
            substituted = True
            if default is not None and not value:
                value = default
            if value is not None:
                problem = self._secret_problem(value, token, m.start(), name)
                if problem is not None:  # never appended: the value cannot leak from the document
                    problems.append(problem)
                    continue
                out.append(value)
            else:
                shown = cut(name)  # a name may be 100,000 characters long: echo its start
                problems.append(VarProblem(
                    m.start(), token,
                    f"undefined variable '{shown}': set it in the environment or with --var {shown}=VALUE "
                    f"(or give a default: ${{{shown}:-default}})",
                ))
        out.append(text[pos:])
        result = "".join(out)
        problem = self._secret_problem(result, "", 0, None)  # pieces harmless alone may spell one together
        if problem is not None:
            result = mask(result, self._refused)
            problems = problems or [problem]
        return result, substituted, problems


def parse_var_assignments(items: Sequence[str]) -> dict[str, str]:
    """`--var KEY=VALUE` flags to a dict (the last of a repeated KEY wins). VALUE may be empty."""
    result: dict[str, str] = {}
    for item in items:
        m = re.fullmatch(_ASSIGNMENT, item)
        if m is None:
            if "=" not in item:
                raise ConfigError(f"--var {cut(item)!r}: expected KEY=VALUE")
            raise ConfigError(
                f"--var {cut(item)!r}: KEY must be letters, digits and '_', not starting with a digit"
            )
        result[m.group(1)] = m.group(2)
    return result
