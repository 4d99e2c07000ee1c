"""Round 18: the day's changes attacked as an adversary and a careless user would.

Each test names what an attacker (a hostile endpoint, a forged plan file, a hostile webhook
receiver or metrics client) or a careless user could do, and asserts what they see instead.
These run in process; the CLI ones (slow) are in test_attack_round18_cli.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.guardrails import Consent, destroy_refusals, public_refusals
from reconciler.client.models import Index, IndexSummary, VectorBucket, VectorBucketSummary
from reconciler.errors import NotFoundError, PlanFileError, ReconcilerError
from reconciler.manifest import load_manifests
from reconciler.plan import planfile
from reconciler.plan.build import PlanOptions, build_plan, link
from reconciler.plan.drift import drift_report
from reconciler.plan.model import Action, Change, Kept, Plan, Target
from reconciler.render import drift_markdown, plan_markdown
from reconciler.render.output import output_json, output_text
from reconciler.state.export import export_manifest, to_yaml
from reconciler.state.outputs import read_outputs
from reconciler.state.refresh import refresh
from reconciler.util.text import printable
from reconciler.watch.config import webhook_url
from reconciler.watch.endpoint import MAX_CONNECTIONS, Endpoint
from reconciler.watch.events import Delivery, EventSink, make_event
from tests.support.hostile_server import ACCOUNT, BUCKET, MANIFEST
from tests.support.serving import serving
from tests.watch.conftest import MANIFEST as WATCH_MANIFEST
from tests.watch.conftest import estate, harness  # noqa: F401  (pytest fixtures)

# --- `output`: what a hostile endpoint's identifiers can do to $GITHUB_OUTPUT ---------------------
# (the data and the renderers, as the CLI calls them; the CLI case is in test_attack_round18_cli.py)

class _Hostile:
    """GetVectorBucket / GetIndex answers the way a hostile endpoint chooses them."""

    def __init__(self, trn: str = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}", created: int = 1_765_000_000,
                 metric: str = "cosine", keys: tuple[str, ...] = ("body",)):
        self.trn, self.created, self.metric, self.keys = trn, created, metric, keys

    async def get_vector_bucket(self, bucket: str, /) -> VectorBucket:
        return VectorBucket(bucket, self.trn, self.created)

    async def get_index(self, bucket: str, index: str, /) -> Index:
        return Index(bucket, index, self.trn + "/index/" + index, self.created, "float32", 4, self.metric, self.keys)


def _outputs(tmp_path: Path, live: _Hostile):  # type: ignore[no-untyped-def]
    (tmp_path / "m.yaml").write_text(MANIFEST)
    manifest = load_manifests([str(tmp_path / "m.yaml")], {})
    return asyncio.run(read_outputs(live, manifest, {"region": "cn-beijing"}, lambda b: None))


INJECTED = "\nDEPLOY_TARGET=attacker.example"
BREAKS = ["\n", "\r", "\u2028", "\x85", "\x1b]52;c;ZWNobw==\x07", "\x00"]


@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("field", ["trn", "metric", "keys"])
def test_output_text_never_lets_a_service_value_add_a_variable(field: str, brk: str, tmp_path: Path) -> None:
    """A TRN (or distance metric, or metadata key) with a line break, appended to
    $GITHUB_OUTPUT or a dotenv report, would set a variable of the endpoint's choosing for
    every later step (DEPLOY_TARGET=...). Such a value is refused as KEY=VALUE: one error
    naming the variable, and pointing to --format json, which escapes it."""
    value = f"x{brk}DEPLOY_TARGET=attacker.example"
    live = _Hostile(**({"trn": value} if field == "trn" else {"metric": value} if field == "metric"
                       else {"keys": ("body", value)}))
    outputs = _outputs(tmp_path, live)
    with pytest.raises(ReconcilerError) as e:
        output_text(outputs)
    line = str(e.value)
    assert "--format json" in line and "\n" not in line and printable(line) == line, line
    assert json.loads(output_json(outputs))  # JSON escapes it: that form still works


def test_output_text_keeps_ordinary_values(tmp_path: Path) -> None:
    """The control: an ordinary estate gives its KEY=VALUE lines (`=` and spaces in a value are fine)."""
    text = output_text(_outputs(tmp_path, _Hostile(keys=("a=b", "c d"))))
    assert "INDEX_HOSTILE__DOCS_NON_FILTERABLE_METADATA_KEYS=a=b,c d\n" in text


@pytest.mark.parametrize("when", [10**17, -10**17, 253402300800, -62135596801])
def test_output_a_creation_time_past_any_date_is_one_clear_error(when: int, tmp_path: Path) -> None:
    """creationTime 1e17 is an int64 the client accepts, but no date: it was an OSError
    ("Value too large for defined data type"), a traceback out of `output`."""
    with pytest.raises(ReconcilerError) as e:
        _outputs(tmp_path, _Hostile(created=when))
    assert "creationTime" in str(e.value) and str(when) in str(e.value), str(e.value)




# --- prune.olderThan: a list that names a bucket twice ----------------------------------------

NOW = 2_000_000_000
PRUNE = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 7d\nbuckets: []\n'


class _Listing:
    """An account whose list names buckets as a hostile endpoint chooses; each is empty."""

    def __init__(self, *entries: tuple[str, int]):
        self.entries = entries

    async def all_vector_buckets(self, *, prefix: str | None = None) -> list[VectorBucketSummary]:
        return [VectorBucketSummary(n, f"trn:{n}", t) for n, t in self.entries]

    async def all_indexes(self, bucket: str, /) -> list[Any]:
        return []

    async def get_vector_bucket_policy(self, bucket: str, /) -> str:
        raise NotFoundError("GetVectorBucketPolicy", 404, "VectorBucketPolicyNotFound", "no policy", "r")


def _prune_plan(tmp_path: Path, *entries: tuple[str, int]) -> Plan:
    (tmp_path / "m.yaml").write_text(PRUNE)
    manifest = load_manifests([str(tmp_path / "m.yaml")], {})
    state = asyncio.run(refresh(_Listing(*entries), manifest))  # type: ignore[arg-type]
    return build_plan(manifest, state, Target("http://x", "cn-beijing", ACCOUNT), PlanOptions(now=NOW))


@pytest.mark.parametrize("entries", [
    [("pr-1", NOW - 60), ("pr-1", NOW - 30 * 86400)],
    [("pr-1", NOW - 30 * 86400), ("pr-1", NOW - 60)],
    [("pr-1", NOW - 30 * 86400), ("pr-1", 0)],  # one copy without a creation time: unknown
    [("pr-1", NOW - 30 * 86400), ("pr-1", NOW + 10**9)],  # one in the far future
])
def test_prune_keeps_a_bucket_any_listing_of_which_says_young(entries: list[tuple[str, int]],
                                                              tmp_path: Path) -> None:
    """The last of two listings won: young then old was a delete of a 1-minute-old bucket."""
    plan = _prune_plan(tmp_path, *entries)
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-1"], plan


def test_a_bucket_listed_twice_is_deleted_once(tmp_path: Path) -> None:
    """Two identical listings gave two deletes of one address (the second a 404 mid-apply)."""
    plan = _prune_plan(tmp_path, ("pr-1", NOW - 30 * 86400), ("pr-1", NOW - 30 * 86400))
    assert [(c.address, c.action) for c in plan.changes] == [("bucket.pr-1", Action.DELETE)]


@pytest.mark.parametrize("when", [-1, -10**18, 0, NOW + 3, 10**18, NOW * 1000])
def test_prune_older_than_never_deletes_on_a_hostile_creation_time(when: int, tmp_path: Path) -> None:
    """Negative, missing, future and millisecond times: kept, never deleted."""
    plan = _prune_plan(tmp_path, ("pr-1", when))
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-1"], plan
    if when > NOW:  # said as it is, not "created 0s ago"
        assert "in the future" in plan.kept[0].reason and "0s ago" not in plan.kept[0].reason, plan.kept[0].reason


def test_a_bucket_created_within_the_date_headers_second_is_just_created(tmp_path: Path) -> None:
    """A Date header counts whole seconds and is reused for up to one (uvicorn renews it
    once a second), so a bucket made just before the plan can be a second "in the future":
    kept as created 0s ago, not reported as a clock that is off."""
    plan = _prune_plan(tmp_path, ("pr-1", NOW + 1))
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-1"], plan
    assert "created 0s ago" in plan.kept[0].reason, plan.kept[0].reason


# --- watch: a hostile webhook receiver, an --events path that is not a file --------------------

class _Receiver(socketserver.ThreadingTCPServer):
    """A webhook receiver that reads the request and then answers as `how` says."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, how: str):
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.how = how
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook/{WEBHOOK_TOKEN}"


