"""`reconciler serve`: the emulator over HTTP with uvicorn (README.md, "The emulator").

    reconciler serve [--host 127.0.0.1] [--port 8765] [--data-dir DIR]
                     [--access-key AK [--secret-key SK] [--user AK:SK:PRINCIPAL|@FILE]...]
                     [--account-id ID] [--region R]
                     [--latency-ms N] [--fault-rate P] [--seed N]
                     [--read-timeout S] [--max-connections N]

The data directory defaults to `.reconciler/serve` under the working directory (the
embedded target of the CLI uses `.reconciler/local`, so the two never share a file by
accident). `--port 0` picks a free port; the first line printed on stderr says which.
The secret key is never printed; given as `--access-key AK` with TOS_SECRET_KEY in the
environment, it is not in the process's command line either (`/proc/PID/cmdline`); nor
are the --user secrets read from `--user @FILE` or RECONCILER_SERVE_USERS (a --user
secret given as a flag is, and serve warns, as for --secret-key). Signatures are
checked only when `--access-key` is given: exported credentials alone never turn
checking on. The HTTP guard (timeouts, head and connection caps) is in
http_limits.py.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reconciler.errors import ConfigError
from reconciler.util.argtypes import non_negative_float, number, port, positive_int

if TYPE_CHECKING:  # the app (numpy, SQLite) loads only when serving, not for every CLI verb
    from reconciler.emulator.app import EmulatorConfig
    from reconciler.emulator.http_limits import Limits
    from reconciler.emulator.policy_auth import User

DEFAULT_DATA_DIR = Path(".reconciler") / "serve"
DEFAULT_MAX_CONNECTIONS = 1024
FILES_KEPT = 64  # open files kept free of connections: the database, its journal, logs
SECRET_ENV = "TOS_SECRET_KEY"
USERS_ENV = "RECONCILER_SERVE_USERS"  # more --user identities, kept out of the process list
MAX_USERS_FILE = 1 << 20

_seconds = number(float, lambda v: 0 < v <= 3600, "a number of seconds", "a number of seconds between 0 and 3600")
_seed = number(int, lambda v: True, "an integer")


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
    parser.add_argument("--access-key", metavar="AK",
                        help="verify TOS4-HMAC-SHA256 signatures made with this key (only then are they checked)")
    parser.add_argument("--secret-key", metavar="SK",
                        help=f"the secret key that goes with --access-key; without it, serve reads {SECRET_ENV}, "
                             f"which keeps the secret out of the process list")
    parser.add_argument("--user", action="append", default=[], metavar="AK:SK:PRINCIPAL|@FILE",
                        help="another identity (PRINCIPAL is ACCOUNT or ACCOUNT/NAME), allowed only what bucket "
                             "policies grant it; repeatable; needs --access-key and the owner's secret. @FILE reads "
                             "one AK:SK:PRINCIPAL per line (# starts a comment line), and "
                             f"{USERS_ENV} holds more, separated by newlines or commas: both keep the secrets out "
                             "of the process list, which a secret given here is in (serve warns)")
    parser.add_argument("--account-id", default="2100000000", metavar="ID",
                        help="account that owns the buckets created through the region endpoint (default 2100000000)")
    parser.add_argument("--region", default="cn-beijing", help="region named in TRNs (default cn-beijing)")
    parser.add_argument("--latency-ms", type=non_negative_float, default=0.0, metavar="N",
                        help="delay every response by N milliseconds")
    parser.add_argument("--fault-rate", type=_rate, default=0.0, metavar="P",
                        help="answer this fraction of requests with 429 / 503 / 500")
    parser.add_argument("--seed", type=_seed, metavar="N",
                        help="seed the fault injection: the same requests, sent one at a time, meet the same faults")
    parser.add_argument("--read-timeout", type=_seconds, default=10.0, metavar="S",
                        help="answer 408 and close a connection whose request (head and body) has not arrived "
                             "whole S seconds after its first byte (default 10)")
    parser.add_argument("--max-connections", type=positive_int, metavar="N",
                        help=f"open connections at most; beyond, the one idle the longest is closed, or the new "
                             f"one is answered 503 (default {DEFAULT_MAX_CONNECTIONS}, fewer if the open-files "
                             f"limit is lower)")


def sdk_proxy_address(url: str) -> tuple[str, int]:
    """(proxy host, port) of the server at `url` for an SDK's proxy setting: a wildcard bind
    (0.0.0.0, ::) is reached on loopback, an IPv6 address in brackets (the SDKs build
    `http://HOST:PORT` from it)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return (f"[{host}]" if ":" in host else host), port


