"""The README tells the truth: every command output it shows is what the code prints.

Each README block that starts with `$ reconciler ...` is run, as written, on the embedded
emulator in a fresh directory holding a copy of examples/quickstart.yaml, and its stdout
is compared with the rest of the block. `drift` and `export` show an estate that exists,
so quickstart.yaml is applied first for them. The two fragments of a destroying change
(the replace warning and the refusal) are produced by the scenario they describe: the
quickstart index holds a vector and the manifest asks for dimension 1024.

Normalised on both sides: the working directory (the README shows /home/me/project),
step durations (`(0.01s)`), and a line `...` in the README stands for any lines.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulator import running_emulator
from tests.support.sdk import ACCOUNT, sdk_client

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHOWN_CWD = "/home/me/project"
NEEDS_AN_ESTATE = {"drift", "export"}


def blocks() -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", README.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


def command_blocks() -> list[tuple[str, str]]:
    """(command, shown output) of every block that starts with `$ reconciler`."""
    found = []
    for block in blocks():
        first, _, rest = block.partition("\n")
        if first.startswith("$ reconciler "):
            found.append((first[2:], rest))
    return found


def fragment(first_line: str) -> str:
    matches = [b for b in blocks() if b.startswith(first_line)]
    assert len(matches) == 1, f"one README block should start with {first_line!r}"
    return matches[0]


def env() -> dict[str, str]:
    # the embedded emulator as a user at a terminal meets it: no TOS_* settings, and not in CI
    drop = ("TOS_", "RECONCILER_", "CI")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, "NO_COLOR": "1"}


def run(cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "reconciler"
    return subprocess.run([sys.executable, "-m", "reconciler", *argv[1:]], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=120)


def project(tmp_path: Path, name: str) -> Path:
    cwd = tmp_path / name
    (cwd / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "quickstart.yaml", cwd / "examples" / "quickstart.yaml")
    return cwd


def normalised(text: str, cwd: Path | None = None) -> str:
    if cwd is not None:
        text = text.replace(str(cwd), SHOWN_CWD)
    return re.sub(r"\(\d+\.\d\ds\)", "(0.00s)", text)


def shown_pattern(shown: str) -> re.Pattern[str]:
    """The README block as a pattern: its lines exactly, a `...` line for any lines."""
    parts = []
    for line in shown.rstrip("\n").split("\n"):
        parts.append(r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line) + r"\n")
    return re.compile("".join(parts))


def assert_shows(shown: str, printed: str, *, whole: bool = True) -> None:
    pattern = shown_pattern(normalised(shown))
    ok = pattern.fullmatch(printed) if whole else pattern.search(printed)
    assert ok, f"the README shows:\n{shown}\nthe code prints:\n{printed}"


def test_the_readme_shows_the_commands_it_is_checked_by() -> None:
    verbs = {shlex.split(c)[1] for c, _ in command_blocks()}
    assert verbs >= {"plan", "apply", "drift", "export", "graph"}


@pytest.mark.parametrize(("command", "shown"), command_blocks(), ids=[c for c, _ in command_blocks()])
def test_readme_output_is_what_the_command_prints(tmp_path: Path, command: str, shown: str) -> None:
    cwd = project(tmp_path, "project")
    if shlex.split(command)[1] in NEEDS_AN_ESTATE:
        setup = run(cwd, "reconciler apply -f examples/quickstart.yaml --auto-approve")
        assert setup.returncode == 0, setup.stderr
    r = run(cwd, command)
    assert r.returncode == 0, r.stderr
    assert_shows(shown, normalised(r.stdout, cwd))


def test_readme_destroying_fragments_are_what_a_replace_prints(tmp_path: Path) -> None:
    cwd = project(tmp_path, "project")
    assert run(cwd, "reconciler apply -f examples/quickstart.yaml --auto-approve").returncode == 0
    # the embedded store is the database `reconciler serve` keeps: serve it to put a vector in
    with running_emulator(cwd / ".reconciler" / "local" / "cn-beijing") as emu:
        from tos.models2 import Vector, VectorData

        sdk_client(emu.url).put_vectors("quickstart", ACCOUNT, "docs-v1",
                                        [Vector(key="k1", data=VectorData(float32=[0.5] * 768))])
    text = (cwd / "examples" / "quickstart.yaml").read_text().replace("dimension: 768", "dimension: 1024")
    (cwd / "examples" / "quickstart.yaml").write_text(text)

    plan = run(cwd, "reconciler plan -f examples/quickstart.yaml")
    assert plan.returncode == 0, plan.stderr
    assert_shows(fragment("Warning: 1 change destroys data"), normalised(plan.stdout, cwd), whole=False)

    refused = run(cwd, "reconciler apply -f examples/quickstart.yaml --auto-approve")
    assert refused.returncode == 1
    assert_shows(fragment("refused: index."), normalised(refused.stderr, cwd), whole=False)
