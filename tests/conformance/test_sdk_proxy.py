"""The official Python SDK against a real `reconciler serve`, configured exactly as `serve`
prints it at start, with no name-resolution patch and no adapter: the emulator is the SDK's
HTTP proxy and routes on the Host header (issue 17: with the endpoint `serve` printed, the
SDK failed to resolve `BUCKET-ACCOUNT.127.0.0.1`; the other tests patch that away).

A process-wide audit hook proves that nothing leaves 127.0.0.1: while the SDK runs, a
name lookup of anything but a loopback name, or a connection to anything but a loopback
address, raises before it happens (and is recorded, so the test fails on it).
"""

from __future__ import annotations

import ast
import ipaddress
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` under plain `pytest`

from tos.enum import DataType, DistanceMetricType  # noqa: E402
from tos.exceptions import TosClientError, TosServerError  # noqa: E402
from tos.models2 import Vector, VectorData  # noqa: E402
from tos.vector_client import VectorClient  # noqa: E402

from tests.support.emulator import ACCOUNT, running_emulator  # noqa: E402

OWNER_AK, OWNER_SK = "AKLTproxyOwner", "proxy-owner-secret"

_guard = threading.local()
_seen: list[str] = []  # what the guard refused, across threads
_active = threading.Event()


def _loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return host is None
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active.is_set() or getattr(_guard, "inside", False):
        return
    if event == "socket.getaddrinfo" and not _loopback(args[0]):
        _seen.append(f"name lookup of {args[0]!r}")
        raise OSError(f"the test forbids resolving {args[0]!r}: nothing may leave 127.0.0.1")
    if event == "socket.connect" and isinstance(args[1], tuple) and not _loopback(args[1][0]):
        _seen.append(f"connection to {args[1]!r}")
        raise OSError(f"the test forbids connecting to {args[1]!r}: nothing may leave 127.0.0.1")


_installed = False


@contextmanager
def only_loopback() -> Iterator[list[str]]:
    """While active, any lookup or connection beyond loopback fails (audit hooks cannot be
    removed, so one is installed once and switched on and off)."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
    _seen.clear()
    _active.set()
    try:
        yield _seen
    finally:
        _active.clear()


def printed_python_client(stderr: str, ak: str, sk: str) -> VectorClient:
    """The VectorClient of the `Python` line `serve` printed, built exactly from it: the
    call is parsed (not evaluated), AK and SK are the only names in it."""
    line = next(line for line in stderr.splitlines() if line.lstrip().startswith("Python"))
    call = ast.parse(line[line.index("VectorClient("):], mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "VectorClient"
    names = {"AK": ak, "SK": sk}
    args = [names[a.id] if isinstance(a, ast.Name) else ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    assert [type(a).__name__ for a in call.args] == ["Name", "Name", "Constant", "Constant"]
    return VectorClient(*args, **kwargs)


def test_the_printed_python_configuration_works_with_no_patching(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)  # the configuration alone decides where requests go
    monkeypatch.setenv("TOS_SECRET_KEY", OWNER_SK)
    with running_emulator(tmp_path, "--access-key", OWNER_AK) as emu:
        printed = emu.stderr_text()
        assert re.search(r'Python \(from tos\.vector_client import VectorClient\): VectorClient\(AK, SK, '
                         r'"http://tosvectors-cn-beijing\.volces\.com", "cn-beijing", proxy_host="127\.0\.0\.1", '
                         rf"proxy_port={emu.port}\)", printed), printed
        assert (f'tos.NewProxy("http://127.0.0.1", {emu.port})' in printed
                and 'tos.WithVectorsEndpoint("http://tosvectors-cn-beijing.volces.com")' in printed), printed
        with only_loopback() as refused:
            sdk = printed_python_client(printed, OWNER_AK, OWNER_SK)
            try:
                sdk.create_vector_bucket("proxied")
                sdk.create_index("proxied", ACCOUNT, "docs", DataType.DataTypeFloat32, 3,
                                 DistanceMetricType.DistanceMetricCosine)
                sdk.put_vectors("proxied", ACCOUNT, "docs", [
                    Vector(key="x", data=VectorData(float32=[1.0, 0.0, 0.0]), metadata={"lang": "en"}),
                    Vector(key="y", data=VectorData(float32=[0.0, 1.0, 0.0]), metadata={"lang": "fr"})])
                hits = sdk.query_vectors("proxied", ACCOUNT, "docs", VectorData(float32=[0.9, 0.1, 0.0]), top_k=2,
                                         return_distance=True, return_metadata=True).vectors
                assert [(h.key, h.metadata) for h in hits] == [("x", {"lang": "en"}), ("y", {"lang": "fr"})]
                assert hits[0].distance < hits[1].distance
                assert [b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets] == ["proxied"]
                # signatures are checked through the proxy too
                with pytest.raises(TosServerError) as wrong:
                    printed_python_client(printed, OWNER_AK, "not-the-secret").get_index("proxied", ACCOUNT, "docs")
                assert (wrong.value.status_code, wrong.value.code) == (403, "AccessDeniedException")
            finally:
                sdk.session.close()
        assert refused == []


def test_the_guard_does_refuse_what_leaves_loopback() -> None:
    """The guard is not blind: the SDK without the proxy (the endpoint alone) is stopped at
    its first name lookup, and nothing is sent."""
    with only_loopback() as refused:
        sdk = VectorClient(OWNER_AK, OWNER_SK, "http://tosvectors-cn-beijing.volces.com", "cn-beijing",
                           max_retry_count=0)
        with pytest.raises(TosClientError):
            sdk.list_vector_buckets()
        sdk.session.close()
    assert refused and refused[0] == "name lookup of 'tosvectors-cn-beijing.volces.com'"
