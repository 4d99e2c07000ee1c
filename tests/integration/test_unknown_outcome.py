"""A write the service carried out but never answered is reported as unknown, not failed.

A proxy in front of `reconciler serve` forwards every request, so the CreateIndex calls
take effect, but swallows their answers and holds the connection, as a server that
hangs (or is SIGSTOPped) after doing the work does. The CLI runs with a short per-attempt
timeout (the test seam: a 60 s budget per call is not something a test should wait for)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.integration.conftest import Cli
from tests.support.sdk import ACCOUNT
from tests.support.serving import ProxyHandler, serving

# The CLI, in its own process, whose clients wait argv[1] seconds per attempt and make two.
IMPATIENT_CLI = """
import sys
import reconciler.client as client
from reconciler.client import RetryPolicy
from reconciler.client.api import VectorsClient

class Impatient(VectorsClient):
    def __init__(self, **kw):
        super().__init__(**{**kw, "timeout": TIMEOUT, "retry": RetryPolicy(max_attempts=2)})

TIMEOUT = float(sys.argv.pop(1))
client.VectorsClient = Impatient
from reconciler.cli.parser import main
raise SystemExit(main(sys.argv[1:]))
"""
PER_ATTEMPT = 5.0  # ample for an answered call on a loaded machine; the apply waits out 2 attempts

MANIFEST = """\
version: 1
buckets:
  - name: lost-answers
    indexes:
      - {name: docs, dimension: 4, distanceMetric: cosine}
      - {name: faq, dimension: 4, distanceMetric: cosine}
    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["{account}/ci-bot"]
          Action: ["tosvectors:QueryVectors"]
          Resource: ["trn:tosvectors:cn-beijing:{account}:bucket/lost-answers/index/*"]
""".replace("{account}", ACCOUNT)


@dataclass
class Proxy:
    url: str
    swallowed: int = 0


@contextmanager
def swallowing_proxy(upstream: str, action: str) -> Iterator[Proxy]:
    """Forward everything; for `action`, drop the answer and hold the connection until the
    client gives up (bounded by ProxyHandler.timeout)."""
    up = urlsplit(upstream)
    proxy = Proxy("")

    class Handler(ProxyHandler):
        upstream_host, upstream_port = up.hostname or "127.0.0.1", up.port or 80

        def do_POST(self) -> None:
            body = self.read_body()
            if body is None:
                return
            answer = self.forward(body)  # carried out by the service...
            if urlsplit(self.path).path != "/" + action:
                self.relay(answer)
                return
            proxy.swallowed += 1  # ...and its answer never comes back
            try:
                self.rfile.read(1)  # until the client closes the connection (or the timeout)
            except OSError:
                pass
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server, "swallowing-proxy"):
        yield proxy


def impatient(cli: Cli, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cli.env(), "TOS_ENDPOINT": url}
    return subprocess.run([sys.executable, "-c", IMPATIENT_CLI, str(PER_ATTEMPT), *args], cwd=cli.cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_writes_carried_out_without_an_answer_are_unknown_and_plan_sees_them(cli: Cli, sdk, emulator) -> None:
    path = cli.write("m.yaml", MANIFEST)
    with swallowing_proxy(emulator.url, "CreateIndex") as proxy:
        r = impatient(cli, proxy.url, "apply", "-f", path, "--auto-approve")
    assert r.returncode == 1, r.stdout + r.stderr
    assert proxy.swallowed >= 2
    lines = r.stdout.splitlines()
    for name in ("docs", "faq"):
        (line,) = [ln for ln in lines if f"index.lost-answers/{name} (" in ln]
        assert line.startswith(f"unknown       + index.lost-answers/{name} ("), line
        assert ": CreateIndex: timed out waiting for " in line and "(ReadTimeout) (after 2 attempts)" in line, line
        assert line.endswith(": an attempt got no answer, so it may or may not have taken effect; "
                             "run `reconciler plan` to see"), line
    assert re.search(r"^skipped +\+ policy\.lost-answers: index\.lost-answers/(docs|faq) may or may not have "
                     r"taken effect$", r.stdout, re.MULTILINE), r.stdout
    assert "Apply incomplete: 1 done, 0 failed, 2 unknown, 1 skipped, 0 not started." in lines
    assert ("2 steps timed out or lost the connection, so they may or may not have taken effect: "
            "run `reconciler plan` to see where things stand.") in lines
    assert "Traceback" not in r.stderr

    # the service did create them: plan against it says only the policy is left to do
    names = sorted(i.index_name for i in sdk.list_indexes("lost-answers", ACCOUNT).indexes)
    assert names == ["docs", "faq"]
    r = cli("plan", "-f", path, "--detailed-exitcode")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete." in r.stdout
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 0 and "Apply complete: 1 done, 0 failed" in r.stdout, r.stdout + r.stderr
