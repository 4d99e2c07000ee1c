"""Shared pieces of the refresh and planning benchmarks: a synthetic estate (the same one
in an emulator data directory, in a YAML manifest and as in-memory Manifest / LiveState),
medians and a plain-text table.

An estate is B buckets x I indexes per bucket, every bucket with a policy. Index
attributes vary (dimension, metric, non-filterable keys) so that nothing is accidentally
shared between objects, and the manifest is in sync with what `populate` writes.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

ACCOUNT = "2100000000"  # the emulator's default --account-id
REGION = "cn-beijing"
DIMENSIONS = (384, 768, 1024, 1536)
METRICS = ("cosine", "euclidean")
KEY_SETS = ((), ("body",), ("body", "source_url"), ("raw_text", "body", "title"))


def bucket_name(b: int) -> str:
    return f"bench-{b:03d}"


def index_name(i: int) -> str:
    return f"idx-{i:04d}"


def index_spec(b: int, i: int) -> dict[str, Any]:
    """The attributes of index i of bucket b (as the manifest writes them)."""
    n = b * 7 + i
    return {"dimension": DIMENSIONS[n % len(DIMENSIONS)], "distanceMetric": METRICS[n % 2], "dataType": "float32",
            "nonFilterableMetadataKeys": list(KEY_SETS[n % len(KEY_SETS)])}


def policy_doc(bucket: str) -> dict[str, Any]:
    return {"Version": "2025-12-01",
            "Statement": [{"Sid": "ReadersMayQuery", "Effect": "Allow",
                           "Principal": [f"{ACCOUNT}/readers"],
                           "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors"],
                           "Resource": [f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{bucket}/index/*"]}]}


def populate(data_dir: Path, buckets: int, per_bucket: int) -> float:
    """Write the estate straight into an emulator database (no HTTP, no latency); seconds taken."""
    from reconciler.emulator import EmulatorConfig, create_app

    start = time.perf_counter()
    app = create_app(EmulatorConfig(data_dir=data_dir, account_id=ACCOUNT, region=REGION))
    store = app.store
    try:
        for b in range(buckets):
            name = bucket_name(b)
            store.create_bucket(ACCOUNT, name, 0)
            # the service stores policy text as given; write it in another key order and
            # spacing than the manifest, so the semantic comparison has work to do
            store.put_policy(ACCOUNT, name, json.dumps(policy_doc(name), sort_keys=True, indent=1))
            for i in range(per_bucket):
                s = index_spec(b, i)
                store.create_index(ACCOUNT, name, index_name(i), data_type=s["dataType"], dimension=s["dimension"],
                                   distance_metric=s["distanceMetric"],
                                   non_filterable=tuple(reversed(s["nonFilterableMetadataKeys"])), now=0)
    finally:
        app.close()
    return time.perf_counter() - start


def manifest_yaml(buckets: int, per_bucket: int) -> str:
    """The manifest that is in sync with `populate(…, buckets, per_bucket)`."""
    out = ["version: 1", "buckets:"]
    for b in range(buckets):
        name = bucket_name(b)
        out += [f"  - name: {name}", "    indexes:"]
        for i in range(per_bucket):
            s = index_spec(b, i)
            out += [f"      - name: {index_name(i)}", f"        dimension: {s['dimension']}",
                    f"        distanceMetric: {s['distanceMetric']}", f"        dataType: {s['dataType']}"]
            if s["nonFilterableMetadataKeys"]:
                out.append(f"        nonFilterableMetadataKeys: {json.dumps(s['nonFilterableMetadataKeys'])}")
        out.append(f"    policy: {json.dumps(policy_doc(name))}")
    return "\n".join(out) + "\n"


# --- in-memory desired and live state (no YAML, no I/O) -------------------------------------


def in_memory(buckets: int, per_bucket: int, *, changed_every: int = 0, live_empty: bool = False
              ) -> tuple[Any, Any]:
    """(Manifest, LiveState) for the estate. `changed_every=10` makes every 10th index
    differ (a replace) and every 10th bucket's policy differ (an update): 10% changes.
    `live_empty` gives an empty account (every object is a create: a first plan)."""
    from reconciler.manifest import BucketSpec, IndexSpec, Manifest, Source
    from reconciler.rules.kinds import index_attrs
    from reconciler.state.model import LiveBucket, LiveIndex, LiveState

    specs, live = [], LiveState()
    line = 1
    for b in range(buckets):
        name = bucket_name(b)
        indexes, live_indexes = [], {}
        for i in range(per_bucket):
            s = index_spec(b, i)
            indexes.append(IndexSpec(name, index_name(i), s["dimension"], s["distanceMetric"], s["dataType"],
                                     frozenset(s["nonFilterableMetadataKeys"]), False, Source("bench.yaml", line, 9)))
            line += 5
            dim = s["dimension"]
            if changed_every and (b * per_bucket + i) % changed_every == 0:
                dim += 1
            live_indexes[index_name(i)] = LiveIndex(name, index_name(i),
                                                    index_attrs(indexes[-1]._replace(dimension=dim)))
        policy = policy_doc(name)
        specs.append(BucketSpec(name, False, False, policy, tuple(indexes), Source("bench.yaml", line, 5)))
        live_policy = json.loads(json.dumps(policy))
        if changed_every and b % changed_every == 0:
            live_policy["Statement"][0]["Action"] = ["tosvectors:QueryVectors"]
        if live_empty:
            live.absent.add(name)
        else:
            text = json.dumps(live_policy, sort_keys=True)
            live.buckets[name] = LiveBucket(name, live_indexes, live_policy, text)
    manifest = Manifest(account=ACCOUNT, region=REGION, prune_buckets=(), buckets=tuple(specs),
                        files=("bench.yaml",), warnings=())
    return manifest, live


# (file, function, what it stands for): the shares printed under each profile
SHARES = (
    ("live.py", "run", "live._Reader.run: every read (client + in-process emulator)"),
    ("app.py", "_handle", "emulator: handling requests (server side)"),
    ("transport.py", "call", "client transport: headers, signing, retries, flow control"),
    ("direct.py", "send", "direct HTTP/1.1 sender (request bytes, parse, keep-alive)"),
    ("inprocess.py", "send", "embedded sender (the in-process app included)"),
    ("_client.py", "send", "httpx AsyncClient.send (only with a proxy or an injected httpx transport)"),
    ("<frozen importlib._bootstrap>", "_find_and_load", "imports at run time"),
    ("planner.py", "build_plan", "planner.build_plan"),
    ("diff.py", "changed_attributes", "diff.changed_attributes (DeepDiff)"),
    ("_yaml.py", "load_documents", "YAML compose (libyaml) + build with positions"),
    ("_loader.py", "_check_document", "schema (jsonschema-rs; jsonschema only for errors) and checks"),
)


def profile(label: str, fn: Callable[[], Any], top: int = 15) -> None:
    prof = cProfile.Profile()
    prof.enable()
    start = time.perf_counter()
    fn()
    total = time.perf_counter() - start
    prof.disable()
    raw = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    shares = []
    for file, func, what in SHARES:
        hits = [(v[1], v[3]) for (f, _, name), v in raw.items() if name == func and Path(f).name == file]
        if hits:
            calls, cum = max(hits, key=lambda h: h[1])
            if cum >= 0.01 * total:
                shares.append(f"  {cum / total:6.1%}  {cum:7.2f} s  {calls:>7} calls  {what}")
    print(f"\n--- cProfile: {label}: {total:.2f} s under the profiler; shares of it ---")
    print("\n".join(shares))
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats(key)
        stats.print_stats(top if key == "cumulative" else 10)
        text = out.getvalue()
        body = text[text.index("   ncalls"):] if "   ncalls" in text else text
        print(f"\n--- cProfile: {label}, top {top if key == 'cumulative' else 10} by {key} ---")
        print(body.rstrip())


# --- timing and output --------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain, right-aligned text table (paste-able into Markdown as a code block)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> str:
    import os
    import platform

    return (f"{platform.python_implementation()} {platform.python_version()}, {platform.system()} "
            f"{platform.machine()}, {os.cpu_count()} cores")
