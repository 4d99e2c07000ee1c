"""Terraform's review flow and habits, through the real CLI (issue 12).

Commands that call the API run against `reconciler serve` over HTTP; commands that make
no call (validate, show, completion) run with an endpoint on a closed port, so that any
call would fail loudly.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.sdk import ACCOUNT
from tests.support.throttling_proxy import throttling_proxy


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def offline(cwd: Path, *args: str, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with no service behind its endpoint."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    base.update({"TOS_ENDPOINT": closed_port_url(), "TOS_ACCOUNT_ID": "2100000000", "NO_COLOR": "1"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=base, input=input,
                          capture_output=True, text=True, timeout=120)


# --- alias bombs, and large estates that are not ---------------------------------------------


def test_a_large_manifest_without_aliases_is_not_an_alias_bomb(tmp_path: Path) -> None:
    # 36,000 indexes: about 250,000 YAML values, more than the alias-expansion limit
    rows = [f"      - {{name: ix-{i:05d}, dimension: 8, distanceMetric: cosine, nonFilterableMetadataKeys: [a, b]}}"
            for i in range(36_000)]
    (tmp_path / "big.yaml").write_text("version: 1\nbuckets:\n  - name: tenants\n    indexes:\n" + "\n".join(rows) + "\n")
    r = offline(tmp_path, "validate", "-f", "big.yaml")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Valid: 1 file, 1 bucket, 36000 indexes.\n"


def test_an_alias_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    levels = ["version: 1", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("\n".join(levels) + "\nbuckets: []\n")
    r = offline(tmp_path, "validate", "-f", "bomb.yaml")
    assert r.returncode == 1
    assert "bomb.yaml:6:5: aliases of the YAML anchor here expand to more than 200000 values (an alias bomb?)" in r.stderr
    assert "Traceback" not in r.stderr


# --- fixtures: one `reconciler serve` for the module ------------------------------------------

emulator, _empty_service = one_emulator_per_module()

ROOT = Path(__file__).resolve().parents[2]
APP = """\
version: 1
buckets:
  - name: review
    indexes:
      - name: docs
        dimension: 4
        distanceMetric: cosine
