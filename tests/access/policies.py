"""Generated bucket policies of the sizes the access delta must handle (tests and
tests/bench/bench_access.py share them).

`tenant_policy(n)`: the multi-tenant shape of issue 17, one statement per tenant account
(`Principal: ["21000000NN"]`, `Action: "tosvectors:*"`, `Resource: .../index/iNN*`); 140
of them are about 20 KB, as the policy that made `plan` take 82-115 s. `at_limit` grows a
shape until one more statement would pass the service's 20,480 characters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

SERVICE_POLICY_LIMIT = 20 * 1024  # the service holds no longer policy text (the emulator enforces it)

ACCOUNT, REGION = "2100000000", "cn-beijing"


def text(doc: Any) -> str:
    """The policy text as a manifest or the CLI sends it (compact JSON)."""
    return json.dumps(doc, separators=(",", ":"))


def tenant_statement(i: int, bucket: str, action: Any = "tosvectors:*") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": [str(int(ACCOUNT) + i)], "Action": action,
            "Resource": f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{bucket}/index/i{i:02d}*"}


def tenant_policy(n: int, bucket: str = "tnt") -> dict[str, Any]:
    return {"Version": "2025-12-01", "Statement": [tenant_statement(i, bucket) for i in range(1, n + 1)]}


def user_statement(i: int, bucket: str) -> dict[str, Any]:
    """Another common shape: named users of the account, each on a few actions and indexes,
    and a Deny now and then."""
    effect = "Deny" if i % 7 == 0 else "Allow"
    return {"Effect": effect, "Principal": [f"{ACCOUNT}/user-{i:03d}", f"{int(ACCOUNT) + i % 13}"],
            "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors", "tosvectors:List*"],
            "Resource": [f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{bucket}/index/team-{i % 17:02d}-*",
                         f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{bucket}"]}


def at_limit(statement: Callable[[int, str], dict[str, Any]], bucket: str = "tnt",
             limit: int = SERVICE_POLICY_LIMIT) -> dict[str, Any]:
    """As many `statement(i, bucket)` as fit in `limit` characters of compact JSON."""
    doc: dict[str, Any] = {"Version": "2025-12-01", "Statement": []}
    size = len(text(doc))
    i = 1
    while True:
        st = statement(i, bucket)
        grown = size + len(text(st)) + (1 if doc["Statement"] else 0)
        if grown > limit:
            return doc
        doc["Statement"].append(st)
        size, i = grown, i + 1


def with_action(doc: dict[str, Any], k: int, action: Any) -> dict[str, Any]:
    """A copy of `doc` whose statement k has another Action: a one-statement edit."""
    out = json.loads(json.dumps(doc))
    out["Statement"][k]["Action"] = action
    return out
