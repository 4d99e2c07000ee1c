"""The CI examples beside the GitHub Actions one: the GitLab pipeline and the preview
environments' workflows, and what all of them share.

- every workflow file parses; the GitLab one is a pipeline GitLab would accept in shape
  (stages, extends, needs, rules, scripts);
- every `reconciler ...` command in them is accepted: each flag appears in the real
  `python -m reconciler VERB --help`, and the real parser takes the whole command;
- every job that runs reconciler installs it first (pinned: tests/test_install_lines.py);
- the triggers cover the policy files, not only manifests/ (GitHub `paths`, GitLab
  `rules: changes`), matched the way each forge matches its globs;
- the GitLab scripts run under bash with stub `reconciler` and `curl`: the plan becomes one
  merge-request note (created, then updated), an error fails the job after the note,
  --allow-destroy only from a pipeline run by hand, drift fails on exit 2 and 1;
- the nightly prune applies the prune manifest with --auto-approve --allow-destroy, and
  the preview manifests validate;
- every shell script in them (GitHub `run:` steps, GitLab scripts) passes ShellCheck, the
  linter a user's own pipeline review would run on what they copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.examples.test_examples import needs_bash, parse, reconciler_commands

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GITHUB = [EXAMPLES / "github-actions" / "reconciler.yml", EXAMPLES / "preview-environments" / "preview.yml",
          EXAMPLES / "preview-environments" / "nightly-prune.yml"]
GITLAB = EXAMPLES / "gitlab" / ".gitlab-ci.yml"
PREVIEWS = EXAMPLES / "preview-environments"
TIMEOUT = 60
# GitLab's keywords that are not jobs
GITLAB_GLOBAL = {"stages", "workflow", "variables", "default", "include", "image", "services", "cache",
                 "before_script", "after_script"}


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


# --- GitLab's pipeline, as GitLab reads it -----------------------------------------------------


def gitlab_jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs, with `extends` merged in (GitLab merges hashes deeply; these are flat)."""
    def resolved(name: str) -> dict[str, Any]:
        job = doc[name]
        parents = job.get("extends", [])
        merged: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            assert parent in doc, f"{name}: extends {parent!r}, which does not exist"
            merged.update(resolved(parent))
        return {**merged, **{k: v for k, v in job.items() if k != "extends"}}

    return {name: resolved(name) for name in doc if name not in GITLAB_GLOBAL and not name.startswith(".")}


@pytest.fixture(scope="module")
def gitlab() -> dict[str, dict[str, Any]]:
    return gitlab_jobs(load(GITLAB))


def gitlab_script(job: dict[str, Any], key: str = "script") -> str:
    lines = job.get(key, [])
    assert isinstance(lines, list) and all(isinstance(x, str) for x in lines), f"{key} must be a list of strings"
    return "\n".join(lines)


def test_gitlab_pipeline_shape(gitlab: dict[str, dict[str, Any]]) -> None:
    doc = load(GITLAB)
    stages = doc["stages"]
    assert {"validate", "plan:merge-request", "plan:default-branch", "apply", "drift"} <= set(gitlab)
    assert stages == ["validate", "plan", "apply", "drift"]
    for name, job in gitlab.items():
        assert job["stage"] in stages, f"{name}: stage {job['stage']!r} is not in stages"
        assert job.get("script"), f"{name}: no script"
        gitlab_script(job)
        gitlab_script(job, "before_script")
        for need in job.get("needs", []):
            assert need in gitlab, f"{name}: needs {need!r}, which is not a job"
            assert stages.index(gitlab[need]["stage"]) < stages.index(job["stage"])
        for rule in job.get("rules", []):
            assert set(rule) <= {"if", "changes", "when", "variables", "allow_failure"}, f"{name}: {rule}"
    assert all("if" in r for r in doc["workflow"]["rules"])


