"""A service's own words reach the terminal only escaped.

An endpoint (compromised, or a man in the middle of a plain-HTTP one) controls the
`Message` of every error it returns. The CLI prints it in its `error:` line, so a message
carrying terminal controls could clear the screen, rewrite earlier lines (a carriage
return over "Apply complete"), set the clipboard (OSC 52) or reorder text (a bidi
override). The line must show them as `\\u001b` escapes instead, and stay one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.serving import serving

HOSTILE = "denied\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\rApply complete! \u202eevil\x9b31m"
CONTROLS = "\x1b\x07\r\u202e\x9b"


class _Hostile(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"Code": "AccessDenied", "Message": HOSTILE, "RequestId": "r\x1b[1m1"}).encode()
        self.send_response(403)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    with serving(server, "hostile-endpoint"):
        yield f"http://127.0.0.1:{server.server_address[1]}"


def _run(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env.update({"TOS_ENDPOINT": url, "TOS_ACCOUNT_ID": "2100000000", "TOS_ACCESS_KEY": "AKLTtest",
                "TOS_SECRET_KEY": "c2VjcmV0", "NO_COLOR": "1"})
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("verb", [["plan"], ["apply", "--auto-approve"], ["drift"]])
def test_an_error_message_from_the_service_is_escaped(hostile_url: str, tmp_path: Path, verb: list[str]) -> None:
    (tmp_path / "m.yaml").write_text("version: 1\nbuckets:\n  - name: words\n")
    r = _run(hostile_url, tmp_path, *verb, "-f", "m.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert not {c for c in r.stdout + r.stderr if c in CONTROLS}, repr(r.stderr)
    (line,) = r.stderr.splitlines()
    assert line.startswith("error: ") and "AccessDenied" in line and "\\u001b[2J" in line and "\\u202e" in line


def test_a_manifest_diagnostic_is_escaped(tmp_path: Path) -> None:
    """A file's words too: an unknown key spelled with controls."""
    (tmp_path / "m.yaml").write_text('version: 1\nbuckets:\n  - name: words\n    "x\\e[2J\\u202e": 1\n')
    r = _run("embedded", tmp_path, "validate", "-f", "m.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert not {c for c in r.stdout + r.stderr if c in CONTROLS}, repr(r.stderr)
    assert "m.yaml:4:5" in r.stderr


@pytest.mark.parametrize("argv", [["plan", "m\x1b[2J.yaml"], ["plan", "--bogus", "x\x1b]52;c;eA==\x07"]])
def test_a_usage_error_echoes_the_command_line_escaped(tmp_path: Path, argv: list[str]) -> None:
    """A file name pasted from somewhere else, or a script's variable, can hold controls."""
    r = _run("embedded", tmp_path, *argv)
    assert r.returncode == 1
    assert not {c for c in r.stdout + r.stderr if c in CONTROLS}, repr(r.stderr)
    (line,) = r.stderr.splitlines()
    assert line.startswith("error: ") and "\\u001b" in line
