"""The safety holes of issue 9, each driven through the real CLI against `reconciler serve`
(or, for the engine, through the library) and shown closed.

A recording proxy in front of the emulator shows every write the CLI sends; the official
SDK sets up and checks what is really there.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import engine
from reconciler.apply.guardrails import Consent, GuardrailRefused
from reconciler.client import Credentials, VectorsClient
from tests.support.embedded import embedded_transport
from reconciler.manifest import load_manifests
from reconciler.plan.model import Action, Change, Target
from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.emulator import running_emulator
from tests.support.policies import policy
from tests.support.sdk import ACCOUNT

emulator, _empty_service = one_emulator_per_module()
KEY = "k3y-for-signing-plans-0123456789"


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def index_names(sdk, bucket: str) -> list[str]:
    return sorted(i.index_name for i in sdk.list_indexes(bucket, ACCOUNT).indexes)


def bucket_names(sdk) -> list[str]:
    return sorted(b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)


def rag_prod(sdk) -> None:
    """The production bucket the attacker wants gone: two indexes and a policy."""
    sdk.create_vector_bucket("rag-prod")
    sdk.create_index("rag-prod", ACCOUNT, "docs-v2", "float32", 4, "cosine")
    sdk.create_index("rag-prod", ACCOUNT, "faq-v1", "float32", 4, "cosine")
    sdk.put_vector_bucket_policy("rag-prod", ACCOUNT, json.dumps(policy("rag-prod", "tosvectors:GetVectors")))


RAG_PROD_YAML = f"""\
version: 1
prune:
  buckets: ["rag-*"]
buckets:
  - name: rag-prod
    preventDestroy: true
    policy: {json.dumps(policy("rag-prod", "tosvectors:GetVectors"))}
    indexes:
      - {{name: docs-v2, dimension: 4, distanceMetric: cosine, preventDestroy: true}}
      - {{name: faq-v1, dimension: 4, distanceMetric: cosine}}
"""


# --- 1. a saved plan does not decide its own safety -----------------------------------------


def forged_plan(pcli: Cli, *, destroys_data: bool) -> str:
    """The PR job's innocent plan (create one bucket), edited by hand to also delete the
    preventDestroy bucket rag-prod and its indexes, flags false, fingerprints recomputed:
    here with reconciler's own planner, as anyone can."""
    pcli.write("app.yaml", "version: 1\nbuckets:\n  - name: sp-app\n")
    assert pcli("plan", "-f", "app.yaml", "--out", "app.plan").returncode == 0
    innocent = json.loads((pcli.cwd / "app.plan").read_text())
    # the deletes, with their real fingerprints, from a manifest that prunes rag-*
    pcli.write("evil.yaml", "version: 1\nprune:\n  buckets: [\"rag-*\"]\nbuckets:\n  - name: sp-app\n")
    r = pcli("plan", "-f", "evil.yaml", "--out", "evil.plan")
    assert r.returncode == 0, r.stderr
    evil = json.loads((pcli.cwd / "evil.plan").read_text())
    deletes = [c for c in evil["changes"] if c["address"].split(".", 1)[1].startswith("rag-prod")]
    assert {c["address"] for c in deletes} == {"policy.rag-prod", "index.rag-prod/docs-v2",
                                              "index.rag-prod/faq-v1", "bucket.rag-prod"}
    for c in deletes:
        c["prevent_destroy"] = False
        c["destroys_data"] = destroys_data and c["kind"] != "policy"
        c["holds_vectors"] = False
        c["reason"] = "cleanup"
    innocent["changes"] += deletes
    innocent["summary"]["delete"] = len(deletes)
    innocent["fingerprints"].update({a: d for a, d in evil["fingerprints"].items() if "rag-prod" in a})
    # no longer "left alone": a file that lists what it deletes as unmanaged is corrupt
    innocent["unmanaged"] = [a for a in innocent["unmanaged"] if "rag-prod" not in a]
    (pcli.cwd / "forged.plan").write_text(json.dumps(innocent, indent=2) + "\n")  # a signature stays last
    return "forged.plan"


