"""`accessTests`: each test asks the evaluator (reconciler.rules.access) about the declared policy.

No API call: the verdict comes from the document the manifest declares, as `validate`
sees it. Rules:

- `expect: allow` passes only on an unconditional Allow; `expect: deny` passes on a Deny
  and on "not granted" (an implicit deny). A grant under a `Condition` fails both: the
  answer depends on the request, and a test that says "deny" must not pass when it might
  be allowed.
- A bucket that declares no policy (leaving the live one unmanaged) is tested against
  no policy at all: nothing is granted, so `allow` fails and `deny` passes.
- The resource is `trn:tosvectors:REGION:ACCOUNT:bucket/B[/index/I]`. REGION is the
  manifest's region, else TOS_REGION, else cn-beijing; ACCOUNT is the manifest's
  account, else TOS_ACCOUNT_ID, else the one account the policy's Resources name (a
  policy whose Resources name no account matches every account alike). A policy that
  names several accounts and no account setting: the tests cannot run, which is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.manifest.model import AccessTest
from reconciler.rules.access import ACTION_SCOPE, Decision, Verdict, evaluate, resource_for

DEFAULT_REGION = "cn-beijing"
_PLACEHOLDER_ACCOUNT = "0"  # any digits: used only when no Resource names an account


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def named_accounts(policy: Mapping[str, Any] | None) -> set[str]:
    """Accounts written literally (no wildcard) in the Resource / NotResource TRNs."""
    if not isinstance(policy, Mapping):
        return set()
    raw = policy.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    out: set[str] = set()
    for st in statements:
        if not isinstance(st, dict):
            continue
        for trn in _strings(st.get("Resource")) + _strings(st.get("NotResource")):
            parts = trn.split(":", 4)
            if len(parts) == 5 and parts[0] == "trn" and parts[3] and not any(c in parts[3] for c in "*?["):
                out.add(parts[3])
    return out


def resource_account(policy: Mapping[str, Any] | None, account: str | None) -> str | None:
    """The account the tests' resources belong to; None when it cannot be decided."""
    if account:
        return account
    named = named_accounts(policy)
    if len(named) > 1:
        return None
    return next(iter(named), _PLACEHOLDER_ACCOUNT)


Locate = Callable[[int], str | None]  # statement index -> "file:line:col" of that statement


def _where(decision: Decision, locate: Locate | None) -> str:
    if decision.statement is None:
        return ""
    at = locate(decision.statement) if locate is not None else None
    sid = f", Sid {decision.sid}" if decision.sid else ""
    return f" (Statement[{decision.statement}]{f' at {at}' if at else ''}{sid})"


def _outcome(decision: Decision, has_policy: bool, locate: Locate | None) -> str:
    if decision.verdict is Verdict.ALLOW:
        return "the policy allows it" + _where(decision, locate)
    if decision.verdict is Verdict.DENY:
        return "the policy denies it" + _where(decision, locate)
    if decision.verdict is Verdict.CONDITIONAL:  # a conditional Allow, or a conditional Deny over an Allow
        return "the policy decides it only under a Condition" + _where(decision, locate)
    if not has_policy:
        return "the bucket declares no policy, so nothing is granted"
    return "no statement of the policy grants it"


def passes(test: AccessTest, decision: Decision) -> bool:
    if test.expect == "allow":
        return decision.verdict is Verdict.ALLOW
    return decision.verdict in (Verdict.DENY, Verdict.NOT_GRANTED)


def test_problem(test: AccessTest) -> str | None:
    """Why a test cannot ask its question, or None."""
    scope = ACTION_SCOPE.get(test.action)
    if test.index and scope == "bucket":
        return (f"access test: {test.action} acts on the bucket, not on an index: "
                f"leave out 'index' (or test an index action)")
    return None


def failures(tests: Sequence[AccessTest], policy: Mapping[str, Any] | None, bucket: str,
             account: str | None, region: str | None,
             locate: Locate | None = None) -> list[tuple[AccessTest, str]]:
    """(test, message) for every test that fails, or that cannot run. Never raises."""
    acct = resource_account(policy, account)
    if acct is None:
        named = ", ".join(sorted(named_accounts(policy)))
        return [(t, f"access test cannot run: the policy's Resources name several accounts ({named}); "
                    f"set the manifest's account (or TOS_ACCOUNT_ID) to say which one owns bucket {bucket!r}")
                for t in tests]
    reg = region or DEFAULT_REGION
    out: list[tuple[AccessTest, str]] = []
    for t in tests:
        problem = test_problem(t)
        if problem:
            out.append((t, problem))
            continue
        resource = resource_for(reg, acct, bucket, t.action, t.index)
        decision = evaluate(policy, t.principal, t.action, resource)
        if not passes(t, decision):
            on = f"index/{t.index}" if t.index else f"bucket/{bucket}"
            out.append((t, f"access test failed: {t.principal} {t.action} on {on}: expected {t.expect}, "
                           f"but {_outcome(decision, policy is not None, locate)}"))
    return out
