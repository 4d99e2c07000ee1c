"""The examples under examples/ are correct as written, not only readable.

Covers:
- every YAML file loads, and each manifest points its yaml-language-server at the schema;
- every `reconciler ...` command in the GitHub Actions workflow, the pre-commit hook (the
  example config with this repository's .pre-commit-hooks.yaml) and the environments
  README is accepted by the real argument parser (cli.build_parser);
- the workflow's triggers, permissions, concurrency and credential handling, and the
  exit-code handling of its run scripts, run under bash with a stub `reconciler`;
- the environment manifests validate for each env file, and the other examples validate:
  `python -m reconciler validate` subprocesses, started together to keep this fast.

None of this talks to a service or to the emulator: validate makes no API calls.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCHEMA = ROOT / "schemas" / "manifest.schema.json"
WORKFLOW = EXAMPLES / "github-actions" / "reconciler.yml"
PRE_COMMIT = EXAMPLES / "pre-commit" / ".pre-commit-config.yaml"
ENVIRONMENTS = EXAMPLES / "environments"
ENV_MANIFESTS = ENVIRONMENTS / "manifests"
ENV_FILES = sorted(ENVIRONMENTS.glob("*.env"))
CREDENTIALS = ("TOS_ACCESS_KEY", "TOS_SECRET_KEY", "TOS_ACCOUNT_ID", "TOS_REGION", "TOS_ENDPOINT")
TIMEOUT = 60


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- shell command extraction -----------------------------------------------------------------

_PUNCT = set("();<>|&")
# words after which the next word is again a command name
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "time", "!", "{", "}", "exec", "command"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_GHA_EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script, each as its argv (redirections left out).

    Good enough for the scripts in examples/: line continuations are joined, `${{ }}`
    expressions become a dummy word, `$(cmd ...)` yields cmd, `VAR=x cmd` yields cmd,
    and `python -m reconciler` is reported as `reconciler`.
    """
    script = _GHA_EXPRESSION.sub("GHA_EXPR", script).replace("\\\n", " ")
    commands: list[list[str]] = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        current: list[str] | None = None
        at_start, after_redirect = True, False
        for tok in tokens:
            if all(c in _PUNCT for c in tok):
                if current is not None:
                    if tok[0] in "<>" and current and current[-1].isdigit():
                        current.pop()  # `2> file`: a file descriptor, not an argument
                    commands.append(current)
                    current = None
                after_redirect = tok[0] in "<>"
                at_start = not after_redirect
                continue
            if after_redirect:  # the redirection's file name
                after_redirect = False
                continue
            if current is not None:
                current.append(tok)
            elif at_start and (tok in _KEYWORDS or _ASSIGNMENT.match(tok)):
                continue
            elif at_start:
                current = [tok]
        if current is not None:
            commands.append(current)
    return [_normalise(c) for c in commands]


def _normalise(argv: list[str]) -> list[str]:
    if len(argv) >= 3 and re.fullmatch(r"python[0-9.]*", argv[0]) and argv[1:3] == ["-m", "reconciler"]:
        return ["reconciler", *argv[3:]]
    return argv


def reconciler_commands(script: str) -> list[list[str]]:
    return [c for c in shell_commands(script) if c[0] == "reconciler"]


def parse(argv: list[str]) -> Any:
    """Parse a `reconciler ...` argv with the real parser; a rejection fails the test."""
    assert argv[0] == "reconciler", argv
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = build_parser().parse_args(argv[1:])
    except SystemExit as e:
        pytest.fail(f"the CLI rejects {shlex.join(argv)!r} (exit {e.code}):\n{err.getvalue()}")
    if args.command == "apply":  # accepted by the parser, refused by the command
        assert not (args.plan_file and args.files), f"{shlex.join(argv)!r}: a saved plan and -f together"
    return args