@pytest.mark.parametrize("destroys_data", [False, True], ids=["flags-false", "flags-true-prevent-false"])
def test_a_forged_plan_that_deletes_a_protected_bucket_is_refused(pcli: Cli, proxy, sdk, destroys_data: bool) -> None:
    rag_prod(sdk)
    forged = forged_plan(pcli, destroys_data=destroys_data)
    proxy.clear()
    r = pcli("apply", forged)
    assert r.returncode == 1, r.stdout + r.stderr
    if destroys_data:  # consistent with the kinds: refused for want of --allow-destroy
        assert "refused: bucket.rag-prod: delete destroys data; pass --allow-destroy" in r.stderr
        assert "refused: index.rag-prod/faq-v1: delete destroys data" in r.stderr
    else:  # the file says a delete of an index destroys nothing: the file is refused outright
        assert lines(r.stderr)[-1].startswith("error: forged.plan: corrupt plan file: index.rag-prod/")
        assert "destroys data, but the file says destroys_data: false" in r.stderr
    assert "Traceback" not in r.stderr
    assert proxy.writes() == []
    assert bucket_names(sdk) == ["rag-prod"] and index_names(sdk, "rag-prod") == ["docs-v2", "faq-v1"]


def test_a_forged_plan_signed_with_a_key_it_does_not_know_is_refused_even_with_allow_destroy(
        pcli: Cli, proxy, sdk) -> None:
    rag_prod(sdk)
    signing = Cli(pcli.url, pcli.cwd, {"RECONCILER_PLAN_KEY": KEY})
    forged = forged_plan(signing, destroys_data=True)
    proxy.clear()
    r = signing("apply", forged, "--allow-destroy")  # the innocent plan's signature, kept
    assert r.returncode == 1
    assert lines(r.stderr) == [f"error: {forged}: the signature does not match: the file was changed after "
                               "`plan --out`, or signed with another RECONCILER_PLAN_KEY. Nothing was changed"]
    data = json.loads((pcli.cwd / forged).read_text())
    del data["signature"]
    (pcli.cwd / forged).write_text(json.dumps(data, indent=2) + "\n")
    r = signing("apply", forged, "--allow-destroy")
    assert r.returncode == 1
    assert lines(r.stderr) == [f"error: {forged} is not signed, and RECONCILER_PLAN_KEY is set: refusing a plan "
                               "file that cannot be checked; make it again with `reconciler plan --out`. "
                               "Nothing was changed"]
    assert proxy.writes() == [] and index_names(sdk, "rag-prod") == ["docs-v2", "faq-v1"]


# --- signed plans ------------------------------------------------------------------------------


def test_a_signed_plan_applies_and_one_changed_byte_anywhere_is_refused(pcli: Cli, proxy, sdk) -> None:
    signing = Cli(pcli.url, pcli.cwd, {"RECONCILER_PLAN_KEY": KEY})
    signing.write("m.yaml", "version: 1\nbuckets:\n  - name: sg-app\n  - name: sg-two\n")
    r = signing("plan", "-f", "m.yaml", "--out", "signed.plan")
    assert r.returncode == 0 and "Saved the signed plan to signed.plan" in r.stderr, r.stderr
    good = (pcli.cwd / "signed.plan").read_bytes()
    assert good.endswith(b'"\n}\n') and b'"signature": "hmac-sha256:' in good
    assert KEY.encode() not in good
    proxy.clear()
    # one byte changed: in the plan, in the signature, in the layout; and bytes added
    middle = good.index(b"sg-two")
    variants = {
        "name": good[:middle] + b"sg-twx" + good[middle + 6:],
        "signature": good[:-6] + (b"0" if good[-6:-5] != b"0" else b"1") + good[-5:],
        "whitespace": good.replace(b"\n  ", b"\n   ", 1),
        "appended": good + b"\n",
    }
    for name, data in variants.items():
        assert data != good
        (pcli.cwd / f"{name}.plan").write_bytes(data)
        r = signing("apply", f"{name}.plan")
        assert r.returncode == 1, name
        assert len(lines(r.stderr)) == 1 and f"{name}.plan" in r.stderr, (name, r.stderr)
        assert ("signature does not match" in r.stderr or "the signature is not the last field" in r.stderr), r.stderr
        assert "Nothing was changed" in r.stderr or "corrupt" in r.stderr
    assert proxy.writes() == []
    # a signed file without the key cannot be checked
    r = pcli("apply", "signed.plan")
    assert r.returncode == 1 and "is signed, but RECONCILER_PLAN_KEY is not set" in r.stderr
    # another key
    r = Cli(pcli.url, pcli.cwd, {"RECONCILER_PLAN_KEY": KEY + "x"})("apply", "signed.plan")
    assert r.returncode == 1 and "signature does not match" in r.stderr
    assert proxy.writes() == [] and bucket_names(sdk) == []
    # the file as written, with the key: applied
    r = signing("apply", "signed.plan")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Apply complete: 2 done" in r.stdout
    assert bucket_names(sdk) == ["sg-app", "sg-two"]
    # `show`-style reading accepts the signed file as a plan (the signature is not part of it)
    assert [c.address for c in engine.load_plan(str(pcli.cwd / "signed.plan")).changes] == ["bucket.sg-app",
                                                                                             "bucket.sg-two"]