class _ReceiverHandler(socketserver.StreamRequestHandler):
    server: _Receiver

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        self.rfile.read(length)
        stop = self.server.stopping
        try:
            if self.server.how == "endless_body":  # 200, then a body that never ends, as fast as it is read
                self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"%x\r\n%s\r\n" % (1 << 16, b"x" * (1 << 16))
                while not stop.is_set():
                    self.wfile.write(chunk)
            elif self.server.how == "trickled_head":  # a header byte every 0.2 s: no read ever waits 5 s
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.wait(0.2):
                    self.wfile.write(b"a")
                    self.wfile.flush()
            elif self.server.how == "escape_reason":
                self.wfile.write(b"HTTP/1.1 400 \x9b2J\xc2\x9b31mfake\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass


WEBHOOK_TOKEN = "T0KEN-7c4a8d09ca3762af61e5"


@contextmanager
def _receiver(how: str) -> Iterator[_Receiver]:
    server = _Receiver(how)
    with serving(server, f"receiver-{how}", server.stopping):
        yield server


def _deliver(url: str, delivery: Delivery, drain: float) -> tuple[list[str], int]:
    """(what the watch said, events still queued) after one event and `drain` seconds."""
    said: list[str] = []

    async def go() -> int:
        sink = EventSink(None, (url,), said.append, delivery)
        await sink.start()
        sink.emit(make_event("check.failed", Target("http://x", "cn-beijing", ACCOUNT), error="boom"))
        await sink.drain(drain)
        left = sum(len(h.pending) for h in sink.hooks)
        await sink.close(0.1)
        return left

    return said, asyncio.run(go())


@pytest.mark.parametrize("how", ["endless_body", "trickled_head"])
def test_a_webhook_that_never_finishes_answering_is_given_up(how: str) -> None:
    """Each attempt is bounded by `Delivery.timeout` in all: the body of an answer was read
    to its end (an endless one grew memory without end) and httpx's timeout is per read, so
    a trickle held the delivery, and the watch's memory, for ever. The status is what counts;
    the body is never read."""
    with _receiver(how) as server:
        said, left = _deliver(server.url, Delivery(attempts=2, timeout=1.0, backoff=0.01, max_wait=0.01), drain=20)
    assert left == 0, said  # the delivery ended (delivered or given up) long before the drain did
    if how == "trickled_head":
        assert len(said) == 1 and "not delivered" in said[0], said
    assert all(WEBHOOK_TOKEN not in line for line in said), said


def test_a_webhook_reason_phrase_reaches_stderr_escaped() -> None:
    with _receiver("escape_reason") as server:
        said, _ = _deliver(server.url, Delivery(attempts=1, timeout=5.0), drain=20)
    assert len(said) == 1 and "400" in said[0], said
    assert printable(said[0]) == said[0], said


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_an_events_path_that_is_a_fifo_never_blocks_the_watch(tmp_path: Path) -> None:
    """Opening a FIFO nobody reads for writing blocks: on the event loop, that stopped the
    checks, /metrics and SIGTERM alike. It is a warning instead, as any unwritable path."""
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    said: list[str] = []

    def emit() -> None:
        sink = EventSink(fifo, (), said.append)
        sink.emit(make_event("check.failed", Target("http://x", "cn-beijing", ACCOUNT), error="boom"))

    worker = threading.Thread(target=emit, daemon=True)
    worker.start()
    worker.join(15)
    if worker.is_alive():  # unblock the thread: open the FIFO for reading once
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("emit() blocked on a FIFO with no reader")
    assert len(said) == 1 and "a FIFO nobody reads" in said[0], said


def test_an_events_fifo_with_a_reader_gets_whole_lines(tmp_path: Path) -> None:
    """The control: `--events` into a FIFO a log shipper reads (or /dev/stdout) still works."""
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        said: list[str] = []
        EventSink(fifo, (), said.append).emit(
            make_event("check.failed", Target("http://x", "cn-beijing", ACCOUNT), error="boom"))
        assert said == [] and json.loads(os.read(reader, 1 << 16))["error"] == "boom"
    finally:
        os.close(reader)


# --- saved plans: the new fields of version 3 in a forged (unsigned, outside CI) file -------------

IDX = {"dataType": "float32", "dimension": 4, "distanceMetric": "cosine", "nonFilterableMetadataKeys": []}


def _saved(tmp_path: Path, plan: Plan, **forged: Any) -> Path:
    data = {**planfile.to_saved(plan), **forged}
    path = tmp_path / "forged.plan"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def _two_bucket_plan() -> Plan:
    changes = link([Change("bucket.a", "bucket", Action.DELETE, {"name": "a"}, None, "not declared; matches "
                           "prune pattern 'a*'", reason_code="pruned-bucket"),
                    Change("index.b/i", "index", Action.CREATE, None, IDX, "declared; does not exist",
                           reason_code="not-found")])
    return Plan(Target("http://x", "cn-beijing", ACCOUNT), tuple(changes),
                fingerprints={"bucket.a": "0123456789abcdef", "bucket.b": "present", "index.b/i": "absent"})


@pytest.mark.parametrize(("forged", "says"), [
    # "kept (younger than prune.olderThan)" over the very bucket the plan deletes
    ({"kept": [{"address": "bucket.a", "reason": "matches prune pattern 'a*', but it was created 1m ago"}]},
     "bucket.a"),
    # listed as left alone ("unmanaged") while the plan deletes it
    ({"unmanaged": ["bucket.a"]}, "bucket.a"),
    # a plan "limited to index.b/i" that also deletes bucket.a
    ({"targets": ["index.b/i"]}, "bucket.a"),
    # titled a destroy plan, but it creates (or grants) something
    ({"destroy": True}, "index.b/i"),
])
def test_a_plan_file_whose_new_fields_contradict_its_changes_is_refused(
        forged: dict[str, Any], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `show FILE` tells a reviewer (kept, left alone, partial, destroy) must agree with
    what `apply FILE` does: each of these read as a harmless plan and applied a delete."""
    monkeypatch.delenv("CI", raising=False)
    planfile.read(str(_saved(tmp_path, _two_bucket_plan())))  # the control: as written, it reads
    with pytest.raises(PlanFileError, match="corrupt plan file") as e:
        planfile.read(str(_saved(tmp_path, _two_bucket_plan(), **forged)), verify=True)
    assert says in str(e.value), str(e.value)


def test_a_forged_access_not_computed_hides_no_public_grant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held up: a policy change that grants `*`, with an `access_not_computed` and no
    access_changes, still needs --allow-public-access (derived from the documents)."""
    monkeypatch.delenv("CI", raising=False)
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "open", "Effect": "Allow", "Principal": "*",
                                                    "Action": ["tosvectors:QueryVectors"],
                                                    "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/b"]}]}
    change = Change("policy.b", "policy", Action.CREATE, None, {"document": doc}, "declared; does not exist",
                    reason_code="not-found", access_not_computed="no public access (checked)")
    plan = Plan(Target("http://x", "cn-beijing", ACCOUNT), tuple(link([change])),
                fingerprints={"bucket.b": "present", "policy.b": "absent"})
    back, _ = planfile.read(str(_saved(tmp_path, plan)), verify=True)
    refused = public_refusals(back, Consent())
    assert len(refused) == 1 and refused[0].startswith("policy.b: grants anyone (*) access"), refused