def test_shell_command_extraction() -> None:
    script = (
        'X=1 reconciler plan -f a/ \\\n  --out p.json > plan.md 2> err && code=0 || code=$?\n'
        'echo "reconciler plan is a string" # reconciler comment\n'
        'pip install reconciler\n'
        'out=$(python -m reconciler validate -f ${{ inputs.dir }})\n'
        'if [ -n "$x" ]; then reconciler apply plan.json --allow-destroy; fi\n'
    )
    assert reconciler_commands(script) == [
        ["reconciler", "plan", "-f", "a/", "--out", "p.json"],
        ["reconciler", "validate", "-f", "GHA_EXPR"],
        ["reconciler", "apply", "plan.json", "--allow-destroy"],
    ]


# --- every YAML file ---------------------------------------------------------------------------

YAML_FILES = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def is_manifest(path: Path) -> bool:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    return bool(docs) and all(isinstance(d, dict) and "buckets" in d for d in docs)


def test_the_examples_are_found() -> None:
    names = {rel(p) for p in YAML_FILES}
    assert {rel(WORKFLOW), rel(PRE_COMMIT), "examples/environments/manifests/search.yaml",
            "examples/quickstart.yaml"} <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=rel)
def test_yaml_loads(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{rel(path)} has no YAML document"
    assert all(isinstance(d, dict) for d in docs)


@pytest.mark.parametrize("path", [p for p in YAML_FILES if is_manifest(p)], ids=rel)
def test_manifest_points_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert m, f"{rel(path)}: the first line should be '# yaml-language-server: $schema=...'"
    assert (path.parent / m.group(1)).resolve() == SCHEMA.resolve(), f"{rel(path)}: {m.group(1)} is not the schema"


# --- the GitHub Actions workflow ---------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    wf = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    if True in wf:  # YAML 1.1 reads the key `on` as a boolean
        wf["on"] = wf.pop(True)
    return wf


def steps(wf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in wf["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def step_calling(wf: dict[str, Any], job: str, verb: str) -> dict[str, Any]:
    found = [s for j, s in steps(wf) if j == job and any(c[1:2] == [verb] for c in reconciler_commands(s.get("run", "")))]
    assert len(found) == 1, f"expected one step of job {job!r} that runs `reconciler {verb}`, found {len(found)}"
    return found[0]


def test_workflow_triggers(workflow: dict[str, Any]) -> None:
    on = workflow["on"]
    assert "pull_request" in on
    assert "main" in on["push"]["branches"]
    crons = [s["cron"] for s in on["schedule"]]
    assert crons and all(len(c.split()) == 5 for c in crons)
    assert "workflow_dispatch" in on


def test_workflow_commands_are_accepted_by_the_cli(workflow: dict[str, Any]) -> None:
    commands = [c for _, s in steps(workflow) for c in reconciler_commands(s.get("run", ""))]
    verbs = set()
    for argv in commands:
        verbs.add(parse(argv).command)
    assert {"validate", "plan", "apply", "drift"} <= verbs, verbs


def test_pull_request_plan_posts_markdown_and_keeps_the_plan(workflow: dict[str, Any]) -> None:
    step = step_calling(workflow, "plan", "plan")
    [argv] = [c for c in reconciler_commands(step["run"]) if c[1] == "plan"]
    args = parse(argv)
    assert args.detailed_exitcode and args.format == "markdown" and args.out == "plan.json"
    assert any(c[1] == "validate" for _, s in steps(workflow) for c in reconciler_commands(s.get("run", "")))
    uses = [s.get("uses", "") for j, s in steps(workflow) if j == "plan"]
    assert any(u.startswith("actions/github-script@") for u in uses), "no PR comment step"
    assert any(u.startswith("actions/upload-artifact@") for u in uses), "plan.json is not uploaded"
    assert workflow["jobs"]["plan"]["permissions"]["pull-requests"] == "write"


def test_push_applies_the_saved_plan_and_never_destroys_by_default(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["apply"]
    [plan_argv] = [c for c in reconciler_commands(step_calling(workflow, "apply", "plan")["run"])]
    assert parse(plan_argv).out == "plan.json"
    apply_step = step_calling(workflow, "apply", "apply")
    applies = [parse(c) for c in reconciler_commands(apply_step["run"])]
    assert applies and all(a.plan_file == "plan.json" for a in applies)
    # --allow-destroy only behind the manual opt-in, off by default
    if any(a.allow_destroy for a in applies):
        assert "ALLOW_DESTROY" in apply_step["run"]
        expression = apply_step["env"]["ALLOW_DESTROY"]
        assert "workflow_dispatch" in expression and "inputs.allow_destroy" in expression
        assert workflow["on"]["workflow_dispatch"]["inputs"]["allow_destroy"]["default"] is False
    assert job["concurrency"]["cancel-in-progress"] is False
    assert "refs/heads/main" in job["if"]


def test_permissions_and_secrets(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    for job_name, step in steps(workflow):
        run = step.get("run", "")
        assert "secrets." not in run, f"{job_name}: a secret expanded into a script (use env:)"
        for argv in shell_commands(run):
            if argv[0] in ("echo", "printf"):
                assert not any(re.search(r"\$\{?TOS_(ACCESS|SECRET)_KEY", a) for a in argv), \
                    f"{job_name}: prints a credential: {shlex.join(argv)}"
            assert argv[0] not in ("env", "printenv"), f"{job_name}: prints the environment"
            assert not (argv[0] == "set" and any(a.startswith("-") and "x" in a for a in argv[1:])), \
                f"{job_name}: set -x would trace the credentials"
        if any(c[1] in ("plan", "apply", "drift") for c in reconciler_commands(run)):
            env = step.get("env", {})
            for name in CREDENTIALS:
                assert env.get(name) == f"${{{{ secrets.{name} }}}}", f"{job_name}: {step.get('name')}: {name}"


# The run scripts with a stub `reconciler` that exits as told: GitHub runs a `run:` with
# `bash -e {0}`, or `bash --noprofile --norc -eo pipefail {0}` for `shell: bash`.

STUB = """#!/bin/sh
echo "$*" >> "$STUB_LOG"
echo "stub report for: $*"
echo "stub error line" >&2
exit "${STUB_EXIT:-0}"
"""


def run_step(step: dict[str, Any], tmp_path: Path, stub_exit: int, **env: str) -> tuple[int, dict[str, str]]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    stub = bindir / "reconciler"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    script = tmp_path / "step.sh"
    script.write_text(_GHA_EXPRESSION.sub("GHA_EXPR", step["run"]))
    files = {name: tmp_path / name for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "STUB_LOG")}
    for f in files.values():
        f.write_text("")
    shell = ["bash", "-e"] if step.get("shell") is None else ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    environ = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "STUB_EXIT": str(stub_exit),
               "GITHUB_ACTOR": "octocat", **{k: str(v) for k, v in files.items()}, **env}
    proc = subprocess.run([*shell, str(script)], cwd=tmp_path, env=environ, capture_output=True, text=True,
                          timeout=TIMEOUT)
    texts = {k: v.read_text() for k, v in files.items()}
    texts["stdout"] = proc.stdout
    for name in ("plan.md", "drift.md"):
        if (tmp_path / name).exists():
            texts[name] = (tmp_path / name).read_text()
    return proc.returncode, texts


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
@pytest.mark.parametrize("code", [0, 2, 1])
def test_pull_request_plan_step_captures_the_exit_code(workflow: dict[str, Any], tmp_path: Path, code: int) -> None:
    step = step_calling(workflow, "plan", "plan")
    rc, out = run_step(step, tmp_path, code)
    assert rc == 0, "the plan step itself reports; a later step fails the job"
    assert f"exitcode={code}" in out["GITHUB_OUTPUT"].splitlines()
    if code == 1:
        assert "failed" in out["plan.md"] and "stub error line" in out["plan.md"]
    else:
        assert out["plan.md"].startswith("stub report for: plan")
    assert out["plan.md"] in out["GITHUB_STEP_SUMMARY"]
    [fail] = [s for j, s in steps(workflow) if j == "plan" and s.get("run", "").strip() == "exit 1"]
    assert "exitcode != '0'" in fail["if"] and "exitcode != '2'" in fail["if"]


@needs_bash
@pytest.mark.parametrize(("code", "fails"), [(0, False), (2, True), (1, True)])
def test_drift_step_fails_on_drift_and_error(workflow: dict[str, Any], tmp_path: Path, code: int, fails: bool) -> None:
    rc, out = run_step(step_calling(workflow, "drift", "drift"), tmp_path, code)
    assert (rc != 0) is fails
    assert "stub report for: drift" in out["GITHUB_STEP_SUMMARY"]
    if code == 2:
        assert "::error::drift" in out["stdout"]


@needs_bash
@pytest.mark.parametrize(("allow", "expected"), [
    ("false", "apply plan.json"),  # a push: the expression is false
    ("", "apply plan.json"),
    ("true", "apply plan.json --allow-destroy"),  # manual run with the input checked
])
def test_apply_step_passes_allow_destroy_only_when_opted_in(
        workflow: dict[str, Any], tmp_path: Path, allow: str, expected: str) -> None:
    rc, out = run_step(step_calling(workflow, "apply", "apply"), tmp_path, 0, ALLOW_DESTROY=allow)
    assert rc == 0
    assert out["STUB_LOG"].splitlines() == [expected]
    rc, _ = run_step(step_calling(workflow, "apply", "apply"), tmp_path, 1, ALLOW_DESTROY=allow)
    assert rc == 1


# --- the pre-commit hook -----------------------------------------------------------------------


HOOKS = ROOT / ".pre-commit-hooks.yaml"


@pytest.fixture(scope="module")
def hook() -> dict[str, Any]:
    """The example config's hook, with the defaults this repository's hooks file gives it."""
    config = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    [repo] = config["repos"]
    assert repo["repo"] != "local", "the example installs reconciler from its repository, at a pinned rev"
    assert re.fullmatch(r"v\d+\.\d+\.\d+|[0-9a-f]{40}", repo["rev"]), f"rev {repo['rev']!r}: a tag or a commit"
    [used] = repo["hooks"]
    shipped = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert used["id"] in shipped, f"{used['id']!r} is not a hook of .pre-commit-hooks.yaml"
    return {**shipped[used["id"]], **used}


def test_pre_commit_hook(hook: dict[str, Any]) -> None:
    assert hook["language"] == "python"  # pre-commit installs the tool itself
    files = re.compile(hook["files"])
    for path in ("manifests/a.yaml", "manifests/b.yml", "manifests/sub/c.yaml", "policies/rag-prod.json",
                 "manifests/policy.json"):
        assert files.search(path), path
    for path in ("README.md", "src/manifests.py", ".github/workflows/ci.yml"):
        assert not files.search(path), path
    # what pre-commit runs: the directory, not the changed files
    assert hook["pass_filenames"] is False
    args = parse([*shlex.split(hook["entry"]), *hook["args"]])
    assert args.command == "validate" and args.files == ["manifests/"]


# --- the environments README -------------------------------------------------------------------


def readme_blocks(path: Path) -> list[str]:
    return re.findall(r"^```(?:sh|bash|shell|console)?\n(.*?)^```", path.read_text(encoding="utf-8"),
                      re.DOTALL | re.MULTILINE)


def test_environments_readme_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.errors import ManifestError
    from reconciler.manifest import load_manifests, parse_var_assignments, read_var_files

    commands = [c for block in readme_blocks(ENVIRONMENTS / "README.md") for c in shell_commands(block)]
    checked = set()
    for i, argv in enumerate(commands):
        if argv[0] != "reconciler":
            continue
        args = parse(argv)
        checked.add(args.command)
        if not getattr(args, "files", None):
            continue
        # the variables it gets: its --var flags, over any env file sourced before it
        environ: dict[str, str] = {}
        for prev in commands[:i]:
            if prev[0] in (".", "source"):
                environ.update(read_env_file(ROOT / prev[1]))
        for f in args.files:
            assert (ROOT / f).exists(), f"{shlex.join(argv)}: no {f}"
        monkeypatch.chdir(ROOT)
        try:
            variables = {**read_var_files(args.var_files), **parse_var_assignments(args.vars)}
            load_manifests(args.files, variables, environ=environ)
        except ManifestError as e:
            pytest.fail(f"{shlex.join(argv)}:\n" + "\n".join(map(str, e.diagnostics)))
    assert {"validate", "plan", "apply"} <= checked


# --- the environment manifests -----------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as `set -a; . FILE; set +a` would read them (so no quoting)."""
    result = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z0-9_./:-]*)", line)
        assert m, f"{rel(path)}:{n}: expected KEY=VALUE with a plain value, got {line!r}"
        result[m.group(1)] = m.group(2)
    return result


def test_one_env_file_per_environment() -> None:
    assert [p.stem for p in ENV_FILES] == ["dev", "prod", "staging"]
    for p in ENV_FILES:
        assert read_env_file(p)["ENV"] == p.stem


def test_environments_differ_and_prod_is_protected() -> None:
    from reconciler.manifest import load_manifests

    targets = {}
    for path in ENV_FILES:
        manifest = load_manifests([str(ENV_MANIFESTS)], {}, environ=read_env_file(path))
        [bucket] = manifest.buckets
        assert bucket.name == f"search-{path.stem}"
        assert bucket.prevent_destroy is (path.stem == "prod"), path.stem
        targets[path.stem] = (manifest.account, manifest.region or "cn-beijing", bucket.name)
    assert len(set(targets.values())) == 3
    assert len({(account, region) for account, region, _ in targets.values()}) > 1, \
        "the environments should live in different accounts or regions"
    # protection is the default: an environment must say PREVENT_DESTROY=false to drop it
    [bucket] = load_manifests([str(ENV_MANIFESTS)], {}, environ={"ENV": "qa", "TOS_ACCOUNT_ID": "1"}).buckets
    assert bucket.prevent_destroy is True


def test_an_undefined_environment_is_an_error() -> None:
    from reconciler.errors import ManifestError
    from reconciler.manifest import load_manifests

    with pytest.raises(ManifestError, match="undefined variable 'ENV'"):
        load_manifests([str(ENV_MANIFESTS)], {"TOS_ACCOUNT_ID": "2100000001"}, environ={})


# --- validate, as subprocesses -----------------------------------------------------------------


def top_level_examples() -> list[Path]:
    """examples/*.yaml, and the directories directly under examples/ that hold manifests."""
    found = [p for p in sorted(EXAMPLES.glob("*.y*ml")) if is_manifest(p)]
    for d in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        files = sorted(d.glob("*.y*ml"))
        if files and all(is_manifest(f) for f in files):
            found.append(d)
    return found


def validations() -> dict[str, list[str]]:
    """Name -> argv after `reconciler`."""
    cases = {}
    for path in ENV_FILES:
        variables = [arg for k, v in read_env_file(path).items() for arg in ("--var", f"{k}={v}")]
        cases[f"env:{path.stem}"] = ["validate", "-f", rel(ENV_MANIFESTS), *variables]
    for path in top_level_examples():
        cases[f"example:{rel(path)}"] = ["validate", "-f", rel(path)]
    return cases


VALIDATIONS = validations()


@pytest.fixture(scope="module")
def validated() -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every validation at once (each is a fresh interpreter) and collect them."""
    environ = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and k not in ("ENV", "PREVENT_DESTROY")}
    environ["NO_COLOR"] = "1"
    for path in ENV_FILES:  # the env files must be complete on their own
        for key in read_env_file(path):
            environ.pop(key, None)
    procs = {name: subprocess.Popen([sys.executable, "-m", "reconciler", *argv], cwd=ROOT, env=environ,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, argv in VALIDATIONS.items()}
    results = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=TIMEOUT)
            results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def test_the_top_level_examples_are_validated() -> None:
    assert {"example:examples/quickstart.yaml", "example:examples/rag-service",
            "example:examples/ci-read-access.yaml"} <= set(VALIDATIONS)


@pytest.mark.parametrize("name", sorted(VALIDATIONS))
def test_validate(validated: dict[str, subprocess.CompletedProcess[str]], name: str) -> None:
    parse(["reconciler", *VALIDATIONS[name]])
    result = validated[name]
    assert result.returncode == 0, f"reconciler {shlex.join(VALIDATIONS[name])}:\n{result.stderr}"
    assert result.stdout.startswith("Valid:"), result.stdout
