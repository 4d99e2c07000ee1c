"""Saved plan files: their form, and writing, reading, checking and signing them
(`plan --out`, `apply FILE`, `show FILE`).

The saved form is this module's alone (`to_saved` / `from_saved`, SAVED_FORMAT_VERSION,
schemas/saved-plan.schema.json): it holds what applying later needs (fingerprints, the
summary and destroys_data to cross-check) and is not the public JSON of `--format json`
(`Plan.to_dict`, schemas/plan.schema.json), which tools read and which is not accepted here.

A plan file passes through other hands between the job that made it and the job that
applies it, so it is read like any untrusted input: bounded (no devices, no FIFOs, at most
MAX_PLAN_BYTES), validated against schemas/saved-plan.schema.json, and refused unless its parts
agree with each other (summary, kinds, data loss, dependency graph, fingerprints). What a
step destroys is derived again from its kind and action (plan.Change), never read.

Versions: SAVED_FORMAT_VERSION is written; READ_FORMAT_VERSIONS are read (a version 2 file,
from before `kept`, `destroy` and `targets`, reads as a plan without them).

In CI (the CI variable set, `util.ci.in_ci`) a file to apply must be signed: an unsigned
file that crossed a job boundary can carry any policy and any `prevent_destroy`.

Signing: with RECONCILER_PLAN_KEY set, `plan --out` ends the JSON object with a last field

    "signature": "hmac-sha256:<64 hex digits>"

an HMAC-SHA256, keyed with the variable's value, over every byte of the file before that
field (the text up to the comma that precedes it). What follows the signed bytes has one
fixed form, so no byte of the file can change without the check failing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError, PlanFileError, RefusedError
from reconciler.plan.model import Action, Change, Kept, Plan, Target, graph_problem, json_copy
from reconciler.rules.access import AccessChange
from reconciler.rules.kinds import POLICY, parse_address
from reconciler.util.ci import in_ci
from reconciler.util.files import read_bounded, write_regular
from reconciler.util.jsontext import unique_keys
from reconciler.util.schemacheck import SchemaCheck
from reconciler.util.secrets import secrets_in
from reconciler.util.text import lone_surrogate_in

SCHEMAS = Path(__file__).parents[1] / "schemas"  # reconciler/schemas: a link to the top-level schemas/ in a checkout
MAX_PLAN_BYTES = 64 << 20  # a 10,000-index plan is a few MiB; stops /dev/zero and the like
KEY_VARIABLE = "RECONCILER_PLAN_KEY"
MIN_KEY_LENGTH = 16
# 2: reason_code; the public JSON split off (its own version, a string). 3: kept, destroy, targets
SAVED_FORMAT_VERSION = 3
READ_FORMAT_VERSIONS = (2, 3)
_PUBLIC_VERSION = re.compile(r"[0-9]+\.[0-9]+\Z")  # how Plan.to_dict's format_version looks
_SIGNED_TAIL = re.compile(rb',\n  "signature": "hmac-sha256:([0-9a-f]{64})"\n}\n\Z')


def plan_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The signing key from RECONCILER_PLAN_KEY, or None when it is not set."""
    env = os.environ if environ is None else environ
    value = env.get(KEY_VARIABLE, "").strip()
    if not value:
        return None
    if len(value) < MIN_KEY_LENGTH:  # the length only: the value is never shown
        raise ConfigError(f"{KEY_VARIABLE} is too short ({len(value)} characters): use at least "
                          f"{MIN_KEY_LENGTH}, e.g. the output of `openssl rand -hex 32`")
    return value.encode("utf-8")


def _mac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def to_saved(plan: Plan) -> dict[str, Any]:
    """The plan in the saved form (a fresh copy); `from_saved(to_saved(p)) == p`."""
    return {
        "format_version": SAVED_FORMAT_VERSION,
        "target": plan.target.to_dict(),
        "summary": plan.counts(),
        "changes": [_saved_change(c) for c in plan.changes],
        "unmanaged": list(plan.outside_scope),
        "kept": [k.to_dict() for k in plan.kept],
        "destroy": plan.destroy,
        "targets": list(plan.targets),
        "fingerprints": dict(plan.fingerprints),
    }