def test_a_forged_destroy_flag_is_no_consent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held up: `destroy: true` in the file does not count as the destroy verb's consent."""
    monkeypatch.delenv("CI", raising=False)
    change = Change("bucket.a", "bucket", Action.DELETE, {"name": "a"}, None, "destroy: declared in the manifest",
                    reason_code="destroy")
    plan = Plan(Target("http://x", "cn-beijing", ACCOUNT), tuple(link([change])),
                fingerprints={"bucket.a": "0123456789abcdef"}, destroy=True)
    back, _ = planfile.read(str(_saved(tmp_path, plan)), verify=True)
    assert back.destroy and destroy_refusals(back, Consent()) == [
        "bucket.a: delete destroys data; pass --allow-destroy to allow it"]


# --- watch --remediate: a manifest caught mid-write -------------------------------------------------

TRUNCATED = WATCH_MANIFEST[:WATCH_MANIFEST.index("      - {name: faq")]  # the file as a slow writer left it


def test_remediation_destroys_nothing_on_a_manifest_that_just_changed(estate: Any, harness: Any) -> None:  # noqa: F811
    """A check that reads the manifest while it is being rewritten in place (`git pull`,
    `scp`, `cat >`) can get a valid but truncated file: with pruneIndexes and
    --allow-destroy, the indexes past the cut were deleted at once. Destroying steps now
    wait until two checks in a row read the same manifests; the rest is remediated at once."""
    estate.build()
    h = harness(remediate=True, allow_destroy=True)
    assert h.check() == "in_sync"
    estate.manifest.write_text(TRUNCATED)
    assert h.check() == "drift"
    assert h.types() == ["drift.detected", "remediation.refused"]
    assert "changed since the last check" in h.new_events[1]["reason"], h.new_events[1]
    assert h.new_events[1]["addresses"] == ["index.wa-app/faq"]
    estate.manifest.write_text(WATCH_MANIFEST)  # the writer finished
    assert h.check() == "in_sync"  # nothing was lost
    estate.manifest.write_text(TRUNCATED)  # and now it is meant: the next check with it removes faq
    h.check()
    assert h.types() == ["drift.detected", "remediation.refused"]
    h.check()
    assert h.types() == ["remediation.applied", "drift.resolved"] or h.types() == ["remediation.applied"], h.types()
    assert h.check() == "in_sync"


