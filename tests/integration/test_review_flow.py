"""Terraform's review flow and habits, through the real CLI (issue 12).

Commands that call the API run against `reconciler serve` over HTTP; commands that make
no call (validate, show, completion) run with an endpoint on a closed port, so that any
call would fail loudly.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import socket
import subprocess
import sys
import time
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
    assert shown.stdout == r.stdout  # the same plan, word for word, title included

    refused = cli("apply", "destroy.json")
    assert refused.returncode == 1
    assert "refused: index.review/docs: delete destroys data; pass --allow-destroy to allow it" in refused.stderr
    assert [b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets] == ["review"]

    done = cli("apply", "destroy.json", "--allow-destroy")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("reconciler destroy plan for ")
    assert done.stdout.rstrip().endswith("Destroy complete: 2 destroyed, 0 failed, 0 skipped, 0 not started.")
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


def test_show_of_a_manifest_says_how_to_plan_it(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(APP)
    r = offline(tmp_path, "show", "m.yaml")
    assert r.returncode == 1
    assert r.stderr == ("error: m.yaml: not a reconciler plan file; to see the plan of a manifest: "
                        "reconciler plan -f m.yaml\n")


@pytest.mark.parametrize(("content", "message"), [
    ("not json at all", "broken.json: not a reconciler plan file (invalid JSON: "),
    ('{"hello": 1}', "broken.json: not a reconciler plan file (no format_version)"),
    ('{"format_version": 2, "target": {}}', "broken.json: corrupt plan file at "),
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
                "--var", "C=flag", "--format", "json", env={"D": "env", "A": "env", "TOS_ENDPOINT": "embedded"})
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
    from reconciler.cli.parser import build_parser, subcommands

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


# --- the prompt, on a terminal ------------------------------------------------------------------------


class Terminal:
    """The CLI with a pseudo-terminal as its controlling terminal, stdin and stderr, and
    its stdout redirected to a file (`reconciler apply > log`)."""

    def __init__(self, cli: Cli, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.log = cli.cwd / "stdout.log"
        self.seen = b""
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reconciler", *args], cwd=cli.cwd, env={**cli.env(), "TERM": "dumb"},
                stdin=slave, stdout=out, stderr=slave, start_new_session=True, preexec_fn=_take_terminal)
        os.close(slave)

    def read_until(self, text: str, timeout: float = 120) -> str:
        """What the terminal showed up to `text`; the generous timeout only stops a hang."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self.seen.decode()}")
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise AssertionError(f"exited before {text!r}; the terminal showed:\n{self.seen.decode()}")
                self.seen += chunk
        return self.seen.decode()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """(exit code, everything the terminal showed, what went to stdout)."""
        code = self.proc.wait(timeout=timeout)
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                chunk = os.read(self.master, 4096) if ready else b""
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.seen += chunk
        os.close(self.master)
        return code, self.seen.decode().replace("\r\n", "\n"), self.log.read_text()


def _take_terminal() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # Ctrl-C typed on the pty now signals this process


@pytest.mark.parametrize(("keys", "code"), [("\x03", 130), ("\x04", 1), ("no\n", 1)], ids=["ctrl-c", "ctrl-d", "no"])
def test_the_prompt_is_on_the_terminal_and_cancelling_changes_nothing(cli: Cli, sdk, keys: str, code: int) -> None:  # type: ignore[no-untyped-def]
    cli.write("m.yaml", APP)
    term = Terminal(cli, "apply", "-f", "m.yaml")
    term.read_until("Enter a value: ")
    term.type(keys)
    exit_code, shown, stdout = term.finish()
    assert exit_code == code, shown
    assert "Do you want to apply these changes?" in shown
    assert "error: apply cancelled; nothing was changed" in shown
    assert "Traceback" not in shown and "internal error" not in shown
    assert "Plan: 2 to create" in stdout and "Enter a value" not in stdout and "Do you want" not in stdout
    assert sdk.list_vector_buckets().vector_buckets == []


