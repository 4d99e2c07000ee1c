"""Nothing leaks: with credentials, a security token, a plan-signing key and webhook
tokens in play, no secret appears in the events, the webhook bodies, the metrics, the
health page, the saved plans, or anything the watch prints (with --debug too)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.emulator import ACCOUNT, free_port, running_emulator
from tests.watch.cli import hermetic_env, run_cli, watching
from tests.watch.receiver import receiving

AK = "AKLTwatchtest0123456789"
SK = "SKwatch-secret-value-0123456789abcdef"
TOKEN = "STS-token-value-0123456789abcdef"
PLAN_KEY = "plan-key-0123456789abcdef0123456789"
HOOK_TOKEN = "T0KEN-hook-0123456789abcdef"

MANIFEST = """\
version: 1
buckets:
  - name: ws-app
    indexes:
      - {name: docs, dimension: 4, distanceMetric: cosine}
"""


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.yaml").write_text(MANIFEST)
    secrets = (AK, SK, TOKEN, PLAN_KEY, HOOK_TOKEN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOS_SECRET_KEY", SK)  # serve reads the owner's secret from its environment
        emu_cm = running_emulator(tmp_path / "data", "--access-key", AK)
        emu = emu_cm.__enter__()
    try:
        env = hermetic_env(emu.url, TOS_ACCESS_KEY=AK, TOS_SECRET_KEY=SK, TOS_SECURITY_TOKEN=TOKEN,
                           RECONCILER_PLAN_KEY=PLAN_KEY)
        dead = f"http://127.0.0.1:{free_port()}/hooks/{HOOK_TOKEN}?token={HOOK_TOKEN}"
        with receiving(f"/hooks/{HOOK_TOKEN}") as rec:
            with watching(work, env, "--debug", "-f", "m.yaml", "--interval", "0.5s", "--plan-dir", "plans",
                          "--remediate", "--webhook", rec.url, "--webhook", dead) as w:
                w.wait_until("a remediation", lambda: any(e["type"] == "remediation.applied" for e in w.events()))
                w.wait_until("back in sync", lambda: any(e["type"] == "drift.resolved" for e in w.events()))
                w.wait_until("the dead webhook given up", lambda: "not delivered" in w.stderr(), timeout=90)
                rec.wait_for(3)
                pages = [httpx.get(f"{w.base}/metrics").text, httpx.get(f"{w.base}/healthz").text]
                assert w.stop() == 0
            bodies = [body.decode() for _, _, body in rec.requests]
        stderr = w.stderr()
        outputs = {"stderr": stderr, "events": w.events_file.read_text(), "metrics": pages[0], "health": pages[1],
                   **{f"webhook {i}": b for i, b in enumerate(bodies)},
                   **{str(p): p.read_text() for p in (work / "plans").iterdir()}}
        assert len(list((work / "plans").iterdir())) == 1
        assert "reconciler.client: request GetIndex" in stderr  # --debug logged the requests
        assert "warning: webhook http://127.0.0.1:" in stderr
        for name, text in outputs.items():
            for secret in secrets:
                assert secret not in text, f"{name} holds a secret"
        assert ACCOUNT in outputs["events"]  # the target is there, only the secrets are not
    finally:
        emu_cm.__exit__(None, None, None)


def test_a_webhook_url_from_the_environment_stays_out_of_the_command_line(tmp_path: Path) -> None:
    """`--webhook env:NAME`: the events reach the URL, and `ps` (the process's cmdline)
    shows only the variable's name, where `--webhook "$URL"` showed the token to every user."""
    (tmp_path / "m.yaml").write_text(MANIFEST)
    with running_emulator(tmp_path / "data") as emu, receiving(f"/hooks/{HOOK_TOKEN}") as rec:
        env = hermetic_env(emu.url, CHAT_HOOK=f"{rec.url}?token={HOOK_TOKEN}")
        with watching(tmp_path, env, "-f", "m.yaml", "--interval", "1h", "--webhook", "env:CHAT_HOOK") as w:
            events = rec.wait_for(1)
            cmdline = Path(f"/proc/{w.process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            assert w.stop() == 0
    assert events[0]["type"] == "drift.detected"
    assert "env:CHAT_HOOK" in cmdline and HOOK_TOKEN not in cmdline
    assert HOOK_TOKEN not in w.stderr()


@pytest.mark.parametrize(("value", "says"), [
    (None, "environment variable CHAT_HOOK (from env:CHAT_HOOK) is not set or is empty"),
    ("ftp://hooks.example.com/T0KEN-x", "expected environment variable CHAT_HOOK (from env:CHAT_HOOK) to hold an "
                                        "http:// or https:// URL with a host"),
    ("T0KEN:0123456789", "to hold an http:// or https:// URL with a host"),
    ("https://hooks.example.com/T0KEN\nx", "to hold an http:// or https:// URL, got one with a control character"),
])
def test_a_missing_or_bad_webhook_variable_is_one_line_at_start(tmp_path: Path, value: str | None,
                                                                 says: str) -> None:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    env = hermetic_env(None, **({"CHAT_HOOK": value} if value else {}))
    done = run_cli(tmp_path, env, "watch", "-f", "m.yaml", "--once", "--endpoint", "embedded",
                   "--webhook", "env:CHAT_HOOK")
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert "T0KEN" not in done.stderr and "Traceback" not in done.stderr and "hooks.example.com" not in done.stderr