def _saved_change(c: Change) -> dict[str, Any]:
    return {
        "address": c.address,
        "kind": c.kind,
        "action": c.action.value,
        "before": json_copy(c.before),
        "after": json_copy(c.after),
        "reason": c.reason,
        "reason_code": c.reason_code,
        "destroys_data": c.destroys_data,  # derived again on load; a file that disagrees is refused
        "holds_vectors": c.holds_vectors,
        "prevent_destroy": c.prevent_destroy,
        "forces_replacement": list(c.forces_replacement),
        "depends_on": list(c.depends_on),
        **({"access_changes": [a.to_dict() for a in c.access_changes], "public": c.public}
           if c.kind == POLICY.name else {}),
        **({"access_not_computed": c.access_not_computed} if c.access_not_computed else {}),
    }


def from_saved(d: Mapping[str, Any]) -> Plan:
    """The plan a saved-form dict describes (KeyError/ValueError/TypeError when malformed;
    `read` checks the schema and the parts' agreement first)."""
    return Plan(
        target=Target.from_dict(d["target"]),
        changes=tuple(_change_from_saved(c) for c in d["changes"]),
        fingerprints=dict(d["fingerprints"]),
        outside_scope=tuple(d["unmanaged"]),
        kept=tuple(Kept.from_dict(k) for k in d.get("kept", ())),
        destroy=bool(d.get("destroy", False)) or _made_by_destroy(d),
        targets=tuple(d.get("targets", ())),
    )


def _made_by_destroy(d: Mapping[str, Any]) -> bool:
    """A version 2 file, which did not say: every step a delete with a "destroy:" reason
    (only the title and wording follow from this; consent never does)."""
    if "destroy" in d:
        return False
    changes = d["changes"]
    return bool(changes) and all(c["action"] == "delete" and str(c["reason"]).startswith("destroy:") for c in changes)


def _change_from_saved(d: Mapping[str, Any]) -> Change:
    return Change(
        address=d["address"],
        kind=d["kind"],
        action=Action(d["action"]),
        before=json_copy(d["before"]),
        after=json_copy(d["after"]),
        reason=d["reason"],
        reason_code=d["reason_code"],
        holds_vectors=d["holds_vectors"],
        prevent_destroy=bool(d["prevent_destroy"]),
        forces_replacement=tuple(d["forces_replacement"]),
        depends_on=tuple(d["depends_on"]),
        access_changes=tuple(AccessChange.from_dict(a) for a in d.get("access_changes", ())),
        access_not_computed=str(d.get("access_not_computed", "")),
    )


def render(plan: Plan, key: bytes | None) -> bytes:
    """The file's bytes: the plan as JSON, then the signature as its last field if keyed."""
    return _file_bytes(json.dumps(to_saved(plan), indent=2), key)


def _file_bytes(body: str, key: bytes | None) -> bytes:
    """`body` (the saved plan as JSON: ASCII only, ending with "\n}") with its signature."""
    if key is None:
        return (body + "\n").encode("ascii")
    signed = body[:-2].encode("ascii")
    return signed + f',\n  "signature": "hmac-sha256:{_mac(key, signed)}"\n}}\n'.encode("ascii")


def save(plan: Plan, path: str, key: bytes | None, *, exclusive: bool = False) -> None:
    """Write the plan file (`exclusive`: a new file only; FileExistsError otherwise)."""
    saved = to_saved(plan)
    body = json.dumps(saved, indent=2)
    data = _file_bytes(body, key)
    # Masking a secret inside a plan would change what it applies: refuse to write it instead.
    leaked = secrets_in(data.decode("ascii")) or secrets_in(json.dumps(saved, ensure_ascii=False))
    if leaked:
        raise PlanFileError(f"{path}: not written: the plan holds the value of {', '.join(leaked)}")
    try:  # a file `apply` would call corrupt is refused now, not in the job that applies it
        _checked_plan(path, json.loads(body))
    except PlanFileError as e:
        why = str(e).removeprefix(f"{path}: corrupt plan file").lstrip(": ")
        raise PlanFileError(f"{path}: not written: `apply` could not read it back ({why})") from None
    try:
        write_regular(path, data, exclusive=exclusive)
    except FileExistsError:
        raise
    except OSError as e:
        raise PlanFileError(f"{path}: cannot write plan file: {e.strerror or e}") from None


