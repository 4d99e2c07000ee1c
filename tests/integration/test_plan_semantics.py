"""Plan semantics, through the real CLI against `reconciler serve` (issues 17 and 18):
preventDestroy is an error at plan time, every live bucket the manifests do not manage is
listed, prune.olderThan cleans up old preview buckets only, a --target plan says it is
partial, and in CI an unsigned plan file is not applied.

Tests marked `needs_wiring` describe the CLI once the lead has wired the new functions in
(see the closing report of the wp-plan branch); they are expected to fail until then."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.client import VectorsClient
from reconciler.emulator.app import EmulatorApp, EmulatorConfig
from tests.integration.conftest import Cli
from tests.support.emulator import running_emulator
from tests.support.sdk import ACCOUNT, sdk_client

DAY = 86400
needs_wiring = pytest.mark.xfail(strict=True, reason="needs the CLI wiring of the wp-plan report; then drop this mark")


def bucket_names(sdk) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)


def index_dimension(sdk, bucket: str, index: str) -> int:  # type: ignore[no-untyped-def]
    return int(sdk.get_index(bucket, ACCOUNT, index).index.dimension)


PROD = """\
version: 1
buckets:
  - name: ps-prod
    preventDestroy: true
    indexes:
      - {name: docs, dimension: DIM, distanceMetric: cosine}
"""


@pytest.fixture
def prod(cli: Cli, sdk) -> str:  # type: ignore[no-untyped-def]
    """A protected bucket with an index that holds a vector; returns the manifest's path."""
    sdk.create_vector_bucket("ps-prod")
    sdk.create_index("ps-prod", ACCOUNT, "docs", "float32", 4, "cosine")
    return cli.write("m.yaml", PROD.replace("DIM", "4"))


# --- 1. preventDestroy at plan time ----------------------------------------------------------


