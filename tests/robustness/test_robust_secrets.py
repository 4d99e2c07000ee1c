"""Secrets never show: every command with --debug, right keys, a wrong secret (403s) and
injected faults; the secret key, the security token and the full access key appear in no
output, log line, plan file or exception text."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from robust_helpers import base_env, manifest

from reconciler.client import Credentials, RetryPolicy, VectorsClient
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.errors import AccessDeniedError, ApiError
from tests.support.emulator import free_port, running_emulator
from tests.support.sdk import ACCOUNT

AK = "AKLTrobustAccessKey7Q3XW9Z2"
SK = "c2VjcmV0LXJvYnVzdC1TSy05OTk4ODc3"
WRONG_SK = "d3JvbmctcmVidXN0LVNLLTExMjIzMzQ0"
TOKEN = "STStokenROBUST.eyJzZWNyZXQiOiJ0b2tlbiJ9.x7y8z9"
SECRETS = (SK, WRONG_SK, TOKEN, AK, AK[4:])

# Every command through the real entry point, one after another in one process (one
# Python start-up instead of ten); stdout, stderr, the debug log and the text of any
# exception that escapes all land in the process's output, which the test reads whole.
DRIVER = """\
import json, sys, traceback
from reconciler.cli.parser import main
for argv in json.loads(sys.argv[1]):
    print("### " + " ".join(argv), flush=True)
    print("### " + " ".join(argv), file=sys.stderr, flush=True)
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    except BaseException as e:
        traceback.print_exc()
        print("exception text:", str(e), repr(e), e.args, file=sys.stderr)
        code = "exception"
    print("### exit", code, flush=True)
"""


def _commands(path: str, plan_file: str) -> list[list[str]]:
    f = ["-f", path]
    return [
        ["validate", *f, "--debug"],
        ["plan", *f, "--out", plan_file, "--debug"],
        ["plan", *f, "--format", "json", "--debug"],
        ["--debug", "plan", *f, "--format", "markdown", "--detailed-exitcode"],
        ["graph", *f, "--format", "dot", "--debug"],
        ["apply", *f, "--auto-approve", "--debug"],
        ["apply", plan_file, "--debug"],  # stale by now (or never written): refused
        ["drift", *f, "--format", "json", "--debug"],
        ["export", "--prefix", "sec-", "--debug"],
        ["destroy", *f, "--auto-approve", "--debug"],
    ]


def _scenario(base: Path, secret: str, *emulator_flags: str) -> tuple[str, str, list[str]]:
    """(all output, the plan file or "", the commands' exit codes)."""
    work = base / "work"
    work.mkdir(parents=True)
    path = work / "m.yaml"
    path.write_text(manifest("sec", 2, 2))
    plan_file = str(work / "plan.json")
    with running_emulator(base / "data", "--access-key", AK, "--secret-key", SK, *emulator_flags) as emu:
        env = base_env(emu.url, {"TOS_ACCESS_KEY": AK, "TOS_SECRET_KEY": secret, "TOS_SECURITY_TOKEN": TOKEN})
        r = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(_commands(str(path), plan_file))], cwd=work,
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        server_log = emu.stderr_text()
    plan_text = Path(plan_file).read_text() if Path(plan_file).exists() else ""
    codes = [ln.split()[-1] for ln in r.stdout.splitlines() if ln.startswith("### exit")]
    return r.stdout + r.stderr + server_log, plan_text, codes


def test_no_secret_in_any_output_log_plan_file_or_exception(tmp_path: Path) -> None:
    scenarios = {"right keys": (SK,), "wrong secret": (WRONG_SK,), "faults": (SK, "--fault-rate", "0.3")}
    with ThreadPoolExecutor(len(scenarios)) as pool:
        futures = {name: pool.submit(_scenario, tmp_path / name.replace(" ", "-"), *args)
                   for name, args in scenarios.items()}
        results = {name: f.result() for name, f in futures.items()}

    for name, (output, plan_text, codes) in results.items():
        assert len(codes) == 10, f"{name}: the driver did not run every command:\n{output[-3000:]}"
        assert "exception" not in codes, f"{name}: a command raised:\n{output[-3000:]}"
        for secret in SECRETS:
            assert secret not in output, f"{name}: {secret!r} appears in the output"
            assert secret not in plan_text, f"{name}: {secret!r} appears in the plan file"
        assert "reconciler.client: request" in output, f"{name}: --debug logged no request"
        assert "ak=AKLT****" in output  # the masked form is what identifies the key

    output, plan_text, codes = results["right keys"]
    # validate, plan --out, plan json, plan markdown (2: changes), graph, apply, stale plan (refused),
    # drift (0: in sync), export, destroy
    assert codes == ["0", "0", "0", "2", "0", "0", "1", "0", "0", "0"], output[-3000:]
    assert plan_text and json.loads(plan_text)["changes"]
    output, plan_text, codes = results["wrong secret"]
    assert codes == ["0"] + ["1"] * 9, output[-3000:]  # validate makes no call; the rest are denied
    assert "403 AccessDeniedException" in output and "Traceback" not in output
    assert plan_text == ""