def test_an_unsigned_plan_without_a_key_says_so_in_one_line(pcli: Cli, sdk) -> None:
    pcli.write("m.yaml", "version: 1\nbuckets:\n  - name: us-app\n")
    assert pcli("plan", "-f", "m.yaml", "--out", "u.plan").returncode == 0
    r = pcli("apply", "u.plan")
    assert r.returncode == 0, r.stderr
    assert [line for line in lines(r.stderr) if "not signed" in line] == [
        "warning: u.plan is not signed; set RECONCILER_PLAN_KEY for `plan --out` and `apply` to detect a plan "
        "file changed in between"]
    assert bucket_names(sdk) == ["us-app"]


def test_a_plan_key_too_short_to_protect_anything_is_refused_before_the_refresh(pcli: Cli, proxy) -> None:
    pcli.write("m.yaml", "version: 1\nbuckets:\n  - name: sk-app\n")
    r = Cli(pcli.url, pcli.cwd, {"RECONCILER_PLAN_KEY": "short"})("plan", "-f", "m.yaml", "--out", "x.plan")
    assert r.returncode == 1
    assert lines(r.stderr) == ["error: RECONCILER_PLAN_KEY is too short (5 characters): use at least 16, e.g. the "
                               "output of `openssl rand -hex 32`"]
    assert proxy.requests == [] and not (pcli.cwd / "x.plan").exists()


# --- plan files are read like manifests --------------------------------------------------------


