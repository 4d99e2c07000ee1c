"""The flags of every command: the argument parser, its help (one example and the exit
codes per command) and Terraform's single-dash spellings. Parsing only: the commands are
cli/commands.py, the entry point cli/parser.py.

Every run of the CLI pays for this module before it does anything, `--help` included, so
it imports argparse and nothing else (no dataclasses, typing, or project module with
them), and `build_parser(only=...)` builds the flags of the command being run alone.
tests/test_pure_core.py and tests/bench/bench_startup.py hold this.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Sequence

from reconciler import __version__
from reconciler.cli.exitcodes import EXIT_ERROR

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (2 ms); mypy reads it as True
if TYPE_CHECKING:
    from typing import NoReturn

DEFAULT_REGION = "cn-beijing"  # cli.target's, which reads it from here
DEFAULT_PARALLELISM = 10  # changes in flight, as Terraform's -parallelism
DEFAULT_READ_PARALLELISM = 64  # reads in flight: 420 reads at 20 ms take 7 round trips, not 42
ENDPOINT_HELP = "https://tosvectors-REGION.volces.com"  # rules.names.default_endpoint("REGION") (a test holds it)


# The flag types, loaded on first use (util.argtypes brings typing): the name is argparse's
# "invalid positive_int value" when a conversion fails outright.
def positive_int(text: str) -> int:
    from reconciler.util import argtypes

    return argtypes.positive_int(text)


def positive_float(text: str) -> float:
    from reconciler.util import argtypes

    return argtypes.positive_float(text)


def non_empty(text: str) -> str:
    from reconciler.util import argtypes

    return argtypes.non_empty(text)


def printable(text: str) -> str:
    from reconciler.util.text import printable as escaped  # an error line may carry a file's words

    return escaped(text)

# --- argument parsing ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """A usage error is one line and exit 1, as every other error: argparse's own exit 2
    means "changes" to `plan --detailed-exitcode` and "drift" to `drift`, which a CI job or
    a scheduled drift check would misread."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"error: {message} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        # every line the parser ends with echoes the command line: escaped, as all error lines
        super().exit(status, None if message is None else printable(message.rstrip("\n")) + "\n")


def _common(top: bool = False) -> _Parser:
    """The flags every command takes, and the top level too (`reconciler --debug plan ...`):
    a subcommand's own default would hide the top level's value, hence a second dest."""
    suffix = "_top" if top else ""
    p = _Parser(add_help=False)
    p.add_argument("--debug", dest="debug" + suffix, action="store_true",
                   help="log requests on stderr (secrets masked) and show tracebacks")
    p.add_argument("--no-color", dest="no_color" + suffix, action="store_true",
                   help="no colour and no terminal escape sequences in any output (as NO_COLOR=1)")
    if not top:  # Terraform's spelling is `plan -input=false`, after the command
        p.add_argument("--input", choices=("true", "false"), nargs="?", const="true", default="true",
                       type=str.lower, metavar="true|false",
                       help="--input=false: never ask (as with no terminal: apply and destroy then need "
                            "--auto-approve); default true")
    return p


def _manifest_opts() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("-f", "--file", dest="files", action="extend", nargs="+", metavar="PATH", default=[],
                   help="manifest files or directories (every *.yaml/*.yml inside); - reads standard input")
    p.add_argument("--var", dest="vars", action="append", default=[], metavar="KEY=VALUE",
                   help="set a ${VAR} for interpolation (wins over --var-file and the environment)")
    p.add_argument("--var-file", dest="var_files", action="append", default=[], metavar="FILE",
                   help="KEY=VALUE lines (# comments, optional quotes); a later file wins over an earlier one")
    return p


def _api_opts() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("--endpoint", metavar="URL", help="service endpoint URL with its scheme "
                   f"(default: TOS_ENDPOINT, else {ENDPOINT_HELP})")
    p.add_argument("--region", help=f"region (default: TOS_REGION, else {DEFAULT_REGION})")
    p.add_argument("--account-id", metavar="ID", help="account id (default: TOS_ACCOUNT_ID)")
    p.add_argument("--parallelism", type=positive_int, metavar="N",
                   help=f"concurrent API calls (default: {DEFAULT_PARALLELISM} changes at a time, and "
                        f"{DEFAULT_READ_PARALLELISM} reads: a refresh waits on round trips, and the client "
                        "backs off when the service throttles)")
    p.add_argument("--max-rps", type=positive_float, metavar="R", help="cap on requests per second")
    return p


