"""Building a plan and rendering it load only data modules: no HTTP client, no asyncio.

Each check runs in a fresh interpreter, so what this test process already imported
cannot hide an import; it does the work itself (load a manifest, plan, render), so an
import made inside a function counts too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

# Modules that do I/O or run the event loop; a pure module must not load any of them.
FORBIDDEN = ("reconciler.client", "reconciler.state.refresh", "reconciler.emulator", "reconciler.apply.executor",
             "reconciler.engine", "asyncio", "httpx", "httpcore", "anyio", "uvloop", "tos")

_REPORT = f"""
import json, sys
forbidden = {FORBIDDEN!r}
print(json.dumps(sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))))
"""


def loaded_forbidden(program: str) -> list[str]:
    """The forbidden modules loaded after `program` ran in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", program + _REPORT], cwd=CHECKOUT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


PURE_MODULES = ["reconciler.state.model", "reconciler.plan.build", "reconciler.plan.drift", "reconciler.plan.model",
                "reconciler.plan.planfile", "reconciler.plan.diff", "reconciler.apply.result", "reconciler.apply.guardrails",
                "reconciler.rules.names", "reconciler.rules.kinds", "reconciler.rules.policy", "reconciler.rules.access",
                "reconciler.render.access", "reconciler.cli",
                "reconciler.render", "reconciler.render.text", "reconciler.render.jsonplan",
                "reconciler.render.markdown", "reconciler.render.apply", "reconciler.render.drift",
                "reconciler.render.graph"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_importing_a_core_module_loads_no_client_and_no_event_loop(module: str) -> None:
    assert loaded_forbidden(f"import {module}\n") == []


def test_planning_and_rendering_a_manifest_loads_no_client_and_no_event_loop() -> None:
    program = """
from reconciler.plan.drift import drift_report
from reconciler.manifest import load_manifests
from reconciler.plan.model import Target
from reconciler.plan.build import build_plan
from reconciler.render import drift_json, drift_markdown, drift_text, graph_dot, graph_mermaid
from reconciler.render import plan_json, plan_markdown, plan_text
from reconciler.state.model import LiveBucket, LiveIndex, LiveState

manifest = load_manifests(["examples/quickstart.yaml"])
live = LiveState(buckets={"quickstart": LiveBucket("quickstart", {"old": LiveIndex("quickstart", "old", None)}, None)})
plan = build_plan(manifest, live, Target("https://e.example", "cn-beijing", "2100000000"))
assert plan.changes, "the plan should create the index and the policy"
for render in (plan_text, plan_markdown, plan_json, graph_dot, graph_mermaid):
    assert render(plan)
report = drift_report(plan)
for render in (drift_text, drift_markdown, drift_json):
    assert render(report)
"""
    assert loaded_forbidden(program) == []


def test_the_check_sees_the_client_when_a_module_loads_it() -> None:
    """The probe itself works: the reads module does load the client and asyncio."""
    found = loaded_forbidden("import reconciler.state.refresh\n")
    assert {"reconciler.client", "reconciler.state.refresh", "asyncio"} <= set(found)


# --- what each CLI command loads (issue 18, "Fast from the first millisecond") -------------------

# Run one command line as `python -m reconciler` does, then write the modules it loaded.
_RUNNER = """
import atexit, os, runpy, sys
def dump():
    loaded = sorted(sys.modules)  # before json loads to write them
    import json
    with open(os.environ["MODULES_OUT"], "w") as f:
        f.write(json.dumps(loaded))
atexit.register(dump)
sys.argv = ["reconciler", *sys.argv[1:]]
runpy.run_module("reconciler", run_name="__main__", alter_sys=True)
"""
HEAVY = ("numpy", "uvicorn", "reconciler.emulator", "httpx", "httpcore", "deepdiff")
ANY_IO = (*HEAVY, "reconciler.engine", "reconciler.client", "reconciler.manifest", "asyncio", "uvloop", "yaml")


def loaded_by_command(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """(exit code, stdout + stderr, the modules loaded) of one CLI run in a fresh interpreter."""
    import os

    out = tmp_path / "modules.json"
    run_env = {**os.environ, **(env or {}), "MODULES_OUT": str(out), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, *argv], cwd=CHECKOUT, env=run_env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr, set(json.loads(out.read_text()))


def heavy(modules: set[str], forbidden: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("argv", [["--help"], ["plan", "--help"], ["--version"]])
def test_help_loads_no_emulator_no_client_and_no_manifest_code(tmp_path: Path, argv: list[str]) -> None:
    code, text, modules = loaded_by_command(tmp_path, *argv)
    assert code == 0, text
    assert heavy(modules, ANY_IO) == []
    if len(argv) == 1:  # the program's own text: argparse and the flags alone, not even the masking
        assert heavy(modules, ("typing", "dataclasses", "inspect", "json", "reconciler.util", "reconciler.rules")) == []


@pytest.mark.parametrize("argv", [["validate", "-f", "examples/quickstart.yaml"],
                                  ["access", "-f", "examples/ci-read-access.yaml"]])
def test_validate_and_access_load_no_emulator_numpy_uvicorn_or_http_client(tmp_path: Path, argv: list[str]) -> None:
    code, text, modules = loaded_by_command(tmp_path, *argv)
    assert code == 0, text
    assert heavy(modules, (*HEAVY, "reconciler.client", "asyncio")) == []


# What a valid `validate` of the quickstart (a policy without a Deny, no access tests) has no
# use for (issue 18: start-up is the floor of every CI run): jsonschema, which only locates
# the errors of an invalid manifest (jsonschema-rs says "valid"); the policy evaluator and the
# access tests, for a Deny to weigh or a test to run; the planner; difflib, for "did you mean".
NOT_FOR_A_VALID_MANIFEST = ("jsonschema", "difflib",
                            "reconciler.rules.access", "reconciler.manifest._access_tests", "reconciler.plan",
                            "reconciler.rules.kinds")


def test_a_valid_validate_loads_no_schema_library_evaluator_or_planner(tmp_path: Path) -> None:
    code, text, modules = loaded_by_command(tmp_path, "validate", "-f", "examples/quickstart.yaml")
    assert code == 0, text
    assert heavy(modules, NOT_FOR_A_VALID_MANIFEST) == []
    # an invalid one still gets jsonschema's located errors, in the same words
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                   "      - {name: docs, dimension: 0, distanceMetric: cosine}\n")
    code, text, modules = loaded_by_command(tmp_path, "validate", "-f", str(bad))
    assert code == 1 and f"{bad}:5:33: dimension: must be between 1 and 4096, got 0" in text, text
    assert "jsonschema" in modules


@pytest.mark.slow  # it starts `reconciler serve`
def test_plan_over_http_and_show_load_no_emulator_numpy_or_uvicorn(tmp_path: Path) -> None:
    from tests.support.emulator import running_emulator
    from tests.support.sdk import ACCOUNT

    with running_emulator(tmp_path / "data") as emu:
        env = {"TOS_ENDPOINT": emu.url, "TOS_ACCOUNT_ID": ACCOUNT}
        plan_file = str(tmp_path / "plan.json")
        code, text, modules = loaded_by_command(tmp_path, "plan", "-f", "examples/quickstart.yaml",
                                                "--out", plan_file, env=env)
        assert code == 0 and "Plan: 3 to create" in text, text
        assert "reconciler.client" in modules  # it did talk to the service
        assert heavy(modules) == []
    code, text, modules = loaded_by_command(tmp_path, "show", plan_file)
    assert code == 0 and "Plan: 3 to create" in text, text
    assert heavy(modules, (*HEAVY, "reconciler.client", "asyncio")) == []


def test_serve_still_gets_its_flags(tmp_path: Path) -> None:
    code, text, modules = loaded_by_command(tmp_path, "serve", "--help")
    assert code == 0 and "--latency-ms" in text and "--data-dir" in text, text
    code, text, _ = loaded_by_command(tmp_path, "completion", "bash")
    assert code == 0 and "--latency-ms" in text


def test_the_parser_built_for_one_command_is_that_command_in_full() -> None:
    """The entry point builds only the flags of the command it runs (build_parser(only=...));
    each command built that way takes exactly the flags of the full parser, and the light
    help of the endpoint flag says what the client would use."""
    from reconciler.cli.flags import ENDPOINT_HELP, build_parser, subcommands
    from reconciler.rules.names import default_endpoint

    full = subcommands(build_parser())
    for name, parser in full.items():
        alone = subcommands(build_parser(only={name}))[name]
        assert [(a.dest, a.option_strings, a.default, a.choices) for a in alone._actions] == \
            [(a.dest, a.option_strings, a.default, a.choices) for a in parser._actions], name
        assert alone.format_help() == parser.format_help()
    assert ENDPOINT_HELP == default_endpoint("REGION")
