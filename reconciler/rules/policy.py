"""Bucket policy documents: parsing, canonical form, semantic equality and lint.

Shared by the manifest layer (validation and lint warnings) and the planner (a policy
changes only when its canonical form changes: README.md, "How it works").

Canonical form (`canonical_policy`):

- key order is irrelevant (every mapping comes out with sorted keys);
- `Statement` given as one object equals a one-element list;
- in Principal / NotPrincipal / Action / NotAction / Resource / NotResource, a single
  string equals a one-element list, and entries are sorted and de-duplicated; a
  Principal mapping such as ``{"TOS": [...]}`` has each of its values treated the same
  way (it does not equal the plain-list form: that is a different dialect);
- Condition values (``{operator: {key: value-or-list}}``) are sorted and de-duplicated;
- `Effect` is case-insensitive and comes out as "Allow" / "Deny";
- statement order and duplicate statements are irrelevant.

`Version`, `Id` and `Sid` are data and compare exactly. Sid is kept on purpose: it is
part of the document the service stores and echoes, people change it deliberately, and
a plan that silently ignored a Sid edit would never converge the live document. Two
statements that differ only in Sid are therefore two statements.

Every function here accepts any JSON value without raising (live policies can be
anything, nested 1,000 deep included); only `parse_policy_text` raises, with a short
ValueError. A document nested more than MAX_DEPTH levels is no policy: it is never walked
recursively (json and copy would overflow the stack), parsing refuses it, its canonical
form is the `UNREADABLE` placeholder and lint reports it in one finding.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from typing import Any, Literal, NamedTuple

from reconciler.rules.names import ACTIONS, MAX_DEPTH, json_type, too_deep
from reconciler.util.jsontext import RepeatedKey, unique_keys
from reconciler.util.text import cut, lone_escape_at, lone_surrogate_in

__all__ = [
    "ACTIONS",
    "ALL_ACTIONS",
    "PolicyFinding",
    "PolicyParseError",
    "UNREADABLE",
    "action_problem",
    "canonical_policy",
    "parse_policy_text",
    "policies_equal",
    "policy_findings",
    "too_wild",
]

ALL_ACTIONS = "tosvectors:*"

LIST_KEYS = ("Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource")
_PRINCIPAL_KEYS = ("Principal", "NotPrincipal")


# --- parsing -------------------------------------------------------------------------


class PolicyParseError(ValueError):
    """Policy text that is not a JSON object. `line` / `col` (1-based) locate JSON syntax errors."""

    def __init__(self, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.line = line
        self.col = col


def _no_constants(name: str) -> Any:
    raise PolicyParseError(f"{name} is not valid JSON")


def parse_policy_text(text: str) -> dict[str, Any]:
    """Parse a policy document from JSON text; raise PolicyParseError (a ValueError)."""
    if not text.strip():
        raise PolicyParseError("policy is empty")
    try:
        doc = json.loads(text, object_pairs_hook=unique_keys, parse_constant=_no_constants)
    except RepeatedKey as e:
        raise PolicyParseError(f"duplicate key {e.key!r} in policy JSON") from None
    except json.JSONDecodeError as e:
        raise PolicyParseError(
            f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", e.lineno, e.colno
        ) from None
    except RecursionError:
        raise PolicyParseError("invalid JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise PolicyParseError(f"policy must be a JSON object, got {_json_kind(doc)}")
    if too_deep(doc):
        raise PolicyParseError(f"policy nests more than {MAX_DEPTH} levels deep")
    problem = lone_surrogate_in(doc)
    if problem:
        raise PolicyParseError(problem, *lone_escape_at(text))
    return doc


def _json_kind(value: Any) -> str:
    kind = json_type(value)  # the one naming (reconciler.rules.names), with an article
    return kind if kind == "null" else f"{'an' if kind[0] in 'ao' else 'a'} {kind}"


# --- canonical form --------------------------------------------------------------------


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _canon_list(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    unique = {_sort_key(v): v for v in value}
    return [unique[k] for k in sorted(unique)]


def _canon_principal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canon_list(value[k]) for k in sorted(value)}
    return _canon_list(value)


def _canon_condition(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for op in sorted(value):
        inner = value[op]
        if isinstance(inner, dict):
            out[op] = {k: _canon_list(inner[k]) for k in sorted(inner)}
        else:
            out[op] = inner
    return out


def _canon_effect(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("allow", "deny"):
        return value.strip().capitalize()
    return value


def _canon_statement(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    out: dict[str, Any] = {}
    for key in sorted(statement):
        value = statement[key]
        if key in _PRINCIPAL_KEYS:
            out[key] = _canon_principal(value)
        elif key in LIST_KEYS:
            out[key] = _canon_list(value)
        elif key == "Effect":
            out[key] = _canon_effect(value)
        elif key == "Condition":
            out[key] = _canon_condition(value)
        else:
            out[key] = value
    return out


def canonical_policy(doc: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of a policy document (see the module docstring). Pure."""
    if too_deep(doc):
        return dict(UNREADABLE)
    if not isinstance(doc, dict):  # a live policy may be any JSON: typed callers never pass one
        return copy.deepcopy(doc)  # type: ignore[unreachable]
    out: dict[str, Any] = {}
    for key in sorted(doc):
        value = copy.deepcopy(doc[key])
        if key == "Statement":
            if isinstance(value, dict):
                value = [value]
            if isinstance(value, list):
                unique = {_sort_key(s): s for s in (_canon_statement(s) for s in value)}
                value = [unique[k] for k in sorted(unique)]
        out[key] = value
    return out