def _targets() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("--target", dest="targets", action="append", default=[], metavar="ADDR",
                   help="limit to this address (bucket.NAME, index.BUCKET/NAME, policy.BUCKET) and its dependencies")
    return p


_FORMAT_HELP = "output format (default text)"
_AUTO_APPROVE = "do not ask for confirmation"

# Each command's help ends with one example and its exit codes (README.md, "Exit codes").
_EPILOG = {
    "validate": ("reconciler validate -f examples/quickstart.yaml", "0 valid, 1 invalid"),
    "plan": ("reconciler plan -f examples/quickstart.yaml --out plan.json",
             "0 (with --detailed-exitcode: 0 no changes, 2 changes), 1 error"),
    "apply": ("reconciler apply -f examples/quickstart.yaml   (or: reconciler apply plan.json)",
              "0 applied, 1 error, refused or cancelled, 130 interrupted"),
    "show": ("reconciler show plan.json --format markdown", "0 shown, 1 not a readable plan file"),
    "destroy": ("reconciler destroy -f examples/quickstart.yaml",
                "0 destroyed, 1 error, refused or cancelled, 130 interrupted"),
    "drift": ("reconciler drift -f examples/quickstart.yaml --format markdown", "0 in sync, 2 drift, 1 error"),
    "access": ("reconciler access -f examples/ci-read-access.yaml --principal 2100000001/ci-bot",
               "0, 1 invalid manifest"),
    "export": ("reconciler export --prefix rag- > estate.yaml", "0, 1 error"),
    "output": ('reconciler output -f env.yaml --format text >> "$GITHUB_OUTPUT"',
               "0, 1 error or a declared resource that does not exist (each one named)"),
    "graph": ("reconciler graph -f examples/quickstart.yaml --format dot", "0, 1 error"),
    "completion": ("reconciler completion bash > ~/.local/share/bash-completion/completions/reconciler",
                   "0, 1 unknown shell"),
    "serve": ("reconciler serve --port 8765 --data-dir /tmp/emulator", "runs until stopped (Ctrl-C)"),
    "watch": ("reconciler watch -f manifests/ --interval 5m --listen 127.0.0.1:9464 --events drift.jsonl",
              "runs until SIGTERM/SIGINT (exit 0); with --once: 0 in sync, 2 drift, 1 error"),
}


# --- the commands: (help, the shared flag groups, its own flags) -----------------------------------

Flags = Callable[[argparse.ArgumentParser], None]


def _plan(p: argparse.ArgumentParser) -> None:
    p.add_argument("--destroy", action="store_true",
                   help="plan what `destroy` would delete (apply it with --allow-destroy)")
    p.add_argument("--out", metavar="FILE", type=non_empty,
                   help="save the plan for `reconciler apply FILE` and `reconciler show FILE`")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help=_FORMAT_HELP)
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 0 no changes, 2 changes, 1 error")
    p.add_argument("--refresh-only", action="store_true",
                   help="only report what changed outside the manifests (the drift report, with plan's exit "
                        "codes: 2 with --detailed-exitcode when something drifted)")


def _apply(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan_file", nargs="?", metavar="FILE",
                   help="a plan saved with `plan --out` (also `plan --destroy --out`)")
    p.add_argument("--auto-approve", action="store_true", help=_AUTO_APPROVE)
    p.add_argument("--allow-destroy", action="store_true",
                   help="allow changes that delete or replace data; a saved `plan --destroy` needs it too")
    p.add_argument("--allow-public-access", action="store_true",
                   help="allow changes that grant access to anyone (*); a saved plan needs it too")


def _show(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan_file", metavar="FILE", help="a plan saved with `plan --out`")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help=_FORMAT_HELP)


def _destroy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--auto-approve", action="store_true", help=_AUTO_APPROVE)


def _drift(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help=_FORMAT_HELP)


def _access(p: argparse.ArgumentParser) -> None:
    p.add_argument("--principal", dest="principals", action="append", default=[], metavar="P",
                   type=non_empty,
                   help='show this principal (ACCOUNT/NAME, ACCOUNT or "*"); '
                        'default: "*" and every one the policies name')
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")


def _export(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bucket", dest="buckets", action="append", default=[], metavar="NAME",
                   help="only this bucket (repeatable; default: every bucket)")
    p.add_argument("--prefix", metavar="P", help="only buckets whose names start with P")


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["json", "text"], default="json",
                   help="json (default; schemas/output.schema.json) or text: KEY=VALUE lines for "
                        "$GITHUB_OUTPUT or a dotenv file")


