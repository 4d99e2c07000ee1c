"""The entry point of the `reconciler` command: parse the flags (cli/flags.py), run the
command's function (cli/commands.py) with a Console, and turn what it raises into one line
on stderr and an exit code (README.md, "Exit codes").
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

from reconciler.cli.exitcodes import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from reconciler.cli.flags import (
    DEFAULT_PARALLELISM,
    DEFAULT_READ_PARALLELISM,
    build_parser,
    printable,  # an error line may carry a service's or a file's words
    subcommands,
    terraform_spellings,
)

__all__ = ["build_parser", "main", "subcommands", "terraform_spellings"]  # the flags' names, as before the split

# --- entry point ---------------------------------------------------------------------------


# Command lines whose output is the program's own text alone: nothing in it can be a secret,
# so they skip loading the masking (a few ms of the `--help` a person waits for).
_FIXED_TEXT = (["--help"], ["-h"], ["--version"])


def main(argv: Sequence[str] | None = None) -> int:
    program = argv is None  # the process is this command (tests call main with their own argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv in _FIXED_TEXT:
            return _main(argv)
        from reconciler.util.secrets import masked_output

        with masked_output():  # every line written, debug log and tracebacks included, is masked
            return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C at any point, start-up (imports) included: no traceback
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if program:
            # The interpreter's exit collects every object once more, a few ms of each run
            # (0.25x of `python -c pass` for `validate`) that frees nothing the exit would
            # not. Frozen, they are skipped; atexit handlers, flushing and closing still run.
            gc.freeze()


def _main(argv: list[str]) -> int:
    # the flags of the command being run, and of no other (serve's would load the emulator's module)
    parser = build_parser(only=set(argv))
    args, extra = parser.parse_known_args(terraform_spellings(parser, argv))
    if extra:
        manifests = [a for a in extra if a.endswith((".yaml", ".yml")) or a == "-"]
        if manifests and "files" in args:  # `plan m.yaml`: a habit from other tools
            parser.exit(EXIT_ERROR, f"error: {args.command} reads manifests given with -f: "
                                    f"reconciler {args.command} -f {' '.join(manifests)}\n")
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # a subcommand's own default would hide `reconciler --debug CMD`, hence two dests
    args.debug = args.debug or args.debug_top
    if "parallelism" in args:  # --parallelism N sets both; unset, each has its own default
        args.read_parallelism = args.parallelism or DEFAULT_READ_PARALLELISM
        args.parallelism = args.parallelism or DEFAULT_PARALLELISM
    if args.debug:
        import logging

        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("reconciler").setLevel(logging.DEBUG)
    if args.command not in ("serve", "watch"):  # the long-running ones keep the defaults
        # A command keeps what it builds to the end (manifest, live state, plan): tens of
        # thousands of objects that the collector, at its default threshold of 700, would
        # traverse again hundreds of times to free almost nothing (0.3 s of a
        # 5,000-index plan). The long-running emulator keeps the defaults.
        gc.set_threshold(10_000, 10, 10)
    from reconciler.cli import commands
    from reconciler.cli.console import Console
    from reconciler.errors import ManifestError, ReconcilerError

    console = Console(interactive=getattr(args, "input", "true") != "false")
    no_color = os.environ.get("NO_COLOR")
    if args.no_color or args.no_color_top:
        # as NO_COLOR, for every writer of this run (renderers, the progress line); put back
        # afterwards for a caller that runs main() in its own process (tests do)
        os.environ["NO_COLOR"] = "1"
    try:
        code = int(getattr(commands, args.command)(args, console))
        return EXIT_ERROR if console.lost and code in (EXIT_OK, EXIT_CHANGES) else code
    except ManifestError as e:
        for d in e.diagnostics:
            print(printable(str(d)), file=sys.stderr)
        n = sum(1 for d in e.diagnostics if d.severity == "error")
        # validate never changes anything, so it does not say that nothing was changed
        tail = "" if args.command == "validate" else "; nothing was changed"
        print(f"{n} error{'s' if n != 1 else ''} in the manifest{tail}", file=sys.stderr)
        return EXIT_ERROR
    except ReconcilerError as e:
        # A plan that would destroy protected resources (plan.protection.ProtectedDestroyError,
        # read by its fields: importing it would load the planner for every `validate`): one
        # line per resource, as Terraform's; one alone is its message.
        refused, summary = getattr(e, "refused", ()), getattr(e, "summary", None)
        if summary is not None and len(refused) > 1:
            for line in (*refused, summary):
                print(printable(f"error: {line}"), file=sys.stderr)
            return EXIT_ERROR
        print(printable(f"error: {e}"), file=sys.stderr)
        return int(getattr(e, "exit_code", EXIT_ERROR))  # Ctrl-C at a prompt: 130
    except Exception as e:  # a bug: say so in one line unless asked for the traceback
        if args.debug:  # printed here, while stderr still masks secrets
            import traceback

            traceback.print_exc()
            return EXIT_ERROR
        print(printable(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)"),
              file=sys.stderr)
        return EXIT_ERROR
    finally:
        if no_color is None:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = no_color


if __name__ == "__main__":
    sys.exit(main())
