"""`python -m reconciler.emulator`: the same server as `reconciler serve`, without the CLI."""

from __future__ import annotations

import argparse
import sys

from reconciler.emulator.server import add_serve_arguments, run_from_args
from reconciler.errors import ReconcilerError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.emulator",
                                     description="Run the TOS Vectors emulator over HTTP.")
    add_serve_arguments(parser)
    try:
        return run_from_args(parser.parse_args())
    except ReconcilerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
