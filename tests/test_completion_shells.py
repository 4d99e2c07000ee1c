"""`reconciler completion bash|zsh` in the real shells: a TAB in an interactive zsh (driven
through the zpty module, as a person's terminal would) and bash's completion function called
the way readline calls it (with bash-completion loaded). `zsh -n` passed on a script whose
every TAB printed `_arguments:comparguments:327: invalid argument`; these tests look at what
a TAB shows.

The scripts are generated from the parser: a command added to it later (here a stand-in for
`watch`) completes with no change to cli/completion.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli.completion import script
from reconciler.cli.parser import build_parser, subcommands

BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
ROOT = Path(__file__).resolve().parents[1]

needs_zsh = pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
needs_bash = pytest.mark.skipif(shutil.which("bash") is None or not BASH_COMPLETION.exists(),
                                reason="bash or bash-completion is not installed")


def generated(shell: str, cwd: Path) -> Path:
    """The script as a user gets it: `reconciler completion SHELL` run as a command."""
    r = subprocess.run([sys.executable, "-m", "reconciler", "completion", shell], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    path = cwd / f"reconciler.{shell}"
    path.write_text(r.stdout)
    return path


def with_inspect() -> argparse.ArgumentParser:
    """build_parser() with one more command, as another change would add it."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.add_parser("inspect", help="a command added later")
    p.add_argument("-f", "--file", dest="files", action="extend", nargs="+", metavar="PATH", default=[])
    p.add_argument("--events", metavar="FILE")
    p.add_argument("--interval", metavar="DURATION")
    p.add_argument("--format", choices=["json", "text"])
    p.add_argument("--once", action="store_true")
    return parser


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("alpha.yaml", "beta.yaml", "plan.json"):
        (work / name).write_text("")
    return work


# --- zsh: a real interactive shell behind a pseudo-terminal ------------------------------------------------

_ZPTY_DRIVER = r"""
zmodload zsh/zpty || exit 3
script=$1; workdir=$2; shift 2
zpty -b z 'zsh -f -i'
zpty -w z "PS1='%% '; cd ${(q)workdir}; autoload -Uz compinit; compinit -u -D"
zpty -w z "source ${(q)script}; zstyle ':completion:*' list-prompt ''; LISTMAX=10000; echo READY\$((1+1))"
read_until() {  # read what the terminal shows until $1 appears (30 s at most)
  out=""; local deadline=$((SECONDS+30))
  while (( SECONDS < deadline )); do
    zpty -r -t z chunk 2>/dev/null && out+=$chunk || sleep 0.02
    [[ $out == *$1* ]] && break
  done
}
read_until READY2
n=0
for line in "$@"; do
  (( n++ ))
  zpty -w -n z "$line"$'\t'
  zpty -w -n z $'\C-e\C-u'
  zpty -w z "echo MARK\$(($n*1000))"
  read_until MARK$((n*1000))
  print -r -- "=====TAB"
  print -r -- "$out"
done
zpty -d z
"""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