# The canonical form of a document too deep to read: shown as text, as a live policy that is
# not JSON is (`{"raw": text}`); it equals no declared policy, which parsing keeps shallow.
UNREADABLE: dict[str, Any] = {"raw": f"(a document nested more than {MAX_DEPTH} levels deep: not read)"}


def policies_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two documents mean the same (equal canonical forms; 1 != true != "1")."""
    return _sort_key(canonical_policy(a)) == _sort_key(canonical_policy(b))


# --- lint -------------------------------------------------------------------------------


class PolicyFinding(NamedTuple):
    """A lint finding and where in the document it applies (a JSON path of keys/indexes).
    An "error" is certainly a mistake (an action the service does not have); the rest warn."""

    path: tuple[str | int, ...]
    message: str
    severity: Literal["warning", "error"] = "warning"


def _glob_match(pattern: str, text: str) -> bool:
    """IAM action matching, as reconciler.rules.access: case-insensitive, `*` any run, `?` one
    character. Linear backtracking (one remembered `*`), so a hostile pattern such as
    `*?*?*?...Z` costs O(len(pattern) x len(text)), where a regex takes exponential time."""
    p, t = pattern.lower(), text.lower()
    i = j = 0
    star, mark = -1, 0
    while j < len(t):
        if i < len(p) and (p[i] == "?" or p[i] == t[j]):
            i, j = i + 1, j + 1
        elif i < len(p) and p[i] == "*":
            star, mark, i = i, j, i + 1
        elif star >= 0:
            mark += 1
            i, j = star + 1, mark
        else:
            return False
    return all(ch == "*" for ch in p[i:])


def _actions_matched(pattern: str) -> list[str]:
    pattern = pattern.strip()
    return [a for a in ACTIONS if _glob_match(pattern, a)]


def action_problem(action: str) -> tuple[Literal["warning", "error"], str] | None:
    """Why an Action entry is wrong or doubtful: an error when it matches no action of the
    service (with "did you mean"), a warning when it is a known action in another case."""
    matched = _actions_matched(action)
    wild = "*" in action or "?" in action
    if matched:
        if not wild and matched[0] != action:
            return "warning", (f"{action!r} works (actions match case-insensitively) but reads as a typo: "
                               f"write {matched[0]!r}")
        return None
    if wild:
        return "error", f"{action!r} matches none of the TOS Vectors actions, so it grants or denies nothing"
    import difflib  # for an unknown action only: a valid policy does not load it

    by_lower = {a.lower(): a for a in (ALL_ACTIONS, *ACTIONS)}
    close = difflib.get_close_matches(action.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return "error", f"{action!r} is not a TOS Vectors action; did you mean {by_lower[close[0]]!r}?"
    names = ", ".join(a.split(":", 1)[1] for a in ACTIONS)
    return "error", (f"{action!r} is not a TOS Vectors action: use tosvectors:* or tosvectors:NAME "
                     f"with NAME one of {names}")


# A glob with many wildcards is no policy anyone writes, and a regex matcher (the
# evaluator's) backtracks exponentially over it: 12 `*?` pairs took 30 s for one action.
MAX_WILDCARDS = 8


def _too_wild(value: str) -> str | None:
    n = sum(ch in "*?" for ch in value)
    if n <= MAX_WILDCARDS:
        return None
    return (f"{cut(value, 40, '...')!r} has {n} wildcards; at most {MAX_WILDCARDS} "
            f"are accepted (matching such a pattern can take exponential time)")


def too_wild(doc: Any) -> str | None:
    """Why the document is unsafe to evaluate (a string with too many wildcards), or None."""
    for path, st in _statements(doc):
        for key in LIST_KEYS:
            located = (_principals if key in _PRINCIPAL_KEYS else _located_strings)(st.get(key), path + (key,))
            for where, value in located:
                wild = _too_wild(value)
                if wild:
                    return f"{_path_text(where)}: {wild}"
    return None


def _label(path: tuple[str | int, ...]) -> str:
    """("Statement", 0, "Action", 1) -> "Action[1]"; ("Statement", 0, "Action") -> "Action"."""
    if path and isinstance(path[-1], int) and len(path) > 1:
        return f"{path[-2]}[{path[-1]}]"
    return str(path[-1]) if path else "policy"


def _statements(doc: Any) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    if not isinstance(doc, dict):
        return []
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        return [(("Statement",), raw)]
    if isinstance(raw, list):
        return [(("Statement", i), s) for i, s in enumerate(raw) if isinstance(s, dict)]
    return []


def _located_strings(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """The strings of a string-or-list value, each with its path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [(path + (i,), v) for i, v in enumerate(value) if isinstance(v, str)]
    return []


