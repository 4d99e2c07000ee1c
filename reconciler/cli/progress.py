"""A one-line progress display on stderr, for people watching a terminal.

It shows nothing unless stderr is a TTY, and nothing for work that finishes within
a second, so CI logs stay quiet. Under NO_COLOR (or -no-color) it writes no escape
sequence: the line is redrawn after a carriage return and blanked with spaces.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from reconciler.cli.console import no_color


class Progress:
    """The display; its `update` is a `state.refresh.ProgressCallback`."""

    DELAY = 1.0

    def __init__(self, label: str, stream: TextIO | None = None, *, enabled: bool | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._t0 = time.monotonic()
        self._shown = 0  # the width drawn last (0: nothing shown)
        self._plain = no_color()

    def update(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self._t0 < self.DELAY:
            return
        line = f"{self.label}: {done}/{total}"
        self.stream.write(f"\r{line:<{self._shown}}" if self._plain else f"\r\x1b[2K{line}")
        self.stream.flush()
        self._shown = max(self._shown, len(line))

    def close(self) -> None:
        if self._shown:
            self.stream.write(f"\r{'':<{self._shown}}\r" if self._plain else "\r\x1b[2K")
            self.stream.flush()
            self._shown = 0