def connection_hint(url: str, config: EmulatorConfig) -> str:
    """The lines that point the CLI and the official SDKs at this server. They name the key
    variables, never a secret: the reader knows the keys they started `serve` with.

    The SDKs build bucket hosts (`BUCKET-ACCOUNT.ENDPOINT`) that no resolver knows, so they
    are given the emulator as their HTTP proxy instead: they then connect only to it, send
    `POST http://HOST/Action` and never resolve HOST, and the emulator routes on the Host
    header. Both take an http:// endpoint only through a proxy (tos 2.9.3 `proxy_host` /
    `proxy_port`, which it applies to http:// URLs; Go `WithVectorsProxy`, which ignores
    HTTP_PROXY)."""
    lines = ["point reconciler at it with:",
             f"  export TOS_ENDPOINT={url} TOS_ACCOUNT_ID={config.account_id} TOS_REGION={config.region}"]
    if config.access_key:
        lines.append("  export TOS_ACCESS_KEY=... TOS_SECRET_KEY=...  # the owner's --access-key and its secret")
    host, port = sdk_proxy_address(url)
    endpoint = f"http://tosvectors-{config.region}.volces.com"
    keys = ("AK, SK: the owner's --access-key and its secret, or a --user's" if config.access_key
            else "AK, SK: any non-empty strings (signatures are not checked)")
    lines += [f"the official SDKs, unchanged, with the emulator as their HTTP proxy (account ID {config.account_id}; "
              f"{keys}):",
              "  Python (from tos.vector_client import VectorClient): "
              f'VectorClient(AK, SK, "{endpoint}", "{config.region}", proxy_host="{host}", proxy_port={port})',
              f'  Go: proxy, _ := tos.NewProxy("http://{host}", {port}); tos.NewTosVectorsClient('
              f'tos.WithVectorsEndpoint("{endpoint}"), tos.WithVectorsRegion("{config.region}"), '
              f"tos.WithVectorsCredentials(tos.NewStaticCredentials(AK, SK)), tos.WithVectorsProxy(proxy))"]
    return "\n".join(lines)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The emulator settings of parsed `serve` flags; ConfigError for inconsistent ones."""
    secret = args.secret_key or (os.environ.get(SECRET_ENV, "").strip() if args.access_key else "")
    if args.secret_key and not args.access_key:
        raise ConfigError("--access-key and --secret-key go together: give both or neither")
    if args.access_key and not secret:
        raise ConfigError(f"--access-key needs its secret key: set {SECRET_ENV} (or give --secret-key)")
    if not str(args.account_id).isdigit():
        raise ConfigError(f"--account-id must be digits, got {args.account_id!r}")
    users = _users(user_entries(args.user, os.environ), args.access_key)
    from reconciler.emulator.app import EmulatorConfig

    return EmulatorConfig(data_dir=args.data_dir, account_id=args.account_id, region=args.region,
                          access_key=args.access_key or None, secret_key=secret or None,
                          latency_ms=args.latency_ms, fault_rate=args.fault_rate, seed=args.seed,
                          users=users)


def user_entries(values: list[str], environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every AK:SK:PRINCIPAL given, each with where it came from (for messages): the --user
    values, the lines of each --user @FILE, then the entries of RECONCILER_SERVE_USERS.
    ConfigError for a file that cannot be read."""
    entries: list[tuple[str, str]] = []
    for i, value in enumerate(values, 1):
        if not value.startswith("@"):
            entries.append((f"--user #{i}", value))
            continue
        name = value[1:]
        try:
            with open(name, "rb") as f:
                data = f.read(MAX_USERS_FILE + 1)
        except (OSError, ValueError) as e:  # ValueError: a NUL in the name
            raise ConfigError(f"--user @{name}: cannot read it: {getattr(e, 'strerror', None) or e}") from None
        if len(data) > MAX_USERS_FILE:
            raise ConfigError(f"--user @{name}: larger than {MAX_USERS_FILE >> 20} MiB, not a users file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError(f"--user @{name}: not UTF-8 text") from None
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                entries.append((f"--user @{name} line {n}", line.strip()))
    listed = environ.get(USERS_ENV, "")
    for n, entry in enumerate((e.strip() for e in listed.replace(",", "\n").splitlines()), 1):
        if entry and not entry.startswith("#"):
            entries.append((f"{USERS_ENV} entry {n}", entry))
    return entries


def users_file_warnings(values: list[str]) -> list[str]:
    """Warnings for secrets other local users can read: a --user secret on the command line
    (the process list), a users file readable by group or others."""
    out = []
    if any(not v.startswith("@") for v in values):
        out.append(f"warning: --user AK:SK:PRINCIPAL can be read from the process list by other local users; "
                   f"use --user @FILE or {USERS_ENV} instead")
    for value in values:
        if value.startswith("@"):
            try:
                mode = os.stat(value[1:]).st_mode
            except (OSError, ValueError):
                continue
            if os.name == "posix" and mode & 0o044:
                out.append(f"warning: --user {value} is readable by other users (mode {mode & 0o777:o}); "
                           f"chmod 600 it")
    return out


def _users(entries: list[tuple[str, str]], owner_key: str | None) -> tuple[User, ...]:
    """The --user identities; ConfigError (never showing a secret key) for a bad one."""
    from reconciler.emulator.policy_auth import parse_user

    if entries and not owner_key:
        raise ConfigError(f"{entries[0][0].partition(' ')[0]} needs --access-key and --secret-key for the owner: "
                          "without them unsigned requests act as the owner and no policy would be enforced")
    users: list[User] = []
    for where, value in entries:
        try:
            user = parse_user(value)
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
        if user.access_key == owner_key or any(u.access_key == user.access_key for u in users):
            raise ConfigError(f"{where}: access key {user.access_key!r} is already used by "
                              f"{'the owner' if user.access_key == owner_key else 'another --user'}")
        users.append(user)
    return tuple(users)



def open_files_limit() -> int:
    """The open-files limit, raised to the hard limit first where the soft one is lower
    (at the usual 1,024, a flood of connections took the last file and real clients were reset)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to read or raise
        return 1 << 16
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 16


def limits_from_args(args: argparse.Namespace, files: int) -> Limits:
    """The HTTP guard's limits of parsed `serve` flags, given the open-files limit."""
    from reconciler.emulator.http_limits import MAX_LINGERING, Limits

    # connections answered with an error hold their file a moment longer (http_limits `_linger`)
    lingering = max(1, min(MAX_LINGERING, (files - FILES_KEPT) // 8))
    room = files - FILES_KEPT - lingering
    if args.max_connections is None:
        wanted = max(1, min(DEFAULT_MAX_CONNECTIONS, room))
    elif args.max_connections > room:
        raise ConfigError(f"--max-connections {args.max_connections} is more than this process can hold open: "
                          f"its open-files limit is {files}, of which {files - room} stay free (at most {room})")
    else:
        wanted = args.max_connections
    return Limits(read_timeout=args.read_timeout, max_connections=wanted, max_lingering=lingering)


def exposure_warning(bound: str, shown_host: str, *, checked: bool) -> str | None:
    """The warning for a server that anyone on the network may use as the owner: bound
    beyond loopback (127.0.0.0/8, ::1) with no signature checks; None otherwise."""
    try:
        loopback = ipaddress.ip_address(bound.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    if checked or loopback:
        return None
    return (f"warning: listening on {shown_host} without --access-key: anyone who can reach it has the "
            "owner's access to every bucket, as no signature is checked")


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
    limits = limits_from_args(args, open_files_limit())
    from reconciler.emulator.app import create_app
    from reconciler.emulator.http_limits import guarded_protocol

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
    exposed = exposure_warning(sock.getsockname()[0], shown_host, checked=bool(config.access_key))
    if exposed:
        print(exposed, file=sys.stderr, flush=True)
    if args.secret_key:
        print(f"warning: --secret-key can be read from the process list by other local users; "
              f"set {SECRET_ENV} instead", file=sys.stderr, flush=True)
    for warning in users_file_warnings(args.user):
        print(warning, file=sys.stderr, flush=True)
    print(connection_hint(f"http://{shown_host}:{port}", config), file=sys.stderr, flush=True)
    # the guarded httptools protocol instead of uvicorn's own; no WebSocket upgrades (no
    # action uses them); keep-alive connections idle for 5 s are closed (uvicorn's default)
    server = _server_class()(uvicorn.Config(app, log_level="debug" if getattr(args, "debug", False) else "warning",
                                            access_log=False, lifespan="on", http=guarded_protocol(limits),
                                            ws="none", timeout_keep_alive=5))
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
