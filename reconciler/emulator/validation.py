"""Request parsing and validation: one parser per action, every limit of the API reference.

A parser turns the JSON body of one action into a frozen request dataclass, or raises
ValidationException (400) whose message names the field and the limit it breaks, e.g.
"dimension must be between 1 and 4096, got 5000". Only checks that need no state live
here; checks against an index (data type and vector length, no zero vector on a cosine
index, filters on non-filterable keys) are made by the handlers once the index is known,
so a malformed request is a 400 whether or not its bucket exists.

Where the reference is silent the emulator follows README "Wire protocol" §0 and, after that, AWS S3
Vectors (noted "[AWS]" below). Unknown body fields are ignored (SDKs add fields over
time); JSON null counts as "absent".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from reconciler.emulator.errors import ValidationException, shown
from reconciler.emulator.filters import Filter, json_kind, parse_filter
from reconciler.rules import names as rules
from reconciler.rules.names import (
    DATA_TYPES,
    DISTANCE_METRICS,
    MAX_DIMENSION,
    MAX_METADATA_KEY_LENGTH,
    MAX_NON_FILTERABLE_KEYS,
    MIN_DIMENSION,
)
from reconciler.rules.policy import action_problem, too_wild
from reconciler.util.jsontext import RepeatedKey, unique_keys
from reconciler.util.text import lone_surrogate_in

INT8_RANGE = (-128, 127)
MAX_KEY_LENGTH = 1024
MAX_KEYS_PER_CALL = 100  # GetVectors and DeleteVectors (the reference; AWS allows 500 deletes)
MAX_VECTORS_PER_PUT = 500
MAX_TOP_K = 1000
MAX_METADATA_KEYS = 50  # [AWS] keys per vector
MAX_METADATA_BYTES = 40 * 1024  # [AWS] total metadata per vector
MAX_POLICY_LENGTH = 20 * 1024  # [AWS] bucket policy size (the reference gives none)
# JSON nesting of a policy document: the documented shape (Statement > [statement] >
# Condition > operator > key > [values]) is 6 levels deep; the rest is headroom
MAX_POLICY_DEPTH = 10


# --- request types --------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketRequest:
    """CreateVectorBucket, DeleteVectorBucket, GetVectorBucket, Get/DeleteVectorBucketPolicy."""

    bucket: str


@dataclass(frozen=True)
class ListBucketsRequest:
    """ListVectorBuckets."""

    prefix: str | None
    next_token: str | None
    max_results: int


@dataclass(frozen=True)
class PutPolicyRequest:
    """PutVectorBucketPolicy; `policy` is kept as the caller's text, byte for byte."""

    bucket: str
    policy: str


@dataclass(frozen=True)
class CreateIndexRequest:
    """CreateIndex."""

    bucket: str
    index: str
    data_type: str
    dimension: int
    distance_metric: str
    non_filterable_keys: tuple[str, ...]


@dataclass(frozen=True)
class IndexRequest:
    """GetIndex, DeleteIndex."""

    bucket: str
    index: str


@dataclass(frozen=True)
class ListIndexesRequest:
    """ListIndexes."""

    bucket: str
    prefix: str | None
    next_token: str | None
    max_results: int


@dataclass(frozen=True)
class VectorValues:
    """`{"float32": [...]}` or `{"int8": [...]}`: which one (`data_type`), the values as a
    finite float32 array (int8 values are exact in float32), and the field for messages."""

    data_type: str
    values: np.ndarray
    field: str

    @property
    def size(self) -> int:
        return int(self.values.size)

    def to_bytes(self) -> bytes:
        """The stored form: little-endian float32, or one signed byte per int8 value."""
        return self.values.astype("<f4" if self.data_type == "float32" else "i1").tobytes()


@dataclass(frozen=True)
class VectorInput:
    """One vector of PutVectors."""

    key: str
    data: VectorValues
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class PutVectorsRequest:
    """PutVectors."""

    bucket: str
    index: str
    vectors: tuple[VectorInput, ...]


