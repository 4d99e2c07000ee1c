"""load_manifests: files -> YAML documents -> schema -> semantic checks -> Manifest.

Every problem is collected as a Diagnostic and all are raised together, sorted by
file, line and column. Nothing here touches the network.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.errors import ConfigError, Diagnostic, ManifestError
from reconciler.manifest import _schema
from reconciler.manifest._interpolate import Interpolator
from reconciler.manifest._rules import bucket_name_problem, duration_seconds, index_name_problem, prune_pattern_problem
from reconciler.manifest._yaml import Doc, YamlPath, json_positions, load_documents
from reconciler.manifest.model import AccessTest, BucketSpec, Duration, IndexSpec, Manifest, Source
from reconciler.rules.policy import PolicyParseError, parse_policy_text, policy_findings
from reconciler.util.files import read_bounded

YAML_SUFFIXES = (".yaml", ".yml")
STDIN = "-"  # `-f -`: one manifest from standard input
STDIN_NAME = "<stdin>"  # its name in positions: <stdin>:line:col


# Plain classes, not dataclasses: each dataclass costs ~0.5 ms of every `validate` to create.


class _PolicyAt:
    """A bucket's policy document and how to locate a path inside it."""

    __slots__ = ("document", "locate", "valid")

    def __init__(self, document: Any, locate: Callable[[YamlPath], Source], valid: bool = True) -> None:
        self.document = document
        self.locate = locate
        self.valid = valid


class _Bucket:
    __slots__ = ("doc", "path", "data", "policy", "tests")

    def __init__(self, doc: Doc, path: YamlPath, data: dict[str, Any]) -> None:
        self.doc = doc
        self.path = path  # ("buckets", i)
        self.data = data
        self.policy: _PolicyAt | None = None
        self.tests: list[AccessTest] = []  # the schema-valid accessTests


class _State:
    __slots__ = ("interp", "environ", "diags", "buckets")

    def __init__(self, interp: Interpolator, environ: Mapping[str, str]) -> None:
        self.interp = interp
        self.environ = environ
        self.diags: list[Diagnostic] = []
        self.buckets: list[_Bucket] = []

    def error(self, src: Source, message: str) -> None:
        self.diags.append(Diagnostic(src.file, src.line, src.col, message))

    def warn(self, src: Source, message: str) -> None:
        self.diags.append(Diagnostic(src.file, src.line, src.col, message, "warning"))


def load_manifests(
    paths: Sequence[str],
    variables: Mapping[str, str] = {},  # noqa: B006 - read only
    environ: Mapping[str, str] | None = None,
) -> Manifest:
    """Load, validate and merge manifests.

    `paths` are files and directories (`-` is standard input); a directory contributes every `*.yaml` / `*.yml`
    file directly inside it (not recursively, hidden files skipped), in sorted order, so
    per-environment subdirectories are never merged by accident. A file reached twice is
    read once. `variables` (the --var flags) win over `environ` (default: os.environ).

    Raises ManifestError with every error; warnings come back in `Manifest.warnings`.
    Raises ConfigError when `paths` is empty.
    """
    if not paths:
        raise ConfigError("no manifest given: pass -f FILE or -f DIRECTORY")
    env = os.environ if environ is None else environ
    state = _State(Interpolator(variables, env), env)
    files = _expand_paths(paths, state)
    docs: list[Doc] = []
    for file in files:
        text = _read_text(file, state)
        if text is not None:
            docs.extend(load_documents(text, file, state.interp, state.diags))
    if not docs and not state.diags:
        state.error(Source(files[0] if files else paths[0], 1, 1), "no manifest documents found (the files are empty)")

    for doc in docs:
        _check_document(doc, state)
    account = _merge_setting("account", docs, state)
    region = _merge_setting("region", docs, state)
    older_than = _merge_older_than(docs, state)
    _check_duplicates(state)
    _lint_policies(state, account, region)
    _run_access_tests(state, account, region)

    errors = sorted((d for d in state.diags if d.severity == "error"), key=_order)
    if errors:  # with the warnings: every problem at once, a lint of one file beside errors of another
        raise ManifestError(list(dict.fromkeys(sorted(state.diags, key=_order))))
    warnings = tuple(dict.fromkeys(sorted((d for d in state.diags if d.severity != "error"), key=_order)))
    return _build(docs, state, files, account, region, warnings, older_than)


