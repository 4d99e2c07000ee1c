"""A one-line progress display on stderr, for people watching a terminal.

It shows nothing unless stderr is a TTY, and nothing for work that finishes within
a second, so CI logs stay quiet.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """The display; its `update` is a `state.refresh.ProgressCallback`."""

    DELAY = 1.0

    def __init__(self, label: str, stream: TextIO | None = None, *, enabled: bool | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._t0 = time.monotonic()
        self._shown = False

    def update(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self._t0 < self.DELAY:
            return
        self._shown = True
        self.stream.write(f"\r\x1b[2K{self.label}: {done}/{total}")
        self.stream.flush()

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False