"""


def hermetic_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOS_", "RECONCILER_"))}
    env.update({"NO_COLOR": "1", **(extra or {})})
    return env


# --- plan --destroy, show ------------------------------------------------------------------------


def test_a_saved_destroy_plan_is_shown_then_applied_only_with_allow_destroy(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    cli.write("m.yaml", APP)
    assert cli("apply", "-f", "m.yaml", "--auto-approve").returncode == 0
    r = cli("plan", "-f", "m.yaml", "--destroy", "--out", "destroy.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("reconciler destroy plan for account 2100000000")
    assert "Plan: 0 to create, 0 to update, 0 to replace, 2 to delete." in r.stdout
    assert "Warning: 2 changes destroy data. They are listed first." in r.stdout

    shown = cli("show", "destroy.json")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split("\n", 1)[1] == r.stdout.split("\n", 1)[1]  # the same plan, word for word

    refused = cli("apply", "destroy.json")
    assert refused.returncode == 1
    assert "refused: index.review/docs: delete destroys data; pass --allow-destroy to allow it" in refused.stderr
    assert [b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets] == ["review"]

    done = cli("apply", "destroy.json", "--allow-destroy")
    assert done.returncode == 0, done.stderr
    assert sdk.list_vector_buckets().vector_buckets == []


def test_a_saved_destroy_plan_is_stale_once_the_world_moved(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    cli.write("m.yaml", APP)
    assert cli("apply", "-f", "m.yaml", "--auto-approve").returncode == 0
    assert cli("plan", "-f", "m.yaml", "--destroy", "--out", "destroy.json").returncode == 0
    sdk.delete_index("review", ACCOUNT, "docs")
    sdk.create_index("review", ACCOUNT, "docs", "float32", 8, "euclidean")
    r = cli("apply", "destroy.json", "--allow-destroy")
    assert r.returncode == 1
    assert "destroy.json is stale: index.review/docs changed since the plan was made; nothing was changed" in r.stderr
    assert sdk.get_index("review", ACCOUNT, "docs").index.dimension == 8


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_show_prints_what_plan_printed_without_a_service_or_credentials(cli: Cli, tmp_path: Path, fmt: str) -> None:
    cli.write("m.yaml", APP)
    r = cli("plan", "-f", "m.yaml", "--out", "plan.json", "--format", fmt)
    assert r.returncode == 0, r.stderr
    # CI set, no endpoint and no credentials: anything that would call the API is refused there
    shown = subprocess.run([sys.executable, "-m", "reconciler", "show", "plan.json", "--format", fmt],
                           cwd=cli.cwd, env=hermetic_env({"CI": "true"}), capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == r.stdout
    assert shown.stderr == ""  # not even the embedded emulator is announced: nothing is called
    assert not (cli.cwd / ".reconciler").exists()


@pytest.mark.parametrize(("content", "message"), [
    ("not json at all", "broken.json: not a reconciler plan file (invalid JSON: "),
    ('{"hello": 1}', "broken.json: not a reconciler plan file (no format_version)"),
    ('{"format_version": 1, "target": {}}', "broken.json: corrupt plan file at "),
])
def test_show_of_a_file_that_is_not_a_plan_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "broken.json").write_text(content)
    r = offline(tmp_path, "show", "broken.json")
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("error: " + message), r.stderr


# --- -f -, --var-file -------------------------------------------------------------------------------


def test_a_manifest_read_from_stdin_is_planned_and_located_as_stdin(cli: Cli) -> None:
    r = cli("plan", "-f", "-", input=APP)
    assert r.returncode == 0, r.stderr
    assert "+ index.review/docs" in r.stdout
    bad = cli("plan", "-f", "-", input=APP.replace("cosine", "dot"))
    assert bad.returncode == 1
    assert "<stdin>:7:25: distanceMetric: must be one of euclidean, cosine, got 'dot'" in bad.stderr


def test_var_files_layer_under_var_flags_and_over_the_environment(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text('version: 1\nbuckets:\n  - name: "${A}-${B}-${C}-${D}"\n')
    (tmp_path / "one.env").write_text("# base values\nA=one\nB='one'\nexport C=\"one\"  # a comment\n")
    (tmp_path / "two.env").write_text("\nB=two\n")
    r = offline(tmp_path, "plan", "-f", "m.yaml", "--var-file", "one.env", "--var-file", "two.env",
                "--var", "C=flag", "--format", "json", env={"D": "env", "A": "env", "TOS_ENDPOINT": ""})
    assert r.returncode == 0, r.stderr
    assert [c["address"] for c in json.loads(r.stdout)["changes"]] == ["bucket.one-two-flag-env"]


@pytest.mark.parametrize(("content", "message"), [
    ("A=1\nnot an assignment\n", "bad.env:2: expected KEY=VALUE (no '=' on this line)"),
    ("A=1\n\n9X=2\n", "bad.env:3: '9X' is not a variable name"),
    ('S="secret-value\n', "bad.env:1: S: unterminated \" quote"),
])
def test_a_bad_var_file_names_file_and_line_and_never_the_value(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets: []\n")
    (tmp_path / "bad.env").write_text(content)
    r = offline(tmp_path, "validate", "-f", "m.yaml", "--var-file", "bad.env")
    assert r.returncode == 1
    assert r.stderr.startswith("error: " + message), r.stderr
    assert "secret-value" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("env_file", sorted((ROOT / "examples" / "environments").glob("*.env")), ids=lambda p: p.stem)
def test_the_environment_examples_validate_with_var_file(env_file: Path, tmp_path: Path) -> None:
    r = offline(tmp_path, "validate", "-f", str(ROOT / "examples" / "environments" / "manifests"),
                "--var-file", str(env_file))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Valid: 1 file, 1 bucket, 2 indexes.\n"


# --- Terraform's single-dash flags --------------------------------------------------------------------


def test_terraform_single_dash_flags_are_accepted(cli: Cli) -> None:
    cli.write("m.yaml", 'version: 1\nbuckets:\n  - name: "${NAME}"\n  - name: other\n')
    cli.write("vars.env", "NAME=review\n")
    r = cli("plan", "-f", "m.yaml", "-format=json", "-out=plan.json", "-detailed-exitcode", "-var-file=vars.env",
            "-target=bucket.review", "-parallelism=2")
    assert r.returncode == 2, r.stderr  # -detailed-exitcode: changes
    assert [c["address"] for c in json.loads(r.stdout)["changes"]] == ["bucket.review"]
    assert (cli.cwd / "plan.json").exists()
    applied = cli("apply", "-f", "m.yaml", "-auto-approve", "-var", "NAME=review")
    assert applied.returncode == 0, applied.stderr
    destroy = cli("plan", "-f", "m.yaml", "-destroy", "-var", "NAME=review", "-format", "json")
    assert {c["action"] for c in json.loads(destroy.stdout)["changes"]} == {"delete"}


def test_an_unknown_single_dash_word_is_still_a_usage_error(tmp_path: Path) -> None:
    r = offline(tmp_path, "plan", "-formats=json", "-f", "m.yaml")
    assert r.returncode == 1 and "Traceback" not in r.stderr


# --- completion ---------------------------------------------------------------------------------------


def _parser_words() -> dict[str, set[str]]:
    from reconciler.cli import build_parser, subcommands

    return {name: {f for a in sub._actions for f in a.option_strings}
            for name, sub in subcommands(build_parser()).items()}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_name_every_command_flag_and_format(tmp_path: Path, shell: str) -> None:
    r = offline(tmp_path, "completion", shell)
    assert r.returncode == 0, r.stderr
    script = r.stdout
    words = _parser_words()
    assert set(words) >= {"validate", "plan", "apply", "show", "destroy", "drift", "export", "graph", "completion", "serve"}
    for command, flags in words.items():
        assert re.search(rf"\b{command}\b", script), command
        for flag in flags:
            spelled = flag if shell != "fish" else ("-l " + flag[2:] if flag.startswith("--") else "-s " + flag[1:])
            assert spelled in script, (command, flag)
    for choice in ("text json markdown", "mermaid dot", "bash zsh fish"):
        assert choice in script
    if shutil.which(shell):
        check = ["bash", "-n"] if shell == "bash" else ([shell, "-n"] if shell == "zsh" else ["fish", "--no-execute"])
        (tmp_path / f"c.{shell}").write_text(script)
        assert subprocess.run([*check, str(tmp_path / f"c.{shell}")], capture_output=True).returncode == 0


def _bash_complete(script: Path, line: str) -> list[str]:
    words = line.split(" ")
    quoted = " ".join(shlex.quote(w) for w in words)
    program = "\n".join([f"source {shlex.quote(str(script))}", f"COMP_WORDS=({quoted})",
                          f"COMP_CWORD={len(words) - 1}", "_reconciler", 'printf "%s\\n" "${COMPREPLY[@]}"', ""])
    r = subprocess.run(["bash", "--norc", "--noprofile"], input=program, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(filter(None, r.stdout.splitlines()))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_flags_and_choices(tmp_path: Path) -> None:
    script = tmp_path / "reconciler.bash"
    script.write_text(offline(tmp_path, "completion", "bash").stdout)
    assert _bash_complete(script, "reconciler sh") == ["show"]
    assert _bash_complete(script, "reconciler plan --for") == ["--format"]
    assert _bash_complete(script, "reconciler plan --format ") == ["json", "markdown", "text"]
    assert _bash_complete(script, "reconciler graph --format ") == ["dot", "mermaid"]
    assert _bash_complete(script, "reconciler completion ") == ["bash", "fish", "zsh"]
    assert "--allow-destroy" in _bash_complete(script, "reconciler apply --")