# --- watch --listen: clients that hold every connection -----------------------------------------

def test_clients_that_send_nothing_do_not_lock_out_the_health_probe() -> None:
    """64 connections that never send a request head (a slowloris, or a port scanner) held
    every slot for 10 s at a time: /healthz and /metrics closed every other connection at
    once, so a liveness probe failed and the watch was restarted. A new client now takes the
    slot of the one that has waited longest without sending its head."""
    async def go() -> bytes:
        endpoint = Endpoint(lambda: (200, "text/plain", b"metrics\n"), lambda: (200, "text/plain", b"ok\n"))
        host, port = await endpoint.start("127.0.0.1", 0)
        idle = [await asyncio.open_connection(host, port) for _ in range(MAX_CONNECTIONS + 8)]
        await asyncio.sleep(0.2)  # every slot taken
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 8)
            writer.close()
            return answer
        finally:
            for _, w in idle:
                w.close()
            await endpoint.close()

    answer = asyncio.run(go())
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"ok\n"), answer


# --- markdown (PR comments): names a hostile endpoint chose ------------------------------------

def _code_spans(line: str) -> list[tuple[int, int]]:
    """Where the code spans of a line are (CommonMark: a run of n backticks opens one, the
    next run of exactly n closes it; an unclosed run is literal text)."""
    runs = [(m.start(), m.end()) for m in re.finditer("`+", line)]
    spans, i = [], 0
    while i < len(runs):
        start, end = runs[i]
        close = next((j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == end - start), None)
        if close is None:
            i += 1
            continue
        spans.append((start, runs[close][1]))
        i = close + 1
    return spans