def test_gitlab_plan_is_a_merge_request_note_of_show_markdown(gitlab: dict[str, dict[str, Any]]) -> None:
    [job] = [j for j in gitlab.values() if any("merge_request_event" in r.get("if", "") for r in j.get("rules", []))
             and any(c[1] == "plan" for c in reconciler_commands(gitlab_script(j)))]
    commands = [parse(c) for c in reconciler_commands(gitlab_script(job))]
    [plan] = [a for a in commands if a.command == "plan"]
    assert plan.out == "plan.json" and plan.detailed_exitcode
    [show] = [a for a in commands if a.command == "show"]
    assert show.plan_file == "plan.json" and show.format == "markdown"
    script = gitlab_script(job)
    assert "/merge_requests/$CI_MERGE_REQUEST_IID/notes" in script and "GITLAB_API_TOKEN" in script
    assert "plan.json" in job["artifacts"]["paths"]


def test_gitlab_applies_the_saved_plan_on_the_default_branch(gitlab: dict[str, dict[str, Any]]) -> None:
    apply = gitlab["apply"]
    [planner] = apply["needs"]
    plans = [parse(c) for c in reconciler_commands(gitlab_script(gitlab[planner])) if c[1] == "plan"]
    assert [p.out for p in plans] == ["plan.json"]
    assert "plan.json" in gitlab[planner]["artifacts"]["paths"]
    applies = [parse(c) for c in reconciler_commands(gitlab_script(apply))]
    assert applies and all(a.plan_file == "plan.json" and not a.files for a in applies)
    assert apply["resource_group"] and apply["environment"]["name"] == "production"
    for job in (apply, gitlab[planner]):
        assert all("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in r["if"] for r in job["rules"])
    assert "RECONCILER_PLAN_KEY" in GITLAB.read_text(encoding="utf-8")


def test_gitlab_drift_runs_on_the_schedule(gitlab: dict[str, dict[str, Any]]) -> None:
    drift = gitlab["drift"]
    assert any(r["if"] == '$CI_PIPELINE_SOURCE == "schedule"' for r in drift["rules"])
    [args] = [parse(c) for c in reconciler_commands(gitlab_script(drift))]
    assert args.command == "drift" and args.format == "markdown"


# --- every reconciler command of every CI example ----------------------------------------------


def scripts() -> Iterator[tuple[str, str, str]]:
    """(file, job, script) of every shell script in the CI examples."""
    for path in GITHUB:
        for job_name, job in load(path)["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    yield path.name, job_name, step["run"]
    for job_name, job in gitlab_jobs(load(GITLAB)).items():
        yield GITLAB.name, job_name, gitlab_script(job, "before_script") + "\n" + gitlab_script(job)


def used_commands() -> list[tuple[str, list[str]]]:
    return [(f"{f}:{j}", c) for f, j, s in scripts() for c in reconciler_commands(s)]


def flags(argv: list[str]) -> list[str]:
    return [a.split("=", 1)[0] for a in argv[2:] if a.startswith("-") and a != "-"]


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """`python -m reconciler VERB --help` of every verb the examples use, run together."""
    verbs = sorted({argv[1] for _, argv in used_commands()})
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    procs = {v: subprocess.Popen([sys.executable, "-m", "reconciler", v, "--help"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for v in verbs}
    out = {}
    for verb, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, f"reconciler {verb} --help: {stderr}"
        out[verb] = stdout
    return out


def test_the_examples_use_the_verbs_they_should() -> None:
    verbs = {argv[1] for _, argv in used_commands()}
    assert {"validate", "plan", "show", "apply", "drift", "destroy"} <= verbs, verbs


@pytest.mark.parametrize(("where", "argv"), used_commands(), ids=lambda x: x if isinstance(x, str) else " ".join(x))
def test_every_flag_is_in_the_commands_help(helps: dict[str, str], where: str, argv: list[str]) -> None:
    for flag in flags(argv):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", helps[argv[1]]), \
            f"{where}: `reconciler {argv[1]} --help` does not list {flag}"
    parse(argv)


def test_every_job_that_runs_reconciler_installs_it_first() -> None:
    for path in GITHUB:
        for job_name, job in load(path)["jobs"].items():
            runs = [s.get("run", "") for s in job.get("steps", [])]
            first_use = next((i for i, r in enumerate(runs) if reconciler_commands(r)), None)
            if first_use is None:
                continue
            assert any("pip install" in r and "tosvectors-reconciler" in r for r in runs[:first_use]), \
                f"{path.name}: job {job_name} runs reconciler before installing it"
    for job_name, job in gitlab_jobs(load(GITLAB)).items():
        if reconciler_commands(gitlab_script(job)):
            assert "tosvectors-reconciler" in gitlab_script(job, "before_script"), f"{job_name}: no install"


# --- the triggers cover the policies -----------------------------------------------------------


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as GitHub's `paths` and GitLab's `changes` read it: `*` within a
    directory, `**` across them (`**/` also for no directory)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def matches(patterns: list[str], path: str) -> bool:
    return any(glob_regex(p).fullmatch(path) for p in patterns)


def test_glob_regex() -> None:
    assert matches(["manifests/**"], "manifests/a/b.yaml")
    assert matches(["policies/**/*"], "policies/rag.json") and matches(["policies/**/*"], "policies/a/rag.json")
    assert not matches(["manifests/**"], "policies/rag.json")
    assert not matches(["manifests/*"], "manifests/a/b.yaml")


CHANGED = ["manifests/rag.yaml", "manifests/team/search.yml", "policies/rag-prod.json"]


def test_github_workflow_runs_when_a_policy_changes() -> None:
    on = load(GITHUB[0])["on"]
    for event in ("pull_request", "push"):
        for path in CHANGED:
            assert matches(on[event]["paths"], path), f"{event}: a change to {path} alone does not run the workflow"
        assert not matches(on[event]["paths"], "README.md")


def test_gitlab_pipeline_runs_when_a_policy_changes(gitlab: dict[str, dict[str, Any]]) -> None:
    for name in ("validate", "plan:merge-request", "plan:default-branch", "apply"):
        changes = [r["changes"] for r in gitlab[name]["rules"] if "changes" in r]
        assert changes, f"{name}: no rules: changes"
        for patterns in changes:
            for path in CHANGED:
                assert matches(patterns, path), f"{name}: a change to {path} alone does not run it"


# --- the GitLab scripts, run -------------------------------------------------------------------

RECONCILER_STUB = """#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
  show) echo "## stub markdown of $2" ;;
  *) echo "stub report for: $*"; echo "stub error line" >&2; exit "${STUB_EXIT:-0}" ;;
esac
"""
# GET answers $STUB_NOTES; a write records its method and URL
CURL_STUB = """#!/bin/sh
method=GET
url=
while [ $# -gt 0 ]; do
  case "$1" in
    --request) method=$2; shift ;;
    --header|--data-urlencode) shift ;;
    -*) ;;
    *) url=$1 ;;
  esac
  shift
done
echo "curl $method $url" >> "$STUB_LOG"
[ "$method" = GET ] && printf '%s' "$STUB_NOTES"
exit 0
"""
CI_ENV = {"CI": "true", "CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "42",
          "CI_MERGE_REQUEST_IID": "7", "CI_COMMIT_SHORT_SHA": "abc1234", "CI_JOB_URL": "https://job/1",
          "GITLAB_USER_LOGIN": "octocat"}


def run_gitlab(job: dict[str, Any], tmp_path: Path, stub_exit: int = 0, **env: str) -> tuple[int, str, list[str]]:
    """The job's script as GitLab's runner runs it in bash (-e, pipefail), stubs on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, text in (("reconciler", RECONCILER_STUB), ("curl", CURL_STUB)):
        (bindir / name).write_text(text)
        (bindir / name).chmod((bindir / name).stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "stub.log"
    log.write_text("")
    script = tmp_path / "job.sh"
    script.write_text(gitlab_script(job))
    environ = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "STUB_EXIT": str(stub_exit),
               "STUB_LOG": str(log), "STUB_NOTES": "[]", **CI_ENV, **env}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout + proc.stderr, log.read_text().splitlines()


@needs_bash
@pytest.mark.parametrize("code", [0, 2])
def test_gitlab_plan_posts_one_note(gitlab: dict[str, dict[str, Any]], tmp_path: Path, code: int) -> None:
    job = gitlab["plan:merge-request"]
    notes = "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes"
    rc, out, calls = run_gitlab(job, tmp_path, code, GITLAB_API_TOKEN="t0ken")
    assert rc == 0, out
    assert calls[0].startswith("plan -f manifests/ --out plan.json")
    assert "show plan.json --format markdown" in calls
    assert calls[-2:] == [f"curl GET {notes}?per_page=100&sort=desc&order_by=updated_at", f"curl POST {notes}"]
    note = (tmp_path / "note.md").read_text()
    assert note.startswith("<!-- reconciler-plan -->\n## stub markdown of plan.json") and "abc1234" in note
    assert "t0ken" not in out
    # the next push updates that note instead of adding one
    existing = json.dumps([{"id": 5, "body": "looks good"}, {"id": 9, "body": "<!-- reconciler-plan -->\nold"}])
    rc, out, calls = run_gitlab(job, tmp_path, code, GITLAB_API_TOKEN="t0ken", STUB_NOTES=existing)
    assert rc == 0, out
    assert calls[-1] == f"curl PUT {notes}/9"


@needs_bash
def test_gitlab_plan_error_is_in_the_note_and_fails_the_job(gitlab: dict[str, dict[str, Any]],
                                                           tmp_path: Path) -> None:
    rc, out, calls = run_gitlab(gitlab["plan:merge-request"], tmp_path, 1, GITLAB_API_TOKEN="t0ken")
    assert rc == 1
    assert not any(c.startswith("show") for c in calls)
    assert calls[-1].startswith("curl POST")
    note = (tmp_path / "note.md").read_text()
    assert "plan failed" in note and "stub error line" in note


@needs_bash
def test_gitlab_plan_without_a_token_keeps_the_plan_in_the_log(gitlab: dict[str, dict[str, Any]],
                                                               tmp_path: Path) -> None:
    rc, out, calls = run_gitlab(gitlab["plan:merge-request"], tmp_path, 2)
    assert rc == 0, out
    assert not any(c.startswith("curl") for c in calls)
    assert "GITLAB_API_TOKEN is not set" in out and "stub report for: plan" in out


@needs_bash
@pytest.mark.parametrize(("source", "allow", "expected"), [
    ("push", "false", "apply plan.json"),
    ("push", "true", "apply plan.json"),  # a push option can set the variable: not consent
    ("web", "false", "apply plan.json"),
    ("web", "true", "apply plan.json --allow-destroy"),
])
def test_gitlab_apply_allows_destroy_only_when_run_by_hand(gitlab: dict[str, dict[str, Any]], tmp_path: Path,
                                                          source: str, allow: str, expected: str) -> None:
    rc, out, calls = run_gitlab(gitlab["apply"], tmp_path, 0, CI_PIPELINE_SOURCE=source,
                                RECONCILER_ALLOW_DESTROY=allow)
    assert rc == 0, out
    assert calls == [expected]
    rc, _, _ = run_gitlab(gitlab["apply"], tmp_path, 1, CI_PIPELINE_SOURCE=source, RECONCILER_ALLOW_DESTROY=allow)
    assert rc == 1


@needs_bash
@pytest.mark.parametrize(("code", "fails"), [(0, False), (2, True), (1, True)])
def test_gitlab_drift_fails_on_drift_and_error(gitlab: dict[str, dict[str, Any]], tmp_path: Path,
                                              code: int, fails: bool) -> None:
    rc, out, _ = run_gitlab(gitlab["drift"], tmp_path, code)
    assert (rc != 0) is fails, out
    assert "stub report for: drift" in (tmp_path / "drift.md").read_text()


# --- preview environments ----------------------------------------------------------------------


def example_path(path: str) -> Path:
    """A path in the user's repository (previews/...) -> the example file it is a copy of."""
    assert path.startswith("previews/"), path
    return PREVIEWS / path.removeprefix("previews/")


def test_nightly_prune_applies_the_prune_manifest_with_consent() -> None:
    wf = load(PREVIEWS / "nightly-prune.yml")
    assert [s["cron"] for s in wf["on"]["schedule"]]
    [argv] = [c for _, _, s in scripts() if s in [st.get("run") for j in wf["jobs"].values() for st in j["steps"]]
              for c in reconciler_commands(s)]
    args = parse(argv)
    assert args.command == "apply" and args.auto_approve and args.allow_destroy
    [manifest] = args.files
    doc = yaml.safe_load(example_path(manifest).read_text(encoding="utf-8"))
    assert doc["buckets"] == [] and doc["prune"] == {"buckets": ["pr-*"], "olderThan": "7d"}


def test_preview_workflow_creates_and_destroys_its_own_bucket() -> None:
    wf = load(PREVIEWS / "preview.yml")
    assert set(wf["on"]["pull_request"]["types"]) >= {"opened", "synchronize", "closed"}
    runs = [s.get("run", "") for job in wf["jobs"].values() for s in job["steps"]]
    commands = [parse(c) for run in runs for c in reconciler_commands(run)]
    assert {a.command for a in commands} == {"apply", "output", "destroy"}
    [output] = [a for a in commands if a.command == "output"]
    assert output.format == "text" and any('--format text >> "$GITHUB_OUTPUT"' in run for run in runs)
    for args in commands:
        assert [example_path(f).name for f in args.files] == ["preview.yaml"]
        assert args.vars == ["PR_NUMBER=$PR_NUMBER"]
    manifest = yaml.safe_load((PREVIEWS / "preview.yaml").read_text(encoding="utf-8"))
    assert "prune" not in manifest, "a pr-* prune scope here would delete the other pull requests' previews"


def validate(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_the_preview_manifest_validates() -> None:
    r = validate("-f", "examples/preview-environments/preview.yaml", "--var", "PR_NUMBER=123")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Valid: 1 file, 1 bucket")


def test_the_prune_manifest_validates() -> None:
    # prune.olderThan (README.md, "Preview environments that expire"): this passes once the schema has it
    r = validate("-f", "examples/preview-environments/prune-previews.yaml")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Valid: 1 file, 0 buckets")


# --- ShellCheck ---------------------------------------------------------------------------------

SHELLCHECK = shutil.which("shellcheck")


def shell_scripts() -> Iterator[tuple[str, str]]:
    """(where, script) for every shell script the CI examples run. GitHub substitutes its
    `${{ ... }}` expressions before the shell starts, so they stand as a plain word here."""
    for path in GITHUB:
        for name, job in load(path)["jobs"].items():
            for n, step in enumerate(job.get("steps", []), 1):
                if "run" in step:
                    yield (f"{path.relative_to(ROOT)} {name} step {n}",
                           re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"], flags=re.S))
    for name, job in gitlab_jobs(load(GITLAB)).items():
        for key in ("before_script", "script", "after_script"):
            if job.get(key):
                yield f"{GITLAB.relative_to(ROOT)} {name} {key}", gitlab_script(job, key)


@pytest.mark.skipif(SHELLCHECK is None, reason="Debian's shellcheck is not installed (.ci/run does)")
def test_every_ci_script_passes_shellcheck() -> None:
    scripts = list(shell_scripts())
    assert len(scripts) >= 10, scripts  # every workflow's steps, and the GitLab jobs
    found = []
    for where, script in scripts:
        done = subprocess.run([SHELLCHECK, "--shell=bash", "--format=gcc", "-"], input=script, capture_output=True,
                              text=True, timeout=TIMEOUT)
        found += [f"{where}: {line.removeprefix('-:')}" for line in done.stdout.splitlines()]
    assert not found, "\n".join(found)


@pytest.mark.skipif(SHELLCHECK is None, reason="Debian's shellcheck is not installed (.ci/run does)")
def test_shellcheck_sees_what_it_should() -> None:
    """The control: an unquoted variable in a copied step is reported."""
    done = subprocess.run([SHELLCHECK, "--shell=bash", "--format=gcc", "-"], input='rm -rf $PLAN_DIR/*\n',
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert "SC2086" in done.stdout