def _principals(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, dict):  # {"TOS": [...]} and similar dialects
        return [x for k, v in value.items() for x in _located_strings(v, path + (k,))]
    return _located_strings(value, path)


def _principal_account(principal: str) -> str | None:
    """"2100000001/ci-bot" -> "2100000001"; "2100000001" -> itself; trn:iam::ACCT:... -> ACCT."""
    if principal.startswith("trn:"):
        parts = principal.split(":")
        return (parts[3] or None) if len(parts) > 4 else None
    account = principal.split("/", 1)[0]
    return account if account and "*" not in account else None


def _is_allow(statement: dict[str, Any]) -> bool:
    return bool(_canon_effect(statement.get("Effect")) == "Allow")


def _resource_findings(
    resource: str, bucket: str, account: str | None, region: str | None
) -> list[str]:
    if resource == "*":
        return []
    parts = resource.split(":", 4)
    if len(parts) != 5 or parts[0] != "trn" or not fnmatch.fnmatchcase("tosvectors", parts[1]):
        return [
            f"Resource {resource!r} is not a TOS Vectors TRN "
            f"(trn:tosvectors:REGION:ACCOUNT:bucket/BUCKET[/index/INDEX])"
        ]
    _, _, res_region, res_account, path = parts
    found = []
    probes = [f"bucket/{bucket}", f"bucket/{bucket}/index/x"]
    if "/index/" in path:
        probes.append(f"bucket/{bucket}/index/{path.split('/index/', 1)[1]}")
    if not any(fnmatch.fnmatchcase(p, path) for p in probes):
        found.append(
            f"Resource {resource!r} is outside bucket {bucket!r}, the bucket this policy is attached to"
        )
    if account and not fnmatch.fnmatchcase(account, res_account):
        found.append(f"Resource {resource!r} names account {res_account!r}, but the manifest's account is {account!r}")
    if region and not fnmatch.fnmatchcase(region, res_region):
        found.append(f"Resource {resource!r} names region {res_region!r}, but the manifest's region is {region!r}")
    return found


