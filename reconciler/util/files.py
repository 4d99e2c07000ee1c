"""Reading and writing files a user names (manifests, variables, policy files, saved plans)
without surprises: no hang on a FIFO, no endless read of a device, no write into one."""

from __future__ import annotations

import os
import select
import stat

PIPE_WAIT = 10.0  # seconds a pipe may stay silent before its reader gives up


def read_bounded(path: str, limit: int, *, pipes: bool = False, wait: float = PIPE_WAIT) -> bytes:
    """A regular file's bytes, refusing devices, pipes and anything over `limit` bytes
    (`/dev/zero` would grow memory without end, a FIFO would block for ever). With `pipes`,
    a pipe or FIFO is read too (`--var-file <(cmd)`), bounded alike, and refused once it
    has been silent for `wait` seconds (a FIFO nobody writes to)."""
    mode = os.stat(path).st_mode
    if stat.S_ISFIFO(mode) and pipes:
        return _read_pipe(path, limit, wait)
    if not stat.S_ISREG(mode):  # before open(): opening a FIFO would block
        raise OSError(0, "not a regular file")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    return _bounded(data, limit)


def _read_pipe(path: str, limit: int, wait: float) -> bytes:
    # O_NONBLOCK: open() of a FIFO returns at once, writer or not; poll() then waits for data
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            if not poller.poll(wait * 1000):
                raise OSError(0, f"nothing written to this pipe for {wait:g} s (a FIFO nobody writes to?)")
            try:
                chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            except BlockingIOError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return _bounded(b"".join(chunks), limit)
    finally:
        os.close(fd)


def _bounded(data: bytes, limit: int) -> bytes:
    if len(data) > limit:
        raise OSError(0, f"larger than {limit >> 20} MiB")
    return data


def write_regular(path: str, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to a regular file (created if need be); refuse a FIFO (opening it would
    wait for a reader), a device or a directory instead of writing into it. `exclusive`:
    only a new file (FileExistsError if there is one), never one another writer made."""
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise OSError(0, "not a regular file")
    # O_NONBLOCK: should a FIFO appear meanwhile, open() fails rather than waits
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK, 0o666)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        os.ftruncate(fd, 0)
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # a write may take less than all of it
        view = view[os.write(fd, view):]


def append_whole(path: str, data: bytes, *, wait: float = 1.0) -> None:
    """Append `data` to a file as one write, so that a reader tailing it sees whole lines.

    Never blocks for long: a FIFO (`--events` into a log shipper) is opened non-blocking,
    so one nobody reads is an error at once (ENXIO) instead of a wait for ever, and a pipe
    or device whose reader stopped reading gets `wait` seconds to take the data."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.set_blocking(fd, True)  # a file: one write, which the kernel does not split
        view, poller = memoryview(data), select.poll()
        poller.register(fd, select.POLLOUT)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                if not poller.poll(wait * 1000):
                    raise OSError(0, f"its reader took nothing for {wait:g} s") from None
    finally:
        os.close(fd)
