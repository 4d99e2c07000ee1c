"""A real Prometheus (Debian's package) scrapes a running watch's /metrics, and its query
API returns the series the README's table names."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.emulator import free_port, running_emulator, stop_process
from tests.watch.cli import hermetic_env, watching
from tests.watch.test_watch_cli import MANIFEST, build

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is not installed (.ci/run installs it)")


def query(base: str, expr: str) -> list[dict]:  # type: ignore[type-arg]
    answer = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def test_prometheus_scrapes_the_watch(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.yaml").write_text(MANIFEST)
    with running_emulator(tmp_path / "data") as emu:
        build(emu.url)
        with watching(work, hermetic_env(emu.url), "-f", "m.yaml", "--interval", "1s") as w:
            w.wait_until("a check", lambda: w.sample("reconciler_checks_total", result="in_sync") >= 1)
            port = free_port()
            (tmp_path / "prometheus.yml").write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: reconciler-watch\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{w.port}']\n")
            with open(tmp_path / "prometheus.log", "wb") as log:
                prom = subprocess.Popen(
                    [str(PROMETHEUS), f"--config.file={tmp_path / 'prometheus.yml'}",
                     f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 90
                series: list[dict] = []  # type: ignore[type-arg]
                while time.monotonic() < deadline and prom.poll() is None:
                    try:  # until it is ready, Prometheus answers 503 with a text body
                        ready = httpx.get(f"{base}/-/ready", timeout=5).status_code == 200
                        series = query(base, "reconciler_checks_total") if ready else []
                    except (httpx.HTTPError, ValueError):
                        series = []
                    if series:
                        break
                    time.sleep(0.5)
                assert series, (tmp_path / "prometheus.log").read_text()[-3000:]
                by_result = {s["metric"]["result"]: float(s["value"][1]) for s in series}
                assert set(by_result) == {"in_sync", "drift", "error"}
                assert by_result["in_sync"] >= 1
                assert all(s["metric"]["job"] == "reconciler-watch" for s in series)
                assert query(base, 'up{job="reconciler-watch"}')[0]["value"][1] == "1"
                for name in ("reconciler_drift_resources", "reconciler_last_check_timestamp_seconds",
                             "reconciler_last_success_timestamp_seconds", "reconciler_check_duration_seconds_count",
                             "reconciler_remediations_total"):
                    assert query(base, name), name
            finally:
                stop_process(prom, 20)
            assert w.stop() == 0
