"""The exit codes (README.md, "Exit codes"), defined once for the parser and the commands."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # an error, a refusal, a cancelled prompt, a usage error
EXIT_CHANGES = 2  # `plan --detailed-exitcode` found changes; `drift` found drift
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
