"""Plan files as untrusted input: signing covers every byte, safety is derived on load,
and secret values are masked or kept out of files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, PlanFileError, RefusedError
from reconciler.plan.build import link
from reconciler.plan import planfile
from reconciler.plan.model import Action, Change, Plan, Target
from reconciler.util.secrets import MASK, MaskedStream, mask, secret_values

KEY = b"0123456789abcdef-plan-key"
TARGET = Target("http://127.0.0.1:9", "cn-beijing", "2100000000")
IDX = {"dataType": "float32", "dimension": 4, "distanceMetric": "cosine", "nonFilterableMetadataKeys": []}


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unsigned files are applied here as outside CI (in CI they are refused: test_planfile_v3)."""
    monkeypatch.delenv("CI", raising=False)


def deleting_plan() -> Plan:
    changes = link([
        Change("index.b/i", "index", Action.DELETE, IDX, None, "pruned"),
        Change("bucket.b", "bucket", Action.DELETE, {"name": "b"}, None, "pruned"),
    ])
    return Plan(TARGET, tuple(changes), fingerprints={"bucket.b": "0123456789abcdef", "index.b/i": "fedcba9876543210"})


def test_every_single_byte_change_of_a_signed_plan_is_refused(tmp_path: Path) -> None:
    good = planfile.render(deleting_plan(), KEY)
    path = tmp_path / "p.plan"
    path.write_bytes(good)
    plan, warning = planfile.read(str(path), key=KEY, verify=True)
    assert warning is None and [c.address for c in plan.changes] == ["index.b/i", "bucket.b"]
    for i in range(len(good)):
        for new in {good[i] ^ 0x01, ord(" ") if good[i] != ord(" ") else ord("\t")}:
            path.write_bytes(good[:i] + bytes([new]) + good[i + 1:])
            with pytest.raises((PlanFileError, RefusedError)):
                planfile.read(str(path), key=KEY, verify=True)
    for data in (good + b" ", good[:-1], b" " + good, good.replace(b'"signature"', b'"Signature"')):
        path.write_bytes(data)
        with pytest.raises((PlanFileError, RefusedError)):
            planfile.read(str(path), key=KEY, verify=True)


def test_an_unsigned_plan_reads_with_a_warning_only_when_no_key_is_set(tmp_path: Path) -> None:
    path = tmp_path / "p.plan"
    path.write_bytes(planfile.render(deleting_plan(), None))
    _, warning = planfile.read(str(path), key=None, verify=True)
    assert warning is not None and warning.startswith(f"warning: {path} is not signed")
    with pytest.raises(RefusedError, match="is not signed, and RECONCILER_PLAN_KEY is set"):
        planfile.read(str(path), key=KEY, verify=True)
    path.write_bytes(planfile.render(deleting_plan(), KEY))
    with pytest.raises(RefusedError, match="is signed, but RECONCILER_PLAN_KEY is not set"):
        planfile.read(str(path), key=None, verify=True)
    assert planfile.read(str(path))[0] == planfile.read(str(path), key=KEY, verify=True)[0]  # showing it


def test_what_a_file_claims_about_data_loss_is_not_what_counts(tmp_path: Path) -> None:
    data = planfile.to_saved(deleting_plan())
    for c in data["changes"]:
        c["destroys_data"] = False
    path = tmp_path / "p.plan"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="index.b/i: this delete destroys data, but the file says destroys_data: false"):
        planfile.read(str(path))
    # and a Change built in code cannot say so either
    assert Change("index.b/i", "index", Action.REPLACE, IDX, IDX, "x", destroys_data=False).destroys_data
    assert Change("bucket.b", "bucket", Action.DELETE, None, None, "x", destroys_data=False).destroys_data
    assert not Change("policy.b", "policy", Action.DELETE, None, None, "x", destroys_data=True).destroys_data


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_key_means_no_key(key: str) -> None:
    assert planfile.plan_key({"RECONCILER_PLAN_KEY": key}) is None


def test_a_short_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as e:
        planfile.plan_key({"RECONCILER_PLAN_KEY": "hunter2hunter"})
    assert "hunter2" not in str(e.value) and "13 characters" in str(e.value)


def test_masking_covers_each_form_of_each_secret_and_spares_short_values() -> None:
    env = {"TOS_SECRET_KEY": 'sk"with\\quote-0123', "TOS_SECURITY_TOKEN": "tok-abcdefgh", "RECONCILER_PLAN_KEY": "short",
           "TOS_ACCESS_KEY": "AKLT0123456789"}
    values = secret_values(env)
    text = ('raw sk"with\\quote-0123, json ' + json.dumps('sk"with\\quote-0123') + ", tok-abcdefgh, AKLT0123456789,"
            " a short story")
    masked = mask(text, values)
    assert "quote-0123" not in masked and "tok-abcdefgh" not in masked and "AKLT0123456789" not in masked
    assert masked.count(MASK) == 4 and "a short story" in masked
    out = io.StringIO()
    stream = MaskedStream(out, values)  # type: ignore[arg-type]
    print("token=tok-abcdefgh", file=stream)  # type: ignore[arg-type]
    assert out.getvalue() == f"token={MASK}\n"


