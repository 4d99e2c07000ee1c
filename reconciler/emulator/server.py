"""`reconciler serve`: the emulator over HTTP with uvicorn (DESIGN.md §4).

    reconciler serve [--host 127.0.0.1] [--port 8765] [--data-dir DIR]
                     [--access-key AK --secret-key SK [--user AK:SK:PRINCIPAL]...]
                     [--account-id ID] [--region R]
                     [--latency-ms N] [--fault-rate P]

The data directory defaults to `.reconciler/serve` under the working directory (the
embedded target of the CLI uses `.reconciler/local`, so the two never share a file by
accident). `--port 0` picks a free port; the one line printed on stderr says which.
The secret key is never printed.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.argtypes import non_negative_float, port
from reconciler.errors import ConfigError

if TYPE_CHECKING:  # the app (numpy, SQLite) loads only when serving, not for every CLI verb
    from reconciler.emulator.app import EmulatorConfig
    from reconciler.emulator.policy_auth import User

DEFAULT_DATA_DIR = Path(".reconciler") / "serve"


def _rate(text: str) -> float:
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `reconciler serve`."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8765, help="port to listen on (default 8765; 0 picks one)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR",
                        help=f"where the SQLite database lives (default: {DEFAULT_DATA_DIR} in the working dir)")
    parser.add_argument("--access-key", metavar="AK", help="verify TOS4-HMAC-SHA256 signatures made with this key")
    parser.add_argument("--secret-key", metavar="SK", help="the secret key that goes with --access-key")
    parser.add_argument("--user", action="append", default=[], metavar="AK:SK:PRINCIPAL",
                        help="another identity (PRINCIPAL is ACCOUNT or ACCOUNT/NAME), allowed only what bucket "
                             "policies grant it; repeatable; needs --access-key/--secret-key")
    parser.add_argument("--account-id", default="2100000000", metavar="ID",
                        help="account that owns the buckets created through the region endpoint (default 2100000000)")
    parser.add_argument("--region", default="cn-beijing", help="region named in TRNs (default cn-beijing)")
    parser.add_argument("--latency-ms", type=non_negative_float, default=0.0, metavar="N",
                        help="delay every response by N milliseconds")
    parser.add_argument("--fault-rate", type=_rate, default=0.0, metavar="P",
                        help="answer this fraction of requests with 429 / 503 / 500")


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The emulator settings of parsed `serve` flags; ConfigError for inconsistent ones."""
    if bool(args.access_key) != bool(args.secret_key):
        raise ConfigError("--access-key and --secret-key go together: give both or neither")
    if not str(args.account_id).isdigit():
        raise ConfigError(f"--account-id must be digits, got {args.account_id!r}")
    users = _users(args.user, args.access_key)
    from reconciler.emulator.app import EmulatorConfig

    return EmulatorConfig(data_dir=args.data_dir, account_id=args.account_id, region=args.region,
                          access_key=args.access_key or None, secret_key=args.secret_key or None,
                          latency_ms=args.latency_ms, fault_rate=args.fault_rate, users=users)


def _users(values: list[str], owner_key: str | None) -> tuple[User, ...]:
    """The --user identities; ConfigError (never showing a secret key) for a bad one."""
    from reconciler.emulator.policy_auth import parse_user

    if values and not owner_key:
        raise ConfigError("--user needs --access-key and --secret-key for the owner: without them unsigned "
                          "requests act as the owner and no policy would be enforced")
    users: list[User] = []
    for i, value in enumerate(values, 1):
        try:
            user = parse_user(value)
        except ValueError as e:
            raise ConfigError(f"--user #{i}: {e}") from None
        if user.access_key == owner_key or any(u.access_key == user.access_key for u in users):
            raise ConfigError(f"--user #{i}: access key {user.access_key!r} is already used by "
                              f"{'the owner' if user.access_key == owner_key else 'another --user'}")
        users.append(user)
    return tuple(users)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit this: uvicorn writes headers and body separately, and with
    # Nagle on, the body would wait for the client's delayed ACK (40 ms per request)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_from_args(args: argparse.Namespace) -> int:
    """Serve until interrupted (SIGINT/SIGTERM); returns the exit code."""
    import uvicorn

    config = config_from_args(args)
    from reconciler.emulator.app import create_app

    app = create_app(config)
    app.open_or_fail()  # before listening
    try:
        sock = _bind(args.host, args.port)
    except ConfigError:
        app.close()
        raise
    port = sock.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    auth = ", signatures checked" if config.access_key else ""
    if config.users:
        auth += f", {len(config.users)} policy-checked user{'s' if len(config.users) > 1 else ''}"
    print(f"emulator listening on http://{shown_host}:{port} (data: {config.data_dir}, "
          f"account {config.account_id}, region {config.region}{auth})", file=sys.stderr, flush=True)
    server = _server_class()(uvicorn.Config(app, log_level="debug" if getattr(args, "debug", False) else "warning",
                                            access_log=False, lifespan="on"))
    try:
        server.run(sockets=[sock])
    finally:
        app.close()
        sock.close()
    if server.interrupted:  # Ctrl-C: the CLI says so and exits 130
        raise KeyboardInterrupt
    return 0


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """Remembers a Ctrl-C, so that serve exits 130 however the signal uvicorn re-raises
        after its graceful shutdown is handled: in one CI run (uvicorn 0.54 on uvloop) it
        was lost and the process exited 0."""

        interrupted = False

        def handle_exit(self, sig: int, frame: Any) -> None:
            if sig == signal.SIGINT:
                self.interrupted = True
            super().handle_exit(sig, frame)

    return Server