@pytest.mark.parametrize("what", ["fifo", "device", "huge"])
def test_a_plan_file_that_is_no_regular_file_or_is_huge_is_one_line(pcli: Cli, proxy, what: str) -> None:
    if what == "fifo":
        path = str(pcli.cwd / "plan.fifo")
        os.mkfifo(path)  # opening it would block for ever
        expected = "not a regular file"
    elif what == "device":
        path, expected = "/dev/zero", "not a regular file"  # reading it would grow memory at 1 GB/s
    else:
        path = str(pcli.cwd / "huge.plan")
        with open(path, "wb") as f:
            f.truncate((64 << 20) + 1)  # sparse: no disk used
        expected = "larger than 64 MiB"
    r = pcli("apply", path, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    assert lines(r.stderr) == [f"error: {path}: cannot read plan file: {expected}"]
    assert proxy.requests == []


# --- 2. secrets never enter a manifest, and never leave the process -------------------------

SK = "sk-9f8e7d6c5b4a3210"  # shaped like a bucket name, so that it could travel far
TOKEN = "sts-token-0a1b2c3d4e5f"
AK = "AKLTsafetytest0123456789"


@pytest.fixture
def keyed(tmp_path: Path):
    with running_emulator(tmp_path / "data", "--access-key", AK, "--secret-key", SK) as emu:
        work = tmp_path / "work"
        work.mkdir()
        yield Cli(emu.url, work, {"TOS_ACCESS_KEY": AK, "TOS_SECRET_KEY": SK, "TOS_SECURITY_TOKEN": TOKEN,
                                  "RECONCILER_PLAN_KEY": KEY})


@pytest.mark.parametrize("variable", ["TOS_SECRET_KEY", "TOS_SECURITY_TOKEN", "RECONCILER_PLAN_KEY"])
def test_a_secret_in_a_manifest_is_an_error_at_its_position(keyed: Cli, variable: str) -> None:
    keyed.write("m.yaml", "version: 1\nbuckets:\n  - name: app\n    indexes:\n"
                f"      - {{name: \"i-${{{variable}}}\", dimension: 4, distanceMetric: cosine}}\n")
    for args in (["validate"], ["plan"], ["apply", "--auto-approve"], ["drift"], ["graph"], ["destroy", "--auto-approve"]):
        r = keyed(*args, "-f", "m.yaml")
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert lines(r.stderr) == [
            f"m.yaml:5:19: ${{{variable}}} cannot be used in a manifest: it is a secret, and manifests end up in "
            "plans, PR comments and error messages (reconciler reads credentials from the environment itself)",
            "1 error in the manifest" + ("" if args == ["validate"] else "; nothing was changed")], (args, r.stderr)
        assert r.stdout == ""
    assert "sk-" not in (keyed.cwd / "m.yaml").read_text()  # (the error is about the name, not the value)


def test_a_secret_smuggled_in_by_another_name_is_refused_by_every_command(keyed: Cli) -> None:
    """`--var NAME=<the secret key>` got past the name check, was masked in every output,
    and was then sent to the service inside a bucket policy by `apply -f`. A value equal to
    (or containing) a secret is refused whatever its variable is called (README.md, "Manifest reference"): every
    command that reads the manifest exits 1 with a line naming the variable and the secret,
    the value appears nowhere, and nothing is created."""
    keyed.write("m.yaml", "version: 1\nbuckets:\n  - name: \"${APP}\"\n    indexes:\n"
                "      - {name: docs, dimension: 4, distanceMetric: cosine}\n"
                "  - name: \"bad_${APP}\"\n")
    smuggle = ["--var", f"APP={SK}"]
    outputs: list[str] = []

    def run(*args: str, code: int | tuple[int, ...]) -> subprocess.CompletedProcess[str]:
        r = keyed("--debug", *args, *(smuggle if args[0] != "export" else []))
        assert r.returncode in ((code,) if isinstance(code, int) else code), (args, r.stdout, r.stderr)
        outputs.extend([r.stdout, r.stderr])
        return r

    r = run("validate", "-f", "m.yaml", code=1)
    assert r.stderr.count("${APP} holds the value of TOS_SECRET_KEY") == 2, r.stderr
    keyed.write("m.yaml", "version: 1\nbuckets:\n  - name: safe-name\n    indexes:\n"
                "      - {name: docs, dimension: 4, distanceMetric: cosine}\n"
                f"    policy: {json.dumps(policy(SK, 'tosvectors:GetVectors')).replace(SK, '${APP}')}\n")
    run("validate", "-f", "m.yaml", code=1)
    for fmt in ("text", "json", "markdown"):
        run("plan", "-f", "m.yaml", "--format", fmt, code=1)
    run("plan", "-f", "m.yaml", "--out", "s.plan", code=1)
    assert not (keyed.cwd / "s.plan").exists()
    run("graph", "-f", "m.yaml", code=1)
    r = run("apply", "-f", "m.yaml", "--auto-approve", code=1)
    assert "request CreateVectorBucket" not in r.stderr and "request PutVectorBucketPolicy" not in r.stderr
    for fmt in ("text", "json", "markdown"):
        run("drift", "-f", "m.yaml", "--format", fmt, code=1)
    r = run("export", code=0)
    assert "safe-name" not in r.stdout  # nothing was created
    run("destroy", "-f", "m.yaml", "--auto-approve", code=1)
    for text in outputs:
        for secret in (SK, TOKEN, AK, KEY):
            assert secret not in text and secret[:8] not in text, (secret, text)


# --- 3. no silent target in automation ---------------------------------------------------------


def offline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOS_", "RECONCILER_")) and k != "CI"}
    env.update(NO_COLOR="1", **extra)
    return env


def reconciler(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


NO_TARGET = ("error: no target: CI is set and none of TOS_ENDPOINT, TOS_ACCESS_KEY, TOS_SECRET_KEY is set; "
             "set them, or pass --endpoint embedded to use the embedded emulator")


@pytest.mark.parametrize("ci", ["true", "1", "yes", "TRUE"])
def test_in_ci_with_no_target_every_api_command_refuses_and_creates_nothing(tmp_path: Path, ci: str) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: ci-app\n")
    key = {"RECONCILER_PLAN_KEY": "k" * 32}  # in CI a plan file must be signed to get as far as the target
    env = offline_env(CI=ci, **key)
    # a plan saved outside CI, for `apply FILE`
    assert reconciler(tmp_path, offline_env(**key), "plan", "-f", "m.yaml", "--out", "p.plan").returncode == 0
    import shutil

    shutil.rmtree(tmp_path / ".reconciler")
    for args in (["plan", "-f", "m.yaml"], ["apply", "-f", "m.yaml", "--auto-approve"], ["apply", "p.plan"],
                 ["drift", "-f", "m.yaml"], ["destroy", "-f", "m.yaml", "--auto-approve"], ["graph", "-f", "m.yaml"],
                 ["export"]):
        r = reconciler(tmp_path, env, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert lines(r.stderr) == [NO_TARGET], (args, r.stderr)
        assert r.stdout == ""
        assert not (tmp_path / ".reconciler").exists(), args
    # commands that call no API are unaffected
    assert reconciler(tmp_path, env, "validate", "-f", "m.yaml").returncode == 0


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_in_ci_the_embedded_emulator_can_be_chosen_on_purpose(tmp_path: Path, how: str) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: ci-app\n")
    env = offline_env(CI="true", RECONCILER_PLAN_KEY="k" * 32,  # in CI a saved plan must be signed
                      **({"TOS_ENDPOINT": "embedded"} if how == "environment" else {}))
    flag = ["--endpoint", "embedded"] if how == "flag" else []
    r = reconciler(tmp_path, env, "apply", "-f", "m.yaml", "--auto-approve", *flag)
    assert r.returncode == 0, r.stderr
    assert "reconciler: using the embedded emulator (data in .reconciler/local/)" in r.stderr
    assert "Apply complete: 1 done" in r.stdout
    assert (tmp_path / ".reconciler" / "local").is_dir()
    r = reconciler(tmp_path, env, "plan", "-f", "m.yaml", "--detailed-exitcode", "--out", "p.plan", *flag)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stderr
    r = reconciler(tmp_path, env, "apply", "p.plan", *flag)  # a saved embedded plan, in CI
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("ci", ["", "0", "false", "False"])
def test_outside_ci_the_embedded_default_stays(tmp_path: Path, ci: str) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: ci-app\n")
    r = reconciler(tmp_path, offline_env(CI=ci), "plan", "-f", "m.yaml")
    assert r.returncode == 0, r.stderr
    assert lines(r.stderr) == ["reconciler: no TOS_ENDPOINT or credentials set; using the embedded emulator "
                               "(data in .reconciler/local/)"]


# --- 4. guardrails below the CLI ----------------------------------------------------------------


def test_the_engine_refuses_a_destroying_plan_without_consent(tmp_path: Path) -> None:
    """A library caller goes through engine.apply_plan, and it refuses before the first call:
    no consent given means no destroying step, and a Change cannot be built claiming that its
    delete is harmless."""
    target = Target("http://127.0.0.1", "cn-beijing", ACCOUNT)
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: lib-app\n    pruneIndexes: true\n"
                                     "    indexes:\n      - {name: keep, dimension: 4, distanceMetric: cosine, "
                                     "preventDestroy: true}\n")
    manifest = load_manifests([str(tmp_path / "m.yaml")], {})

    async def go() -> tuple[list[str], list[str], list[str]]:
        transport = embedded_transport(tmp_path / "data")
        async with VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT, transport=transport,
                                 credentials=Credentials("", "")) as client:
            await client.create_vector_bucket("lib-app")
            for name in ("keep", "stray"):
                await client.create_index("lib-app", name, dimension=4, distance_metric="cosine", data_type="float32")
            plan = await engine.make_plan(client, manifest, target)
            assert [(c.address, c.action) for c in plan.changes] == [("index.lib-app/stray", Action.DELETE)]
            refused: list[str] = []
            for consent in (Consent(), Consent(allow_public_access=True)):
                with pytest.raises(GuardrailRefused) as e:
                    await engine.apply_plan(client, plan, consent)
                refused += e.value.refused
            # a caller that builds the change itself, claiming it destroys nothing
            (c,) = plan.changes
            lying = Change(c.address, c.kind, c.action, c.before, None, "mine", destroys_data=False)
            with pytest.raises(GuardrailRefused):
                await engine.apply_plan(client, plan.with_changes((lying,)))
            # preventDestroy refuses even with consent
            keep = Change("index.lib-app/keep", "index", Action.DELETE, {}, None, "x", prevent_destroy=True)
            with pytest.raises(GuardrailRefused) as e:
                await engine.apply_plan(client, plan.with_changes((keep,)), Consent(allow_destroy=True))
            refused += e.value.refused
            before = sorted(i.name for i in (await client.list_indexes("lib-app")).items)
            result = await engine.apply_plan(client, plan, Consent(allow_destroy=True))
            assert result.ok
            after = sorted(i.name for i in (await client.list_indexes("lib-app")).items)
        return refused, before, after

    refused, before, after = asyncio.run(go())
    assert refused == ["index.lib-app/stray: delete destroys data; pass --allow-destroy to allow it"] * 2 + [
        "index.lib-app/keep: delete destroys data, and it has preventDestroy: true"]
    assert before == ["keep", "stray"] and after == ["keep"]


# --- 5. targets take what they name -----------------------------------------------------------


def test_a_targeted_index_destroy_leaves_the_policy_and_the_other_index(pcli: Cli, proxy, sdk) -> None:
    rag_prod(sdk)
    # the bucket's preventDestroy covers its indexes: this one opts out
    pcli.write("m.yaml", RAG_PROD_YAML.replace("{name: faq-v1, dimension: 4, distanceMetric: cosine}",
                                               "{name: faq-v1, dimension: 4, distanceMetric: cosine, "
                                               "preventDestroy: false}"))
    proxy.clear()
    r = pcli("destroy", "-f", "m.yaml", "--target", "index.rag-prod/faq-v1", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "policy.rag-prod" not in r.stdout
    assert proxy.writes() == ["DeleteIndex"]
    assert index_names(sdk, "rag-prod") == ["docs-v2"]
    assert json.loads(sdk.get_vector_bucket_policy("rag-prod", ACCOUNT).policy)["Statement"]


def test_a_bucket_target_still_takes_what_cannot_exist_without_it(pcli: Cli, sdk) -> None:
    rag_prod(sdk)
    pcli.write("m.yaml", RAG_PROD_YAML.replace("preventDestroy: true", "preventDestroy: false"))
    r = pcli("plan", "-f", "m.yaml", "--target", "bucket.rag-prod", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["changes"] == []  # in sync
    r = pcli("destroy", "-f", "m.yaml", "--target", "bucket.rag-prod", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert bucket_names(sdk) == []


def test_a_target_typo_inside_a_prune_scope_warns(pcli: Cli, proxy, sdk) -> None:
    rag_prod(sdk)
    sdk.create_vector_bucket("rag-staging")
    pcli.write("m.yaml", RAG_PROD_YAML)
    for args in (["plan"], ["apply", "--auto-approve"], ["destroy", "--auto-approve"]):
        r = pcli(*args, "-f", "m.yaml", "--target", "bucket.rag-stagin")
        assert r.returncode == 0, r.stderr
        assert ("warning: --target bucket.rag-stagin matches nothing declared in the manifest and nothing live: "
                "it selects nothing") in lines(r.stderr), (args, r.stderr)
        assert "No changes" in r.stdout
    # named right, it is live and in scope: no warning, and the plan deletes it
    r = pcli("plan", "-f", "m.yaml", "--target", "bucket.rag-staging")
    assert r.returncode == 0 and "warning" not in r.stderr and "bucket.rag-staging" in r.stdout, r.stderr
    r = pcli("plan", "-f", "m.yaml", "--target", "index.rag-prod/faq-v2")
    assert "warning: --target index.rag-prod/faq-v2" in r.stderr  # out of scope: the earlier warning
    assert proxy.writes() == [] and bucket_names(sdk) == ["rag-prod", "rag-staging"]
