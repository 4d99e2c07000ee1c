"""`reconciler watch`: drift detection as a running service (README "Drift detection as a
service").

    config.py     the flags (`add_watch_arguments`) and the settings they make (`WatchConfig`)
    service.py    `run`: the loop of checks at an interval with jitter, signals, --once
    check.py      one check: re-read the manifests, refresh, compare with the last drift,
                  save the plan (--plan-dir), remediate under the consent rules (--remediate)
    events.py     the events (JSON Lines file, webhooks sent off the check path, masked URLs)
    metrics.py    the Prometheus metrics, in a registry of each watch's own
    endpoint.py   GET /metrics and GET /healthz on the watch's event loop

The command layer resolves the target and opens clients (the CI rule on the implicit
embedded target is its); it hands `run` a client factory, the target and a manifest loader.

Owns: the watch loop, its events, metrics and health endpoint. May import: engine and
what the engine may import (apply, plan, state, manifest, client, rules), util, errors;
never the command layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.watch.config import WatchConfig, add_watch_arguments, config_from_args

if TYPE_CHECKING:
    from reconciler.watch.service import run

__all__ = ["WatchConfig", "add_watch_arguments", "config_from_args", "run"]


def __getattr__(name: str) -> Any:
    # the loop (asyncio, prometheus_client, httpx) loads only when a watch runs, not for
    # every command whose parser lists the flags
    if name == "run":
        from reconciler.watch.service import run

        return run
    raise AttributeError(name)