@dataclass(frozen=True)
class KeysRequest:
    """GetVectors and DeleteVectors (DeleteVectors ignores the return flags)."""

    bucket: str
    index: str
    keys: tuple[str, ...]
    return_data: bool
    return_metadata: bool


@dataclass(frozen=True)
class ListVectorsRequest:
    """ListVectors."""

    bucket: str
    index: str
    max_results: int
    next_token: str | None
    return_data: bool
    return_metadata: bool


@dataclass(frozen=True)
class QueryRequest:
    """QueryVectors."""

    bucket: str
    index: str
    vector: VectorValues
    top_k: int
    filter: Filter | None
    return_distance: bool
    return_metadata: bool


# --- field readers --------------------------------------------------------------------------


def read_string(body: Mapping[str, Any], name: str, *, required: bool = False,
                min_len: int = 1, max_len: int | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationException(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ValidationException(f"{name} must be a string, got {json_kind(value)}")
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        limit = f"between {min_len} and {max_len}" if max_len is not None else f"at least {min_len}"
        raise ValidationException(f"{name} length must be {limit} characters, got {len(value)}")
    return value


def read_int(body: Mapping[str, Any], name: str, low: int, high: int, *,
             default: int | None = None) -> int:
    value = body.get(name)
    if value is None:
        if default is None:
            raise ValidationException(f"{name} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int):  # bool is an int in Python, not in JSON
        got = repr(value) if isinstance(value, float) else json_kind(value)
        raise ValidationException(f"{name} must be an integer, got {got}")
    if not low <= value <= high:
        raise ValidationException(f"{name} must be between {low} and {high}, got {value}")
    return value


def read_bool(body: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationException(f"{name} must be a boolean, got {json_kind(value)}")
    return value


def _read_object(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationException(f"{name} must be an object, got {json_kind(value)}")
    return value


_CHAR_MESSAGES = {"bucket": "lowercase letters, digits and '-'", "index": "lowercase letters, digits, '-' and '.'"}
_EDGE_MESSAGES = {"bucket": "must not start or end with '-'", "index": "must start and end with a letter or digit"}


def check_name(rule: rules.NameRule, name: str, field: str) -> str:
    """`name` if it keeps `rule` (reconciler.rules.names), else a ValidationException naming `field`."""
    fault = rules.name_fault(rule, name)
    if fault is None:
        return name
    if fault.kind == "length":
        raise ValidationException(
            f"{field} length must be between {rule.low} and {rule.high} characters, got {len(name)}")
    if fault.kind == "char":
        raise ValidationException(f"{field} may contain only {_CHAR_MESSAGES[rule.what]}, got {shown(name)}")
    raise ValidationException(f"{field} {_EDGE_MESSAGES[rule.what]}, got {shown(name)}")


def check_bucket_name(name: str, field: str = "vectorBucketName") -> str:
    return check_name(rules.BUCKET_NAME, name, field)


def check_index_name(name: str, field: str = "indexName") -> str:
    return check_name(rules.INDEX_NAME, name, field)


def _bucket(body: Mapping[str, Any]) -> str:
    name = read_string(body, "vectorBucketName", required=True, min_len=0)
    assert name is not None
    return check_bucket_name(name)


def _index(body: Mapping[str, Any]) -> str:
    name = read_string(body, "indexName", required=True, min_len=0)
    assert name is not None
    return check_index_name(name)


def _key(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationException(f"{field} must be a string, got {json_kind(value)}")
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise ValidationException(
            f"{field} length must be between 1 and {MAX_KEY_LENGTH} characters, got {len(value)}")
    return value


def _keys(body: Mapping[str, Any]) -> tuple[str, ...]:
    value = body.get("keys")
    if value is None:
        raise ValidationException("keys is required")
    if not isinstance(value, list):
        raise ValidationException(f"keys must be an array, got {json_kind(value)}")
    if not 1 <= len(value) <= MAX_KEYS_PER_CALL:
        raise ValidationException(
            f"keys must have between 1 and {MAX_KEYS_PER_CALL} items, got {len(value)}")
    return tuple(_key(k, f"keys[{i}]") for i, k in enumerate(value))


def _not_finite(field: str, position: int) -> str:
    return f"{field}[{position}] must be a finite float32 value (no NaN, Infinity or overflow)"


def _float32_array(values: list[Any], field: str) -> np.ndarray:
    # one pass of type() is far cheaper than per-element isinstance on 500 x 4096 floats
    if not all(type(v) is float or type(v) is int for v in values):
        bad = next(i for i, v in enumerate(values) if type(v) is not float and type(v) is not int)
        raise ValidationException(f"{field}[{bad}] must be a number, got {json_kind(values[bad])}")
    try:
        array = np.asarray(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float64
        bad = next(i for i, v in enumerate(values) if type(v) is int and abs(v) > 1e308)
        raise ValidationException(_not_finite(field, bad)) from None
    with np.errstate(over="ignore"):
        as32 = array.astype(np.float32)
    if not np.isfinite(as32).all():
        raise ValidationException(_not_finite(field, int(np.flatnonzero(~np.isfinite(as32))[0])))
    return as32


def _int8_array(values: list[Any], field: str) -> np.ndarray:
    low, high = INT8_RANGE
    if all(type(v) is int and low <= v <= high for v in values):  # the usual case, in one pass
        return np.asarray(values, dtype=np.int8).astype(np.float32)
    for i, v in enumerate(values):  # JSON integers only: 1.0 and true are not int8 values
        if type(v) is not int:
            got = repr(v) if type(v) is float else json_kind(v)
            raise ValidationException(f"{field}[{i}] must be an integer between {low} and {high}, got {got}")
        if not low <= v <= high:
            raise ValidationException(f"{field}[{i}] must be an integer between {low} and {high}, got {shown(v)}")
    return np.asarray(values, dtype=np.int8).astype(np.float32)


def vector_values(data: Any, field: str) -> VectorValues:
    """`data` / `queryVector`: exactly one of `{"float32": [...]}` and `{"int8": [...]}`.
    Which one must match the index's dataType; the handler checks that once it knows it."""
    if not isinstance(data, dict):
        raise ValidationException(f"{field} must be an object, got {json_kind(data)}")
    given = [t for t in DATA_TYPES if data.get(t) is not None]
    if not given:
        raise ValidationException(f"{field}.float32 is required (or {field}.int8 for an int8 index)")
    if len(given) > 1:
        raise ValidationException(f"{field} must have one of float32 and int8, not both")
    data_type = given[0]
    where = f"{field}.{data_type}"
    values = data[data_type]
    if not isinstance(values, list):
        raise ValidationException(f"{where} must be an array, got {json_kind(values)}")
    if not values:
        raise ValidationException(f"{where} must not be empty")
    array = _float32_array(values, where) if data_type == "float32" else _int8_array(values, where)
    return VectorValues(data_type, array, where)


def _metadata_value_ok(value: Any) -> bool:
    if isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_metadata_value_ok(v) and not isinstance(v, list) for v in value)
    return False


def _metadata(value: Any, field: str) -> dict[str, Any] | None:
    """A map of string keys to string/number/boolean values or arrays of them ([AWS] types)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationException(f"{field} must be an object, got {json_kind(value)}")
    if len(value) > MAX_METADATA_KEYS:
        raise ValidationException(
            f"{field} must have at most {MAX_METADATA_KEYS} keys, got {len(value)}")
    for name, item in value.items():
        if not name:
            raise ValidationException(f"{field} keys must not be empty")
        if not _metadata_value_ok(item):
            raise ValidationException(
                f"{field}.{name} must be a string, number, boolean or an array of them, got {json_kind(item)}")
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise ValidationException(
            f"{field} must be at most {MAX_METADATA_BYTES} bytes as JSON, got {size}")
    return value or None


def _list_paging(body: Mapping[str, Any], default: int, high: int, token_max: int
                 ) -> tuple[str | None, int]:
    token = read_string(body, "nextToken", max_len=token_max)
    return token, read_int(body, "maxResults", 1, high, default=default)


# --- one parser per action ------------------------------------------------------------------


def parse_bucket(body: Mapping[str, Any]) -> BucketRequest:
    return BucketRequest(_bucket(body))


def parse_list_buckets(body: Mapping[str, Any]) -> ListBucketsRequest:
    prefix = read_string(body, "prefix", max_len=63)
    token, limit = _list_paging(body, default=100, high=500, token_max=512)
    return ListBucketsRequest(prefix, token, limit)


def parse_put_policy(body: Mapping[str, Any]) -> PutPolicyRequest:
    bucket = _bucket(body)
    policy = read_string(body, "policy", required=True, max_len=MAX_POLICY_LENGTH)
    assert policy is not None
    try:
        document = json.loads(policy, object_pairs_hook=unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise ValidationException(f"policy must not nest more than {MAX_POLICY_DEPTH} levels deep") from None
    except RepeatedKey as e:
        raise ValidationException(f"policy has the key {e.key!r} more than once") from None
    except ValueError:
        raise ValidationException("policy must be a JSON document, and this is not valid JSON") from None
    if not isinstance(document, dict):
        raise ValidationException(f"policy must be a JSON object, got {json_kind(document)}")
    if "\\u" in policy:  # only an escape can make a lone surrogate, which no manifest can hold
        problem = lone_surrogate_in(document)
        if problem:
            raise ValidationException(f"policy is not valid text: {problem}")
    depth = json_depth(document)
    if depth > MAX_POLICY_DEPTH:
        raise ValidationException(f"policy must not nest more than {MAX_POLICY_DEPTH} levels deep, got {depth}")
    _check_policy_keys(document)
    return PutPolicyRequest(bucket, policy)


# The document's keys, as the reference spells them. A reader that matches keys without
# regard to case (Go's encoding/json does) would read `statement` as `Statement`, and with
# both present take the last: every reader must see one document, so other spellings and
# repeated keys are refused.
_POLICY_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                   "NotResource", "Condition")


def _check_spelling(mapping: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    lowered = {k.lower(): k for k in known}
    for key in mapping:
        right = lowered.get(key.lower())
        if right is not None and right != key:
            raise ValidationException(f"{where} key {key!r} must be written {right!r}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_policy_keys(document: Mapping[str, Any]) -> None:
    """The document's shape, as the manifest's policyDocument schema and policy rules state it
    (schemas/manifest.schema.json, reconciler.rules.policy): what the emulator stores must
    export to a manifest that validates. The reference shows `"Effect": "Allow"` only and
    says nothing of other spellings, so the emulator refuses what the manifest refuses."""
    _check_spelling(document, _POLICY_KEYS, "policy")
    _check_known(document, _POLICY_KEYS, "policy")
    if "Statement" not in document:
        raise ValidationException("policy must have a Statement")
    if "Version" not in document:
        raise ValidationException('policy must have a Version, e.g. "2025-12-01"')
    _check_text(document["Version"], "policy Version")
    if "Id" in document and not isinstance(document["Id"], str):
        raise ValidationException(f"policy Id must be a string, got {json_kind(document['Id'])}")
    unsafe = too_wild(document)  # before any matching: such a pattern costs exponential time
    if unsafe:
        raise ValidationException(f"policy {unsafe}")
    raw = document["Statement"]
    if isinstance(raw, Mapping):
        _check_statement(raw, "policy Statement")
    elif isinstance(raw, list):
        for i, statement in enumerate(raw):
            if not isinstance(statement, Mapping):
                raise ValidationException(f"policy Statement[{i}] must be an object, got {json_kind(statement)}")
            _check_statement(statement, f"policy Statement[{i}]")
    else:
        raise ValidationException(f"policy Statement must be an object or an array of objects, got {json_kind(raw)}")


def _check_known(mapping: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in known:
            raise ValidationException(f"{where} has the unknown key {shown(key)}: expected {', '.join(known)}")


def _check_text(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationException(f"{where} must be a non-empty string, got "
                                  f"{shown(value) if isinstance(value, str) else json_kind(value)}")


def _check_strings(value: Any, where: str) -> list[str]:
    """A non-empty string, or a non-empty array of them (Action, Resource, a Principal's)."""
    if isinstance(value, str):
        _check_text(value, where)
        return [value]
    if not isinstance(value, list) or not value:
        raise ValidationException(f"{where} must be a string or a non-empty array of strings, got "
                                  f"{'an empty array' if isinstance(value, list) else json_kind(value)}")
    for i, item in enumerate(value):
        _check_text(item, f"{where}[{i}]")
    return value


def _check_statement(statement: Mapping[str, Any], where: str) -> None:
    _check_spelling(statement, _STATEMENT_KEYS, "policy statement")
    _check_known(statement, _STATEMENT_KEYS, where)
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        got = "no Effect" if "Effect" not in statement else (
            shown(effect) if isinstance(effect, str) else json_kind(effect))
        raise ValidationException(f'{where}.Effect must be "Allow" or "Deny" (as written), got {got}')
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        raise ValidationException(f"{where}.Sid must be a string, got {json_kind(statement['Sid'])}")
    for key, other in (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource")):
        if key not in statement and other not in statement:
            raise ValidationException(f"{where} must have a {key} (or {other})")
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            _check_principal(statement[key], f"{where}.{key}")
    for key in ("Action", "NotAction"):
        if key in statement:
            for i, action in enumerate(_check_strings(statement[key], f"{where}.{key}")):
                problem = action_problem(action)
                if problem and problem[0] == "error":
                    at = f"{where}.{key}" + (f"[{i}]" if isinstance(statement[key], list) else "")
                    raise ValidationException(f"{at}: {problem[1][:300]}")
    for key in ("Resource", "NotResource"):
        if key in statement:
            _check_strings(statement[key], f"{where}.{key}")
    condition = statement.get("Condition")
    if "Condition" in statement and not (isinstance(condition, Mapping)
                                         and all(isinstance(v, Mapping) for v in condition.values())):
        raise ValidationException(f"{where}.Condition must be an object of objects ({{operator: {{key: value}}}})")


def _check_principal(value: Any, where: str) -> None:
    """"*", an account, ACCOUNT/NAME, an array of those, or a mapping such as {"TOS": [...]}."""
    if not isinstance(value, Mapping):
        _check_strings(value, where)
        return
    if not value:
        raise ValidationException(f"{where} must not be an empty object")
    for name, part in value.items():
        _check_strings(part, f"{where}.{name}")


def json_depth(document: Any) -> int:
    """Nesting depth of a parsed JSON value: a scalar is 0, `{}` and `[]` are 1. Iterative,
    so a document as deep as the parser allows costs no stack."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def parse_create_index(body: Mapping[str, Any]) -> CreateIndexRequest:
    bucket, index = _bucket(body), _index(body)
    data_type = read_string(body, "dataType", required=True)
    if data_type not in DATA_TYPES:
        raise ValidationException(f"dataType must be one of {', '.join(DATA_TYPES)}, got {shown(data_type)}")
    dimension = read_int(body, "dimension", MIN_DIMENSION, MAX_DIMENSION)
    metric = read_string(body, "distanceMetric", required=True)
    if metric not in DISTANCE_METRICS:
        raise ValidationException(
            f"distanceMetric must be one of {', '.join(DISTANCE_METRICS)}, got {shown(metric)}")
    config = _read_object(body, "metadataConfiguration") or {}
    keys = config.get("nonFilterableMetadataKeys")
    field = "metadataConfiguration.nonFilterableMetadataKeys"
    if keys is None:
        keys = []
    if not isinstance(keys, list):
        raise ValidationException(f"{field} must be an array, got {json_kind(keys)}")
    # An empty list means "none", like leaving it out (the Go SDK always sends {}).
    if len(keys) > MAX_NON_FILTERABLE_KEYS:
        raise ValidationException(
            f"{field} must have at most {MAX_NON_FILTERABLE_KEYS} keys, got {len(keys)}")
    for i, key in enumerate(keys):
        if not isinstance(key, str):
            raise ValidationException(f"{field}[{i}] must be a string, got {json_kind(key)}")
        if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            raise ValidationException(
                f"{field}[{i}] length must be between 1 and {MAX_METADATA_KEY_LENGTH} characters, got {len(key)}")
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValidationException(f"{field} must be unique, {shown(dup)} appears more than once")
    return CreateIndexRequest(bucket, index, data_type, dimension, metric, tuple(keys))


def parse_index(body: Mapping[str, Any]) -> IndexRequest:
    return IndexRequest(_bucket(body), _index(body))


def parse_list_indexes(body: Mapping[str, Any]) -> ListIndexesRequest:
    bucket = _bucket(body)
    prefix = read_string(body, "prefix", max_len=63)
    token, limit = _list_paging(body, default=100, high=500, token_max=512)
    return ListIndexesRequest(bucket, prefix, token, limit)


def parse_put_vectors(body: Mapping[str, Any]) -> PutVectorsRequest:
    bucket, index = _bucket(body), _index(body)
    items = body.get("vectors")
    if items is None:
        raise ValidationException("vectors is required")
    if not isinstance(items, list):
        raise ValidationException(f"vectors must be an array, got {json_kind(items)}")
    if not 1 <= len(items) <= MAX_VECTORS_PER_PUT:
        raise ValidationException(
            f"vectors must have between 1 and {MAX_VECTORS_PER_PUT} items, got {len(items)}")
    parsed: list[VectorInput] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"vectors[{i}]"
        if not isinstance(item, dict):
            raise ValidationException(f"{where} must be an object, got {json_kind(item)}")
        if item.get("key") is None:
            raise ValidationException(f"{where}.key is required")
        key = _key(item["key"], f"{where}.key")
        if key in seen:
            raise ValidationException(f"{where}.key {shown(key)} appears more than once in this request")
        seen.add(key)
        if item.get("data") is None:
            raise ValidationException(f"{where}.data is required")
        values = vector_values(item["data"], f"{where}.data")
        parsed.append(VectorInput(key, values, _metadata(item.get("metadata"), f"{where}.metadata")))
    return PutVectorsRequest(bucket, index, tuple(parsed))


def parse_get_vectors(body: Mapping[str, Any]) -> KeysRequest:
    bucket, index = _bucket(body), _index(body)
    return KeysRequest(bucket, index, _keys(body), read_bool(body, "returnData"),
                       read_bool(body, "returnMetadata"))


def parse_delete_vectors(body: Mapping[str, Any]) -> KeysRequest:
    bucket, index = _bucket(body), _index(body)
    return KeysRequest(bucket, index, _keys(body), False, False)


def parse_list_vectors(body: Mapping[str, Any]) -> ListVectorsRequest:
    bucket, index = _bucket(body), _index(body)
    token, limit = _list_paging(body, default=500, high=1000, token_max=2048)
    return ListVectorsRequest(bucket, index, limit, token, read_bool(body, "returnData"),
                              read_bool(body, "returnMetadata"))


def parse_query(body: Mapping[str, Any]) -> QueryRequest:
    bucket, index = _bucket(body), _index(body)
    top_k = read_int(body, "topK", 1, MAX_TOP_K)  # required by the reference
    if body.get("queryVector") is None:
        raise ValidationException("queryVector is required")
    # The SDK sends what the caller put in VectorData: {"int8": [...]} for an int8 query,
    # {"float32": [...]} otherwise. Like PutVectors, the type must be the index's dataType
    # (checked by the handler), so an int8 index is queried with int8 values.
    vector = vector_values(body["queryVector"], "queryVector")
    raw_filter = body.get("filter")
    if raw_filter is not None and not isinstance(raw_filter, dict):
        raise ValidationException(f"filter must be an object, got {json_kind(raw_filter)}")
    parsed_filter = parse_filter(raw_filter) if raw_filter else None
    return QueryRequest(bucket, index, vector, top_k, parsed_filter,
                        read_bool(body, "returnDistance"), read_bool(body, "returnMetadata"))
