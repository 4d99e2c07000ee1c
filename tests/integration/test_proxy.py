"""A proxy from the environment is honoured: requests then go through httpx, which applies
HTTP(S)_PROXY / ALL_PROXY and NO_PROXY; without one they go straight to the endpoint."""

from __future__ import annotations

import socket

from tests.integration.conftest import Cli
from tests.support.sdk import ACCOUNT

MANIFEST = """\
version: 1
buckets:
  - name: via-proxy
    indexes:
      - name: docs
        dimension: 8
        distanceMetric: cosine
"""


def dead_endpoint() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_apply_and_plan_through_a_proxy_from_the_environment(emulator, cli: Cli, sdk) -> None:
    # The emulator accepts absolute-form request lines (what a client sends to a forward
    # proxy) and routes on the Host header, so it can stand in for the proxy: with the
    # endpoint on a dead port, only a client that uses the proxy reaches the service.
    endpoint = dead_endpoint()
    manifest = cli.write("m.yaml", MANIFEST)
    direct = Cli(endpoint, cli.cwd, {})
    refused = direct("plan", "-f", manifest)
    assert refused.returncode == 1
    # the first call lists the account's buckets: a region call, with no bucket Host
    assert f"ListVectorBuckets: cannot connect to {endpoint[7:]}: " in refused.stderr

    proxied = Cli(endpoint, cli.cwd, {"HTTP_PROXY": emulator.url})
    applied = proxied("apply", "-f", manifest, "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert proxied("plan", "-f", manifest, "--detailed-exitcode").returncode == 0
    assert sdk.get_index("via-proxy", ACCOUNT, "docs").index.dimension == 8

    bypassed = Cli(endpoint, cli.cwd, {"HTTP_PROXY": emulator.url, "NO_PROXY": "127.0.0.1"})
    assert bypassed("plan", "-f", manifest).returncode == 1  # NO_PROXY sends it to the dead endpoint
