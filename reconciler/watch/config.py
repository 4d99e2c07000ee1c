"""The flags of `reconciler watch` and the settings they make.

Light on purpose: the command layer's parser adds these flags for every invocation, so
nothing here loads the engine, asyncio or an HTTP library.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.errors import ConfigError
from reconciler.util.secrets import shown_url

DEFAULT_INTERVAL = "5m"
JITTER = 0.10  # each wait is the interval, up to 10 % longer or shorter
MIN_CHECK_DEADLINE = 120.0  # a check is abandoned after max(interval, this) seconds
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(s|m|h)\Z")


def duration(text: str) -> float:
    """`30s`, `5m`, `1h` (a fraction too: `0.5s`) as seconds; argparse's error otherwise."""
    m = _DURATION.fullmatch(text.strip())
    seconds = float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0
    if seconds <= 0 or seconds > 7 * 86400:
        raise argparse.ArgumentTypeError(f"expected a duration such as 30s, 5m or 1h (at most 168h), got {text!r}")
    return seconds


def listen_address(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[::1]:PORT`, or `:PORT` (every address) as (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (e.g. 127.0.0.1:9464 or :9464), got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"write an IPv6 address in brackets, e.g. [::1]:9464, got {text!r}")
    return host or "0.0.0.0", int(port)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def webhook_url(text: str) -> str:
    """An http(s) URL, or `env:NAME`: the URL held by environment variable NAME, so that a
    URL with a token in it is not in the process's command line (`ps`, /proc/PID/cmdline).
    No error echoes a value: it may hold a token (`env:$URL` is a mistake worth expecting)."""
    if not text.startswith("env:"):
        return _checked_url(text, "an http:// or https:// URL", f", got {shown_url(text)}")
    name = text[len("env:"):]
    if not _ENV_NAME.match(name):
        raise argparse.ArgumentTypeError("expected env:NAME, NAME an environment variable's name (letters, digits "
                                         "and _, not starting with a digit)")
    value = os.environ.get(name, "")
    if not value.strip():
        raise argparse.ArgumentTypeError(f"environment variable {name} (from {text}) is not set or is empty")
    return _checked_url(value, f"environment variable {name} (from {text}) to hold an http:// or https:// URL", "")


def _checked_url(text: str, expected: str, shown: str) -> str:
    """`text` stripped if it is an http(s) URL with a host; else "expected {expected}…{shown}"."""
    if not text.strip().isprintable():  # urlsplit drops CR, LF and tab silently; httpx refuses them at each event
        raise argparse.ArgumentTypeError(f"expected {expected}, got one with a control character (a line break "
                                         "pasted with it?)")
    try:
        parts = urlsplit(text.strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"expected {expected} with a host{shown}")
    return text.strip()


def add_watch_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `reconciler watch` besides the manifest and target flags every
    command that reads manifests and calls the API takes."""
    parser.add_argument("--interval", type=duration, default=duration(DEFAULT_INTERVAL), metavar="DURATION",
                        help=f"time between checks: 30s, 5m, 1h (default {DEFAULT_INTERVAL}; "
                             f"up to {round(JITTER * 100)}%% jitter)")
    parser.add_argument("--listen", type=listen_address, metavar="HOST:PORT",
                        help="serve GET /metrics (Prometheus) and GET /healthz here, e.g. 127.0.0.1:9464")
    parser.add_argument("--events", type=Path, metavar="FILE",
                        help="append each event to FILE as one JSON object per line")
    parser.add_argument("--webhook", dest="webhooks", action="append", default=[], type=webhook_url, metavar="URL",
                        help="POST each event as JSON to URL (repeatable; retried with backoff); env:NAME "
                             "takes the URL from environment variable NAME, out of the command line")
    parser.add_argument("--plan-dir", type=Path, metavar="DIR",
                        help="save the plan that brings the estate back for each drift.detected "
                             "(as `plan --out`: `reconciler show FILE`, `reconciler apply FILE`)")
    parser.add_argument("--remediate", action="store_true",
                        help="apply that plan at once, under the consent rules of `apply -f`")
    parser.add_argument("--allow-destroy", action="store_true",
                        help="with --remediate: allow steps that delete or replace data")
    parser.add_argument("--allow-public-access", action="store_true",
                        help="with --remediate: allow steps that grant access to anyone (*)")
    parser.add_argument("--once", action="store_true",
                        help="one check, its events, then exit as `drift` does (0 in sync, 2 drift, 1 error)")


@dataclass(frozen=True)
class WatchConfig:
    """What a watch does; the target and the manifests come separately (see `service.run`)."""

    interval: float = 300.0
    listen: tuple[str, int] | None = None
    events: Path | None = None
    webhooks: tuple[str, ...] = ()
    plan_dir: Path | None = None
    remediate: bool = False
    allow_destroy: bool = False
    allow_public_access: bool = False
    once: bool = False
    parallelism: int = 10
    plan_key: bytes | None = field(default=None, repr=False)
    jitter: float = JITTER

    @property
    def check_deadline(self) -> float:
        """A check still running after this many seconds is abandoned (check.failed)."""
        return max(self.interval, MIN_CHECK_DEADLINE)


def config_from_args(args: argparse.Namespace) -> WatchConfig:
    """The settings of parsed `watch` flags; ConfigError for flags that do not go together."""
    if (args.allow_destroy or args.allow_public_access) and not args.remediate:
        flag = "--allow-destroy" if args.allow_destroy else "--allow-public-access"
        raise ConfigError(f"{flag} only applies with --remediate (watch changes nothing without it)")
    if not getattr(args, "files", None):
        raise ConfigError("no manifest given: pass -f PATH (a file or a directory)")
    if "-" in args.files and not args.once:
        raise ConfigError("-f - reads standard input, which can be read once only; watch reads its manifests "
                          "again at every check: give files or directories (or use --once)")
    from reconciler.plan.planfile import plan_key

    return WatchConfig(
        interval=args.interval, listen=args.listen, events=args.events, webhooks=tuple(args.webhooks),
        plan_dir=args.plan_dir, remediate=args.remediate, allow_destroy=args.allow_destroy,
        allow_public_access=args.allow_public_access, once=args.once,
        parallelism=getattr(args, "parallelism", 10),
        # read once, at start: a key too short to sign with fails here, not at the first drift
        plan_key=plan_key() if args.plan_dir is not None else None)