def _graph(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid", help="output format (default mermaid)")


def _completion(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to complete for")


def _serve(p: argparse.ArgumentParser) -> None:
    from reconciler.emulator import server  # its flags live with it; the app loads only when serving

    server.add_serve_arguments(p)


def _watch(p: argparse.ArgumentParser) -> None:
    from reconciler.watch import add_watch_arguments  # light: the loop loads only when a watch runs

    add_watch_arguments(p)

_COMMANDS: dict[str, tuple[str, tuple[str, ...], Flags | None]] = {
    "validate": ("check manifests (no API calls)", ("manifest",), None),
    "plan": ("show what apply would change", ("manifest", "api", "targets"), _plan),
    "apply": ("plan and apply, or apply a saved plan", ("manifest", "api", "targets"), _apply),
    "show": ("print a saved plan as `plan` would (no API call, no credentials)", (), _show),
    "destroy": ("delete everything the manifest declares", ("manifest", "api", "targets"), _destroy),
    "drift": ("report drift (exit 0 in sync, 2 drift)", ("manifest", "api"), _drift),
    "access": ("who may do what on each declared bucket and index (no API calls)", ("manifest",), _access),
    "export": ("print a manifest of the live state", ("api",), _export),
    "output": ("print the declared resources' TRNs and endpoints for the next job",
               ("manifest", "api"), _output),
    "graph": ("print the plan's dependency graph", ("manifest", "api", "targets"), _graph),
    "completion": ("print a shell completion script", (), _completion),
    "serve": ("run the TOS Vectors emulator over HTTP", (), _serve),
    "watch": ("drift detection as a running service: metrics, events, remediation", ("manifest", "api"), _watch),
}
_GROUPS: dict[str, Callable[[], _Parser]] = {"manifest": _manifest_opts, "api": _api_opts, "targets": _targets}


def build_parser(*, only: Collection[str] | None = None) -> argparse.ArgumentParser:
    """Every command with its flags, or, given `only`, every command listed (for `--help`)
    but only those commands with their flags. The entry point passes the words of the
    command line, so the command it runs is complete; `serve`'s flags (the emulator's
    module defines them) and the other commands' are then never built or imported."""
    parser = _Parser(
        prog="reconciler", parents=[_common(top=True)],
        description="Declarative reconciler for TOS Vectors: validate, plan and apply YAML manifests.",
        epilog="example:\n  reconciler plan -f examples/quickstart.yaml\n\n"
               "exit codes: 0 success, 1 error, 2 changes or drift (plan --detailed-exitcode, drift), 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, _Parser] = {}
    for name, (help, uses, flags) in _COMMANDS.items():
        if only is not None and name not in only:
            sub.add_parser(name, help=help, add_help=False)  # listed; its flags are not needed
            continue
        if "common" not in groups:
            groups["common"] = _common()
        parents = [groups["common"]]
        for group in uses:
            if group not in groups:
                groups[group] = _GROUPS[group]()
            parents.append(groups[group])
        example, codes = _EPILOG[name]
        p = sub.add_parser(name, parents=parents, help=help, description=help[0].upper() + help[1:] + ".",
                           epilog=f"example:\n  {example}\n\nexit codes: {codes}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if flags is not None:
            flags(p)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each command, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def terraform_spellings(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Terraform's single-dash long flags (`-auto-approve`, `-out=FILE`, `-format=json`) as
    `--name...`: a token `-name` or `-name=value` becomes `--name...` when `--name` is a long
    option of that command. `-f` and other short options stay, and so does everything after
    `--` or after a flag that takes the next token as its value."""
    commands = subcommands(parser)
    out = list(argv)
    command: argparse.ArgumentParser | None = None
    takes_value = False
    for i, token in enumerate(out):
        if token == "--":
            break
        if takes_value:
            takes_value = False
            continue
        if command is None:
            if token in commands:
                command = commands[token]
            continue
        if token.startswith("-") and not token.startswith("--") and len(token) > 2:
            name = token[1:].split("=", 1)[0]
            if f"--{name}" in command._option_string_actions:
                out[i] = token = "-" + token
        if token.startswith("-") and "=" not in token:
            action = command._option_string_actions.get(token)
            takes_value = action is not None and action.nargs is None and bool(action.option_strings) \
                and not isinstance(action, (argparse._StoreTrueAction, argparse._AppendConstAction))
    return out