def policy_findings(
    doc: dict[str, Any], bucket: str, account: str | None, region: str | None = None,
    allow_public: bool = False,
) -> list[PolicyFinding]:
    """Lint warnings with the path (inside `doc`) of what they are about. Never raises.

    - an Allow to a Principal that is or contains "*" (a Deny to "*" is a normal pattern);
      an Allow to "*" itself is not reported when the bucket declares allowPublicAccess
      (`allow_public`), and otherwise says that apply will refuse it;
    - tosvectors:* allowed to a principal of another account (when `account` is known;
      the account of "2100000001/ci-bot" is "2100000001");
    - a Resource that cannot refer to `bucket`, or names another account / region
      (when known), or is not a tosvectors TRN at all;
    - a principal allowed QueryVectors but not GetVectors across all Allow statements
      (filtered queries and returnMetadata then fail);
    - an Action / NotAction that matches no action of the service (an error, with "did
      you mean"), or a known action in another case;
    - a statement that can never apply (every Resource is outside the bucket, account or
      region), and an Allow that an unconditional Deny takes away entirely (evaluated
      with reconciler.rules.access, the evaluator the plan and the emulator use).
    """
    if too_deep(doc):
        return [PolicyFinding((), f"the policy nests more than {MAX_DEPTH} levels deep: it is not read", "error")]
    findings: list[PolicyFinding] = []
    granted: dict[str, set[str]] = {}  # principal -> lower-cased actions it is allowed
    first_query: dict[str, tuple[str | int, ...]] = {}
    for path, st in _statements(doc):
        allow = _is_allow(st)
        principals = _principals(st.get("Principal"), path + ("Principal",))
        actions = _located_strings(st.get("Action"), path + ("Action",))
        names = {a.lower() for _, a in actions}
        if allow:
            for where, p in principals:
                if p == "*" and not allow_public:
                    findings.append(PolicyFinding(where, "Principal '*' allows anyone: apply refuses this "
                                                         "unless allowPublicAccess: true or --allow-public-access"))
                elif ("*" in p or "?" in p) and not allow_public:
                    findings.append(PolicyFinding(
                        where, f"Principal {p!r} contains a wildcard: it matches identities nobody named, so it "
                               "counts as public and apply refuses it unless allowPublicAccess: true or "
                               "--allow-public-access"))
            if ALL_ACTIONS in names and account:
                for where, p in principals:
                    other = _principal_account(p)
                    if other is not None and other != account:
                        findings.append(PolicyFinding(
                            where,
                            f"tosvectors:* is granted to {p!r} of another account "
                            f"({other}; the manifest's account is {account})",
                        ))
            query_at = next((w for w, a in actions if "tosvectors:QueryVectors" in _actions_matched(a)), None)
            for _, p in principals:
                granted.setdefault(p, set()).update(names)
                if query_at is not None and p not in first_query:
                    first_query[p] = query_at
        for key in LIST_KEYS:
            located = (_principals if key in _PRINCIPAL_KEYS else _located_strings)(st.get(key), path + (key,))
            for where, value in located:
                wild = _too_wild(value)
                if wild:
                    findings.append(PolicyFinding(where, f"{_label(where)}: {wild}", "error"))
                    continue
                problem = action_problem(value) if key in ("Action", "NotAction") else None
                if problem:
                    findings.append(PolicyFinding(where, f"{_label(where)}: {problem[1]}", problem[0]))
        resources = _located_strings(st.get("Resource"), path + ("Resource",))
        outside = 0
        for where, r in resources:
            found = _resource_findings(r, bucket, account, region)
            findings.extend(PolicyFinding(where, m) for m in found)
            outside += bool(found)
        if resources and outside == len(resources) and "NotResource" not in st:
            what = "allows" if allow else "denies"
            findings.append(PolicyFinding(path, (
                f"this statement can never apply: none of its Resources is bucket {bucket!r} or one of its "
                f"indexes{f' in account {account}' if account else ''}, so it {what} nothing")))
    if not any(f.severity == "error" for f in findings):  # the evaluator can trust the document
        findings.extend(_shadowed_allows(doc, bucket, account, region))
    for p, where in first_query.items():
        if not any("tosvectors:GetVectors" in _actions_matched(a) for a in granted[p]):
            findings.append(PolicyFinding(
                where,
                f"{p!r} is allowed QueryVectors but not GetVectors: queries that use a metadata "
                f"filter or return metadata will be denied",
            ))
    return findings


