"""Bucket policy evaluation: who may do what, and what a policy change grants or revokes.

Pure: imports only the standard library, `reconciler.rules.names` and `reconciler.util.text`
(`reconciler.rules.policy`, the lint, imports this module when a policy has a Deny to weigh,
never the other way). Every
function accepts a live policy of any shape, however big or deep, without raising
(malformed parts are ignored, never trusted); the one exception is `access_delta`, which
raises AccessDeltaNotComputed past its bounds rather than run for minutes.

Evaluation of one request (principal P, action A, resource R), README.md, "Access":

- A statement *matches* when its principal, action and resource parts all match. Each
  part is either the positive key (`Principal`, `Action`, `Resource`: the request must
  match one entry) or the negative one (`NotPrincipal`, `NotAction`, `NotResource`: it
  must match none); a statement with neither form of a part matches nothing. A single
  string and a list are the same; entries that are not strings are ignored.
- `Effect` is case-insensitive; a statement whose Effect is neither Allow nor Deny is
  ignored.
- Deny wins: a matching unconditional Deny decides DENY, whatever allows. Otherwise a
  matching unconditional Allow decides ALLOW, unless a matching Deny has a Condition,
  which makes it CONDITIONAL (conservative: the Deny may apply, so the grant is not
  definite). A matching Allow that has a Condition, and no unconditional one, is
  CONDITIONAL. Nothing matching (or only conditional Denies) is NOT_GRANTED. A
  `Condition` counts when it is present and not an empty mapping.
- Actions match case-insensitively; `*` matches any run of characters and `?` one
  (`tosvectors:*`, `tosvectors:Get*`, `*`). Resources are TRN globs, case-sensitive, with
  the same two wildcards (`*` also crosses `/` and `:`, as in IAM ARNs).
- Principals: `*` matches anyone, including the anonymous request (itself written `*`);
  `ACCOUNT` matches that account and every `ACCOUNT/NAME` in it; `ACCOUNT/NAME` matches
  exactly. An entry with other wildcards is a glob (a glob without `/` is matched
  against the account); only an entry whose every part is `*` (`*`, `*/*`) matches the
  anonymous request. Principal mappings (`{"TOS": [...]}`) contribute all their values.

Inferred from TOS IAM conventions, where the service reference gives only the document's
shape (its examples: `"Principal": ["210004xxxx/testuser"]`, `[account_id]`, `["*"]`):

- `ACCOUNT/NAME` names an IAM user of that account and `ACCOUNT` the whole account; the
  IAM TRN spellings `trn:iam::ACCOUNT:root` and `trn:iam::ACCOUNT:user/NAME` are read
  as `ACCOUNT` and `ACCOUNT/NAME`; other TRNs (roles) match only themselves.
- The Not* keys, `?` and the Deny-wins order follow IAM (which TOS IAM copies).
- Which resource an action is checked against (`ACTION_SCOPE`), as in AWS S3 Vectors:
  index actions (CreateIndex included: it names the index it creates) on the index TRN,
  bucket actions on the bucket TRN, and the two region actions on the bucket TRN too
  when a bucket policy is evaluated (the reference's own example grants ListVectorBuckets
  on a bucket), although the emulator never lets a non-owner run them.

The access delta (`access_delta`) compares two documents over a finite universe: the
principals named in either document plus `*`, the 16 actions, and the bucket, its
indexes, every index name or pattern the documents name for this bucket, and "any other
index" (`index/*`: an index that matches no named pattern). Each triple has a level,
none (DENY or NOT_GRANTED) < conditional < allow; a triple whose level rises is a
`grant`, one whose level falls a `revoke`, and `conditional` says the new level (for a
grant) or the remaining level (for a revoke) is conditional. A change that `*` makes is
listed once, for `*`, not again for every named principal it carries along. A conditional
grant to `*` still makes a change public (a Condition is not a fence we can verify).
"""

from __future__ import annotations

import bisect
import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# ACTIONS, MAX_DEPTH and too_deep live in rules.names, which the lint (and `validate`) can
# import without this module; they stay part of this one's interface
from reconciler.rules.names import ACTIONS, INDEX_NAME, MAX_DEPTH, name_fault, too_deep
from reconciler.util.text import printable  # one escaping for every terminal line

__all__ = [
    "ACTIONS",
    "ACTION_SCOPE",
    "MAX_DELTA_CHANGES",
    "MAX_DELTA_STEPS",
    "MAX_DELTA_TESTS",
    "MAX_DEPTH",
    "PUBLIC_UNKNOWN",
    "SERVICE_POLICY_LIMIT",
    "AccessDeltaNotComputed",
    "ANYONE",
    "ANY_OTHER_INDEX",
    "REGION_ACTIONS",
    "AccessChange",
    "Decision",
    "ResourceAccess",
    "Verdict",
    "access_delta",
    "access_matrix",
    "bucket_trn",
    "evaluate",
    "grants_public",
    "index_trn",
    "named_principals",
    "new_public_statements",
    "normalize_principal",
    "principal_label",
    "printable",
    "public_statements",
    "resource_accounts",
    "resource_for",
    "resource_label",
    "statements",
    "too_big",
    "too_deep",
]

REGION_ACTIONS: frozenset[str] = frozenset({"tosvectors:CreateVectorBucket", "tosvectors:ListVectorBuckets"})
_INDEX_ACTIONS = frozenset(
    f"tosvectors:{n}"
    for n in ("CreateIndex", "DeleteIndex", "GetIndex", "PutVectors", "GetVectors", "DeleteVectors",
              "ListVectors", "QueryVectors")
)
# action -> "region" | "bucket" | "index": the kind of resource a request for it names.
ACTION_SCOPE: dict[str, str] = {
    a: "region" if a in REGION_ACTIONS else "index" if a in _INDEX_ACTIONS else "bucket" for a in ACTIONS
}
ANYONE = "*"
# The index name shown for "any index the documents do not name"; it is evaluated as a real
# index name that matches no named pattern (`_other_index`), so a Deny on names no index can
# have (`index/?`) cannot hide a grant on every index.
ANY_OTHER_INDEX = "*"