def _inside_code(markdown: str, text: str) -> None:
    found = 0
    for line in markdown.splitlines():
        for m in re.finditer(re.escape(text), line):
            found += 1
            assert any(a < m.start() and m.end() < b for a, b in _code_spans(line)), line
    assert found, markdown


@pytest.mark.parametrize("name", ["x`[merge now](https://evil.example)`", "x``[merge now](https://evil.example)``y",
                                  "a`</details><h2>Approved</h2>`"])
def test_markdown_keeps_a_hostile_name_inside_its_code_span(name: str) -> None:
    """`plan --format markdown` (the PR comment) put each address in single backticks, so a
    bucket the endpoint lists as x`[merge now](https://evil.example)` closed the span and
    made a live link (or closed the comment's <details>) in the comment."""
    plan = Plan(Target("http://x", "cn-beijing", ACCOUNT), (), outside_scope=(f"bucket.{name}",),
                kept=(Kept(f"bucket.{name}", "young"),))
    _inside_code(plan_markdown(plan), f"bucket.{name}")
    _inside_code(drift_markdown(drift_report(plan)), f"bucket.{name}")


# --- export: a live policy that holds ${...} -------------------------------------------------------

def test_export_never_turns_a_live_string_into_a_variable_reference(tmp_path: Path) -> None:
    """Whoever may put a bucket policy (or a hostile endpoint) writes a condition value
    `${GITHUB_TOKEN}`; `export` wrote it as it is, so the adopted manifest interpolated it:
    the CI job that applied it sent the token's value into the bucket policy, for the
    planter to read back (and `plan` on the export was not "no changes"). Exported strings
    are literal: `${` is written `$${`."""
    live = {"Version": "2012-10-17", "Statement": [{
        "Sid": "s", "Effect": "Allow", "Principal": ["2100000001"], "Action": ["tosvectors:QueryVectors"],
        "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/rag-prod"],
        "Condition": {"StringEquals": {"tosvectors:prefix": ["${GITHUB_TOKEN}", "$${x}", "${UNSET:-d}", "$$"],
                                       "${KEY}": ["a"]}}}]}
    keys = ["${GITHUB_TOKEN}", "body"]

    class Live:
        async def all_vector_buckets(self, *, prefix: str | None = None) -> list[VectorBucketSummary]:
            return [VectorBucketSummary("rag-prod", "trn", 1)]

        async def all_indexes(self, bucket: str, /) -> list[Any]:
            return [IndexSummary("rag-prod", "docs", "trn", 1)]

        async def get_index(self, bucket: str, index: str, /) -> Index:
            return Index("rag-prod", "docs", "trn", 1, "float32", 4, "cosine", tuple(keys))

        async def get_vector_bucket_policy(self, bucket: str, /) -> str:
            return json.dumps(live)

    doc = asyncio.run(export_manifest(Live(), region="cn-beijing", account_id=ACCOUNT))  # type: ignore[arg-type]
    (tmp_path / "m.yaml").write_text(to_yaml(doc))
    token = "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
    manifest = load_manifests([str(tmp_path / "m.yaml")], {}, environ={"GITHUB_TOKEN": token, "KEY": "k"})
    bucket = manifest.buckets[0]
    assert token not in json.dumps(bucket.policy) and bucket.policy == live, bucket.policy
    assert bucket.indexes[0].non_filterable_metadata_keys == frozenset(keys)