def test_replacing_an_index_of_a_protected_bucket_is_an_error_for_plan_and_apply(cli: Cli, sdk, prod: str) -> None:
    cli.write("m.yaml", PROD.replace("DIM", "8"))
    for args in (["plan", "-f", prod], ["plan", "-f", prod, "--out", "p.plan"],
                 ["apply", "-f", prod, "--auto-approve", "--allow-destroy"]):
        r = cli(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "index.ps-prod/docs" in r.stderr and "preventDestroy" in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (cli.cwd / "p.plan").exists()
    assert index_dimension(sdk, "ps-prod", "docs") == 4  # nothing was changed


def test_plan_destroy_of_a_protected_bucket_is_an_error_and_destroy_changes_nothing(cli: Cli, sdk,
                                                                                    prod: str) -> None:
    for args in (["plan", "-f", prod, "--destroy"], ["destroy", "-f", prod, "--auto-approve"]):
        r = cli(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "index.ps-prod/docs" in r.stderr and "bucket.ps-prod" in r.stderr, (args, r.stderr)
    assert bucket_names(sdk) == ["ps-prod"] and index_dimension(sdk, "ps-prod", "docs") == 4


def test_one_protected_resource_is_one_error_line_with_the_attribute_that_forces_it(cli: Cli, prod: str) -> None:
    cli.write("m.yaml", PROD.replace("DIM", "8"))
    r = cli("plan", "-f", prod)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "error: index.ps-prod/docs: cannot be destroyed: the plan replaces it (dimension 4 → 8: fixed at creation, "
        f"forces replacement), and bucket ps-prod has preventDestroy: true ({prod}:3:5), which covers its indexes; "
        "nothing was changed. To go on, remove preventDestroy (or set preventDestroy: false on the index), or leave "
        "the resource out of the plan with --target"]


@needs_wiring
def test_each_protected_resource_is_its_own_error_line(cli: Cli, sdk, prod: str) -> None:
    sdk.create_index("ps-prod", ACCOUNT, "faq", "float32", 4, "cosine")
    cli.write("m.yaml", PROD.replace("DIM", "8") + "      - {name: faq, dimension: 8, distanceMetric: cosine}\n")
    r = cli("plan", "-f", prod)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert [line.split(": cannot")[0] for line in lines[:2]] == ["error: index.ps-prod/docs",
                                                                "error: index.ps-prod/faq"]
    assert lines[2].startswith("error: 2 resources with preventDestroy would be destroyed; nothing was changed.")


@needs_wiring
def test_drift_reports_a_protected_replace_as_drift_not_as_an_error(cli: Cli, prod: str) -> None:
    cli.write("m.yaml", PROD.replace("DIM", "8"))
    r = cli("drift", "-f", prod)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "index.ps-prod/docs" in r.stdout


# --- 2. visibility ----------------------------------------------------------------------------


def test_a_removed_bucket_block_is_listed_as_not_managed_by_plan_and_drift(cli: Cli, sdk) -> None:
    for name in ("ps-web", "ps-gone"):
        sdk.create_vector_bucket(name)
    path = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: ps-web\n")  # ps-gone's block was removed
    r = cli("plan", "-f", path)
    assert r.returncode == 0, r.stderr
    assert "Not managed by these manifests, left alone (1):\n  bucket.ps-gone\n" in r.stdout
    assert json.loads(cli("plan", "-f", path, "--format", "json").stdout)["unmanaged"] == ["bucket.ps-gone"]
    assert "- `bucket.ps-gone`" in cli("plan", "-f", path, "--format", "markdown").stdout
    r = cli("drift", "-f", path)
    assert r.returncode == 0 and "Not managed by these manifests, for information (not drift) (1):" in r.stdout
    report = json.loads(cli("drift", "-f", path, "--format", "json").stdout)
    assert report["outside_scope"] == ["bucket.ps-gone"] and report["in_sync"] is True
    assert report["format_version"] == "2.0"


# --- 3. prune.olderThan ------------------------------------------------------------------------

NIGHTLY = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 7d\nbuckets: []\n'


def _create_in_the_past(data_dir: Path, days: float) -> None:
    """pr-old, with an index and a policy, made by an emulator whose clock is `days` behind:
    the same data directory is then served with the real clock."""
    app = EmulatorApp(EmulatorConfig(data_dir=data_dir), clock=lambda: time.time() - days * DAY)

    async def go() -> None:
        async with VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT,
                                 transport=httpx.ASGITransport(app=app)) as client:
            await client.create_vector_bucket("pr-old")
            await client.create_index("pr-old", "docs", dimension=4, distance_metric="cosine")
            await client.put_vector_bucket_policy("pr-old", json.dumps({
                "Version": "2025-12-01", "Statement": [{"Effect": "Allow", "Principal": ["2100000001"],
                                                        "Action": ["tosvectors:GetIndex"], "Resource": ["*"]}]}))

    try:
        asyncio.run(go())
    finally:
        app.close()


@pytest.fixture
def aged(tmp_path: Path) -> Iterator[tuple[Cli, object]]:
    data = tmp_path / "aged-data"
    _create_in_the_past(data, days=10)
    with running_emulator(data) as emu:
        work = tmp_path / "work"
        work.mkdir()
        sdk = sdk_client(emu.url)
        sdk.create_vector_bucket("pr-young")
        sdk.create_vector_bucket("keep-me")
        yield Cli(emu.url, work, {}), sdk