def zsh_tab(script_path: Path, workdir: Path, *lines: str) -> list[str]:
    """What the terminal showed after each `line<TAB>` (escape sequences removed)."""
    driver = workdir.parent / "drive.zsh"
    driver.write_text(_ZPTY_DRIVER)
    r = subprocess.run(["zsh", "-f", str(driver), str(script_path), str(workdir), *lines],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "TERM": "xterm", "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    shown = [_ANSI.sub("", part) for part in r.stdout.split("=====TAB\n")[1:]]
    assert len(shown) == len(lines), r.stdout
    return shown


@needs_zsh
def test_zsh_completes_commands_values_paths_and_terraform_spellings(workdir: Path) -> None:
    shown = zsh_tab(generated("zsh", workdir.parent), workdir,
                    "reconciler pl", "reconciler plan --format=", "reconciler plan -format=",
                    "reconciler plan -f alpha.yaml ", "reconciler apply -auto", "reconciler completion ",
                    "reconciler --debug dri", "reconciler graph --format ")
    for text in shown:
        assert "invalid argument" not in text and "_arguments" not in text, text
    pl, fmt, single_fmt, second_path, auto, shells, top_flag, graph = shown
    assert "reconciler plan " in pl  # the only command that starts so: completed in place
    for text in (fmt, single_fmt):
        assert re.search(r"json\s+markdown\s+text", text), text
    assert "beta.yaml" in second_path and "plan.json" in second_path, second_path
    assert "reconciler apply -auto-approve" in auto, auto
    assert re.search(r"bash\s+fish\s+zsh", shells), shells
    assert "reconciler --debug drift" in top_flag, top_flag
    assert re.search(r"dot\s+mermaid", graph), graph


@needs_zsh
def test_zsh_completes_a_command_added_to_the_parser_later(workdir: Path) -> None:
    path = workdir.parent / "with-inspect.zsh"
    path.write_text(script("zsh", with_inspect()))
    ins, fmt, events, once = zsh_tab(path, workdir, "reconciler ins", "reconciler inspect -format=",
                                     "reconciler inspect --events ", "reconciler inspect --on")
    assert "reconciler inspect " in ins, ins
    assert re.search(r"json\s+text", fmt), fmt
    assert "alpha.yaml" in events and "plan.json" in events, events
    assert "reconciler inspect --once" in once, once


# --- bash: the completion function called as readline calls it --------------------------------------------


def _readline_words(line: str) -> list[str]:
    """COMP_WORDS as readline splits `line` with the default COMP_WORDBREAKS: on blanks,
    and '=' is a word of its own (`--format=js` is `--format`, `=`, `js`)."""
    words: list[str] = []
    for word in line.split(" "):
        parts = re.split(r"(=)", word)
        words.extend(p for p in parts if p != "") if len(parts) > 1 else words.append(word)
        if word.endswith("="):
            words.append("")
    return words


def bash_tab(script_path: Path, workdir: Path, line: str) -> list[str]:
    words = _readline_words(line)
    program = "\n".join([
        f"source {BASH_COMPLETION}", f"source '{script_path}'", f"cd '{workdir}'",
        "COMP_WORDS=(" + " ".join("'" + w.replace("'", "'\\''") + "'" for w in words) + ")",
        f"COMP_CWORD={len(words) - 1}", f"COMP_LINE='{line}'", f"COMP_POINT={len(line)}",
        '_reconciler reconciler "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
        'printf "%s\\n" "${COMPREPLY[@]}"', ""])
    r = subprocess.run(["bash", "--norc", "--noprofile"], input=program, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return sorted(filter(None, r.stdout.splitlines()))


@needs_bash
def test_bash_completes_commands_values_paths_and_terraform_spellings(workdir: Path) -> None:
    s = generated("bash", workdir.parent)
    files = ["alpha.yaml", "beta.yaml", "plan.json"]
    assert bash_tab(s, workdir, "reconciler pl") == ["plan"]
    assert bash_tab(s, workdir, "reconciler plan --for") == ["--format"]
    assert bash_tab(s, workdir, "reconciler plan --format ") == ["json", "markdown", "text"]
    assert bash_tab(s, workdir, "reconciler plan --format=") == ["json", "markdown", "text"]
    assert bash_tab(s, workdir, "reconciler plan --format=ma") == ["markdown"]
    assert bash_tab(s, workdir, "reconciler plan -format=") == ["json", "markdown", "text"]
    assert bash_tab(s, workdir, "reconciler graph -format ") == ["dot", "mermaid"]
    assert bash_tab(s, workdir, "reconciler plan -f alpha.yaml ") == files  # the second path
    assert bash_tab(s, workdir, "reconciler plan -f alpha.yaml b") == ["beta.yaml"]
    assert bash_tab(s, workdir, "reconciler plan -f alpha.yaml --detailed-exitcode ") == []  # no longer -f's
    assert bash_tab(s, workdir, "reconciler plan -out=") == files
    assert bash_tab(s, workdir, "reconciler apply -auto") == ["-auto-approve"]
    assert bash_tab(s, workdir, "reconciler apply -allow-d") == ["-allow-destroy"]
    assert bash_tab(s, workdir, "reconciler apply ") == files  # a saved plan
    assert bash_tab(s, workdir, "reconciler completion ") == ["bash", "fish", "zsh"]
    assert bash_tab(s, workdir, "reconciler --debug sh") == ["show"]


@needs_bash
def test_bash_completes_a_command_added_to_the_parser_later(workdir: Path) -> None:
    path = workdir.parent / "with-inspect.bash"
    path.write_text(script("bash", with_inspect()))
    assert bash_tab(path, workdir, "reconciler ins") == ["inspect"]
    assert bash_tab(path, workdir, "reconciler inspect -format=") == ["json", "text"]
    assert bash_tab(path, workdir, "reconciler inspect --events ") == ["alpha.yaml", "beta.yaml", "plan.json"]
    assert bash_tab(path, workdir, "reconciler inspect -f alpha.yaml ") == ["alpha.yaml", "beta.yaml", "plan.json"]
    assert bash_tab(path, workdir, "reconciler inspect -on") == ["-once"]


def test_every_command_of_the_parser_is_in_both_scripts() -> None:
    for shell in ("bash", "zsh"):
        text = script(shell, build_parser())
        for name in subcommands(build_parser()):
            assert re.search(rf"\b{name}\b", text), (shell, name)
