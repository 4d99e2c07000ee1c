"""Reading files a user names (manifests, policy files, saved plans) without surprises."""

from __future__ import annotations

import os
import stat


def read_bounded(path: str, limit: int) -> bytes:
    """A regular file's bytes, refusing devices, pipes and anything over `limit` bytes
    (`/dev/zero` would grow memory without end, a FIFO would block for ever)."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # before open(): opening a FIFO would block
        raise OSError(0, "not a regular file")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(0, f"larger than {limit >> 20} MiB")
    return data
