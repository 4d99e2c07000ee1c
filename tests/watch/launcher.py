"""`python -m tests.watch.launcher watch ...`: the real CLI with `watch` wired in as the
command layer will wire it (the code below is what goes into cli/parser.py and
cli/commands.py), until the CLI has it itself; from then on this just runs the CLI.

Everything else is the CLI's own: argument parsing (Terraform spellings included), target
resolution with the CI rule, masked stdout/stderr, one-line errors and exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reconciler.cli import commands, parser
from reconciler.manifest import Manifest, load_manifests, parse_var_assignments, read_var_files


# --- cli/commands.py ---------------------------------------------------------------------------
def watch(args: argparse.Namespace) -> int:
    from reconciler import watch as watcher

    config = watcher.config_from_args(args)  # flags that do not go together fail before any read

    def load() -> Manifest:  # read again at every check: --var-file and -f are re-read too
        return load_manifests(args.files, {**read_var_files(args.var_files), **parse_var_assignments(args.vars)})

    manifest = load()  # the first read decides the target, as for `drift` (the CI rule included)
    resolved = commands._resolve(args, manifest)
    settings = commands._settings(args)
    return watcher.run(config, open_client=lambda: commands.open_client(resolved, settings),
                       target=resolved.target, load_manifest=load, say=commands._say, first_manifest=manifest)


# --- cli/parser.py: in build_parser(), after `serve` ----------------------------------------------
def add_watch_command(sub: argparse._SubParsersAction[parser._Parser]) -> None:
    from reconciler.watch import add_watch_arguments

    p = parser._command(sub, "watch", "drift detection as a running service: metrics, events, remediation",
                        parser._common(), parser._manifest_opts(), parser._api_opts())
    add_watch_arguments(p)


EPILOG = ("reconciler watch -f manifests/ --interval 5m --listen :9464 --events drift.jsonl",
          "runs until SIGTERM/SIGINT (exit 0); with --once: 0 in sync, 2 drift, 1 error")


_BUILD = parser.build_parser


def _wired() -> bool:
    return "watch" in parser.subcommands(_BUILD())


def parser_with_watch() -> argparse.ArgumentParser:
    """The CLI's parser, with `watch` added when the CLI does not have it yet."""
    p = _BUILD()
    if "watch" not in parser.subcommands(p):
        parser._EPILOG.setdefault("watch", EPILOG)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                add_watch_command(action)
    return p


def wire() -> None:
    """Put `watch` into the CLI's parser and commands, in this process (the launcher's own:
    never in a test process, where other tests read the parser)."""
    if not _wired():
        parser.build_parser = parser_with_watch  # type: ignore[method-assign]
        commands.watch = watch  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    wire()
    return parser.main(argv)


if __name__ == "__main__":
    sys.exit(main())