def test_a_plan_holding_a_secret_value_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_SECRET_KEY", "bucketlike-secret-value")
    plan = Plan(TARGET, (Change("bucket.bucketlike-secret-value", "bucket", Action.CREATE, None,
                                {"name": "bucketlike-secret-value"}, "declared"),),
                fingerprints={"bucket.bucketlike-secret-value": "absent"})
    path = tmp_path / "p.plan"
    with pytest.raises(PlanFileError, match="not written: the plan holds the value of TOS_SECRET_KEY"):
        planfile.save(plan, str(path), None)
    assert not path.exists()


def _every_field_plan() -> Plan:
    """Every field of Change and Plan set to something other than its default."""
    doc = {"Version": "2025-12-01", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                   "Action": "tosvectors:QueryVectors", "Resource": "*"}]}
    from reconciler.rules.access import access_delta

    delta = tuple(access_delta(None, doc, TARGET.region, TARGET.account_id, "b", ("i",)))
    assert delta
    changes = link([
        Change("index.b/i", "index", Action.REPLACE, IDX, {**IDX, "dimension": 8}, "dimension: 4 → 8",
               holds_vectors=True, prevent_destroy=True, forces_replacement=("dimension",),
               reason_code="forces-replacement"),
        Change("policy.b", "policy", Action.CREATE, None, {"document": doc}, "declared; bucket has no policy",
               access_changes=delta, reason_code="not-found"),
    ])
    return Plan(TARGET, tuple(changes), fingerprints={"index.b/i": "fedcba9876543210", "policy.b": "absent",
                                                      "bucket.b": "present"},
                outside_scope=("bucket.other",))


@pytest.mark.parametrize("key", [None, KEY], ids=["unsigned", "signed"])
def test_a_saved_plan_reads_back_equal_to_what_was_saved(tmp_path: Path, key: bytes | None) -> None:
    plan = _every_field_plan()
    path = tmp_path / "p.plan"
    planfile.save(plan, str(path), key)
    back, _ = planfile.read(str(path), key=key, verify=True)
    assert back == plan
    assert back.changes[1].public and back.changes[0].reason_code == "forces-replacement"
    assert planfile.render(back, key) == path.read_bytes()  # byte for byte, signature included
    assert planfile.from_saved(json.loads(json.dumps(planfile.to_saved(plan)))) == plan


def test_the_saved_form_is_a_copy_and_not_the_public_json() -> None:
    plan = _every_field_plan()
    saved = planfile.to_saved(plan)
    assert saved["format_version"] == planfile.SAVED_FORMAT_VERSION == 3
    assert saved["fingerprints"] == {"bucket.b": "present", "index.b/i": "fedcba9876543210", "policy.b": "absent"}
    assert "actions" not in saved["changes"][0] and "fingerprints" not in plan.to_dict()
    saved["changes"][0]["after"]["dimension"] = 99
    saved["fingerprints"]["policy.b"] = "present"
    assert plan == _every_field_plan()


def test_a_saved_plan_without_reason_codes_is_corrupt(tmp_path: Path) -> None:
    data = planfile.to_saved(deleting_plan())
    del data["changes"][0]["reason_code"]
    path = tmp_path / "p.plan"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="corrupt plan file at changes/0: 'reason_code' is a required property"):
        planfile.read(str(path))


@pytest.mark.parametrize(("version", "message"), [
    (1, "plan format version 1 is not supported (this reconciler reads versions 2 and 3); "
        "run `reconciler plan --out` again"),
    (True, "plan format version True is not supported"),
    ("2.0", "this is the JSON of `plan --format json` (for reading), not a saved plan; "
            "save one with `reconciler plan --out FILE`"),
    ("2", "plan format version '2' is not supported"),
])
def test_other_versions_and_the_public_json_are_refused_in_one_line(tmp_path: Path, version: object,
                                                                    message: str) -> None:
    path = tmp_path / "p.plan"
    path.write_text(json.dumps({**planfile.to_saved(deleting_plan()), "format_version": version}))
    with pytest.raises(PlanFileError) as e:
        planfile.read(str(path))
    assert str(e.value) == f"{path}: {message}" or str(e.value).startswith(f"{path}: {message}")
    assert "\n" not in str(e.value)
    path.write_text(json.dumps(deleting_plan().to_dict()))  # the real public JSON, whole
    with pytest.raises(PlanFileError, match="not a saved plan"):
        planfile.read(str(path))
