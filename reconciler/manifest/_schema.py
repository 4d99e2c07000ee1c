"""schemas/manifest.schema.json: loading it, schema-guided scalar conversion, and turning
jsonschema's errors into messages a person understands.

jsonschema reports errors by JSON path; the caller maps paths back to file:line:col.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from reconciler.rules.names import json_type
from reconciler.rules.policy import ACTIONS
from reconciler.util.schemacheck import SchemaCheck
from reconciler.util.text import cut

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

JsonPath = tuple[Any, ...]

# The schema is the one description of the format; it lives at the top of the repository
# (editors point at it with `# yaml-language-server: $schema=...`).
SCHEMA_FILE = Path(__file__).parents[1] / "schemas" / "manifest.schema.json"  # reconciler/schemas


INTERPOLATED = {"$ref": "#/$defs/interpolated"}


@functools.cache
def manifest_schema() -> dict[str, Any]:
    """The schema the loader validates against: the file's, without its `${VAR}` branches.

    The file lets a typed field (`dimension`, `preventDestroy`, a name, `distanceMetric`)
    hold a `${VAR}` reference instead (`anyOf: [the rule, {$ref: interpolated}]`), so that
    editors and check-jsonschema accept a manifest before interpolation. The loader sees the
    document after interpolation, where the value itself must follow the rule (a value that
    still reads `${X}`, from `$${X}` or from a variable, is no number), so those branches go."""
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        schema: dict[str, Any] = _strict(json.load(f))
    schema["$defs"].pop("interpolated", None)
    return schema


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and INTERPOLATED in branches:
        rest = [b for b in branches if b != INTERPOLATED]
        del out["anyOf"]
        if len(rest) == 1:  # {description, anyOf: [rule, interpolated]} -> {description, ...rule}
            out = {**rest[0], **out}
        else:
            out["anyOf"] = rest
    return out


@functools.cache
def manifest_validator() -> SchemaCheck:
    return SchemaCheck(manifest_schema())


@functools.cache
def policy_validator() -> SchemaCheck:
    """Validates a policy given as a JSON string or policyFile, once parsed."""
    return SchemaCheck({"$defs": manifest_schema()["$defs"], "$ref": "#/$defs/policyDocument"})


def _def(name: str) -> dict[str, Any]:
    d: dict[str, Any] = manifest_schema()["$defs"][name]
    return d


# --- what type the schema expects at a path --------------------------------------------------


def _resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/$defs/"):
        schema = manifest_schema()["$defs"][schema["$ref"][len("#/$defs/"):]]
    return schema


def _expand(schema: Any) -> list[dict[str, Any]]:
    schema = _resolve(schema)
    if not isinstance(schema, dict):
        return []
    out = [schema]
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, []):
            out.extend(_expand(branch))
    return out


def _json_type(value: Any) -> str:
    return json_type(value, integer=True)


def _types(schema: dict[str, Any]) -> list[str]:
    if "type" in schema:
        t = schema["type"]
        return list(t) if isinstance(t, list) else [t]
    if "const" in schema:
        return [_json_type(schema["const"])]
    if "enum" in schema:
        return list(dict.fromkeys(_json_type(v) for v in schema["enum"]))
    return []


def expected_types(path: JsonPath) -> list[str]:
    """The JSON types the manifest schema allows at `path` (empty if it allows nothing / unknown)."""
    # list positions do not change the answer: one walk serves every index's `dimension`
    return list(_expected_types(tuple(0 if isinstance(seg, int) else seg for seg in path)))


@functools.lru_cache(maxsize=1024)
def _expected_types(path: JsonPath) -> tuple[str, ...]:
    candidates: list[Any] = [manifest_schema()]
    for seg in path:
        nxt: list[Any] = []
        for c in candidates:
            for s in _expand(c):
                if isinstance(seg, str):
                    props = s.get("properties", {})
                    if seg in props:
                        nxt.append(props[seg])
                    elif isinstance(s.get("additionalProperties"), dict):
                        nxt.append(s["additionalProperties"])
                elif isinstance(s.get("items"), dict):
                    nxt.append(s["items"])
        candidates = nxt
    types: list[str] = []
    for c in candidates:
        for s in _expand(c):
            types.extend(t for t in _types(s) if t not in types)
    return tuple(types)


_INT = r"[+-]?[0-9]+"  # compiled on first use (re caches it): only ${...} values need it
_BOOLS = {"true": True, "false": False}
# YAML 1.1 spelled booleans so; YAML 1.2, editors and the JSON Schema read them as strings
YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})


def convert_scalar(value: Any, path: JsonPath, *, interpolated: bool, plain_raw: str | None) -> Any:
    """Schema-guided conversion of one scalar, so manifests read the way people mean them.

    - A string produced by ${...} where the schema wants an integer or boolean (and not a
      string) becomes one when it spells one: `dimension: ${DIM}` with DIM=768 is 768.
    - An unquoted number or boolean where the schema wants only a string becomes its
      source text: `account: 2100000001` is "2100000001".
    Everything else is left for the schema to judge.
    """
    if interpolated and isinstance(value, str):
        types = expected_types(path)
        if types and "string" not in types:
            text = value.strip()
            if ("integer" in types or "number" in types) and re.fullmatch(_INT, text):
                return int(text)
            if "boolean" in types and text.lower() in _BOOLS:
                return _BOOLS[text.lower()]
            if "number" in types:
                try:
                    return float(text)
                except ValueError:
                    pass
        return value
    if plain_raw is not None and not isinstance(value, str):
        types = expected_types(path)
        if "string" in types and _json_type(value) not in types and not (
            _json_type(value) == "integer" and "number" in types
        ):
            return plain_raw
    return value


# --- errors to messages -----------------------------------------------------------------------


class Problem(NamedTuple):  # a NamedTuple: a frozen dataclass costs ~0.5 ms of start-up to create
    path: JsonPath  # JSON path relative to the validated instance
    message: str
    at_key: bool = False  # locate at the key of `path` rather than its value


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, str):
        return repr(cut(value, limit, "..."))  # secrets masked before the cut
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return "a list" if isinstance(value, list) else "a mapping"


def describe(value: Any) -> str:
    """'string 'abc'', 'integer 5', 'boolean true', 'null', 'a list', 'a mapping'."""
    t = _json_type(value)
    if t in ("array", "object", "null"):
        return _short(value)
    return f"{'number' if t == 'number' else t} {_short(value)}"


def _expected(types: list[str]) -> str:
    words = [_TYPE_WORDS.get(t, t) for t in types]
    return " or ".join(words) if words else "something else"


def field_label(path: JsonPath) -> str:
    """'dimension', 'nonFilterableMetadataKeys[3]', or 'manifest' for the root."""
    if not path:
        return "manifest"
    last = path[-1]
    if isinstance(last, int):
        parent = field_label(path[:-1]) if len(path) > 1 else ""
        return f"{parent}[{last}]"
    return str(last)


def object_label(path: JsonPath, instance: Any) -> str:
    """How to name the object at `path` in a sentence: "bucket 'x'", "policy statement", ..."""
    name = instance.get("name") if isinstance(instance, dict) else None
    named = f" {name!r}" if isinstance(name, str) and name else ""
    if not path:
        return "the manifest"
    if len(path) == 2 and path[0] == "buckets" and isinstance(path[1], int):
        return "bucket" + named
    if len(path) == 4 and path[0] == "buckets" and path[2] == "indexes" and isinstance(path[3], int):
        return "index" + named
    if path[-1] == "Statement" or (len(path) > 1 and path[-2] == "Statement" and isinstance(path[-1], int)):
        return "policy statement"
    if path[-1] == "policy":
        return "policy"
    return field_label(path)


def _suggest(word: str, choices: Any) -> str:
    import difflib  # for a misspelt word only: a valid manifest does not load it

    by_lower = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    if close and by_lower[close[0]] != word:
        return f"; did you mean {by_lower[close[0]]!r}?"
    return ""


def _name_rule_schema(schema: Any) -> bool:
    return bool(schema == _def("bucketName") or schema == _def("indexName"))


_PATTERN_RULES = {
    "account": "an account ID is digits only",
    "principal": "a principal is \"*\" (anyone), an account ID, or ACCOUNT/NAME",  # accessTests
}


def explain(error: ValidationError, prefix: JsonPath = ()) -> Iterator[Problem]:
    """Problems (paths relative to the validated instance) for one jsonschema error.

    `prefix` is where the validated instance sits in the manifest, for naming things only.
    """
    path = tuple(error.absolute_path)
    full = prefix + path
    field = field_label(full)
    inst = error.instance
    v = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}

    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(schema.get("properties", {}))
        label = object_label(full, inst)
        for key in inst:
            if key not in allowed:
                yield Problem(path + (key,), f"unknown key {key!r} in {label}{_suggest(key, allowed)}", at_key=True)
    elif v == "required" and isinstance(inst, dict):
        label = object_label(full, inst)
        for key in error.validator_value:
            if key not in inst:
                yield Problem(path, f"{label} is missing required key {key!r}")
    elif v == "type":
        hint = ""
        if "boolean" in _types(schema) and isinstance(inst, str) and inst.strip().lower() in YAML11_BOOLS:
            hint = (" (yes/no/on/off are YAML 1.1 spellings, strings in YAML 1.2 as editors read them: "
                    "write true or false)")
        yield Problem(path, f"{field}: expected {_expected(_types(schema))}, got {describe(inst)}{hint}")
    elif v == "enum":
        if len(full) == 5 and full[2] == "accessTests" and full[-1] == "action":
            yield Problem(path, _test_action_message(field, inst, error.validator_value))
            return
        values = error.validator_value
        msg = f"{field}: must be one of {', '.join(str(x) for x in values)}, got {_short(inst)}"
        if isinstance(inst, str):
            msg += _suggest(inst, values)
        yield Problem(path, msg)
    elif v == "const":
        yield Problem(path, f"{field}: must be {json.dumps(error.validator_value)}, got {_short(inst)}")
    elif v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and hi is not None:
            yield Problem(path, f"{field}: must be between {lo} and {hi}, got {_short(inst)}")
        elif lo is not None:
            yield Problem(path, f"{field}: must be at least {lo}, got {_short(inst)}")
        else:
            yield Problem(path, f"{field}: {error.message}")
    elif v in ("minLength", "maxLength", "pattern") and _name_rule_schema(schema):
        return  # names get one message with the whole rule from the semantic checks
    elif v in ("minLength", "maxLength"):
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        n = len(inst) if isinstance(inst, str) else 0
        if n == 0 and v == "minLength":
            yield Problem(path, f"{field}: must not be empty")
        elif lo is not None and hi is not None:
            yield Problem(path, f"{field}: must be {lo}-{hi} characters long, got {n} ({_short(inst, 20)})")
        else:
            bound = lo if v == "minLength" else hi
            word = "at least" if v == "minLength" else "at most"
            yield Problem(path, f"{field}: must be {word} {bound} characters long, got {n}")
    elif v == "pattern":
        rule = _PATTERN_RULES.get(str(full[-1]) if full else "", schema.get("description", "").split(".")[0])
        yield Problem(path, f"{field}: {_short(inst)} is not valid: {rule}")
    elif v == "minItems":
        n = error.validator_value
        yield Problem(path, f"{field}: must not be an empty list" if n == 1
                      else f"{field}: must have at least {n} entries")
    elif v == "maxItems":
        yield Problem(path, f"{field}: at most {error.validator_value} entries allowed, got {len(inst)}")
    elif v == "minProperties":
        yield Problem(path, f"{field}: must not be an empty mapping")
    elif v == "uniqueItems" and isinstance(inst, list):
        seen: set[str] = set()
        for i, item in enumerate(inst):
            key = json.dumps(item, sort_keys=True, default=str)
            if key in seen:
                yield Problem(path + (i,), f"{field}: {_short(item)} is listed more than once")
            seen.add(key)
    elif v == "not" and "dependentSchemas" in error.relative_schema_path:
        rsp = list(error.relative_schema_path)
        first = rsp[rsp.index("dependentSchemas") + 1]
        others = (error.validator_value or {}).get("required", [])
        for other in others:
            yield Problem(path + (other,), f"{first!r} and {other!r} cannot be used together; choose one", at_key=True)
    elif v in ("anyOf", "oneOf"):
        yield from _explain_alternatives(error, prefix)
    else:
        yield Problem(path, f"{field}: {error.message}")


def _test_action_message(field: str, inst: Any, allowed: list[str]) -> str:
    """An access test's action: one bucket-scoped action of the service, no wildcard."""
    if not isinstance(inst, str):
        return f"{field}: expected a string, got {describe(inst)}"
    if inst.lower() in {a.lower() for a in ACTIONS if a not in allowed}:
        return (f"{field}: {inst!r} is a region action: no bucket policy decides it, so an access test "
                f"cannot check it")
    if "*" in inst or "?" in inst:
        return f"{field}: {inst!r} has a wildcard: an access test asks about one action"
    hint = _suggest(inst, allowed)
    if hint:
        return f"{field}: {inst!r} is not a TOS Vectors action{hint}"
    names = ", ".join(a.split(":", 1)[1] for a in allowed)
    return f"{field}: {inst!r} is not a TOS Vectors action: use tosvectors:NAME with NAME one of {names}"


