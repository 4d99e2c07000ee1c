"""Where a command writes: results on standard output, everything else (warnings, the
progress display, prompts, errors) on standard error.

One `Console` per run of `reconciler` (cli/parser.py makes it and reads `lost` at the end);
the commands write only through it.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


def no_color() -> bool:
    """NO_COLOR (https://no-color.org: set and not empty), or -no-color, which sets it."""
    return bool(os.environ.get("NO_COLOR"))


class Console:
    def __init__(self, *, interactive: bool = True) -> None:
        self.lost: str | None = None  # why standard output could not be written, once it could not
        self.interactive = interactive  # False: -input=false, never ask (as with no terminal)

    @property
    def color(self) -> bool:
        return sys.stdout.isatty() and not no_color()

    def out(self, text: str) -> None:
        """A result, on standard output, ending in a newline."""
        self.emit(sys.stdout, text if text.endswith("\n") else text + "\n")

    def say(self, *lines: str) -> None:
        """Lines for the person running the command, on standard error."""
        self.emit(sys.stderr, "".join(line + "\n" for line in lines))

    def emit(self, stream: TextIO, text: str) -> None:
        """Write and flush (the stream is read dynamically: main() masks secrets by
        replacing sys.stdout and sys.stderr). When the reader has gone away
        (`reconciler apply ... | head`), the stream is pointed at /dev/null instead of
        failing the command: an apply goes on to the end rather than stopping half-way over
        a closed pipe."""
        try:
            stream.write(text)
            stream.flush()
        except OSError as e:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
            # Any other failure (`plan > /dev/full`): said once, and the command exits 1 (cli/parser.py)
            if not isinstance(e, BrokenPipeError) and stream is sys.stdout and self.lost is None:
                self.lost = f"error: cannot write to standard output: {e.strerror or e}"
                self.say(self.lost)