@pytest.mark.parametrize("url", ["https://hooks.example/services/T0KEN\r\nX-Extra: 1", "https://hooks.example/a\nb?t=T0KEN",
                                 "https://hooks\u202e.example/x", "https://hooks.example/\tx"])
def test_a_webhook_url_with_a_control_character_is_refused_at_start(url: str) -> None:
    """urlsplit drops CR, LF and tab, so a URL pasted with a line break passed the flag's
    check and then failed at every event (httpx: InvalidURL), found hours later; a bidi
    override in the host reached stderr in every warning. Refused at start, unechoed."""
    with pytest.raises(argparse.ArgumentTypeError) as e:
        webhook_url(url)
    assert "T0KEN" not in str(e.value) and printable(str(e.value)) == str(e.value)


def test_plan_dir_never_overwrites_a_plan_another_watch_saved(tmp_path: Path) -> None:
    """Two watches (two replicas sharing a volume) saving in the same second both wrote
    drift-<stamp>-1.json: the second replaced the plan the first one's event names, so
    whoever applied `plan` from that event applied the other watch's plan."""
    from datetime import UTC, datetime, timedelta

    from reconciler.watch.check import Watcher
    from reconciler.watch.config import WatchConfig
    from reconciler.watch.metrics import WatchMetrics

    plans = tmp_path / "plans"
    plans.mkdir()
    now = datetime.now(UTC)
    theirs = {plans / f"drift-{(now + timedelta(seconds=s)).strftime('%Y%m%dT%H%M%SZ')}-1.json" for s in (0, 1, 2)}
    for path in theirs:
        path.write_text("the other watch's plan")
    said: list[str] = []
    watcher = Watcher(WatchConfig(plan_dir=plans), None, Target("http://x", "cn-beijing", ACCOUNT),  # type: ignore[arg-type]
                      lambda: None, EventSink(None, (), said.append), WatchMetrics(), said.append)  # type: ignore[arg-type,return-value]
    change = Change("bucket.a", "bucket", Action.CREATE, None, {"name": "a"}, "declared; does not exist",
                    reason_code="not-found")
    plan = Plan(Target("http://x", "cn-beijing", ACCOUNT), (change,), fingerprints={"bucket.a": "absent"})
    saved = watcher._save(plan)
    assert saved is not None and Path(saved) not in theirs, (saved, said)
    assert all(p.read_text() == "the other watch's plan" for p in theirs)
    assert planfile.read(saved)[0].changes == (change,)
