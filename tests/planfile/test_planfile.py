"""Plan files as untrusted input: signing covers every byte, safety is derived on load,
and secret values are masked or kept out of files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reconciler import planfile
from reconciler.errors import ConfigError, PlanFileError, RefusedError
from reconciler.plan import Action, Change, Plan, Target
from reconciler.planner import link
from reconciler.secrets import MASK, MaskedStream, mask, secret_values

KEY = b"0123456789abcdef-plan-key"
TARGET = Target("http://127.0.0.1:9", "cn-beijing", "2100000000")
IDX = {"dataType": "float32", "dimension": 4, "distanceMetric": "cosine", "nonFilterableMetadataKeys": []}


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
    data = deleting_plan().to_dict()
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