class Verdict(str, enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NOT_GRANTED = "not-granted"
    CONDITIONAL = "conditional"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    statement: int | None  # index in Statement of the deciding statement (None: nothing matched)
    sid: str | None

    def describe(self) -> str:
        """`allowed by Statement[0] (Sid ReadOnly)`, `denied by Statement[2]`, `not granted by
        any statement`; the number is the index in the document's Statement list."""
        if self.statement is None or self.verdict == Verdict.NOT_GRANTED:
            return "not granted by any statement"
        which = f"Statement[{self.statement}]" + (f" (Sid {self.sid})" if self.sid else "")
        if self.verdict == Verdict.CONDITIONAL:
            return f"conditional on the Condition of {which}"
        return f"{'allowed' if self.verdict == Verdict.ALLOW else 'denied'} by {which}"


def bucket_trn(region: str, account: str, bucket: str) -> str:
    return f"trn:tosvectors:{region}:{account}:bucket/{bucket}"


def index_trn(region: str, account: str, bucket: str, index: str) -> str:
    return f"{bucket_trn(region, account, bucket)}/index/{index}"


def resource_for(region: str, account: str, bucket: str, action: str, index: str | None = None) -> str:
    """The TRN a request for `action` is checked against (see ACTION_SCOPE); an unknown
    action is checked against the index when one is given, else the bucket."""
    scope = ACTION_SCOPE.get(_canonical_action(action))
    if index is not None and scope in ("index", None):
        return index_trn(region, account, bucket, index)
    return bucket_trn(region, account, bucket)


# --- matching -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> tuple[tuple[re.Pattern[str], int], ...]:
    """The pieces between the `*`s, each a fixed-length regex (`?` is one character) and its length."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return tuple((re.compile("".join("." if ch == "?" else re.escape(ch) for ch in piece), flags), len(piece))
                 for piece in pattern.split("*"))


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Glob match in O(len(pattern) * len(value)): a regex with several `.*` backtracks
    exponentially on a hostile pattern, so the pieces between stars are placed leftmost
    first, one search each (for fixed-length pieces the leftmost place is never worse)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    pieces = _glob(pattern, ignore_case)
    if len(pieces) == 1:
        return pieces[0][0].fullmatch(value) is not None
    (first, first_len), *middle, (last, last_len) = pieces
    end = len(value) - last_len
    if end < first_len or not first.match(value, 0, first_len) or not last.match(value, end):
        return False
    pos = first_len
    for piece, _ in middle:
        found = piece.search(value, pos, end)
        if found is None:
            return False
        pos = found.end()
    return True


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _principal_entries(value: Any) -> list[str]:
    if isinstance(value, Mapping):  # {"TOS": [...]} and similar dialects
        return [normalize_principal(p) for v in value.values() for p in _strings(v)]
    return [normalize_principal(p) for p in _strings(value)]


_IAM_TRN = re.compile(r"trn:iam::([^:/]+):(root|user/(.+))")


def normalize_principal(principal: str) -> str:
    """`trn:iam::A:root` -> `A`, `trn:iam::A:user/N` -> `A/N`; anything else unchanged."""
    p = principal.strip()
    m = _IAM_TRN.fullmatch(p)
    if m:
        return m.group(1) if m.group(2) == "root" else f"{m.group(1)}/{m.group(3)}"
    return p


def _all_wild(part: str) -> bool:
    return bool(part) and set(part) == {"*"}


def _principal_matches(entry: str, principal: str) -> bool:
    if principal == ANYONE:
        return all(_all_wild(part) for part in entry.split("/"))
    if _all_wild(entry):
        return True
    account = principal.split("/", 1)[0]
    if "/" not in entry:
        return _matches(entry, account)  # an account matches every principal in it
    return _matches(entry, principal)


def _part_matches(statement: Mapping[str, Any], key: str, test: Any) -> bool:
    """The positive key must match one entry, the Not* key none; neither: no match."""
    positive, negative = key in statement, f"Not{key}" in statement
    if not positive and not negative:
        return False
    entries = _principal_entries if key == "Principal" else _strings
    if positive and not any(test(e) for e in entries(statement[key])):
        return False
    return not (negative and any(test(e) for e in entries(statement[f"Not{key}"])))


def _effect(statement: Mapping[str, Any]) -> str | None:
    effect = statement.get("Effect")
    if isinstance(effect, str) and effect.strip().lower() in ("allow", "deny"):
        return effect.strip().lower()
    return None


def _has_condition(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition")
    return condition is not None and condition != {}


def statements(document: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """(index in Statement, statement) for every statement that is a mapping."""
    if not isinstance(document, Mapping):
        return []
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        return [(0, raw)]
    if isinstance(raw, list):
        return [(i, s) for i, s in enumerate(raw) if isinstance(s, Mapping)]
    return []


def _statement_matches(statement: Mapping[str, Any], principal: str, action: str, resource: str) -> bool:
    return (
        _part_matches(statement, "Principal", lambda e: _principal_matches(e, principal))
        and _part_matches(statement, "Action", lambda e: _matches(e.strip(), action, ignore_case=True))
        and _part_matches(statement, "Resource", lambda e: _matches(e.strip(), resource))
    )


def _decision(verdict: Verdict, found: tuple[int, Mapping[str, Any]] | None) -> Decision:
    if found is None:
        return Decision(verdict, None, None)
    sid = found[1].get("Sid")
    return Decision(verdict, found[0], sid if isinstance(sid, str) and sid else None)


def evaluate(document: Mapping[str, Any] | None, principal: str, action: str, resource: str) -> Decision:
    """Is `principal` allowed `action` on `resource` by this policy, and by which statement?"""
    principal = normalize_principal(principal)
    cond_deny: tuple[int, Mapping[str, Any]] | None = None
    allow = cond_allow = cond_deny
    for found in statements(document):
        st = found[1]
        effect = _effect(st)
        if effect is None or not _statement_matches(st, principal, action, resource):
            continue
        conditional = _has_condition(st)
        if effect == "deny":
            if not conditional:
                return _decision(Verdict.DENY, found)  # Deny wins
            cond_deny = cond_deny or found
        elif conditional:
            cond_allow = cond_allow or found
        else:
            allow = allow or found
    if allow is not None:
        return _decision(Verdict.CONDITIONAL, cond_deny) if cond_deny else _decision(Verdict.ALLOW, allow)
    if cond_allow is not None:
        return _decision(Verdict.CONDITIONAL, cond_allow)
    return _decision(Verdict.NOT_GRANTED, None)


def _canonical_action(action: str) -> str:
    lowered = action.lower()
    return next((a for a in ACTIONS if a.lower() == lowered), action)


# --- the access delta -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessChange:
    """One (principal, action, resource) whose access a policy change raises or lowers.

    `resource` is a TRN; an index part with wildcards stands for an index matching that
    pattern and no more specific name (`.../index/*` is "any other index")."""

    principal: str
    action: str
    resource: str
    change: str  # "grant" | "revoke"
    conditional: bool = False  # the level reached (grant) or kept (revoke) is only conditional

    def to_dict(self) -> dict[str, Any]:
        return {"principal": self.principal, "action": self.action, "resource": self.resource,
                "change": self.change, "conditional": self.conditional}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AccessChange:
        return cls(str(d["principal"]), str(d["action"]), str(d["resource"]), str(d["change"]),
                   bool(d.get("conditional", False)))


_LEVEL = {Verdict.DENY: 0, Verdict.NOT_GRANTED: 0, Verdict.CONDITIONAL: 1, Verdict.ALLOW: 2}


def named_principals(*documents: Any) -> list[str]:
    """The principals the documents name (Principal and NotPrincipal), sorted, plus `*` first."""
    named: set[str] = set()
    for doc in documents:
        for _, st in statements(doc):
            for key in ("Principal", "NotPrincipal"):
                named.update(p for p in _principal_entries(st.get(key)) if p)
    return [ANYONE] + sorted(named - {ANYONE})


def _named_index_parts(region: str, account: str, bucket: str, documents: Iterable[Any]) -> set[str]:
    """Index names and patterns the documents' Resource / NotResource use for this bucket."""
    prefix = bucket_trn(region, account, bucket)
    out: set[str] = set()
    for doc in documents:
        for _, st in statements(doc):
            for key in ("Resource", "NotResource"):
                for r in _strings(st.get(key)):
                    head, sep, name = r.strip().partition("/index/")
                    if sep and name and _matches(head, prefix):
                        out.add(name)
    return out


def _valid_index_name(name: str) -> bool:
    return name_fault(INDEX_NAME, name) is None


def _instance(name: str) -> str | None:
    """A real index name (the service's rule) that matches the pattern `name`, as plain as
    possible; None when no index can match it (`?`, `*\x00*`, upper case): such a pattern
    names no index, so a Deny on it takes nothing away from any real one."""
    if not set("*?") & set(name):
        return name if _valid_index_name(name) else None
    for fill in ("", "a", "aaa"):
        candidate = name.replace("?", "a").replace("*", fill)
        if _valid_index_name(candidate) and _matches(name, candidate):
            return candidate
    return None


# Real index names tried, in order, for "any other index": the first that matches no pattern
# the documents name stands for an index nobody named.
_OTHER_CANDIDATES: tuple[str, ...] = (
    "zz-other-index-0", "q9.x7-other", "0-0", "x.y", *(c * 3 for c in "zq0a9bmx"), *(c * 63 for c in "zq0a9"))


def _other_index(named: Iterable[str]) -> str:
    """A real index name that matches none of `named` (if any such candidate exists)."""
    patterns = [n for n in named if n != ANY_OTHER_INDEX]
    return next((c for c in _OTHER_CANDIDATES if not any(_matches(p, c) for p in patterns)), _OTHER_CANDIDATES[0])


def _universe(region: str, account: str, bucket: str, indexes: Iterable[str],
              documents: Sequence[Any]) -> list[tuple[str, str, str]]:
    """(action, resource TRN shown, resource TRN evaluated) for every pair the delta checks."""
    named = set(indexes) | _named_index_parts(region, account, bucket, documents)
    # a name or pattern no index can have keeps a stand-in that matches only itself: its row
    # is about no real index, and "any other index" (a real name) is judged on its own
    names = [(n, _instance(n) or n.replace("*", "\x00").replace("?", "\x01"))
             for n in sorted(named - {ANY_OTHER_INDEX})]
    names.append((ANY_OTHER_INDEX, _other_index(named)))
    out = []
    for action in ACTIONS:
        if ACTION_SCOPE[action] != "index":
            trn = bucket_trn(region, account, bucket)
            out.append((action, trn, trn))
            continue
        for name, instance in names:
            out.append((action, index_trn(region, account, bucket, name),
                        index_trn(region, account, bucket, instance)))
    return out


# The delta is computed with sets, not triple by triple. Every statement becomes three
# bitsets (Python ints): the principals, the actions and the resources of the universe it
# matches. Principals whose matching statements are the same form a class; for each class
# and action, the resources a statement kind reaches (unconditional Deny or Allow,
# conditional Deny or Allow) are the union of its statements' resource sets, and the level
# of every resource follows from four bitwise operations. It gives what `evaluate` gives
# triple by triple (tests/access/test_delta_reference.py checks it against that loop).
#
# The work is bounded all the same, because a document can ask for a great deal within
# its size: wildcard patterns tested against every principal or resource, or a delta of
# millions of triples (1,000 principals x 1,000 named indexes). Past a bound the delta is
# not computed (`AccessDeltaNotComputed`), rather than stall the plan.

# Pattern tests (a wildcard entry against a principal or resource) and bitset steps (a
# statement's set added for one class and action); about 1 s of work at each bound here.
MAX_DELTA_TESTS = 250_000
MAX_DELTA_STEPS = 1_000_000
MAX_DELTA_CHANGES = 50_000  # triples listed (a longer list is read by nobody)


class AccessDeltaNotComputed(ValueError):
    """The delta is past a bound (see MAX_DELTA_*): `reason` says which, in words a plan can
    show. `anyone` holds the delta's rows for `*` when those alone could still be
    computed exactly (they decide whether a change is public), else None."""

    def __init__(self, reason: str, anyone: tuple[AccessChange, ...] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.anyone = anyone


class _OverBound(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Budget:
    def __init__(self, tests: int, steps: int):
        self.tests, self.steps = tests, steps

    def test(self, n: int) -> None:
        self.tests -= n
        if self.tests < 0:
            raise _OverBound(f"its wildcard patterns need more than {MAX_DELTA_TESTS:,} matches")

    def step(self, n: int) -> None:
        self.steps -= n
        if self.steps < 0:
            raise _OverBound(f"it needs more than {MAX_DELTA_STEPS:,} evaluation steps")


class _Values:
    """Strings of the universe with the bitset of the positions each holds, sorted, so that
    a glob is tested only on the values that start with its literal head (they are a run)."""

    def __init__(self, values: Iterable[tuple[str, int]]):
        self.bits: dict[str, int] = {}
        for value, position in values:
            self.bits[value] = self.bits.get(value, 0) | 1 << position
        self.sorted = sorted(self.bits)

    def matching(self, pattern: str, budget: _Budget) -> int:
        if not _wild(pattern):
            return self.bits.get(pattern, 0)
        head = pattern[:min(k for k in (pattern.find("*"), pattern.find("?")) if k >= 0)]
        out, k = 0, bisect.bisect_left(self.sorted, head)
        while k < len(self.sorted) and self.sorted[k].startswith(head):
            budget.test(1)
            if _matches(pattern, self.sorted[k]):
                out |= self.bits[self.sorted[k]]
            k += 1
        return out


def _principal_sets(entries: Iterable[str], principals: Sequence[str], budget: _Budget) -> dict[str, int]:
    """entry -> the bitset of `principals` it matches (as `_principal_matches`): an entry
    without `/` is matched against the principal's account, one with `/` against the
    principal itself (a literal `/` needs one there)."""
    named = [(p, i) for i, p in enumerate(principals) if p != ANYONE]
    accounts = _Values((p.split("/", 1)[0], i) for p, i in named)
    full = _Values((p, i) for p, i in named if "/" in p)
    anyone = 1 << principals.index(ANYONE) if ANYONE in principals else 0
    everyone = sum(1 << i for _, i in named)
    out: dict[str, int] = {}
    for e in entries:
        if e not in out:
            bits = anyone if all(_all_wild(part) for part in e.split("/")) else 0
            if _all_wild(e):
                bits |= everyone
            else:
                bits |= (full if "/" in e else accounts).matching(e, budget)
            out[e] = bits
    return out


def _resource_sets(entries: Iterable[str], resources: Sequence[str], budget: _Budget) -> dict[str, int]:
    """entry -> the bitset of `resources` it matches."""
    values = _Values((r, i) for i, r in enumerate(resources))
    out: dict[str, int] = {}
    for e in entries:
        if e not in out:
            out[e] = values.matching(e, budget)
    return out


_ACTION_SETS: dict[str, int] = {}


def _action_set(entry: str) -> int:
    bits = _ACTION_SETS.get(entry)
    if bits is None:
        bits = sum(1 << i for i, a in enumerate(ACTIONS) if _matches(entry, a, ignore_case=True))
        if len(_ACTION_SETS) < 4096:
            _ACTION_SETS[entry] = bits
    return bits


# A statement's kind: which of the four unions its resources go to.
_DENY, _ALLOW, _COND_DENY, _COND_ALLOW = range(4)


def _part_set(st: Mapping[str, Any], key: str, sets: Callable[[str], int], everything: int) -> int:
    """The set of a statement part (as `_part_matches`): the positive key's entries, minus
    the Not* key's; neither key: nothing."""
    positive, negative = key in st, f"Not{key}" in st
    if not positive and not negative:
        return 0
    entries = _principal_entries if key == "Principal" else _strings
    prep: Callable[[str], str] = (lambda e: e) if key == "Principal" else str.strip
    bits = 0
    if positive:
        for e in entries(st[key]):
            bits |= sets(prep(e))
    else:
        bits = everything
    if negative:
        for e in entries(st[f"Not{key}"]):
            bits &= ~sets(prep(e))
    return bits & everything


@dataclass(frozen=True)
class _Statement:
    kind: int
    principals: int
    actions: int
    resources: int
    found: tuple[int, Mapping[str, Any]]  # (index in Statement, statement): what a Decision names


def _compiled(doc: Any, principals: Sequence[str], resources: Sequence[str], budget: _Budget) -> list[_Statement]:
    """The document's statements that can match anything in the universe, as sets."""
    found = [(i, st, _effect(st)) for i, st in statements(doc)]
    found = [(i, st, effect) for i, st, effect in found if effect is not None]
    p_sets = _principal_sets((e for _, st, _ in found for k in ("Principal", "NotPrincipal")
                              for e in _principal_entries(st.get(k))), principals, budget)
    all_p, all_a, all_r = (1 << len(principals)) - 1, (1 << len(ACTIONS)) - 1, (1 << len(resources)) - 1
    live = []
    for i, st, effect in found:
        p = _part_set(st, "Principal", p_sets.__getitem__, all_p)
        a = _part_set(st, "Action", _action_set, all_a) if p else 0
        if p and a:
            live.append((i, st, effect, p, a))
    # only the resource patterns of statements that can still match are tested
    r_sets = _resource_sets((e.strip() for _, st, *_ in live for k in ("Resource", "NotResource")
                             for e in _strings(st.get(k))), resources, budget)
    out = []
    for i, st, effect, p, a in live:
        r = _part_set(st, "Resource", r_sets.__getitem__, all_r)
        if r:
            kind = (_COND_DENY if effect == "deny" else _COND_ALLOW) if _has_condition(st) else \
                (_DENY if effect == "deny" else _ALLOW)
            out.append(_Statement(kind, p, a, r, (i, st)))
    return out


def _levels(reach: list[list[int]]) -> list[tuple[int, int]]:
    """Per action, from the four unions: (resources at ALLOW, resources at CONDITIONAL)."""
    out = []
    for deny, allow, cond_deny, cond_allow in reach:
        out.append((allow & ~deny & ~cond_deny, ~deny & ((allow & cond_deny) | (cond_allow & ~allow))))
    return out


def _class_levels(compiled: list[_Statement], members: Iterable[int], budget: _Budget) -> list[tuple[int, int]]:
    reach = [[0, 0, 0, 0] for _ in ACTIONS]
    for s in (compiled[i] for i in members):
        budget.step(s.actions.bit_count())
        for a in _bits(s.actions):
            reach[a][s.kind] |= s.resources
    return _levels(reach)


# per action: the resource sets of (definite grant, conditional grant, revoke to nothing,
# revoke to conditional)
_Four = tuple[int, int, int, int]


def _masked(four: _Four, *masks: int) -> _Four:
    """Each set of `four` and'ed with one mask (the same one when a single mask is given)."""
    m = masks * 4 if len(masks) == 1 else masks
    return four[0] & m[0], four[1] & m[1], four[2] & m[2], four[3] & m[3]


def _delta_sets(before: Any, after: Any, principals: Sequence[str], resources: Sequence[str],
                budget: _Budget) -> list[list[_Four]]:
    """For each principal (in order), per action: the resource sets of (definite grant,
    conditional grant, revoke to nothing, revoke to conditional)."""
    docs = [_compiled(d, principals, resources, budget) for d in (before, after)]
    # statements that match every principal are the same for each class: summed once
    everyone = (1 << len(principals)) - 1
    shared = [[i for i, s in enumerate(c) if s.principals == everyone] for c in docs]
    signature: list[list[int]] = [[] for _ in principals]
    for d, c in enumerate(docs):
        for i, s in enumerate(c):
            if s.principals != everyone:
                budget.step(s.principals.bit_count())
                for p in _bits(s.principals):
                    signature[p].append(d << 32 | i)
    by_class: dict[tuple[int, ...], list[_Four]] = {}
    out = []
    for p in range(len(principals)):
        key = tuple(signature[p])
        if key not in by_class:
            was, now = ([*shared[d], *(k & 0xFFFFFFFF for k in key if k >> 32 == d)] for d in (0, 1))
            was_levels, now_levels = _class_levels(docs[0], was, budget), _class_levels(docs[1], now, budget)
            rows: list[_Four] = []
            for (was2, was1), (now2, now1) in zip(was_levels, now_levels, strict=True):
                up = (now2 & ~was2) | (now1 & ~was1 & ~was2)
                down = (was2 & ~now2) | (was1 & ~now1 & ~now2)
                rows.append((up & now2, up & now1, down & ~now1, down & now1))
            by_class[key] = rows
        out.append(by_class[key])
    return out


def _delta(before_doc: Any, after_doc: Any, region: str, account: str, bucket: str, indexes: Iterable[str],
           who: Sequence[str], budget: _Budget) -> list[AccessChange]:
    """The delta for the principals `who` (`*` first when it is there); raises _OverBound."""
    docs = [d for d in (before_doc, after_doc) if d is not None]
    universe = _universe(region, account, bucket, indexes, docs)
    # the resources in the order a delta lists them: the bucket, then each index name
    shown = list(dict.fromkeys(s for _, s, _ in universe))
    evaluated = {s: e for _, s, e in universe}
    resources = [evaluated[s] for s in shown]
    scope = [1 if ACTION_SCOPE[a] != "index" else ((1 << len(shown)) - 1) & ~1 for a in ACTIONS]
    sets = _delta_sets(before_doc, after_doc, who, resources, budget)
    kinds = (("grant", False), ("grant", True), ("revoke", False), ("revoke", True))
    anyone: list[_Four] | None = None
    total = 0
    rows: list[list[_Four]] = []
    for principal, per_action in zip(who, sets, strict=True):
        mine = [_masked(four, scope[a]) for a, four in enumerate(per_action)]
        if principal == ANYONE:
            anyone = mine
        elif anyone is not None:  # said once, for anyone: `* gains X` already tells that P gains X
            mine = [_masked(four, *(~o for o in other)) for four, other in zip(mine, anyone, strict=True)]
        total += sum(b.bit_count() for four in mine for b in four)
        if total > MAX_DELTA_CHANGES:
            raise _OverBound(f"it changes the access of more than {MAX_DELTA_CHANGES:,} "
                             "(principal, action, resource) triples")
        rows.append(mine)
    out: list[AccessChange] = []
    for principal, mine in zip(who, rows, strict=True):
        for first, second in ((0, 1), (2, 3)):  # grants, then revokes
            found = [(r, a, k) for a, four in enumerate(mine) for k in (first, second) for r in _bits(four[k])]
            found.sort()
            out += [AccessChange(principal, ACTIONS[a], shown[r], kinds[k][0], conditional=kinds[k][1])
                    for r, a, k in found]
    return out


def access_delta(
    before_doc: Mapping[str, Any] | None,
    after_doc: Mapping[str, Any] | None,
    region: str,
    account: str,
    bucket: str,
    indexes: Iterable[str] = (),
) -> list[AccessChange]:
    """The triples whose access level differs between the two documents (see the module
    docstring), ordered by principal (`*` first), grants before revokes, the bucket before
    its indexes, and actions in ACTIONS order.

    Raises AccessDeltaNotComputed when a bound is hit (a document far above the service's
    size limit, or one whose delta needs more than MAX_DELTA_* of work or lists more than
    MAX_DELTA_CHANGES triples); the error carries the rows for `*` when those alone fit."""
    indexes = list(indexes)
    if too_deep(before_doc) or too_deep(after_doc):
        raise AccessDeltaNotComputed(f"not computed: the policy nests more than {MAX_DEPTH} levels deep; "
                                     f"{PUBLIC_UNKNOWN}")
    for doc in (before_doc, after_doc):
        if too_big(doc):  # the guard reads such a document by its statements alone (`public_statements`)
            raise AccessDeltaNotComputed(f"not computed: the policy is {len(_canonical(doc)):,} characters, far "
                                         f"above the {SERVICE_POLICY_LIMIT:,} the service holds")
    try:
        return _delta(before_doc, after_doc, region, account, bucket, indexes,
                      named_principals(*[d for d in (before_doc, after_doc) if d is not None]),
                      _Budget(MAX_DELTA_TESTS, MAX_DELTA_STEPS))
    except _OverBound as e:
        reason = e.reason
    try:
        anyone = tuple(_delta(before_doc, after_doc, region, account, bucket, indexes, [ANYONE],
                              _Budget(MAX_DELTA_TESTS, MAX_DELTA_STEPS)))
    except _OverBound:  # grants_public hits the same bound, and fails safe
        raise AccessDeltaNotComputed(f"not computed: {reason}; {PUBLIC_UNKNOWN}") from None
    raise AccessDeltaNotComputed(f"not computed for the principals the policy names: {reason}; what anyone (*) "
                                 "gains or loses is listed", anyone)


# Said by a delta that could not even tell what anyone (`*`) gains: `grants_public` then
# answers True, so the plan marks the change public (`Change.public`) as apply will judge it.
PUBLIC_UNKNOWN = "whether it opens access to anyone is unknown, so apply asks for --allow-public-access"


def grants_public(
    before_doc: Mapping[str, Any] | None,
    after_doc: Mapping[str, Any] | None,
    region: str,
    account: str,
    bucket: str,
    indexes: Iterable[str] = (),
) -> bool:
    """Whether going from `before_doc` to `after_doc` gives anyone (`*`) any access it did not
    have, a conditional grant included, or adds a public statement (`new_public_statements`:
    this half needs no region, account or index names). More `indexes` can only find more.
    Fails safe: when the evaluation is past its bounds, the answer is True (consent needed)."""
    if new_public_statements(before_doc, after_doc, bucket):
        return True
    if too_deep(before_doc) or too_deep(after_doc):
        return True  # not readable here: consent is asked rather than a grant missed
    if too_big(before_doc) or too_big(after_doc):
        return False  # every wildcard Allow of it was public above: the evaluator adds nothing
    try:
        rows = _delta(before_doc, after_doc, region, account, bucket, list(indexes), [ANYONE],
                      _Budget(MAX_DELTA_TESTS, MAX_DELTA_STEPS))
    except _OverBound:
        return True
    return any(c.change == "grant" for c in rows)


# --- the public-statement check (the guard's sound half) -----------------------------------
#
# The evaluator above answers for the names it tries; a policy can be written to fool any
# finite set of names. So the guard also reads each statement itself: an Allow is *public*
# when its principal can match someone nobody named (`*`, or any entry with a wildcard:
# `?*`, `2*`, `*/ci`), it names some tosvectors action, and its resource could name this
# bucket or one of its indexes in ANY region and account, compared case-insensitively (a
# forged or odd-cased region cannot hide it), unless one unconditional Deny of the same
# document plainly covers it (see `_deny_covers`). Anything cleverer counts as public.

_MAX_GLOB = 4096  # longer patterns are counted as matching (never a reason to miss a grant)
# A document the service could hold is at most 20 KiB; a bigger one (a forged plan file) is
# read coarsely, so the work stays bounded: every Allow to a wildcard principal is public.
_MAX_DOCUMENT = 64 * 1024


# The service's policy size limit (the reference gives none; the emulator enforces AWS's).
SERVICE_POLICY_LIMIT = 20 * 1024
def too_big(document: Any) -> bool:
    """Whether the document is far above what the service holds (a forged plan file), or
    nests too deep to read: it is then read coarsely, and not evaluated triple by triple."""
    return too_deep(document) or len(_canonical(document)) > _MAX_DOCUMENT


_too_big = too_big


# A template token: a literal character, or a run (possibly empty) of characters that pass
# the test. Region and account are runs without `:` or `/`, an index name a run of the
# characters index names may hold: what a real TRN of the bucket can be.
_SEGMENT: Callable[[str], bool] = lambda ch: ch not in ":/"  # noqa: E731
_INDEX_CHAR: Callable[[str], bool] = lambda ch: ch in INDEX_NAME.chars  # noqa: E731


def _bucket_templates(bucket: str) -> list[list[Any]]:
    head: list[Any] = [*"trn:tosvectors:", _SEGMENT, ":", _SEGMENT, *f":bucket/{bucket}".lower()]
    return [head, [*head, *"/index/", _INDEX_CHAR]]


def _glob_meets(pattern: str, template: list[Any]) -> bool:
    """Whether some string matches both the glob `pattern` (`*`, `?`; compared in lower
    case) and the template; patterns longer than _MAX_GLOB count as meeting it."""
    if len(pattern) > _MAX_GLOB:
        return True
    p, t = pattern.lower(), template
    n, m = len(p), len(t)
    # f[i][j]: do p[i:] and t[j:] have a common string? Filled from the ends, one row at a time.
    nxt = [False] * (m + 1)
    nxt[m] = True
    for j in range(m - 1, -1, -1):
        nxt[j] = callable(t[j]) and nxt[j + 1]
    for i in range(n - 1, -1, -1):
        row = [False] * (m + 1)
        row[m] = p[i] == "*" and nxt[m]
        for j in range(m - 1, -1, -1):
            tok = t[j]
            if p[i] == "*":
                row[j] = nxt[j] or row[j + 1]  # the star stops here, or takes what t[j] gives
            elif callable(tok):  # the run stops here, or takes p[i]
                row[j] = row[j + 1] or ((p[i] == "?" or tok(p[i])) and nxt[j])
            else:
                row[j] = p[i] in ("?", tok) and nxt[j + 1]
        nxt = row
    return nxt[0]


def _wild(entry: str) -> bool:
    return "*" in entry or "?" in entry


def _touches_bucket(resource: str, bucket: str) -> bool:
    return any(_glob_meets(resource.strip(), t) for t in _bucket_templates(bucket))


def _is_public_allow(st: Mapping[str, Any], bucket: str, big: bool = False) -> bool:
    if _effect(st) != "allow":
        return False
    if big:  # bounded work: only the principal is read
        return "NotPrincipal" in st or any(_wild(p) for p in _principal_entries(st.get("Principal")))
    return (("NotPrincipal" in st or any(_wild(p) for p in _principal_entries(st.get("Principal"))))
            and ("NotAction" in st or any(_matches(e.strip(), a, ignore_case=True)
                                          for e in _strings(st.get("Action")) for a in ACTIONS))
            and ("NotResource" in st or any(_touches_bucket(r, bucket) for r in _strings(st.get("Resource")))))


def _covers(deny: str, allow: str, ignore_case: bool) -> bool:
    """Conservatively: the Deny entry matches everything the Allow entry does (equal, all
    `*`, or `LITERAL*` where the Allow entry starts with LITERAL)."""
    if ignore_case:
        deny, allow = deny.lower(), allow.lower()
    if deny == allow or _all_wild(deny):
        return True
    return deny.endswith("*") and not _wild(deny[:-1]) and allow.startswith(deny[:-1])


def _deny_covers(deny: Mapping[str, Any], allow: Mapping[str, Any]) -> bool:
    if _effect(deny) != "deny" or _has_condition(deny) or any(f"Not{k}" in deny for k in ("Principal", "Action",
                                                                                          "Resource")):
        return False
    if not any(_all_wild(p) for p in _principal_entries(deny.get("Principal"))):
        return False
    for key, ignore_case in (("Action", True), ("Resource", False)):
        denied = [d.strip() for d in _strings(deny.get(key))]
        if f"Not{key}" in allow:
            if not any(_all_wild(d) for d in denied):
                return False
        elif not all(any(_covers(d, a.strip(), ignore_case) for d in denied) for a in _strings(allow.get(key))):
            return False
    return True


def public_statements(document: Any, bucket: str) -> dict[str, int]:
    """The document's public Allow statements (see above) that no Deny of it covers:
    canonical JSON of the statement -> its index in Statement."""
    found = statements(document)
    big = _too_big(document)
    denies = [] if big else [st for _, st in found if _effect(st) == "deny"]
    out: dict[str, int] = {}
    for i, st in found:
        if _is_public_allow(st, bucket, big) and not any(_deny_covers(d, st) for d in denies):
            out.setdefault(_canonical(st), i)
    return out


def _subsumes(wide: Mapping[str, Any], narrow: Mapping[str, Any]) -> bool:
    """Conservatively: every request `narrow` allows, `wide` allowed already (each entry of
    `narrow` covered by one of `wide`; Not* parts and a Condition of `wide` must be equal)."""
    if _has_condition(wide) and _canonical(wide.get("Condition")) != _canonical(narrow.get("Condition")):
        return False
    for key, ignore_case in (("Principal", False), ("Action", True), ("Resource", False)):
        if f"Not{key}" in wide or f"Not{key}" in narrow:
            if any(_canonical(wide.get(k)) != _canonical(narrow.get(k)) for k in (key, f"Not{key}")):
                return False
            continue
        entries = _principal_entries if key == "Principal" else _strings
        have = [e.strip() for e in entries(wide.get(key))]
        if not all(any(_covers(w, n.strip(), ignore_case) for w in have) for n in entries(narrow.get(key))):
            return False
    return True


def _canonical(value: Any) -> str:
    """Canonical JSON; a value nested too deep to serialize is equal to nothing but itself
    (so it is never taken as covered by another statement)."""
    if too_deep(value):
        return f"<nested too deep: {id(value)}>"
    return json.dumps(value, sort_keys=True, default=str)


def new_public_statements(before_doc: Any, after_doc: Any, bucket: str) -> list[int]:
    """Indexes (in the after-document's Statement) of the public statements it has that no
    public statement of the before-document already allowed (`_subsumes`): each grants
    principals nobody named something they may not have had."""
    if _too_big(before_doc) or _too_big(after_doc):
        return sorted(public_statements(after_doc, bucket).values())
    found = dict(statements(after_doc))
    public_before = set(public_statements(before_doc, bucket).values())
    before = [st for i, st in statements(before_doc) if i in public_before]
    return sorted(i for i in public_statements(after_doc, bucket).values()
                  if not any(_subsumes(b, found[i]) for b in before))


def resource_label(resource: str) -> str:
    """How people read a delta's resource: `bucket/B`, `index/I`, `index/docs-*`, or
    `any other index` for `index/*` (printable: see `printable`)."""
    head, sep, name = resource.partition("/index/")
    if sep:
        return "any other index" if name == ANY_OTHER_INDEX else printable(f"index/{name}")
    _, _, path = head.rpartition(":")
    return printable(path or resource)


def principal_label(principal: str) -> str:
    """`* (anyone)` for `*`, else the principal (printable: see `printable`)."""
    return "* (anyone)" if principal == ANYONE else printable(principal)


# --- who may do what, from a declared policy (`reconciler access`) -----------------------------


@dataclass(frozen=True)
class ResourceAccess:
    """One row group of the access matrix: a resource and, per principal and applicable
    action, the Decision the policy gives."""

    resource: str  # the TRN; `.../index/*` is any other index
    actions: tuple[str, ...]
    decisions: dict[str, dict[str, Decision]]  # principal -> action -> decision


@dataclass(frozen=True)
class BucketAccess:
    """A declared bucket's access matrix: what `reconciler access` shows for it."""

    name: str
    policy_declared: bool
    resources: tuple[ResourceAccess, ...]  # the bucket, each declared index, any other index


def access_matrix(
    document: Mapping[str, Any] | None,
    region: str,
    account: str,
    bucket: str,
    indexes: Sequence[str],
    principals: Sequence[str] | None = None,
) -> list[ResourceAccess]:
    """The bucket (with the bucket and region actions), each index, then any other index
    (with the index actions); for `principals`, else `*` and every principal the policy names."""
    who = [normalize_principal(p) for p in principals] if principals else named_principals(document)
    rows = [(bucket_trn(region, account, bucket), tuple(a for a in ACTIONS if ACTION_SCOPE[a] != "index"))]
    index_actions = tuple(a for a in ACTIONS if ACTION_SCOPE[a] == "index")
    other = _other_index({*indexes, *_named_index_parts(region, account, bucket, [document])})
    rows += [(index_trn(region, account, bucket, i), index_actions) for i in [*indexes, ANY_OTHER_INDEX]]
    evaluated = [trn if not trn.endswith("/index/" + ANY_OTHER_INDEX) else index_trn(region, account, bucket, other)
                 for trn, _ in rows]
    # The same answers as `evaluate` cell by cell (tests/access/test_matrix_reference.py),
    # computed with the delta's sets: each class of principals once per action, and per
    # resource the first statement of each kind (the one a Decision names).
    unique = list(dict.fromkeys(who))
    compiled = _compiled(document, unique, evaluated, _Budget(10**12, 10**12))  # a declared policy: no bound
    everyone = (1 << len(unique)) - 1
    by_class: dict[tuple[int, ...], list[dict[int, Decision]]] = {}
    per_principal: dict[str, list[dict[int, Decision]]] = {}
    for p, principal in enumerate(unique):
        key = tuple(k for k, s in enumerate(compiled) if s.principals != everyone and s.principals >> p & 1)
        if key not in by_class:
            mine = [s for k, s in enumerate(compiled) if s.principals == everyone or k in key]
            by_class[key] = [_first_decisions(mine, a, len(evaluated)) for a in range(len(ACTIONS))]
        per_principal[principal] = by_class[key]
    rank = {a: i for i, a in enumerate(ACTIONS)}
    return [ResourceAccess(trn, actions, {p: {a: per_principal[p][rank[a]][r] for a in actions} for p in who})
            for r, (trn, actions) in enumerate(rows)]


_NOTHING = Decision(Verdict.NOT_GRANTED, None, None)


def _first_decisions(compiled: list[_Statement], action: int, resources: int) -> dict[int, Decision]:
    """resource -> the Decision `evaluate` gives for one action, from the statements (in
    document order) of one class of principals: the first of each kind that matches."""
    first: list[dict[int, _Statement]] = [{}, {}, {}, {}]
    remaining = [(1 << resources) - 1] * 4
    for s in compiled:
        if s.actions >> action & 1:
            hit = s.resources & remaining[s.kind]
            if hit:
                remaining[s.kind] &= ~hit
                for r in _bits(hit):
                    first[s.kind][r] = s
    out: dict[int, Decision] = {}
    for r in range(resources):
        if r in first[_DENY]:
            out[r] = _decision(Verdict.DENY, first[_DENY][r].found)
        elif r in first[_ALLOW]:
            cond_deny = first[_COND_DENY].get(r)
            out[r] = (_decision(Verdict.CONDITIONAL, cond_deny.found) if cond_deny
                      else _decision(Verdict.ALLOW, first[_ALLOW][r].found))
        elif r in first[_COND_ALLOW]:
            out[r] = _decision(Verdict.CONDITIONAL, first[_COND_ALLOW][r].found)
        else:
            out[r] = _NOTHING
    return out


def resource_accounts(document: Any) -> set[str]:
    """The accounts the document's tosvectors TRNs name (wildcards left out)."""
    out = set()
    for _, st in statements(document):
        for key in ("Resource", "NotResource"):
            for r in _strings(st.get(key)):
                parts = r.strip().split(":", 4)  # trn:tosvectors:REGION:ACCOUNT:PATH
                if len(parts) == 5 and parts[0] == "trn" and parts[3] and not set("*?") & set(parts[3]):
                    out.add(parts[3])
    return out