def _order(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.file, d.line, d.col, d.message)


# --- files ------------------------------------------------------------------------------


def _expand_paths(paths: Sequence[str], state: _State) -> list[str]:
    files: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for p in paths:
        if p == STDIN:
            if STDIN_NAME not in seen:
                seen.add(STDIN_NAME)
                files.append(STDIN_NAME)
        elif os.path.isdir(p):
            names = sorted(
                n for n in os.listdir(p)
                if n.endswith(YAML_SUFFIXES) and not n.startswith(".") and os.path.isfile(os.path.join(p, n))
            )
            if not names:
                state.error(Source(p, 1, 1), "directory has no *.yaml or *.yml files")
            for n in names:
                add(os.path.normpath(os.path.join(p, n)))
        else:
            add(p)
    return files


MAX_FILE_BYTES = 16 << 20  # far above any real manifest or policy; stops /dev/zero and the like


def _read_bounded(file: str) -> bytes:
    return read_bounded(file, MAX_FILE_BYTES)


def _read_stdin() -> bytes:
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(0, f"larger than {MAX_FILE_BYTES >> 20} MiB")
    return data


def _read_text(file: str, state: _State) -> str | None:
    try:
        data = _read_stdin() if file == STDIN_NAME else _read_bounded(file)
    except OSError as e:
        state.error(Source(file, 1, 1), f"cannot read file: {e.strerror or e}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        state.error(Source(file, line, col), "file is not UTF-8 text")
        return None


# --- one document ----------------------------------------------------------------------------


def _convert(doc: Doc) -> None:
    """Schema-guided scalar conversion (see _schema.convert_scalar), in place."""
    for path in sorted(doc.interpolated | set(doc.plain_raw), key=len):
        if not path:
            continue
        try:
            parent = doc.value
            for seg in path[:-1]:
                parent = parent[seg]
            old = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        parent[path[-1]] = _schema.convert_scalar(
            old, path, interpolated=path in doc.interpolated, plain_raw=doc.plain_raw.get(path)
        )


def _check_document(doc: Doc, state: _State) -> None:
    if not isinstance(doc.value, dict):
        state.error(doc.start, f"a manifest document must be a mapping (version, buckets, ...), got "
                               f"{_schema.describe(doc.value)}")
        return
    if "version" not in doc.value and "buckets" not in doc.value:  # a workflow, a compose file, ...
        state.error(doc.start, "not a reconciler manifest (it has neither `version: 1` nor `buckets`)")
        return
    _convert(doc)
    problems = [
        p for p in _schema.validate(_schema.manifest_validator(), doc.value)
        if p.at_key or not doc.is_broken(p.path)  # a key is wrong even when its value is broken
    ]
    for p in problems:
        state.error(doc.key_at(p.path) if p.at_key else doc.at(p.path), p.message)
    bad_paths = [p.path for p in problems]

    prune = doc.value.get("prune")
    if isinstance(prune, dict) and isinstance(prune.get("buckets"), list):
        for i, pattern in enumerate(prune["buckets"]):
            if isinstance(pattern, str) and pattern and not doc.is_broken(("prune", "buckets", i)):
                where = doc.at(("prune", "buckets", i))
                problem = prune_pattern_problem(pattern)
                if problem:
                    state.error(where, problem)
                elif pattern.strip("*") == "":
                    state.warn(where, f"prune pattern {pattern!r} claims every vector bucket of the account")

    buckets = doc.value.get("buckets")
    if not isinstance(buckets, list):
        return
    for i, bucket in enumerate(buckets):
        if not isinstance(bucket, dict):
            continue
        path: YamlPath = ("buckets", i)
        b = _Bucket(doc, path, bucket)
        state.buckets.append(b)
        name = bucket.get("name")
        if isinstance(name, str) and not doc.is_broken(path + ("name",)):
            problem = bucket_name_problem(name)
            if problem:
                state.error(doc.at(path + ("name",)), problem)
        indexes = bucket.get("indexes")
        if isinstance(indexes, list):
            for j, index in enumerate(indexes):
                if (isinstance(index, dict) and isinstance(index.get("name"), str)
                        and not doc.is_broken(path + ("indexes", j, "name"))):
                    problem = index_name_problem(index["name"])
                    if problem:
                        state.error(doc.at(path + ("indexes", j, "name")), problem)
        b.policy = _load_policy(b, state, bad_paths)
        b.tests = _access_tests_of(b, bad_paths, state)


def _access_tests_of(b: _Bucket, bad_paths: list[YamlPath], state: _State) -> list[AccessTest]:
    tests = b.data.get("accessTests")
    if not isinstance(tests, list):
        return []
    out = []
    for k, t in enumerate(tests):
        tpath = b.path + ("accessTests", k)
        if not isinstance(t, dict) or any(p[: len(tpath)] == tpath or tpath[: len(p)] == p for p in bad_paths):
            continue  # the schema reported it
        if any(b.doc.is_broken(tpath + (key,)) for key in t):
            continue  # an interpolation error reported it
        index = t.get("index")
        problem = index_name_problem(index) if isinstance(index, str) else None
        if problem:  # the schema leaves names to this one message with the whole rule
            state.error(b.doc.at(tpath + ("index",)), problem)
            continue
        out.append(AccessTest(t["principal"], t["action"], t.get("index"), t["expect"], b.doc.at(tpath)))
    return out


def _load_policy(b: _Bucket, state: _State, bad_paths: list[YamlPath]) -> _PolicyAt | None:
    doc, path, data = b.doc, b.path, b.data
    if "policy" in data and "policyFile" in data:
        return None  # the schema reported it
    if doc.is_broken(path + ("policy",)) or doc.is_broken(path + ("policyFile",)):
        return None
    if isinstance(data.get("policy"), dict):
        ppath = path + ("policy",)
        valid = not any(p[: len(ppath)] == ppath for p in bad_paths)
        return _PolicyAt(data["policy"], lambda rel: doc.at(ppath + tuple(rel)), valid)
    if isinstance(data.get("policy"), str):
        ppath = path + ("policy",)
        text = data["policy"]
        offset = _string_offset(doc, ppath)
        try:
            document = parse_policy_text(text)
        except PolicyParseError as e:
            src = offset(Source(doc.file, e.line, e.col))
            state.error(src, f"policy: {e}")
            return None
        positions = json_positions(text, doc.file, offset)
        return _checked_policy(document, positions, path, state)
    if isinstance(data.get("policyFile"), str) and data["policyFile"]:
        ref = data["policyFile"]
        file = ref if os.path.isabs(ref) else os.path.normpath(os.path.join(os.path.dirname(doc.file), ref))
        where = doc.at(path + ("policyFile",))
        text = _read_policy_file(file, where, state)
        if text is None:
            return None
        try:
            document = parse_policy_text(text)
        except PolicyParseError as e:
            state.error(Source(file, e.line, e.col), f"policy: {e}")
            return None
        positions = json_positions(text, file)
        before = len(state.diags)
        document = _interpolate_json(document, (), positions, state)
        if len(state.diags) > before:
            return None
        return _checked_policy(document, positions, path, state)
    return None


def _read_policy_file(file: str, where: Source, state: _State) -> str | None:
    try:
        data = _read_bounded(file)
    except OSError as e:
        state.error(where, f"policyFile: cannot read {file!r}: {e.strerror or e}")
        return None
    except ValueError:  # a NUL or a lone surrogate (from a YAML escape): no file can have that name
        state.error(where, f"policyFile: {file!r} is not a valid file name")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        state.error(where, f"policyFile: {file!r} is not UTF-8 text")
        return None


def _string_offset(doc: Doc, path: YamlPath) -> Callable[[Source], Source]:
    """Maps a position inside a JSON string value to the manifest file (exact for '|' blocks)."""
    if path in doc.literal_blocks:
        line0, col0 = doc.literal_blocks[path]
        return lambda s: Source(doc.file, line0 + s.line, col0 + s.col)
    here = doc.at(path)
    return lambda s: here


def _interpolate_json(value: Any, path: YamlPath, positions: Doc, state: _State) -> Any:
    if isinstance(value, str):
        result, _, problems = state.interp.expand(value)
        for p in problems:
            state.error(positions.at(path), p.message)
        return result
    if isinstance(value, list):
        return [_interpolate_json(v, path + (i,), positions, state) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _interpolate_json(v, path + (k,), positions, state) for k, v in value.items()}
    return value


def _checked_policy(document: dict[str, Any], positions: Doc, bucket_path: YamlPath, state: _State) -> _PolicyAt:
    problems = _schema.validate(_schema.policy_validator(), document, prefix=bucket_path + ("policy",))
    for p in problems:
        state.error(positions.key_at(p.path) if p.at_key else positions.at(p.path), p.message)
    return _PolicyAt(document, positions.at, valid=not problems)


# --- across documents ------------------------------------------------------------------------


def _merge_setting(key: str, docs: list[Doc], state: _State) -> str | None:
    first: tuple[str, Source] | None = None
    for doc in docs:
        value = doc.value.get(key) if isinstance(doc.value, dict) else None
        if not isinstance(value, str) or not value or doc.is_broken((key,)):
            continue  # "" means not set: "${TOS_ACCOUNT_ID:-}" is allowed
        where = doc.at((key,))
        if first is None:
            first = (value, where)
        elif value != first[0]:
            state.error(where, f"{key} {value!r} conflicts with {key} {first[0]!r} at {first[1]}")
    return first[0] if first else None


def _merge_older_than(docs: list[Doc], state: _State) -> Duration | None:
    """prune.olderThan, said once or alike in every document that says it (the schema
    checked its form: a bad one is already an error at its position)."""
    first: tuple[Duration, Source] | None = None
    for doc in docs:
        prune = doc.value.get("prune") if isinstance(doc.value, dict) else None
        text = prune.get("olderThan") if isinstance(prune, dict) else None
        seconds = duration_seconds(text) if isinstance(text, str) else None
        if not isinstance(text, str) or seconds is None or doc.is_broken(("prune", "olderThan")):
            continue
        where = doc.at(("prune", "olderThan"))
        if first is None:
            first = (Duration(text, seconds), where)
        elif seconds != first[0].seconds:
            state.error(where, f"prune.olderThan {text!r} conflicts with prune.olderThan {first[0].text!r} "
                               f"at {first[1]}")
    if first is not None and not any(isinstance(d.value, dict) and isinstance(d.value.get("prune"), dict)
                                     and d.value["prune"].get("buckets") for d in docs):
        state.warn(first[1], "prune.olderThan limits prune.buckets, and no prune.buckets is given: it prunes nothing")
    return first[0] if first else None


def _check_duplicates(state: _State) -> None:
    seen: dict[str, Source] = {}
    for b in state.buckets:
        name = b.data.get("name")
        if not isinstance(name, str) or b.doc.is_broken(b.path + ("name",)):
            continue
        where = b.doc.at(b.path + ("name",))
        if name in seen:
            state.error(where, f"bucket {name!r} is declared twice: here and at {seen[name]}")
        else:
            seen[name] = where
        indexes = b.data.get("indexes")
        if not isinstance(indexes, list):
            continue
        seen_ix: dict[str, Source] = {}
        for j, index in enumerate(indexes):
            iname = index.get("name") if isinstance(index, dict) else None
            if not isinstance(iname, str) or b.doc.is_broken(b.path + ("indexes", j, "name")):
                continue
            iwhere = b.doc.at(b.path + ("indexes", j, "name"))
            if iname in seen_ix:
                state.error(iwhere, f"index {iname!r} is declared twice in bucket {name!r}: "
                                    f"here and at {seen_ix[iname]}")
            else:
                seen_ix[iname] = iwhere


def _lint_policies(state: _State, account: str | None, region: str | None) -> None:
    for b in state.buckets:
        name = b.data.get("name")
        if b.policy is None:
            continue
        # Every problem at once: a document the schema rejected (an `Efect:` typo) is still
        # searched for certain mistakes (an Action the service lacks), so that fixing one typo
        # does not merely reveal the next. Its warnings are left out: they read a meaning
        # into a document that has none yet, as they would into a bucket name in error.
        certain_only = not b.policy.valid or not isinstance(name, str) or b.doc.is_broken(b.path + ("name",))
        public = b.data.get("allowPublicAccess") is True
        for finding in policy_findings(b.policy.document, name if isinstance(name, str) else "", account, region,
                                       allow_public=public):
            if certain_only and finding.severity != "error":
                continue
            report = state.error if finding.severity == "error" else state.warn
            report(b.policy.locate(finding.path), finding.message)
            if finding.severity == "error":
                b.policy.valid = False  # no access test runs against it


def _run_access_tests(state: _State, account: str | None, region: str | None) -> None:
    account = account or state.environ.get("TOS_ACCOUNT_ID", "").strip() or None
    region = region or state.environ.get("TOS_REGION", "").strip() or None
    for b in state.buckets:
        name = b.data.get("name")
        if not b.tests or not isinstance(name, str) or (b.policy is not None and not b.policy.valid):
            continue  # an invalid policy has its own errors; a verdict on it would mislead
        if b.policy is None and ("policy" in b.data or "policyFile" in b.data):
            continue  # declared, but unreadable: reported where it is
        from reconciler.manifest import _access_tests  # the evaluator, for a manifest with tests only

        document = b.policy.document if b.policy is not None else None
        locate = _statement_locator(b.policy, b.doc.file)
        for test, message in _access_tests.failures(b.tests, document, name, account, region, locate):
            state.error(test.source, message)


def _statement_locator(policy: _PolicyAt | None, file: str) -> Callable[[int], str | None] | None:
    """Where statement i is: "line 8" in the manifest itself, file:line:col in a policyFile."""
    if policy is None:
        return None
    p = policy

    def locate(i: int) -> str | None:
        src = p.locate(("Statement",) if isinstance(p.document.get("Statement"), dict) else ("Statement", i))
        return f"line {src.line}" if src.file == file else str(src)

    return locate


# --- the model -----------------------------------------------------------------------------


def _build(
    docs: list[Doc], state: _State, files: list[str], account: str | None, region: str | None,
    warnings: tuple[Diagnostic, ...], older_than: Duration | None = None,
) -> Manifest:
    buckets: list[BucketSpec] = []
    for b in state.buckets:
        data = b.data
        indexes = tuple(
            IndexSpec(
                bucket=data["name"],
                name=ix["name"],
                dimension=int(ix["dimension"]),
                distance_metric=ix["distanceMetric"],
                data_type=ix.get("dataType", "float32"),
                non_filterable_metadata_keys=frozenset(ix.get("nonFilterableMetadataKeys", ())),
                # a bucket's preventDestroy covers its indexes unless one says otherwise
                prevent_destroy=bool(ix.get("preventDestroy", data.get("preventDestroy", False))),
                source=b.doc.at(b.path + ("indexes", j)),
                declared_prevent_destroy=bool(ix["preventDestroy"]) if "preventDestroy" in ix else None,
            )
            for j, ix in enumerate(data.get("indexes", ()))
        )
        buckets.append(BucketSpec(
            name=data["name"],
            prevent_destroy=bool(data.get("preventDestroy", False)),
            prune_indexes=bool(data.get("pruneIndexes", False)),
            policy=b.policy.document if b.policy is not None else None,
            indexes=indexes,
            source=b.doc.at(b.path),
            allow_public_access=bool(data.get("allowPublicAccess", False)),
            access_tests=tuple(b.tests),
        ))
    prune: list[str] = []
    for doc in docs:
        for pattern in (doc.value.get("prune") or {}).get("buckets", ()):
            if pattern not in prune:
                prune.append(pattern)
    return Manifest(
        account=account,
        region=region,
        prune_buckets=tuple(prune),
        buckets=tuple(buckets),
        files=tuple(files),
        warnings=warnings,
        prune_older_than=older_than,
    )