def test_a_nightly_prune_deletes_old_preview_buckets_and_keeps_young_ones(aged: tuple[Cli, object]) -> None:
    cli, sdk = aged
    path = cli.write("nightly.yaml", NIGHTLY)
    r = cli("plan", "-f", path)
    assert r.returncode == 0, r.stderr
    assert "- bucket.pr-old" in r.stdout and "- index.pr-old/docs" in r.stdout and "- policy.pr-old" in r.stdout
    assert ("Kept in the prune scope (1):\n  bucket.pr-young: matches prune pattern 'pr-*', but it was created"
            in r.stdout)
    assert "less than prune.olderThan (7d)" in r.stdout
    assert "bucket.keep-me" in r.stdout.split("Not managed by these manifests")[1]
    plan = json.loads(cli("plan", "-f", path, "--format", "json").stdout)
    assert [k["address"] for k in plan["kept"]] == ["bucket.pr-young"]
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 1 and "--allow-destroy" in r.stderr  # consent still needed
    r = cli("apply", "-f", path, "--auto-approve", "--allow-destroy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert bucket_names(sdk) == ["keep-me", "pr-young"]
    r = cli("drift", "-f", path, "--format", "json")
    assert r.returncode == 0 and [k["address"] for k in json.loads(r.stdout)["kept"]] == ["bucket.pr-young"]


def test_a_bad_duration_is_one_line_at_its_position(cli: Cli) -> None:
    path = cli.write("nightly.yaml", NIGHTLY.replace("7d", "a week"))
    r = cli("plan", "-f", path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0].startswith(f"{path}:4:14: olderThan: 'a week' is not valid: A duration")


# --- 4. partial plans ----------------------------------------------------------------------------


def test_a_target_plan_says_it_is_partial_in_every_form_and_in_its_saved_file(cli: Cli, sdk) -> None:
    path = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: ps-a\n  - name: ps-b\n")
    partial = "Resource targeting is in effect"
    r = cli("plan", "-f", path, "--target", "bucket.ps-a", "--out", "p.plan")
    assert r.returncode == 0 and partial in r.stdout and "Plan: 1 to create" in r.stdout, r.stderr
    assert partial in cli("plan", "-f", path, "--target", "bucket.ps-a", "--format", "markdown").stdout
    data = json.loads(cli("plan", "-f", path, "--target", "bucket.ps-a", "--format", "json").stdout)
    assert data["partial"] is True and data["targets"] == ["bucket.ps-a"]
    assert json.loads((cli.cwd / "p.plan").read_text())["targets"] == ["bucket.ps-a"]
    for fmt in ("text", "markdown"):
        assert partial in cli("show", "p.plan", "--format", fmt).stdout
    assert json.loads(cli("show", "p.plan", "--format", "json").stdout)["partial"] is True
    full = cli("plan", "-f", path)
    assert partial not in full.stdout and "Plan: 2 to create" in full.stdout


# --- 5. words -------------------------------------------------------------------------------------


def test_a_destroy_plan_is_titled_as_one_in_markdown_and_gives_true_reasons(cli: Cli, sdk) -> None:
    sdk.create_vector_bucket("ps-d")
    sdk.create_index("ps-d", ACCOUNT, "made-by-hand", "float32", 4, "cosine")
    path = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: ps-d\n    pruneIndexes: true\n")
    r = cli("plan", "-f", path, "--destroy", "--format", "markdown")
    assert r.returncode == 0 and r.stdout.startswith("### reconciler destroy plan\n"), r.stdout + r.stderr
    assert "destroy: not declared; in bucket 'ps-d', which is destroyed (pruneIndexes: true)" in r.stdout
    assert "declared in the manifest" not in r.stdout.split("made-by-hand")[1].split("</details>")[0]


# --- 7. the CI rule for saved plans -----------------------------------------------------------------


def test_in_ci_apply_of_an_unsigned_plan_file_is_refused_naming_the_key(cli: Cli, sdk) -> None:
    path = cli.write("m.yaml", "version: 1\nbuckets:\n  - name: ps-ci\n")
    assert cli("plan", "-f", path, "--out", "p.plan").returncode == 0
    ci = Cli(cli.url, cli.cwd, {"CI": "true"})
    r = ci("apply", "p.plan")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "error: p.plan is not signed, and CI is set: a plan file applied in CI must be signed; "
        "set RECONCILER_PLAN_KEY (the same secret) for both `plan --out` and `apply`. Nothing was changed"]
    assert bucket_names(sdk) == []
    signed = Cli(cli.url, cli.cwd, {"CI": "true", "RECONCILER_PLAN_KEY": "k" * 32})
    assert signed("plan", "-f", path, "--out", "s.plan").returncode == 0
    r = signed("apply", "s.plan")
    assert r.returncode == 0, r.stderr
    assert bucket_names(sdk) == ["ps-ci"]