def test_yes_at_the_prompt_applies(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    cli.write("m.yaml", APP)
    term = Terminal(cli, "apply", "-f", "m.yaml")
    term.read_until("Enter a value: ")
    term.type("yes\n")
    exit_code, shown, stdout = term.finish()
    assert exit_code == 0, shown
    assert "Apply complete: 2 done, 0 failed, 0 skipped, 0 not started." in stdout
    assert [b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets] == ["review"]


def test_destroy_speaks_of_destroying(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    cli.write("m.yaml", APP)
    assert cli("apply", "-f", "m.yaml", "--auto-approve").returncode == 0
    term = Terminal(cli, "destroy", "-f", "m.yaml")
    before = term.read_until("Enter a value: ")
    assert "Do you really want to destroy these 2 resources? There is no undo." in before
    term.type("yes\n")
    exit_code, shown, stdout = term.finish()
    assert exit_code == 0, shown
    assert stdout.startswith("reconciler destroy plan for account 2100000000")
    assert "Warning: 2 changes destroy data. They are listed first." in stdout
    assert stdout.rstrip().endswith("Destroy complete: 2 destroyed, 0 failed, 0 skipped, 0 not started.")
    assert "Apply" not in stdout
    assert sdk.list_vector_buckets().vector_buckets == []


def test_one_destroying_change_is_spoken_of_in_the_singular(cli: Cli, sdk) -> None:  # type: ignore[no-untyped-def]
    cli.write("m.yaml", APP)
    assert cli("apply", "-f", "m.yaml", "--auto-approve").returncode == 0
    cli.write("m.yaml", APP.replace("dimension: 4", "dimension: 8"))
    r = cli("plan", "-f", "m.yaml")
    assert "Warning: 1 change destroys data. It is listed first." in r.stdout, r.stdout
    md = cli("plan", "-f", "m.yaml", "--format", "markdown")
    assert "> **1 change destroys data.** It is listed first." in md.stdout, md.stdout


# --- words and rough edges ------------------------------------------------------------------------------


POLICY_LINT = """\
version: 1
buckets:
  - name: open
    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["*"]
          Action: ["tosvectors:GetIndex"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/open"]
"""


def test_validate_reports_every_problem_and_never_says_nothing_was_changed(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(POLICY_LINT)
    (tmp_path / "b.yaml").write_text("version: 1\nbuckets:\n  - name: Bad_Name\n")
    r = offline(tmp_path, "validate", "-f", "a.yaml", "-f", "b.yaml")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert any(line.startswith("a.yaml:8:") and "warning: Principal '*'" in line for line in lines), r.stderr
    assert any(line.startswith("b.yaml:3:") and "Bad_Name" in line for line in lines), r.stderr
    assert lines[-1] == "1 error in the manifest"
    assert "nothing was changed" not in r.stderr


@pytest.mark.parametrize(("text", "where", "words"), [
    ("version: 1\nbuckets:\n\t- name: app\n", "m.yaml:3:1", "a tab character: YAML indents with spaces only"),
    ("version: 1\nbuckets:\n  - name: app\n   indexes: []\n", "m.yaml:4:4", "inconsistent indentation"),
    ('version: 1\nbuckets:\n  - name: "app\n', "m.yaml:3:11", "a quoted string that is never closed"),
    ("version: 1\nbuckets: [a, b\n", "m.yaml:2:10", "a '[' list that is not closed with ']'"),
    ("version: 1\nbuckets:\n  - name: app\n    indexes: x: y\n", "m.yaml:4:15", "unexpected ':'"),
    ("version: 1\nbuckets:\n  - name: *nope\n", "m.yaml:3:11", "alias *nope has no anchor &nope before it"),
])
def test_yaml_syntax_errors_are_in_plain_words(tmp_path: Path, text: str, where: str, words: str) -> None:
    (tmp_path / "m.yaml").write_text(text)
    r = offline(tmp_path, "validate", "-f", "m.yaml")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{where}: invalid YAML: {words}"), r.stderr
    assert "<block" not in r.stderr and "scanning" not in r.stderr and "token" not in r.stderr


def test_a_yaml_file_that_is_not_a_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text("name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n")
    r = offline(tmp_path, "validate", "-f", "ci.yml")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "ci.yml:1:1: not a reconciler manifest (it has neither `version: 1` nor `buckets`)", "1 error in the manifest"]


@pytest.mark.parametrize("verb", ["plan", "destroy", "drift", "graph", "validate"])
def test_a_manifest_given_without_f_says_to_pass_it_with_f(tmp_path: Path, verb: str) -> None:
    (tmp_path / "m.yaml").write_text(APP)
    r = offline(tmp_path, verb, "m.yaml")
    assert r.returncode == 1
    assert r.stderr == f"error: {verb} reads manifests given with -f: reconciler {verb} -f m.yaml\n"


def test_an_endpoint_without_a_scheme_is_refused_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(APP)
    r = offline(tmp_path, "plan", "-f", "m.yaml", "--endpoint", "127.0.0.1:8765")
    assert r.returncode == 1
    assert r.stderr == ("error: invalid endpoint '127.0.0.1:8765': no scheme; write 'http://127.0.0.1:8765' "
                        "(an emulator) or 'https://127.0.0.1:8765'\n")


def test_a_connection_error_names_the_endpoint_the_user_gave(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(APP)
    url = closed_port_url()
    r = offline(tmp_path, "plan", "-f", "m.yaml", "--endpoint", url)
    assert r.returncode == 1
    # the first call lists the account's buckets (a region call: no bucket Host)
    assert r.stderr.startswith(f"error: ListVectorBuckets: cannot connect to {url.removeprefix('http://')}: "), r.stderr


def _help(tmp_path: Path, *command: str) -> str:
    r = offline(tmp_path, *command, "--help")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_every_option_in_every_help_has_a_help_line_and_every_help_ends_with_an_example(tmp_path: Path) -> None:
    from reconciler.cli.parser import build_parser, subcommands

    parser = build_parser()
    for name, sub in {"": parser, **subcommands(parser)}.items():
        for action in sub._actions:
            if (action.option_strings or name) and action.dest != "command":  # options; commands' positionals
                assert action.help, (name, action.option_strings or action.dest)
        text = _help(tmp_path, *([name] if name else []))
        tail = text.rstrip().splitlines()
        assert tail[-1].startswith("exit codes: "), (name, tail[-3:])
        assert tail[-4] == "example:" and tail[-3].startswith("  reconciler "), (name, tail[-4:])


# --- retries explain themselves -----------------------------------------------------------------------


def test_throttled_calls_are_summed_up_in_one_line_after_the_run(cli: Cli, emulator) -> None:  # type: ignore[no-untyped-def]
    buckets = "".join(f"  - name: quota-{i}\n" for i in range(6))
    cli.write("m.yaml", f"version: 1\nbuckets:\n{buckets}")
    with throttling_proxy(emulator.url, max_inflight=1, retry_after="0") as proxy:
        r = Cli(proxy.url, cli.cwd, {})("plan", "-f", "m.yaml", "--parallelism", "8")
        throttled = len(proxy.throttled())
    assert r.returncode == 0, r.stderr
    assert throttled > 0  # eight reads at once against a quota of one in flight
    summary = [line for line in r.stderr.splitlines() if "retried" in line]
    assert len(summary) == 1, r.stderr
    n = "request" if throttled == 1 else "requests"
    assert re.fullmatch(rf"{throttled} {n} retried: 429 x {throttled}; \d+\.\d s spent waiting", summary[0]), summary


def test_a_run_without_retries_prints_no_summary(cli: Cli) -> None:
    cli.write("m.yaml", APP)
    r = cli("plan", "-f", "m.yaml")
    assert r.returncode == 0 and "retried" not in r.stderr, r.stderr
