"""The command line: parse flags, call the engine, render, return an exit code.

No reconciliation logic lives here; see engine.py, planner.py and executor.py.
"""

from __future__ import annotations

import argparse
import gc
import sys
from typing import Sequence

from reconciler import __version__
from reconciler.argtypes import positive_float, positive_int

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERRUPTED = 0, 1, 2, 130


# --- argument parsing ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """A usage error is one line and exit 1, as every other error: argparse's own exit 2
    means "changes" to `plan --detailed-exitcode` and "drift" to `drift`, which a CI job or
    a scheduled drift check would misread."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"error: {message} (see {self.prog} --help)\n")


def _common(dest: str = "debug") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--debug", dest=dest, action="store_true",
                   help="log requests on stderr (secrets masked) and show tracebacks")
    return p


def _manifest_opts() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("-f", "--file", dest="files", action="extend", nargs="+", metavar="PATH", default=[],
                   help="manifest files or directories (every *.yaml/*.yml inside)")
    p.add_argument("--var", dest="vars", action="append", default=[], metavar="KEY=VALUE",
                   help="set a ${VAR} for interpolation (wins over the environment)")
    return p


def _api_opts() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--endpoint", help="service endpoint URL (default: TOS_ENDPOINT, else https://tosvectors-REGION.volces.com)")
    p.add_argument("--region", help="region (default: TOS_REGION, else cn-beijing)")
    p.add_argument("--account-id", help="account id (default: TOS_ACCOUNT_ID)")
    p.add_argument("--parallelism", type=positive_int, default=10, metavar="N", help="concurrent API calls (default 10)")
    p.add_argument("--max-rps", type=positive_float, metavar="R", help="cap on requests per second")
    return p


def _targets() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--target", dest="targets", action="append", default=[], metavar="ADDR",
                   help="limit to this address (bucket.NAME, index.BUCKET/NAME, policy.BUCKET) and its dependencies")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="reconciler", parents=[_common("debug_top")],
        description="Declarative reconciler for TOS Vectors: validate, plan and apply YAML manifests.")
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common, manifest, api, targets = _common(), _manifest_opts(), _api_opts(), _targets()

    sub.add_parser("validate", parents=[common, manifest], help="check manifests (no API calls)")

    p = sub.add_parser("plan", parents=[common, manifest, api, targets], help="show what apply would change")
    p.add_argument("--out", metavar="FILE", help="save the plan for `reconciler apply FILE`")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 0 no changes, 2 changes, 1 error")

    p = sub.add_parser("apply", parents=[common, manifest, api, targets], help="plan and apply, or apply a saved plan")
    p.add_argument("plan_file", nargs="?", metavar="FILE", help="a plan saved with `plan --out`")
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument("--allow-destroy", action="store_true", help="allow changes that delete or replace data")
    p.add_argument("--allow-public-access", action="store_true",
                   help='allow policy changes that grant anyone ("*") access')

    p = sub.add_parser("destroy", parents=[common, manifest, api, targets], help="delete everything the manifest declares")
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")

    p = sub.add_parser("drift", parents=[common, manifest, api], help="report drift (exit 0 in sync, 2 drift)")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text")

    p = sub.add_parser("access", parents=[common, manifest],
                       help="who may do what on each declared bucket and index (no API calls)")
    p.add_argument("--principal", dest="principals", action="append", default=[], metavar="P",
                   help='show this principal (ACCOUNT/NAME, ACCOUNT or "*"); default: "*" and every one the policies name')
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser("export", parents=[common, api], help="print a manifest of the live state")
    p.add_argument("--bucket", dest="buckets", action="append", default=[], metavar="NAME")
    p.add_argument("--prefix", metavar="P", help="only buckets whose names start with P")

    p = sub.add_parser("graph", parents=[common, manifest, api, targets], help="print the plan's dependency graph")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")

    from reconciler.emulator import server  # light: the app itself loads only for `serve`

    p = sub.add_parser("serve", parents=[common], help="run the TOS Vectors emulator over HTTP")
    server.add_serve_arguments(p)
    return parser


# --- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C at any point, start-up (imports) included: no traceback
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # a subcommand's own default would hide `reconciler --debug CMD`, hence two dests
    args.debug = args.debug or args.debug_top
    if args.debug:
        import logging

        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("reconciler").setLevel(logging.DEBUG)
    if args.command != "serve":
        # A command keeps what it builds to the end (manifest, live state, plan): tens of
        # thousands of objects that the collector, at its default threshold of 700, would
        # traverse again hundreds of times to free almost nothing (0.3 s of a
        # 5,000-index plan). The long-running emulator keeps the defaults.
        gc.set_threshold(10_000, 10, 10)
    from reconciler import commands
    from reconciler.errors import ManifestError, ReconcilerError

    try:
        return int(getattr(commands, args.command)(args))
    except ManifestError as e:
        for d in e.diagnostics:
            print(d, file=sys.stderr)
        n = sum(1 for d in e.diagnostics if d.severity == "error")
        print(f"{n} error{'s' if n != 1 else ''} in the manifest; nothing was changed", file=sys.stderr)
        return EXIT_ERROR
    except ReconcilerError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # a bug: say so in one line unless asked for the traceback
        if args.debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
