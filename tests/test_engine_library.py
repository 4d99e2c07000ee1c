"""The engine as a library: the README's example runs as written, and a program gets from
the workflows what a person gets from the CLI (consent checked below the caller, approval
asked after consent and before the first write, data back, typed errors).

Each test runs against the embedded emulator in its own directory, chosen by name (as CI
requires), through the same target resolution and client the CLI uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from reconciler import engine
from reconciler.apply.guardrails import GuardrailRefused
from reconciler.apply.result import Status
from reconciler.cli.target import Resolved, Settings, open_client, resolve
from reconciler.client import VectorsClient
from reconciler.errors import ConfigError, RefusedError
from reconciler.manifest import Manifest, load_manifests
from reconciler.plan import planfile
from reconciler.plan.model import Action, Plan, Target

CHECKOUT = Path(__file__).resolve().parents[1]
README = CHECKOUT / "README.md"

MANIFEST = """version: 1
buckets:
  - name: lib-app
    indexes:
      - {name: docs, dimension: 8, distanceMetric: cosine}
"""


def readme_example() -> str:
    """The first Python block of the README's "Using reconciler as a library" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Using reconciler as a library\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the section has no ```python block"
    return found.group(1)


@contextlib.contextmanager
def inside(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def test_the_readme_example_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "examples").mkdir()
    shutil.copy(CHECKOUT / "examples" / "quickstart.yaml", tmp_path / "examples")
    with inside(tmp_path):
        exec(compile(readme_example(), "README.md", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete." in out
    assert out.splitlines()[-4:] == ["done bucket.quickstart", "done index.quickstart/docs-v1",
                                     "done policy.quickstart", "in sync"]
    assert (tmp_path / ".reconciler" / "local" / "cn-beijing").is_dir()  # the embedded store, in the working dir


# --- the workflows, called as a program would ---------------------------------------------------


def _manifest(tmp_path: Path, text: str = MANIFEST) -> Manifest:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_manifests([str(path)])


def _resolved(tmp_path: Path) -> Resolved:
    return resolve(Settings(endpoint="embedded"), environ={}, cwd=tmp_path)


@contextlib.asynccontextmanager
async def _client(tmp_path: Path) -> AsyncIterator[VectorsClient]:
    async with open_client(_resolved(tmp_path), Settings()) as client:
        yield client


def test_apply_asks_after_consent_and_before_the_first_write(tmp_path: Path) -> None:
    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target
    heard: list[str] = []

    def confirm(plan: Plan) -> bool:
        heard.append(f"confirm {len(plan.changes)}")
        return True

    hooks = engine.Hooks(on_plan=lambda p: heard.append("plan"), confirm=confirm,
                         on_execute=lambda p: heard.append("execute"),
                         on_start=lambda c: heard.append(f"start {c.address}"),
                         on_step=lambda s: heard.append(f"{s.status.value} {s.address}"))

    async def go() -> None:
        async with _client(tmp_path) as client:
            result = await engine.apply(client, manifest, target, hooks=hooks)
            assert result.ok and result.count(Status.DONE) == 2
            again = await engine.apply(client, manifest, target, hooks=hooks)
            assert again.steps == ()  # nothing to do: not asked

    asyncio.run(go())
    assert heard == ["plan", "confirm 2", "execute", "start bucket.lib-app", "done bucket.lib-app",
                     "start index.lib-app/docs", "done index.lib-app/docs", "plan"]


def test_a_no_changes_nothing_and_an_awaitable_yes_goes_on(tmp_path: Path) -> None:
    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target

    async def yes(plan: Plan) -> bool:
        return True

    async def go() -> None:
        async with _client(tmp_path) as client:
            with pytest.raises(engine.Cancelled, match="^apply cancelled; nothing was changed$"):
                await engine.apply(client, manifest, target, hooks=engine.Hooks(confirm=lambda p: False))
            assert not (await engine.drift(client, manifest, target)).in_sync  # nothing was created
            assert (await engine.apply(client, manifest, target, hooks=engine.Hooks(confirm=yes))).ok
            assert (await engine.drift(client, manifest, target)).in_sync

    asyncio.run(go())


def test_what_consent_does_not_cover_is_refused_before_anyone_is_asked(tmp_path: Path) -> None:
    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target
    replaced = _manifest(tmp_path, MANIFEST.replace("dimension: 8", "dimension: 16"))
    asked: list[Plan] = []

    def confirm(plan: Plan) -> bool:
        asked.append(plan)
        return True

    async def go() -> None:
        async with _client(tmp_path) as client:
            assert (await engine.apply(client, manifest, target)).ok
            with pytest.raises(GuardrailRefused) as refused:
                await engine.apply(client, replaced, target, hooks=engine.Hooks(confirm=confirm))
            assert refused.value.refused == ("index.lib-app/docs: replace destroys data; "
                                             "pass --allow-destroy to allow it",)
            assert asked == []
            assert (await engine.drift(client, manifest, target)).in_sync  # the old index is untouched
            result = await engine.apply(client, replaced, target, allow_destroy=True,
                                        hooks=engine.Hooks(confirm=confirm))
            assert result.ok and [c.action for c in asked[0].changes] == [Action.REPLACE]

    asyncio.run(go())


def test_check_gives_the_plan_and_its_drift_report_from_one_refresh(tmp_path: Path) -> None:
    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target

    async def go() -> None:
        async with _client(tmp_path) as client:
            before = await engine.check(client, manifest, target)
            assert not before.in_sync
            assert [i.address for i in before.report.with_status("missing")] == \
                [c.address for c in before.plan.changes] == ["bucket.lib-app", "index.lib-app/docs"]
            assert (await engine.apply_plan(client, before.plan)).ok  # the check's plan is a plan to apply
            after = await engine.check(client, manifest, target)
            assert after.in_sync and after.plan.is_empty

    asyncio.run(go())


def test_a_saved_plan_goes_only_to_its_own_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)  # an unsigned file outside CI: applied with a warning
    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target
    path = str(tmp_path / "p.plan")

    async def go() -> None:
        async with _client(tmp_path) as client:
            planfile.save(await engine.make_plan(client, manifest, target), path, None)
            saved = engine.load_saved(path, None)
            assert saved.warning is not None and "is not signed" in saved.warning
            other = Target(target.endpoint, target.region, "2100000009", embedded=True)
            with pytest.raises(RefusedError, match="the plan was made for account_id '2100000000' but the current "
                                                   "target has '2100000009'; nothing was changed"):
                await engine.apply_saved(client, saved, other)
            assert not (await engine.drift(client, manifest, target)).in_sync
            warned: list[str] = []
            result = await engine.apply_saved(client, saved, target, hooks=engine.Hooks(warn=warned.append))
            assert result.ok and warned == [saved.warning]
            with pytest.raises(RefusedError, match="is stale: bucket.lib-app, index.lib-app/docs changed"):
                await engine.apply_saved(client, saved, target)  # what it was made against has moved

    asyncio.run(go())


def test_a_malformed_target_is_a_config_error_before_any_call(tmp_path: Path) -> None:
    from reconciler.plan.build import PlanOptions

    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target

    async def go() -> None:
        async with _client(tmp_path) as client:
            with pytest.raises(ConfigError, match="^--target: "):
                await engine.make_plan(client, manifest, target, PlanOptions(targets=("lib-app",)))

    asyncio.run(go())


def test_access_and_show_need_no_client(tmp_path: Path) -> None:
    manifest = load_manifests([str(CHECKOUT / "examples" / "quickstart.yaml")])
    report = engine.access(manifest, "2100000000", "cn-beijing", ["2100000000/readers"])
    assert [(b.name, b.policy_declared) for b in report.buckets] == [("quickstart", True)]
    index = next(r for r in report.buckets[0].resources if r.resource.endswith("/index/docs-v1"))
    assert index.decisions["2100000000/readers"]["tosvectors:QueryVectors"].verdict.value == "allow"
    with pytest.raises(ConfigError, match="not a reconciler plan file; to see the plan of a manifest"):
        engine.load_plan(str(tmp_path / "m.yaml"))


def test_show_and_access_load_no_client_and_no_event_loop() -> None:
    """The engine loads its reads and writes when a workflow that calls the service runs."""
    program = ("import sys\nfrom reconciler import engine\nfrom reconciler.manifest import load_manifests\n"
               "engine.access(load_manifests(['examples/quickstart.yaml']), '2100000000', 'cn-beijing')\n"
               "engine.load_plan\n"
               "io = ('reconciler.client', 'reconciler.state.refresh', 'reconciler.apply.executor')\n"
               "print(sorted(m for m in sys.modules\n"
               "             if m.split('.')[0] in ('asyncio', 'httpx', 'uvloop') or m.startswith(io)))")
    done = subprocess.run([sys.executable, "-c", program], cwd=CHECKOUT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_output_gives_the_live_identifiers_and_names_what_is_missing(tmp_path: Path) -> None:
    from reconciler.client.models import Index, VectorBucket
    from reconciler.errors import NotFoundError
    from reconciler.state.outputs import MissingResources

    manifest, target = _manifest(tmp_path), _resolved(tmp_path).target

    async def go() -> None:
        async with _client(tmp_path) as client:
            with pytest.raises(MissingResources) as missing:
                await engine.output(client, manifest, target)
            assert missing.value.addresses == ["bucket.lib-app"]
            assert (await engine.apply(client, manifest, target)).ok
            out = await engine.output(client, manifest, target)
            bucket = await client.get_vector_bucket("lib-app")
            assert [(b.name, b.trn, b.endpoint, b.creation_time) for b in out.buckets] == \
                [("lib-app", bucket.trn, None, bucket.creation_time)]  # the embedded emulator has no endpoint
            assert [(i.name, i.dimension) for i in out.buckets[0].indexes] == [("docs", 8)]
            assert out.to_dict()["target"] == target.to_dict()

    asyncio.run(go())

    class Service:
        """Any client that answers the two reads will do (client/protocol.py, OutputApi)."""

        async def get_vector_bucket(self, bucket: str, /) -> VectorBucket:
            return VectorBucket(bucket, f"trn:tosvectors:cn-shanghai:2100000007:bucket/{bucket}", 1_700_000_000)

        async def get_index(self, bucket: str, index: str, /) -> Index:
            raise NotFoundError("GetIndex", 404, "NotFound", "no such index", "req-1")

    network = Target("https://tosvectors-cn-shanghai.volces.com", "cn-shanghai", "2100000007")
    with pytest.raises(MissingResources, match=r"^1 declared resource not found: index.lib-app/docs; "):
        asyncio.run(engine.output(Service(), manifest, network))
    no_index = _manifest(tmp_path, "version: 1\nbuckets:\n  - name: lib-app\n")
    out = asyncio.run(engine.output(Service(), no_index, network))
    assert out.buckets[0].endpoint == "lib-app-2100000007.tosvectors-cn-shanghai.volces.com"
