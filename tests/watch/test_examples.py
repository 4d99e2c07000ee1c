"""examples/watch/ is correct as written: the Kubernetes manifests validate against the
schemas kubernetes-validate ships (offline), the alert rules pass `promtool check rules`
and their unit test (`promtool test rules`: the drift alert fires after an hour of drift
and not before), every `reconciler watch` command in them is accepted by the CLI's parser,
and the ConfigMap's manifest validates."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from reconciler.manifest import load_manifests
from reconciler.cli.flags import build_parser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "watch"
KUBE = sorted((EXAMPLES / "kubernetes").glob("*.yaml"))
RULES = EXAMPLES / "prometheus" / "reconciler-watch.rules.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="Debian's prometheus is not installed (.ci/run does)")


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kind(name: str) -> dict[str, Any]:
    found = [d for p in KUBE for d in docs(p) if d["kind"] == name]
    assert len(found) == 1, name
    return found[0]


def watch_args(container: dict[str, Any]) -> Any:
    """The container's `reconciler watch` arguments, parsed by the CLI with the container's
    variables set. No argument names a secret as $(VAR): kubelet would expand its value into
    the command line, which `ps` shows (`--webhook=env:VAR` reads it from the environment)."""
    secrets = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert not [a for a in container["args"] if set(re.findall(r"\$\((\w+)\)", a)) & secrets], container["args"]
    with pytest.MonkeyPatch.context() as mp:
        for e in container["env"]:
            mp.setenv(e["name"], "https://hooks.example.com/x")
        return build_parser().parse_args(container["args"])


@pytest.mark.parametrize("path", KUBE, ids=lambda p: p.name)
def test_kubernetes_manifests_validate(path: Path) -> None:
    for doc in docs(path):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_the_deployment_is_one_watch_per_estate() -> None:
    deployment = kind("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]
    watch = next(c for c in pod["spec"]["containers"] if c["name"] == "watch")
    args = watch_args(watch)
    assert args.command == "watch" and not args.once and not args.remediate
    port = args.listen[1]
    probe = watch["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    assert {p["name"]: p["containerPort"] for p in watch["ports"]}[probe["port"]] == port
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"
    secrets = {e["name"] for e in watch["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"TOS_ACCESS_KEY", "TOS_SECRET_KEY", "RECONCILER_PLAN_KEY", "WEBHOOK_URL"} <= secrets
    assert not any("value" in e for e in watch["env"] if e["name"] in secrets)
    assert kind("Secret")["metadata"]["name"] == {e["valueFrom"]["secretKeyRef"]["name"] for e in watch["env"]
                                                  if e["name"] in secrets}.pop()
    sync = [c for c in pod["spec"]["containers"] + pod["spec"]["initContainers"] if "git-sync" in c["image"]]
    assert len(sync) == 2 and any("--one-time" in c["args"] for c in sync)
    assert args.files[0].startswith("/git/current/")


def test_the_cronjob_checks_once_from_a_configmap(tmp_path: Path) -> None:
    job = kind("CronJob")["spec"]["jobTemplate"]["spec"]
    container = job["template"]["spec"]["containers"][0]
    args = watch_args(container)
    assert args.once and args.webhooks == ["https://hooks.example.com/x"]
    assert job["backoffLimit"] == 0  # exit 2 (drift) is the answer, not a reason to run again
    config = kind("ConfigMap")
    volume = job["template"]["spec"]["volumes"][0]
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    for name, text in config["data"].items():
        (tmp_path / name).write_text(text)
    assert load_manifests([str(tmp_path)], {}).buckets


def test_the_systemd_unit_runs_a_watch() -> None:
    unit = (EXAMPLES / "systemd" / "reconciler-watch.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    argv = shlex.split(settings["ExecStart"])
    assert argv[0].endswith("/reconciler")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "watch" and args.listen == ("127.0.0.1", 9464) and args.plan_dir
    assert settings["KillSignal"] == "SIGTERM"
    env = dict(line.split("=", 1) for line in (EXAMPLES / "systemd" / "reconciler-watch.env").read_text().splitlines()
               if "=" in line and not line.startswith("#"))
    assert {"TOS_ACCESS_KEY", "TOS_SECRET_KEY", "TOS_ACCOUNT_ID"} <= set(env)


@needs_promtool
def test_the_alert_rules_check() -> None:
    checked = subprocess.run([str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout
    tested = subprocess.run([str(PROMTOOL), "test", "rules", "reconciler-watch.rules.test.yml"], cwd=RULES.parent,
                            capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_alert_uses_the_watch_metrics() -> None:
    rules = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    drift = rules["ReconcilerDriftForMoreThanOneHour"]
    assert "reconciler_drift_resources" in drift["expr"] and drift["for"] == "1h"