def read(path: str, *, key: bytes | None = None, verify: bool = False) -> tuple[Plan, str | None]:
    """Read and check a saved plan as data only: (plan, a warning line or None). Anything
    off is a PlanFileError naming the file. With `verify` (to apply it), the signature is
    checked against `key` first, before any of the content is looked at."""
    try:
        raw = read_bounded(path, MAX_PLAN_BYTES)
    except OSError as e:
        raise PlanFileError(f"{path}: cannot read plan file: {e.strerror or e}") from None
    tail = _SIGNED_TAIL.search(raw)
    if tail is None and b'\n  "signature": ' in raw:
        raise PlanFileError(f"{path}: corrupt plan file: the signature is not the last field in the form "
                            "`plan --out` writes (the file was changed after it was written)")
    signature, signed = (tail.group(1).decode("ascii"), raw[:tail.start()]) if tail else (None, raw)
    warning = _verify(path, signature, signed, key) if verify else None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanFileError(f"{path}: not a reconciler plan file (not UTF-8 text)") from None
    data = _parse_json(path, text)
    if "signature" in data:  # (escaped in the text, so not seen above)
        if tail is None:
            raise PlanFileError(f"{path}: corrupt plan file: the signature is not the last field in the form "
                                "`plan --out` writes (the file was changed after it was written)")
        data = {k: v for k, v in data.items() if k != "signature"}
    return _checked_plan(path, data), warning


def _verify(path: str, signature: str | None, signed: bytes, key: bytes | None) -> str | None:
    """Refuse a file whose signature does not hold; a warning line for an unsigned file
    when no key is set (None when there is nothing to say)."""
    if key is None:
        if signature is not None:
            raise RefusedError(f"{path} is signed, but {KEY_VARIABLE} is not set, so the signature cannot "
                               "be checked; set it to the key the plan was made with. Nothing was changed")
        if in_ci():
            raise RefusedError(f"{path} is not signed, and CI is set: a plan file applied in CI must be signed; "
                               f"set {KEY_VARIABLE} (the same secret) for both `plan --out` and `apply`. "
                               "Nothing was changed")
        return (f"warning: {path} is not signed; set {KEY_VARIABLE} for `plan --out` and `apply` "
                "to detect a plan file changed in between")
    if signature is None:
        raise RefusedError(f"{path} is not signed, and {KEY_VARIABLE} is set: refusing a plan file that "
                           "cannot be checked; make it again with `reconciler plan --out`. Nothing was changed")
    if not hmac.compare_digest(_mac(key, signed), signature):
        raise RefusedError(f"{path}: the signature does not match: the file was changed after `plan --out`, "
                           f"or signed with another {KEY_VARIABLE}. Nothing was changed")
    return None


# --- checks ----------------------------------------------------------------------------------


def _parse_json(path: str, text: str) -> dict[str, Any]:
    try:
        data: Any = json.loads(text, object_pairs_hook=unique_keys)
    except ValueError as e:
        if path.endswith((".yaml", ".yml")):  # `apply m.yaml` for `apply -f m.yaml`
            raise PlanFileError(f"{path}: not a reconciler plan file; to apply a manifest, "
                                f"pass it with -f: reconciler apply -f {path}") from None
        raise PlanFileError(f"{path}: not a reconciler plan file (invalid JSON: {e})") from None
    except RecursionError:
        raise PlanFileError(f"{path}: not a reconciler plan file (nested too deeply)") from None
    problem = lone_surrogate_in(data)
    if problem:
        raise PlanFileError(f"{path}: corrupt plan file: {problem}")
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanFileError(f"{path}: not a reconciler plan file (no format_version)")
    version = data["format_version"]
    if isinstance(version, str) and _PUBLIC_VERSION.match(version):
        raise PlanFileError(f"{path}: this is the JSON of `plan --format json` (for reading), not a saved plan; "
                            "save one with `reconciler plan --out FILE`")
    if version not in READ_FORMAT_VERSIONS or isinstance(version, bool) or not isinstance(version, int):
        readable = " and ".join(str(v) for v in READ_FORMAT_VERSIONS)
        raise PlanFileError(
            f"{path}: plan format version {version!r} is not supported "
            f"(this reconciler reads versions {readable}); run `reconciler plan --out` again"
        )
    return data