# The shadow check evaluates each Allow with the Denies over the delta's universe; past these
# bounds (a hostile or generated policy) it is left out rather than stall `validate`.
MAX_SHADOW_STATEMENTS = 50
MAX_SHADOW_EVALUATIONS = 50_000  # for the whole policy: principals x (action, resource) x statements


def _named(doc: Any, part: int) -> set[str]:
    """Literal (wildcard-free) region (part 2) or account (part 3) of the document's TRNs."""
    out: set[str] = set()
    for _, st in _statements(doc):
        for key in ("Resource", "NotResource"):
            for _, r in _located_strings(st.get(key), ()):
                parts = r.split(":", 4)
                if len(parts) == 5 and parts[0] == "trn" and parts[part] and not any(c in parts[part] for c in "*?["):
                    out.add(parts[part])
    return out


def _shadowed_allows(doc: Any, bucket: str, account: str | None, region: str | None) -> list[PolicyFinding]:
    """An Allow statement whose every grant an unconditional Deny takes away: it does nothing.

    Decided by the evaluator (reconciler.rules.access) over the access delta's universe (the
    principals named plus "*", the 16 actions, the bucket, the index names or patterns the
    document names, and any other index): the Allow alone grants something, and together
    with the Deny statements it grants nothing."""
    statements = _statements(doc)
    if len(statements) > MAX_SHADOW_STATEMENTS:
        return []
    denies = [(path, st) for path, st in statements
              if _canon_effect(st.get("Effect")) == "Deny" and st.get("Condition") in (None, {})]
    if not denies:
        return []
    # the evaluator loads here, for a document with a Deny to weigh: `validate` of one without does not
    from reconciler.rules.access import AccessDeltaNotComputed, access_delta, named_principals

    accounts, regions = _named(doc, 3), _named(doc, 2)
    acct = account or (next(iter(accounts)) if len(accounts) == 1 else "0")
    reg = region or (next(iter(regions)) if len(regions) == 1 else "cn-beijing")

    def grants(*parts: dict[str, Any]) -> bool:
        version = doc.get("Version", "1") if isinstance(doc, dict) else "1"
        try:
            delta = access_delta(None, {"Version": version, "Statement": list(parts)}, reg, acct, bucket)
        except AccessDeltaNotComputed:
            return True  # unknown: never report an Allow as doing nothing on a guess
        return any(c.change == "grant" for c in delta)

    def cost(*parts: dict[str, Any]) -> int:
        names = sum(1 for p in parts for _, r in _located_strings(p.get("Resource"), ()) if "/index/" in r)
        return len(named_principals({"Statement": list(parts)})) * (8 * (names + 1) + 8) * len(parts) * 2

    findings = []
    budget = MAX_SHADOW_EVALUATIONS
    for path, st in statements:
        if not _is_allow(st):
            continue
        budget -= cost(st, *(d for _, d in denies))
        if budget < 0:
            break
        if not grants(st):
            continue
        if grants(st, *(d for _, d in denies)):
            continue
        single = next((p for p, d in denies if not grants(st, d)), None)
        by = (f"the Deny at {_path_text(single)} takes away everything it grants" if single is not None
              else "the Deny statements together take away everything it grants")
        findings.append(PolicyFinding(path, f"this Allow grants nothing: {by}"))
    return findings


def _path_text(path: tuple[str | int, ...]) -> str:
    """("Statement", 2) -> "Statement[2]"; ("Statement", 0, "Action") -> "Statement[0].Action"."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if i else p for i, p in enumerate(path))