def _explain_alternatives(error: ValidationError, prefix: JsonPath) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    full = prefix + path
    by_branch: dict[int, list[ValidationError]] = defaultdict(list)
    for sub in error.context or []:
        by_branch[int(sub.relative_schema_path[0])].append(sub)
    branches = error.validator_value
    # anyOf of `required`s: "needs one of"
    if by_branch and all(
        all(e.validator == "required" and not e.relative_path for e in errs) for errs in by_branch.values()
    ) and len(by_branch) == len(branches):
        keys = [k for errs in by_branch.values() for e in errs for k in e.validator_value]
        label = object_label(full, error.instance)
        yield Problem(path, f"{label} needs {' or '.join(repr(k) for k in keys)}")
        return
    candidates = [
        b for b in sorted(by_branch)
        if not any(e.validator == "type" and not e.relative_path for e in by_branch[b])
    ]
    if candidates:
        for sub in by_branch[candidates[0]]:
            yield from explain(sub, prefix)
        return
    types: list[str] = []
    for b in branches:
        for s in _expand(b)[:1]:
            types.extend(t for t in _types(s) if t not in types)
    yield Problem(path, f"{field_label(full)}: expected {_expected(types)}, got {describe(error.instance)}")


def validate(validator: SchemaCheck, instance: Any, prefix: JsonPath = ()) -> list[Problem]:
    problems: list[Problem] = []
    for error in validator.iter_errors(instance):
        for p in explain(error, prefix):
            if p not in problems:
                problems.append(p)
    return problems
