"""The flags of every command: the argument parser, its help (one example and the exit
codes per command) and Terraform's single-dash spellings. Parsing only: the commands are
cli/commands.py, the entry point cli/parser.py."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from reconciler import __version__
from reconciler.cli.exitcodes import EXIT_ERROR
from reconciler.cli.target import DEFAULT_REGION
from reconciler.rules.names import default_endpoint
from reconciler.util.argtypes import non_empty, positive_float, positive_int
from reconciler.util.text import printable  # an error line may carry a service's or a file's words

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
                   f"(default: TOS_ENDPOINT, else {default_endpoint('REGION')})")
    p.add_argument("--region", help=f"region (default: TOS_REGION, else {DEFAULT_REGION})")
    p.add_argument("--account-id", metavar="ID", help="account id (default: TOS_ACCOUNT_ID)")
    p.add_argument("--parallelism", type=positive_int, default=10, metavar="N",
                   help="concurrent API calls (default 10)")
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
}


def _command(sub: argparse._SubParsersAction[_Parser], name: str, help: str,
             *parents: _Parser) -> argparse.ArgumentParser:
    example, codes = _EPILOG[name]
    return sub.add_parser(name, parents=list(parents), help=help, description=help[0].upper() + help[1:] + ".",
                          epilog=f"example:\n  {example}\n\nexit codes: {codes}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser(*, serve: bool = True) -> argparse.ArgumentParser:
    """Every command's flags. `serve=False` leaves out those of `serve` (the emulator's own
    module defines them): a command line that does not run `serve` then loads no emulator
    code at all, which is most of what `--help` and `validate` would otherwise import."""
    parser = _Parser(
        prog="reconciler", parents=[_common(top=True)],
        description="Declarative reconciler for TOS Vectors: validate, plan and apply YAML manifests.",
        epilog="example:\n  reconciler plan -f examples/quickstart.yaml\n\n"
               "exit codes: 0 success, 1 error, 2 changes or drift (plan --detailed-exitcode, drift), 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common, manifest, api, targets = _common(), _manifest_opts(), _api_opts(), _targets()

    _command(sub, "validate", "check manifests (no API calls)", common, manifest)

    p = _command(sub, "plan", "show what apply would change", common, manifest, api, targets)
    p.add_argument("--destroy", action="store_true",
                   help="plan what `destroy` would delete (apply it with --allow-destroy)")
    p.add_argument("--out", metavar="FILE", type=non_empty,
                   help="save the plan for `reconciler apply FILE` and `reconciler show FILE`")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help=_FORMAT_HELP)
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 0 no changes, 2 changes, 1 error")
    p.add_argument("--refresh-only", action="store_true",
                   help="only report what changed outside the manifests (the drift report, with plan's exit "
                        "codes: 2 with --detailed-exitcode when something drifted)")

    p = _command(sub, "apply", "plan and apply, or apply a saved plan", common, manifest, api, targets)
    p.add_argument("plan_file", nargs="?", metavar="FILE",
                   help="a plan saved with `plan --out` (also `plan --destroy --out`)")
    p.add_argument("--auto-approve", action="store_true", help=_AUTO_APPROVE)
    p.add_argument("--allow-destroy", action="store_true",
                   help="allow changes that delete or replace data; a saved `plan --destroy` needs it too")
    p.add_argument("--allow-public-access", action="store_true",
                   help="allow changes that grant access to anyone (*); a saved plan needs it too")

    p = _command(sub, "show", "print a saved plan as `plan` would (no API call, no credentials)", common)
    p.add_argument("plan_file", metavar="FILE", help="a plan saved with `plan --out`")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help=_FORMAT_HELP)

    p = _command(sub, "destroy", "delete everything the manifest declares", common, manifest, api, targets)
    p.add_argument("--auto-approve", action="store_true", help=_AUTO_APPROVE)

    p = _command(sub, "drift", "report drift (exit 0 in sync, 2 drift)", common, manifest, api)
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help=_FORMAT_HELP)

    p = _command(sub, "access", "who may do what on each declared bucket and index (no API calls)", common, manifest)
    p.add_argument("--principal", dest="principals", action="append", default=[], metavar="P",
                   type=non_empty,
                   help='show this principal (ACCOUNT/NAME, ACCOUNT or "*"); '
                        'default: "*" and every one the policies name')
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")

    p = _command(sub, "export", "print a manifest of the live state", common, api)
    p.add_argument("--bucket", dest="buckets", action="append", default=[], metavar="NAME",
                   help="only this bucket (repeatable; default: every bucket)")
    p.add_argument("--prefix", metavar="P", help="only buckets whose names start with P")

    p = _command(sub, "output", "print the live identifiers of the declared resources (TRNs, endpoints, "
                 "creation times) for the next job of a pipeline", common, manifest, api)
    p.add_argument("--format", choices=["json", "text"], default="json",
                   help="json (default; schemas/output.schema.json) or text: KEY=VALUE lines for "
                        "$GITHUB_OUTPUT or a dotenv file")

    p = _command(sub, "graph", "print the plan's dependency graph", common, manifest, api, targets)
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid", help="output format (default mermaid)")

    p = _command(sub, "completion", "print a shell completion script", common)
    p.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to complete for")

    p = _command(sub, "serve", "run the TOS Vectors emulator over HTTP", common)
    if serve:
        from reconciler.emulator import server  # the app itself loads only when serving

        server.add_serve_arguments(p)
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
