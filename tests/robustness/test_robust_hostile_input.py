"""Hostile manifests and plan files through the real entry point (`reconciler.cli.parser.main`):
every input is either valid (exit 0) or refused with `file:line:col:` lines (exit 1), never a
traceback or an internal error; YAML tags and plan files are read as data, never executed."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli.parser import main

# --- a small YAML emitter over hostile pieces ------------------------------------------------

# Scalars as raw YAML text: tags (object-constructing ones included), anchors and aliases,
# numbers YAML 1.1 reads oddly, escapes, interpolation, flow collections, control and
# bidi characters, very long text.
RAW = [
    "1", "0", "-1", "4096", "4097", "768", "1e400", "-.inf", ".nan", "0x1F", "0o17", "017", "1_000", "3.5",
    "~", "null", "true", "no", "on", "yes", "''", '""', "cosine", "euclidean", "float32", "int8",
    "abc", "rag-prod", "docs-v1", "-x-", "A", "a" * 70, "x" * 5000, "rag-*", "[a-", "*",
    "'${DIM}'", "${DIM}", "${UNDEF}", "${X:-${Y}}", "$${DIM}", "${", "'${A:-}'", "2025-12-01",
    "!!python/object/apply:os.system [\"touch {marker}\"]", "!!python/name:os.system", "!!python/tuple [1, 2]",
    "!!binary aGVsbG8=", "!!set {a: null}", "!!omap [a: 1]", "!!timestamp 2001-12-14", "!!float '1'",
    "!!int 'x'", "!Ref foo", "!<tag:evil.com,2002:x> y", "&anc 5", "*anc", "*nowhere",
    '"\\ud800x"', '"ab\\x00c"', '"\\u202eevil"', '"tab\\there"', '"line\\nbreak"', "\u00e9\u4e2d\u2603",
    "[1, [2, [3, [4]]]]", "{a: 1, b: [2]}", "[]", "{}", "[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]",
    "'{\"Version\": \"1\", \"Statement\": []}'", "'{\"Version\": 1, \"Statement\": [{}]}'", "'{'",
    "'{\"a\": ' ", "'{\"Version\": \"1\", \"Id\": \"\\udc00\", \"Statement\": []}'", "p.json", "../p.json",
    "/dev/null", ".", "missing.json",
]
KEYS = ["version", "account", "region", "prune", "buckets", "name", "indexes", "dimension", "distanceMetric",
        "dataType", "nonFilterableMetadataKeys", "preventDestroy", "pruneIndexes", "policy", "policyFile",
        "Version", "Statement", "Effect", "Principal", "Action", "Resource", "<<", "x-junk", "? [k]", "'1'", "''"]
SHAPES = {  # the keys of a mapping at each level: required ones first
    "top": (["version", "buckets"], ["account", "region", "prune"]),
    "bucket": (["name"], ["indexes", "preventDestroy", "pruneIndexes", "policy", "policyFile"]),
    "index": (["name", "dimension", "distanceMetric"], ["dataType", "nonFilterableMetadataKeys", "preventDestroy"]),
    "policy": (["Version", "Statement"], []),
    "statement": (["Effect", "Principal", "Action", "Resource"], ["Sid"]),
    "prune": (["buckets"], []),
}
LISTS = {"buckets": "bucket", "indexes": "index", "Statement": "statement"}
MAPS = {"policy": "policy", "prune": "prune"}
GOOD = {  # plausible values, as YAML text
    "version": ["1", "'${V:-1}'"], "account": ["'2100000000'", "2100000000", "'${ACCT:-2100000000}'"],
    "region": ["cn-beijing", "cn-shanghai"], "name": ["abc", "rag-prod", "docs-v1", "app-2", "a.b.c"],
    "dimension": ["4", "768", "4096", "'${DIM:-8}'"], "distanceMetric": ["cosine", "euclidean"],
    "dataType": ["float32"], "preventDestroy": ["true", "false"], "pruneIndexes": ["true", "false"],
    "nonFilterableMetadataKeys": ["[body, url]", "[]", "[a, a]"], "policyFile": ["p.json"],
    "Version": ['"2025-12-01"'], "Effect": ["Allow", "Deny"], "Sid": ["s1"],
    "Principal": ['["2100000000/ci-bot"]', '"*"'], "Action": ['["tosvectors:QueryVectors", "tosvectors:GetVectors"]',
                                                             '"tosvectors:*"'],
    "Resource": ['["trn:tosvectors:cn-beijing:2100000000:bucket/abc/index/*"]', '"*"'],
    "policy": ['\'{"Version": "2025-12-01", "Statement": []}\''], "buckets": ['["rag-*"]'],
}

raw = st.sampled_from(RAW)
rarely = st.sampled_from([False] * 7 + [True])  # sampled_from shrinks to the first: the plausible case


@st.composite
def value(draw: st.DrawFn, key: str, level: str, depth: int) -> tuple:
    """The YAML node for `key` in a `level` mapping: usually plausible, sometimes anything from RAW."""
    if depth > 5 or draw(rarely):
        return ("raw", draw(raw))
    if key in LISTS and level != "prune":
        return ("seq", draw(st.lists(mapping(LISTS[key], depth + 1), max_size=3)))
    if key in MAPS and (key != "policy" or draw(st.booleans())):
        return draw(mapping(MAPS[key], depth + 1))
    return ("raw", draw(st.sampled_from(GOOD.get(key, RAW) if level != "prune" else ['["rag-*"]', "[]"])))


@st.composite
def mapping(draw: st.DrawFn, level: str, depth: int = 0) -> tuple:
    """("map", [(key, node)]): the required keys (each may go missing), some optional ones,
    now and then a key from anywhere."""
    required, optional = SHAPES[level]
    keys = [k for k in required if not draw(rarely)]
    keys += draw(st.lists(st.sampled_from(optional), unique=True, max_size=len(optional))) if optional else []
    if draw(rarely):
        keys.insert(draw(st.integers(0, len(keys))), draw(st.sampled_from(KEYS)))
    return ("map", [(k, draw(value(k, level, depth))) for k in keys])


def emit(n: tuple, indent: int = 0) -> str:
    pad = " " * indent
    kind, body = n
    if kind == "raw":
        return " " + body + "\n"
    if not body:
        return " " + ("{}" if kind == "map" else "[]") + "\n"
    out = "\n"
    for item in body:
        if kind == "map":
            k, v = item
            out += f"{pad}{k}:" + emit(v, indent + 2)
        else:
            out += f"{pad}-" + emit(item, indent + 2)
    return out


MUTATIONS = ["", ":", "[", "{", "\t", "&a ", "*a ", "!!python/tuple ", "${X}", "\n- ", "'", '"', "\x00", "\ufeff",
             "---\n", "...\n", "%YAML 1.1\n", "\r\n", "\x85", "\ud800"]


@st.composite
def manifest_text(draw: st.DrawFn) -> str:
    docs = [draw(mapping("top")) if not draw(rarely) else ("raw", draw(raw))
            for _ in range(draw(st.sampled_from([1, 1, 1, 2])))]
    text = "---\n".join(emit(d).lstrip("\n") if d[0] == "map" else emit(d).lstrip() for d in docs)
    if draw(rarely):  # and break it a little, textually
        for _ in range(draw(st.integers(1, 2))):
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(st.sampled_from(MUTATIONS)) + text[pos:]
    return text


LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>[0-9]+):(?P<col>[0-9]+): \S")
TALLY = re.compile(r"^[0-9]+ errors? in the manifest(; nothing was changed)?$")  # validate: no tail


def check_output(code: int, out: str, err: str, folder: str) -> None:
    assert code in (0, 1), (code, out, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    for ln in lines:
        m = LOCATED.match(ln)
        if m:
            assert os.path.dirname(os.path.abspath(m.group("file"))).startswith(folder), ln
            assert int(m.group("line")) >= 1 and int(m.group("col")) >= 1, ln
        elif code == 0 or not TALLY.match(ln):
            raise AssertionError(f"not a file:line:col: line: {ln!r}\n{err}")
    if code == 0:
        assert out.startswith("Valid: "), out
        assert all(": warning: " in ln for ln in lines), err
    else:
        assert lines and TALLY.match(lines[-1]), err
        assert any(LOCATED.match(ln) and ": warning: " not in ln for ln in lines), err


@settings(max_examples=int(os.environ.get("ROBUST_EXAMPLES", "60")), deadline=None,  # more: ROBUST_EXAMPLES=1500
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=manifest_text(), policy=st.sampled_from(['{"Version": "1", "Statement": []}', "{", "[]", "\x00\xff",
                                                     '{"Version": "1", "Statement": [], "Id": "\\ud800"}',
                                                     "!!python/object/apply:os.system [x]"]))
def test_hostile_manifests_are_valid_or_refused_with_located_errors(text: str, policy: str, capsys) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = os.path.realpath(d)
        marker = os.path.join(folder, "pwned")
        path = os.path.join(folder, "m.yaml")
        Path(path).write_bytes(text.replace("{marker}", marker).encode("utf-8", "surrogatepass"))
        Path(folder, "p.json").write_bytes(policy.encode("utf-8", "surrogateescape"))
        capsys.readouterr()
        code = main(["validate", "-f", path])
        out, err = capsys.readouterr()
        check_output(code, out, err, folder)
        assert not os.path.exists(marker)


# --- object-constructing tags and plan files are data, never code ------------------------------

PAYLOADS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/new:os.system ["touch {marker}"]',
    "!!python/object/apply:subprocess.check_call [[touch, {marker}]]",
    '!!python/name:os.system',
]


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TOS_* variables but TOS_ENDPOINT=embedded (CI refuses the implicit fallback); cwd is a
    fresh folder (the embedded emulator's data goes there)."""
    for k in list(os.environ):
        if k.startswith("TOS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("TOS_ENDPOINT", "embedded")
    monkeypatch.delenv("CI", raising=False)  # in CI an unsigned plan file is refused before it is read
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_python_tags_in_a_manifest_are_refused_not_run(offline: Path, command: str, payload: str, capsys) -> None:
    marker = offline / "pwned"
    path = offline / "m.yaml"
    path.write_text("version: 1\nbuckets:\n  - name: app\n    indexes:\n      - name: docs\n"
                    f"        dimension: {payload.replace('{marker}', str(marker))}\n"
                    "        distanceMetric: cosine\n")
    argv = [command, "-f", str(path)] + (["--auto-approve"] if command == "apply" else [])
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert not marker.exists()
    assert re.search(rf"^{re.escape(str(path))}:6:20: .*(tag|!!python)", err, re.M), err
    assert "Traceback" not in err and "internal error" not in err
    assert not (offline / ".reconciler").exists() or command != "validate"


def _valid_plan(offline: Path, capsys) -> dict:
    path = offline / "m.yaml"
    path.write_text("version: 1\nbuckets:\n  - name: app\n")
    assert main(["plan", "-f", str(path), "--out", str(offline / "good.json")]) == 0
    capsys.readouterr()
    return json.loads((offline / "good.json").read_text())


def test_hostile_plan_files_are_refused_not_run(offline: Path, capsys) -> None:
    marker = offline / "pwned"
    good = _valid_plan(offline, capsys)
    touch = f"touch {marker}"

    def with_change(**fields: object) -> str:
        plan = json.loads(json.dumps(good))
        plan["changes"][0].update(fields)
        return json.dumps(plan)

    hostile = {
        "yaml-tag.json": f'!!python/object/apply:os.system ["{touch}"]\n',
        "yaml-doc.json": f'format_version: 1\ntarget: !!python/object/apply:os.system ["{touch}"]\n',
        "pickle.json": b"\x80\x04\x95" + f"cos\nsystem\n(V{touch}\ntR.".encode(),
        "jsonpickle.json": json.dumps({"py/reduce": [{"py/function": "os.system"}, {"py/tuple": [touch]}]}),
        "eval-ish.json": json.dumps({**good, "format_version": f"__import__('os').system('{touch}')"}),
        "shell-address.json": with_change(address=f"bucket.$({touch})"),
        "unknown-kind.json": with_change(kind="os.system", action="create"),
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "not-utf8.json": b"\xff\xfe\x00{",
    }
    for name, content in hostile.items():
        file = offline / name
        if isinstance(content, bytes):
            file.write_bytes(content)
        else:
            file.write_text(content)
        code = main(["apply", str(file)])
        out, err = capsys.readouterr()
        assert code == 1, (name, out, err)
        assert not marker.exists(), name
        assert "Traceback" not in err, (name, err)
        if name in UNREADABLE_PLANS:
            continue  # see test_unreadable_plan_files_get_a_clear_error
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {file}: "), (name, err)
        assert "internal error" not in err, (name, err)

    # strings that look like code in the free-text fields of a valid plan are just text
    file = offline / "payload-strings.json"
    file.write_text(with_change(reason=f"$({touch}); `{touch}`", after={"name": f"__import__('os').system('{touch}')"}))
    code = main(["apply", str(file)])
    out, err = capsys.readouterr()
    assert code == 0 and "Apply complete: 1 done" in out, out + err
    assert not marker.exists()


UNREADABLE_PLANS = {"pickle.json": b"\x80\x04\x95cos\nsystem\n.", "not-utf8.json": b"\xff\xfe\x00{",
                    "deep.json": ("[" * 100_000 + "]" * 100_000).encode()}


@pytest.mark.parametrize("name", sorted(UNREADABLE_PLANS))
def test_unreadable_plan_files_get_a_clear_error(offline: Path, name: str, capsys) -> None:
    file = offline / name
    file.write_bytes(UNREADABLE_PLANS[name])
    code = main(["apply", str(file)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"error: {file}: ") and "internal error" not in err, err


def test_policy_file_that_is_a_device_gets_a_clear_error(tmp_path: Path) -> None:
    import resource
    import subprocess
    import sys

    from robust_helpers import base_env

    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nbuckets:\n  - name: app\n    policyFile: /dev/zero\n")
    limit = 1 << 30  # so that the failure is a quick MemoryError, not the CI runner's memory

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", str(path)], cwd=tmp_path,
                       env=base_env(None), preexec_fn=cap, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.startswith(f"{path}:4:17: policyFile:"), r.stderr


def test_manifest_path_that_is_a_fifo_gets_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    from robust_helpers import base_env

    fifo = tmp_path / "m.yaml"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", str(fifo)], cwd=tmp_path,
                       env=base_env(None), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "not a regular file" in r.stderr and "Traceback" not in r.stderr


# --- plan files whose dependency graph is broken ------------------------------------------------


def _broken_graphs(good: dict) -> dict[str, dict]:
    """A saved plan (bucket.app, then index.app/docs) edited three ways."""

    def edited(edit) -> dict:  # type: ignore[no-untyped-def]
        plan = json.loads(json.dumps(good))
        edit(plan["changes"])
        return plan

    return {
        "cycle": edited(lambda cs: cs[0].update(depends_on=["index.app/docs"])),
        "dangling": edited(lambda cs: cs[1].update(depends_on=["bucket.elsewhere"])),
        "duplicate": edited(lambda cs: cs.append(cs[0])),
    }


def _two_step_plan(offline: Path, capsys) -> dict:
    path = offline / "m.yaml"
    path.write_text("version: 1\nbuckets:\n  - name: app\n    indexes:\n"
                    "      - {name: docs, dimension: 4, distanceMetric: cosine}\n")
    assert main(["plan", "-f", str(path), "--out", str(offline / "good.json")]) == 0
    capsys.readouterr()
    plan = json.loads((offline / "good.json").read_text())
    assert [c["address"] for c in plan["changes"]] == ["bucket.app", "index.app/docs"]
    return plan


@pytest.mark.parametrize("kind", ["cycle", "dangling", "duplicate"])
def test_plan_with_a_broken_graph_changes_nothing(offline: Path, kind: str, capsys) -> None:
    """The executor refuses it before any call: a cycle used to hang apply forever, a
    dependency on a missing address crashed it after the first steps had run."""
    import asyncio

    from reconciler.apply.executor import execute
    from reconciler.client import VectorsClient
    from tests.support.embedded import embedded_transport
    from reconciler.plan.planfile import from_saved

    plan = from_saved(_broken_graphs(_two_step_plan(offline, capsys))[kind])

    async def go() -> list[str]:
        async with VectorsClient(endpoint="http://127.0.0.1", account_id="2100000000",
                                 transport=embedded_transport(offline / "data")) as client:
            with pytest.raises(ValueError, match="plan cannot be executed"):
                await asyncio.wait_for(execute(plan, client), timeout=10)
            return [b.name for b in await client.all_vector_buckets()]

    assert asyncio.run(go()) == []


@pytest.mark.parametrize("kind", ["cycle", "dangling", "duplicate"])
def test_saved_plan_with_a_broken_graph_gets_a_clear_error(offline: Path, kind: str, capsys) -> None:
    file = offline / f"{kind}.json"
    file.write_text(json.dumps(_broken_graphs(_two_step_plan(offline, capsys))[kind]))
    code = main(["apply", str(file)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Apply" not in out  # nothing ran
    assert err.startswith(f"error: {file}: ") and "internal error" not in err, err


# What Python makes of the byte 0xff in an environment variable or argument that should be
# UTF-8 text: a lone surrogate, which no header, signature or output can carry.
UNDECODABLE = "x\udcffy"


@pytest.mark.parametrize("setting", ["TOS_REGION", "TOS_ENDPOINT", "TOS_ACCESS_KEY", "TOS_SECRET_KEY",
                                     "TOS_SECURITY_TOKEN", "--var", "--region", "--endpoint"])
def test_undecodable_bytes_in_the_environment_or_arguments_get_a_clear_error(
        offline: Path, monkeypatch: pytest.MonkeyPatch, setting: str, capsys) -> None:
    (offline / "m.yaml").write_text("version: 1\nbuckets:\n  - name: app\n    policy:\n      Version: '1'\n"
                                    "      Id: '${POLICY_ID:-default}'\n      Statement: []\n")
    env = {"TOS_ENDPOINT": "http://127.0.0.1:1", "TOS_ACCOUNT_ID": "2100000000",  # nothing listens there
           "TOS_ACCESS_KEY": "AKLTabcdefgh", "TOS_SECRET_KEY": "secretkey", "TOS_SECURITY_TOKEN": "token"}
    argv = ["plan", "-f", "m.yaml"]
    if setting.startswith("--"):
        argv += [setting, f"POLICY_ID={UNDECODABLE}" if setting == "--var" else UNDECODABLE]
    else:
        env[setting] = UNDECODABLE
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1 and out == "", out + err
    assert "Traceback" not in err and "internal error" not in err, err
    if setting == "--var":
        assert err.startswith("m.yaml:6:11: '\\udcff' is a lone UTF-16 surrogate"), err
        assert err.splitlines()[1:] == ["1 error in the manifest; nothing was changed"], err
        return
    assert len(err.splitlines()) == 1, err
    if "KEY" in setting or "TOKEN" in setting:
        assert err.startswith(f"error: {setting} holds characters") and "x\\udcffy" not in err, err
    else:  # a region or an endpoint: shown (escaped), as it is no secret
        assert err.startswith("error: invalid ") and "'x\\udcffy'" in err, err
