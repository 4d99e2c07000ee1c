"""`serve --user AK:SK:PRINCIPAL`: identities besides the owner, held to bucket policies.

A request signed with a --user key is allowed only as the target bucket's stored policy
allows (README.md, "Emulator enforcement"), decided by `reconciler.rules.access.evaluate`,
the same evaluator the plan and `validate` use:

- principal: the PRINCIPAL of --user (`ACCOUNT/NAME` or `ACCOUNT`);
- action: `tosvectors:<Action>` of the request path;
- resource: `trn:tosvectors:REGION:ACCOUNT:bucket/B` for bucket actions, and
  `.../bucket/B/index/I` for the actions that name an index (its `indexName`), with the
  region of the emulator and the account of the Host header;
- region actions (CreateVectorBucket, ListVectorBuckets) have no bucket, hence no
  policy: always denied. A bucket that does not exist has no policy: denied too (403,
  not 404, so a user cannot probe for names it may not see).
- A grant under a `Condition` is not a grant here: the emulator evaluates no
  conditions, so it answers as the service would for a condition that does not hold.

The owner's key may do everything. The check runs before the body is validated in
detail, so a caller without access learns nothing from 400 messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import (
    AccessDeniedException,
    VectorBucketNotFound,
    VectorBucketPolicyNotFound,
)
from reconciler.emulator.store import Store
from reconciler.rules.access import ACTION_SCOPE, Verdict, bucket_trn, evaluate, index_trn
from reconciler.rules.policy import too_wild

MAX_NAME = 63  # the longest index name (README "Wire protocol" §0)
READ_VECTORS = "tosvectors:GetVectors"  # what reading vector data or metadata needs, whatever the action


@dataclass(frozen=True)
class User:
    """One --user identity. `repr` leaves out the secret key."""

    access_key: str
    secret_key: str
    principal: str

    def __repr__(self) -> str:
        return f"User(access_key={self.access_key!r}, principal={self.principal!r})"


def principal_problem(principal: str) -> str | None:
    """Why PRINCIPAL is not `ACCOUNT` or `ACCOUNT/NAME`, or None."""
    account, slash, name = principal.partition("/")
    if not account.isdigit() or not account.isascii():
        return f"the principal must be ACCOUNT or ACCOUNT/NAME with ACCOUNT digits, got {principal!r}"
    if slash and (not name or "*" in name or "/" in name or not name.isprintable() or " " in name):
        return f"the principal's NAME must be a non-empty name without '*', '/' or spaces, got {principal!r}"
    return None


def parse_user(text: str) -> User:
    """`AK:SK:PRINCIPAL` -> User; ValueError with a message that never contains the SK.

    The access key and the principal contain no ':', so a secret key may.
    """
    access_key, _, rest = text.partition(":")
    secret_key, colon, principal = rest.rpartition(":")
    if not access_key or not colon or not secret_key or not principal:
        raise ValueError("expected AK:SK:PRINCIPAL, e.g. AKCI:ci-secret:2100000001/ci-bot")
    problem = principal_problem(principal)
    if problem:
        raise ValueError(problem)
    return User(access_key, secret_key, principal)


def _policy(store: Store, account: str, bucket: str) -> dict[str, Any] | None:
    try:
        text = store.get_policy(account, bucket)
    except (VectorBucketNotFound, VectorBucketPolicyNotFound):
        return None
    try:
        document = json.loads(text)
    except ValueError:  # stored as given; a document that is not JSON grants nothing
        return None
    return document if isinstance(document, dict) else None


def resource_of(action: str, region: str, account: str, bucket: str, body: Mapping[str, Any]) -> str:
    """The TRN a bucket-scoped request acts on."""
    index = body.get("indexName")
    if ACTION_SCOPE.get(f"tosvectors:{action}") == "index" and isinstance(index, str) and index:
        # Names are at most 63 characters; a longer one is a 400 once allowed. Cut, it stays
        # invalid, and glob matching never runs over megabytes a caller chose.
        return index_trn(region, account, bucket, index[:MAX_NAME + 1])
    return bucket_trn(region, account, bucket)


def authorize(user: User, action: str, *, region: str, account: str | None, bucket: str | None,
              body: Mapping[str, Any], store: Store) -> bool:
    """Raise AccessDeniedException unless `user` may do `action` (a path name, e.g. GetIndex).

    Returns whether the answer may carry vector data: QueryVectors hits carry their `data`
    (README "Wire protocol" §0), and reading data needs tosvectors:GetVectors whatever the action; a
    plain query by a principal without it is answered, as in AWS S3 Vectors, with keys
    (and distances) only."""
    qualified = f"tosvectors:{action}"
    if ACTION_SCOPE.get(qualified) == "region" or account is None or bucket is None:
        raise AccessDeniedException(f"{user.principal} is not allowed to perform {qualified}: "
                                    f"region actions are for the account owner only")
    resource = resource_of(action, region, account, bucket, body)
    policy = _policy(store, account, bucket)
    unsafe = too_wild(policy)
    if unsafe:  # the evaluator's regexes would hold the event loop for minutes
        raise AccessDeniedException(f"{user.principal} is not allowed to perform {qualified} on {resource}: "
                                    f"the bucket policy is not evaluated ({unsafe})")
    needed = required_actions(action, body)
    for one in needed:
        _require(user, policy, one, resource)
    if action == "QueryVectors" and READ_VECTORS not in needed:  # else required, and allowed just now
        return evaluate(policy, user.principal, READ_VECTORS, resource).verdict is Verdict.ALLOW
    return True


def _asks(body: Mapping[str, Any], flag: str) -> bool:
    """Whether a request sets `flag`: anything but absent or false counts (a `1` or `"yes"`
    is a 400 later, and must not reach validation without the grant it would need)."""
    value = body.get(flag)
    return value is not None and value is not False


def required_actions(action: str, body: Mapping[str, Any]) -> list[str]:
    """The actions a request needs. Reading vector data or metadata needs
    tosvectors:GetVectors whatever the action (README.md, "Emulator enforcement"), as in
    AWS S3 Vectors: a QueryVectors that filters on metadata (a filter reveals metadata by
    probing) or returns it, and a ListVectors with returnData or returnMetadata, need it too
    (what the policy linter warns about)."""
    needed = [f"tosvectors:{action}"]
    if action == "QueryVectors" and (_asks(body, "returnMetadata") or body.get("filter") is not None):
        needed.append(READ_VECTORS)
    elif action == "ListVectors" and (_asks(body, "returnData") or _asks(body, "returnMetadata")):
        needed.append(READ_VECTORS)
    return needed


def _require(user: User, policy: dict[str, Any] | None, qualified: str, resource: str) -> None:
    decision = evaluate(policy, user.principal, qualified, resource)
    if decision.verdict is Verdict.ALLOW:
        return
    if policy is None:
        why = "no bucket policy grants it"
    elif decision.verdict is Verdict.CONDITIONAL:
        why = f"{decision.describe()}, and the emulator evaluates no conditions"
    else:
        why = decision.describe()
    raise AccessDeniedException(f"{user.principal} is not allowed to perform {qualified} on {resource}: {why}")
