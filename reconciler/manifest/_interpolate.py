"""`${VAR}` interpolation in manifest strings, and `--var KEY=VALUE` parsing.

Syntax (in any string value, never in keys):

    ${NAME}            the value of NAME; an error if NAME is undefined
    ${NAME:-default}   the value of NAME, or `default` if NAME is undefined or empty
    $${                a literal "${" (so "$${NAME}" stays "${NAME}")

NAME is [A-Za-z_][A-Za-z0-9_]*. Values come from the --var flags first, then the
environment. A default is literal text (no nested ${...}) and cannot contain "}".
An empty value counts as defined for ${NAME} (it yields ""), as in the shell.
The secrets (TOS_SECRET_KEY, TOS_SECURITY_TOKEN, RECONCILER_PLAN_KEY) cannot be
interpolated: their values would end up in plans, PR comments and error messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.errors import ConfigError
from reconciler.util.secrets import SECRET_VARIABLES
from reconciler.util.text import cut

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_REFERENCE = re.compile(rf"({_NAME})(?::-(.*))?", re.DOTALL)
_ASSIGNMENT = re.compile(rf"({_NAME})=(.*)", re.DOTALL)


@dataclass(frozen=True)
class VarProblem:
    offset: int  # where in the source string the reference starts
    token: str  # the reference as written, to find it again in the raw YAML text
    message: str


class Interpolator:
    def __init__(self, variables: Mapping[str, str], environ: Mapping[str, str]):
        self._variables = variables
        self._environ = environ

    def lookup(self, name: str) -> str | None:
        if name in self._variables:
            return self._variables[name]
        return self._environ.get(name)

    def expand(self, text: str) -> tuple[str, bool, list[VarProblem]]:
        """(result, whether any ${...} was substituted, problems)."""
        if "$" not in text:
            return text, False, []
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
            ref = _REFERENCE.fullmatch(m.group(1))
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
                out.append(default)
            elif value is not None:
                out.append(value)
            else:
                shown = cut(name)  # a name may be 100,000 characters long: echo its start
                problems.append(VarProblem(
                    m.start(), token,
                    f"undefined variable '{shown}': set it in the environment or with --var {shown}=VALUE "
                    f"(or give a default: ${{{shown}:-default}})",
                ))
        out.append(text[pos:])
        return "".join(out), substituted, problems


def parse_var_assignments(items: Sequence[str]) -> dict[str, str]:
    """`--var KEY=VALUE` flags to a dict (the last of a repeated KEY wins). VALUE may be empty."""
    result: dict[str, str] = {}
    for item in items:
        m = _ASSIGNMENT.fullmatch(item)
        if m is None:
            if "=" not in item:
                raise ConfigError(f"--var {cut(item)!r}: expected KEY=VALUE")
            raise ConfigError(
                f"--var {cut(item)!r}: KEY must be letters, digits and '_', not starting with a digit"
            )
        result[m.group(1)] = m.group(2)
    return result