def _checked_plan(path: str, data: dict[str, Any]) -> Plan:
    schema = json.loads((SCHEMAS / "saved-plan.schema.json").read_text())
    check, error = SchemaCheck(schema), None
    try:
        if not check.surely_valid(data):
            from jsonschema.exceptions import best_match

            error = best_match(check.full.iter_errors(data))
    except RecursionError:
        raise PlanFileError(f"{path}: not a reconciler plan file (nested too deeply)") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise PlanFileError(f"{path}: corrupt plan file at {where}: {error.message}")
    try:
        plan = from_saved(data)
        for c in plan.changes:
            parse_address(c.address)
    except (KeyError, ValueError, TypeError) as e:
        raise PlanFileError(f"{path}: corrupt plan file: {e}") from None
    problem = disagreement(plan, data) or _policy_problem(plan)
    if problem:
        raise PlanFileError(f"{path}: corrupt plan file: {problem}")
    return plan


def _policy_problem(plan: Plan) -> str | None:
    """A policy document the plan would send must be one a manifest may declare (the same
    schema: no unknown keys such as `statement`, which a case-insensitive reader would take
    for `Statement`)."""
    from reconciler.manifest._schema import policy_validator

    check = policy_validator()
    for c in plan.changes:
        document = c.after.get("document") if c.kind == POLICY.name and isinstance(c.after, dict) else None
        if document is None or check.surely_valid(document):
            continue
        from jsonschema.exceptions import best_match

        error = best_match(check.full.iter_errors(document))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            return f"{c.address}: its policy document is not one a manifest may declare (at {where}: {error.message})"
    return None


def disagreement(plan: Plan, data: dict[str, Any]) -> str | None:
    """Why the parts of a plan file do not agree with each other, or None.

    `data` is the file as read (Plan derives what a file may not decide, so what the file
    claimed is only there)."""
    from reconciler.plan.build import fingerprint_addresses, link

    for c, raw in zip(plan.changes, data["changes"], strict=True):  # (the schema ties each kind to its addresses)
        if bool(raw["destroys_data"]) != c.destroys_data:
            return (f"{c.address}: this {c.action.value} {'destroys' if c.destroys_data else 'does not destroy'} "
                    f"data, but the file says destroys_data: {json.dumps(raw['destroys_data'])}")
    if data["summary"] != plan.counts():
        return f"the summary {json.dumps(data['summary'])} does not count the changes ({json.dumps(plan.counts())})"
    broken = graph_problem(plan.changes)
    if broken:
        return broken
    expected = {c.address: set(c.depends_on) for c in link(list(plan.changes))}
    for c in plan.changes:
        if set(c.depends_on) != expected[c.address]:
            return (f"{c.address} depends on [{', '.join(sorted(c.depends_on))}] but its order requires "
                    f"[{', '.join(sorted(expected[c.address]))}]")
    told = _told_otherwise(plan)
    if told:
        return told
    # without a fingerprint a change could not be checked for staleness
    unchecked = sorted(set(fingerprint_addresses(plan)) - set(plan.fingerprints))
    if unchecked:
        return f"no fingerprint for {', '.join(unchecked)}"
    return None


def _told_otherwise(plan: Plan) -> str | None:
    """What the plan says about itself for a reviewer (`show FILE`: kept, left alone, partial,
    a destroy plan) against what it does; a disagreement, or None. Only the wording follows
    from these fields, so a forged one could make a delete read as something left alone."""
    from reconciler.plan.build import select_targets

    changed = {c.address for c in plan.changes}
    for what, addresses in (("kept", [k.address for k in plan.kept]), ("unmanaged (left alone)", plan.outside_scope)):
        both = sorted(changed.intersection(addresses))
        if both:
            return f"{both[0]} is listed as {what}, but the plan changes it"
    if plan.targets:
        selected = {c.address for c in select_targets(list(plan.changes), plan.targets)}
        outside = [c.address for c in plan.changes if c.address not in selected]
        if outside:
            return f"{outside[0]} is changed, but the plan is limited to {', '.join(plan.targets)}"
    if plan.destroy:
        other = [c for c in plan.changes if c.action != Action.DELETE]
        if other:
            return f"{other[0].address}: a destroy plan only deletes, but this step is a {other[0].action.value}"
    return None