def test_exception_text_of_a_denied_request_holds_no_secret() -> None:
    """The error objects themselves: str, repr, args, attributes and the formatted traceback."""
    app = create_app(EmulatorConfig(data_dir=":memory:", access_key=AK, secret_key=SK))

    async def go() -> list[BaseException]:
        caught: list[BaseException] = []
        creds = Credentials(AK, WRONG_SK, TOKEN)
        retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
        async with VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT, credentials=creds,
                                 transport=httpx.ASGITransport(app=app), retry=retry) as client:
            for call in (client.list_vector_buckets(), client.get_index("sec-1", "idx-1")):
                try:
                    await call
                except ApiError as e:
                    caught.append(e)
            text = repr(client) + str(creds) + repr(creds)
        # nothing listens on a fresh port: a transport error, whose cause holds the request
        async with VectorsClient(endpoint=f"http://127.0.0.1:{free_port()}", account_id=ACCOUNT,
                                 credentials=creds, retry=retry) as client:
            try:
                await client.get_index("sec-1", "idx-1")
            except ApiError as e:
                caught.append(e)
        caught.append(Exception(text))
        return caught

    try:
        errors = asyncio.run(go())
    finally:
        app.close()
    assert isinstance(errors[0], AccessDeniedError) and len(errors) == 4
    for e in errors:
        text = "".join(traceback.format_exception(e)) + repr(e) + str(e.args) + repr(vars(e))
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {text}"


def test_an_endpoint_pasted_with_a_key_pair_or_a_token_is_not_echoed(tmp_path: Path) -> None:
    """An endpoint is refused with one line that names what is wrong, never its user part
    (`AK:SK@host`) or its path and query (`?token=`): they are not in the environment, so
    the output's masking of secret variables would not catch them."""
    (tmp_path / "m.yaml").write_text(manifest("sec", 1, 1))
    env = base_env(None)  # no TOS_ACCESS_KEY / TOS_SECRET_KEY: nothing for the output's masking to know
    endpoints = {
        f"https://{AK}:{SK}@127.0.0.1:9": "'https://…@127.0.0.1:9': expected [http[s]://]host[:port]",
        f"{AK}:{SK}@127.0.0.1:9": "no scheme; write 'http://…@127.0.0.1:9'",
        f"https://127.0.0.1:9/x?token={TOKEN}": "'https://127.0.0.1:9/…': must not have a path or query",
        f"https://{AK}:{SK}@ví.example.com": "the host must be ASCII",
    }
    for endpoint, says in endpoints.items():
        for how in (["--endpoint", endpoint], []):
            run_env = env if how else {**env, "TOS_ENDPOINT": endpoint}
            done = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", "m.yaml", "--account-id", ACCOUNT,
                                   *how], cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 1 and says in done.stderr, done.stderr
            assert not [s for s in SECRETS if s in done.stderr + done.stdout], done.stderr


def test_a_bad_proxy_setting_is_one_line_without_its_password(tmp_path: Path) -> None:
    """httpx refuses it while reading the proxy variables, in words that quote the value
    ("Invalid port: …"): it was an internal error naming the proxy's user."""
    (tmp_path / "m.yaml").write_text(manifest("sec", 1, 1))
    for value in (f"http://proxyuser:{SK}@proxy.example:notaport", "socks9://proxy.example:1080"):
        env = base_env(None, {"HTTPS_PROXY": value})
        done = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", "m.yaml", "--account-id", ACCOUNT,
                               "--endpoint", "https://127.0.0.1:9"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: invalid proxy setting: "
                                                                                 "HTTPS_PROXY="), done.stderr
        assert SK not in done.stderr and "proxyuser" not in done.stderr and "internal error" not in done.stderr
