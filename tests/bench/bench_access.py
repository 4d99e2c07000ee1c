"""Benchmark: what the access delta costs, on the estate and on policies up to the service's
size limit, each figure with a ratio against a baseline measured in the same run.

    python tests/bench/bench_access.py [--buckets 50] [--per-bucket 100] [--repeat 5]
                                       [--principals 200] [--cli] [--before REV]

Not a test (pytest ignores tests/bench). Sections:

  planning    planner.build_plan on the bench estate with every policy changed (one update
              per bucket, each delta over the bucket's PER_BUCKET indexes), against the same
              build_plan with the delta step replaced by the identity;
  big policy  access.access_delta of a live policy naming PRINCIPALS principals, one
              statement each, on a bucket of PER_BUCKET indexes, against evaluating that
              policy once per (principal, action, index) it covers (the plain loop);
  sizes       issue 17: the 140-statement multi-tenant policy (about 20 KB; `plan` took
              82-115 s), policies at the service's 20,480-character limit, and past the
              bounds (a 1 MB document, a wildcard worst case, a delta of more than 50,000
              triples), each a one-statement edit or a create. The baseline is
              `policies_equal` of the same two documents: the comparison every plan makes
              anyway. The goal: every policy up to the limit under 1 s; past a bound, the
              answer "not computed" in well under 1 s too;
  --cli       `reconciler plan` (a whole process) against `reconciler serve` with the
              140-statement policy live and a manifest that edits one statement, against
              the same plan with the live policy in sync (no delta to compute);
  --before REV  the delta of the tenant policy at 10, 20, 40 and 80 statements with
              reconciler/rules/access.py as it was at git revision REV (e.g. 06ac2a8, before
              issue 17), next to today's: the growth the issue reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, REGION, in_memory, machine, median, table  # noqa: E402

from reconciler.plan import build as planner  # noqa: E402
from reconciler.plan.model import Target  # noqa: E402
from reconciler.rules.access import (  # noqa: E402
    ACTIONS,
    AccessDeltaNotComputed,
    access_delta,
    evaluate,
    grants_public,
    index_trn,
)
from reconciler.rules.policy import policies_equal  # noqa: E402
from tests.access.policies import at_limit, tenant_policy, tenant_statement, text, user_statement, with_action  # noqa: E402

TARGET = Target("embedded:bench", REGION, ACCOUNT, embedded=True)
REPO = Path(__file__).resolve().parents[2]


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples)


def big_policy(principals: int) -> dict[str, Any]:
    return {"Version": "2025-12-01", "Statement": [
        {"Sid": f"S{p}", "Effect": "Allow", "Principal": [f"2100000001/user-{p:04d}"],
         "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors"],
         "Resource": [f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/big/index/*"]} for p in range(principals)]}


def delta_outcome(before: Any, after: Any, indexes: list[str], delta: Callable[..., Any] = access_delta) -> str:
    try:
        return f"{len(delta(before, after, REGION, ACCOUNT, 'tnt', indexes)):,} changes"
    except AccessDeltaNotComputed as e:
        return "not computed" + (" (rows for * kept)" if e.anyone is not None else "")


def size_cases() -> list[tuple[str, Any, Any, list[str]]]:
    tnt = f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/tnt"
    tenants = tenant_policy(140)
    limit_tenants, limit_users = at_limit(tenant_statement), at_limit(user_statement)
    huge = tenant_policy(140)
    huge["Statement"] *= 51
    wild_deny = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "tosvectors:GetIndex", "Resource": f"{tnt}/index/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "tosvectors:GetIndex", "Resource": [f"*{i:03d}"
                                                                                           for i in range(2500)]}]}
    many = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [f"{ACCOUNT}/u{i:03d}" for i in range(900)], "Action": "tosvectors:*",
        "Resource": [tnt, *(f"{tnt}/index/{p}*" for p in "abcdefgh")]}]}
    live = [f"i{i:02d}" for i in range(1, 141)]
    return [
        ("140 tenants, one statement edited", tenants, with_action(tenants, 4, "tosvectors:Get*"), []),
        ("140 tenants, edited, 140 live indexes", tenants, with_action(tenants, 4, "tosvectors:Get*"), live),
        ("140 tenants, created", None, tenants, live),
        (f"tenants at the limit ({len(limit_tenants['Statement'])}), edited", limit_tenants,
         with_action(limit_tenants, 4, "tosvectors:Get*"), live),
        (f"users at the limit ({len(limit_users['Statement'])}), edited", limit_users,
         with_action(limit_users, 4, "tosvectors:Get*"), [f"team-{i:02d}-x" for i in range(17)]),
        ("1 MB (bound: size)", huge, with_action(huge, 4, "tosvectors:Get*"), live),
        ("2,500 leading-* patterns, 1,000 indexes (bound: matches)", wild_deny,
         {"Statement": wild_deny["Statement"][:1]}, [f"i{i:03d}" for i in range(1000)]),
        ("900 users x 9 resources, created (bound: triples)", None, many, []),
    ]


def sizes(repeat: int) -> None:
    rows = []
    for label, before, after, indexes in size_cases():
        chars = max(len(text(d)) for d in (before, after) if d is not None)
        outcome = delta_outcome(before, after, indexes)
        delta_s = best_of(lambda b=before, a=after, i=indexes: delta_outcome(b, a, i), repeat)
        public_s = best_of(lambda b=before, a=after, i=indexes: grants_public(b, a, REGION, ACCOUNT, "tnt", i), repeat)
        base = best_of(lambda b=before, a=after: policies_equal(b or {}, a or {}), repeat)
        rows.append([label, f"{chars:,}", outcome, f"{delta_s:.3f}", f"{public_s:.3f}", f"{base:.4f}",
                     f"{delta_s / base:.0f}x"])
    print(f"\nsizes: access_delta and grants_public (median of {repeat}), baseline policies_equal of the same "
          "documents")
    print(table(["policy", "chars", "delta", "delta s", "public s", "baseline s", "delta/baseline"], rows))


def old_access(rev: str) -> Any:
    """reconciler/rules/access.py as it was at `rev`, loaded as a module of its own."""
    source = subprocess.run(["git", "show", f"{rev}:reconciler/rules/access.py"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "access_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("access_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["access_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def before_and_after(rev: str) -> None:
    old = old_access(rev)
    rows = []
    for n in (10, 20, 40, 80):
        doc = tenant_policy(n)
        edited = with_action(doc, 4, "tosvectors:Get*")
        then = best_of(lambda d=doc, e=edited: old.access_delta(d, e, REGION, ACCOUNT, "tnt", []), 1)
        now = best_of(lambda d=doc, e=edited: access_delta(d, e, REGION, ACCOUNT, "tnt", []), 3)
        same = ([c.to_dict() for c in old.access_delta(doc, edited, REGION, ACCOUNT, "tnt", [])]
                == [c.to_dict() for c in access_delta(doc, edited, REGION, ACCOUNT, "tnt", [])])
        rows.append([n, f"{len(text(doc)):,}", f"{then:.3f}", f"{now:.4f}", f"{then / now:.0f}x",
                     "yes" if same else "NO"])
    print(f"\nbefore ({rev}) and now: access_delta of the tenant policy, one statement edited")
    print(table(["statements", "chars", f"{rev} s", "now s", "speed-up", "same delta"], rows))


def cli_plan(repeat: int) -> None:
    from tests.support.emulator import running_emulator
    from tests.support.sdk import sdk_client

    live = tenant_policy(140)
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "data") as emu:
        sdk = sdk_client(emu.url)
        sdk.create_vector_bucket("tnt", ACCOUNT)
        sdk.put_vector_bucket_policy("tnt", ACCOUNT, text(live))
        env = {"TOS_ENDPOINT": emu.url, "TOS_ACCOUNT_ID": ACCOUNT, "NO_COLOR": "1", "PATH": "/usr/bin:/bin",
               "PYTHONPATH": str(REPO)}
        times: dict[str, list[float]] = {"edited": [], "in sync": []}
        for doc, key in ((with_action(live, 4, "tosvectors:Get*"), "edited"), (live, "in sync")):
            path = Path(tmp) / f"{key.replace(' ', '-')}.yaml"
            path.write_text(f"version: 1\nbuckets:\n  - name: tnt\n    policy: {json.dumps(text(doc))}\n")
        for _ in range(repeat):
            for key in times:
                start = time.perf_counter()
                r = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f",
                                    str(Path(tmp) / f"{key.replace(' ', '-')}.yaml"), "--detailed-exitcode"],
                                   env=env, capture_output=True, text=True, timeout=600)
                times[key].append(time.perf_counter() - start)
                assert r.returncode == (2 if key == "edited" else 0), r.stderr
    edited, in_sync = median(times["edited"]), median(times["in sync"])
    print(f"\n--cli: `reconciler plan` with the 140-statement policy live (median of {repeat})")
    print(table(["plan", "seconds", "baseline s", "ratio"],
                [["one statement edited", f"{edited:.2f}", f"{in_sync:.2f} (in sync)", f"{edited / in_sync:.2f}x"]]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buckets", type=int, default=50)
    parser.add_argument("--per-bucket", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--principals", type=int, default=200)
    parser.add_argument("--cli", action="store_true", help="also time `reconciler plan` against `reconciler serve`")
    parser.add_argument("--before", metavar="REV", help="also time rules/access.py as it was at git revision REV")
    args = parser.parse_args()
    print(f"bench_access: {args.buckets} buckets x {args.per_bucket} indexes, median of {args.repeat}; {machine()}")

    manifest, live = in_memory(args.buckets, args.per_bucket, changed_every=1)
    planner.build_plan(manifest, live, TARGET)  # warm-up: imports and compiled patterns
    with_delta = best_of(lambda: planner.build_plan(manifest, live, TARGET), args.repeat)
    real = planner._with_access
    planner._with_access = lambda change, *_: change  # type: ignore[assignment]
    try:
        without = best_of(lambda: planner.build_plan(manifest, live, TARGET), args.repeat)
    finally:
        planner._with_access = real  # type: ignore[assignment]

    indexes = [f"idx-{i:04d}" for i in range(args.per_bucket)]
    doc = big_policy(args.principals)
    delta = best_of(lambda: access_delta(doc, None, REGION, ACCOUNT, "big", indexes), 1)
    loop_n = min(args.principals, 20)  # the plain loop on a sample of principals, scaled up
    plain = best_of(lambda: [evaluate(doc, f"2100000001/user-{p:04d}", a, index_trn(REGION, ACCOUNT, "big", i))
                             for p in range(loop_n) for a in ACTIONS for i in indexes], 1) * args.principals / loop_n

    print(table(["what", "seconds", "baseline s", "ratio"], [
        ["build_plan, every policy changed", f"{with_delta:.3f}", f"{without:.3f} (no delta)",
         f"{with_delta / without:.2f}x"],
        [f"access_delta, {args.principals} principals", f"{delta:.3f}", f"{plain:.3f} (plain loop, est.)",
         f"{delta / plain:.3f}x"],
    ]))
    sizes(args.repeat)
    if args.before:
        before_and_after(args.before)
    if args.cli:
        cli_plan(min(args.repeat, 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
