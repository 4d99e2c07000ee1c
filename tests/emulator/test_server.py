"""`reconciler serve` flags and process, the package's public names, the embedded transport."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import reconciler.emulator as emulator
from reconciler.emulator.server import add_serve_arguments, config_from_args
from reconciler.errors import ConfigError


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def test_public_names() -> None:
    assert sorted(emulator.__all__) == ["EmulatorApp", "EmulatorConfig", "create_app", "embedded_sender",
                                       "embedded_transport"]


def test_flag_defaults() -> None:
    args = _parse()
    assert (args.host, args.port, args.data_dir, args.account_id, args.region) == (
        "127.0.0.1", 8765, Path(".reconciler/serve"), "2100000000", "cn-beijing")
    assert (args.access_key, args.secret_key, args.latency_ms, args.fault_rate) == (None, None, 0.0, 0.0)
    config = config_from_args(_parse("--access-key", "AK", "--secret-key", "SK", "--latency-ms", "5",
                                     "--fault-rate", "0.25", "--account-id", "2111111111", "--data-dir", "d"))
    assert (config.access_key, config.secret_key, config.latency_ms, config.fault_rate, config.account_id,
            config.data_dir) == ("AK", "SK", 5.0, 0.25, "2111111111", Path("d"))


@pytest.mark.parametrize("argv", [["--fault-rate", "1.5"], ["--fault-rate", "-0.1"], ["--latency-ms", "-1"],
                                  ["--latency-ms", "soon"], ["--port", "70000"], ["--port", "http"]])
def test_bad_flag_values(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(*argv)
    assert "expected" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [(["--access-key", "AK"], "go together"),
                                          (["--secret-key", "SK"], "go together"),
                                          (["--account-id", "acct"], "must be digits")])
def test_inconsistent_flags(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_args(_parse(*argv))


def test_serve_process_port_zero_default_data_dir_and_clean_stop(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-m", "reconciler", "serve", "--port", "0", "--access-key", "AKX",
                                "--secret-key", "super-secret-value"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.match(r"emulator listening on (http://127\.0\.0\.1:(\d+)) \(data: (.+?),", line)
        assert match, line
        assert int(match.group(2)) > 0 and match.group(3) == str(Path(".reconciler/serve"))
        r = httpx.post(f"{match.group(1)}/ListVectorBuckets", json={}, headers={"host": "127.0.0.1"})
        assert r.status_code == 403 and r.json()["Code"] == "AccessDeniedException"
        assert (tmp_path / ".reconciler" / "serve" / "emulator.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 130  # Ctrl-C: uvicorn shuts down, then the CLI reports the interrupt
    assert "super-secret-value" not in line + out + err and "Traceback" not in err


def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = subprocess.run([sys.executable, "-m", "reconciler", "serve", "--port", str(busy.getsockname()[1]),
                            "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "cannot listen on 127.0.0.1" in r.stderr and "Traceback" not in r.stderr


def _env_without_tos() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}


def test_a_data_dir_holding_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "emulator.db").write_text("garbage")
    r = subprocess.run([sys.executable, "-m", "reconciler", "serve", "--port", "0", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f"error: cannot open the emulator database in {tmp_path}: file is not a database"], r.stderr

    # the same for the CLI's embedded emulator: before, every call was a 500 with a traceback, retried
    store = tmp_path / "work" / ".reconciler" / "local" / "cn-beijing"
    store.mkdir(parents=True)
    (store / "emulator.db").write_text("garbage")
    (tmp_path / "work" / "m.yaml").write_text("version: 1\nbuckets:\n  - name: app\n")
    r = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", "m.yaml", "--endpoint", "embedded"],
                       cwd=tmp_path / "work",
                       env=_env_without_tos(), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: cannot open the emulator database in {store}: file is not a database"), r.stderr


def test_embedded_transport_persists_in_its_data_dir(tmp_path: Path) -> None:
    async def session(data_dir: Path, body: dict[str, Any], action: str) -> httpx.Response:
        transport = emulator.embedded_transport(data_dir, account_id="2100000007", region="cn-guangzhou")
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(f"/{action}", json=body, headers={"host": "127.0.0.1"})

    assert asyncio.run(session(tmp_path, {"vectorBucketName": "kept"}, "CreateVectorBucket")).status_code == 200
    assert (tmp_path / "emulator.db").exists()
    listed = asyncio.run(session(tmp_path, {}, "ListVectorBuckets")).json()["vectorBuckets"]
    assert [(b["vectorBucketName"], b["vectorBucketTrn"]) for b in listed] == [
        ("kept", "trn:tosvectors:cn-guangzhou:2100000007:bucket/kept")]
