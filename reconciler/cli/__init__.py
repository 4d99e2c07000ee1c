"""The command layer: parse flags, resolve the target, call the engine, render, exit codes.

Owns: the flags (`flags`), the entry point (`parser.main`: an error as one line, an exit
code), one function per verb (`commands`), a command's one client and event loop and the
terminal side of the engine's hooks: prompt, step lines, Ctrl-C (`session`), where output
goes (`console`), the exit codes (`exitcodes`), which service a command talks to (`target`)
and the embedded emulator's in-process sender (`inprocess`, where the client and the
emulator meet), the terminal progress display (`progress`) and shell completion
(`completion`).
May import: anything in reconciler. Nothing imports it (tests/test_layout.py holds this).
No reconciliation logic lives here.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The `reconciler` console script. The parser loads on the call, not on
    `import reconciler.cli.target`."""
    from reconciler.cli.parser import main as run

    return run(argv)
