"""The one error tree of reconciler.

    ReconcilerError                  anything the CLI reports as a clean one-line error
    ├── ConfigError                  bad flags, environment or target settings
    ├── ManifestError                manifest problems; carries every Diagnostic at once
    ├── PlanFileError                a saved plan that is corrupt, foreign or stale
    ├── RefusedError                 a guardrail said no (destroy without --allow-destroy, ...)
    └── ApiError                     anything that went wrong talking to the service
        ├── TransportError           no HTTP answer: connection refused/reset, timeout
        └── ServiceError             the service answered with an error status
            ├── ValidationError      400 ValidationException (and other 400s)
            ├── AccessDeniedError    403 AccessDeniedException / RequestTimeTooSkewed
            ├── QuotaExceededError   402 ServiceQuotaExceededException
            ├── NotFoundError        404 VectorBucketNotFound / VectorIndexNotFound / policy
            ├── ConflictError        409 ConflictException
            ├── ThrottledError       429 TooManyRequestsException
            └── ServerError          5xx InternalServerException / ServiceUnavailableException

`str()` of every error is one readable line with no secret in it.

An ApiError of a write whose request may have reached the service without an answer
coming back (a timeout, a connection dropped after sending) has `outcome_unknown` set:
the write may or may not have taken effect, which is not the same as failing.
"""

from __future__ import annotations

from typing import NamedTuple


class ReconcilerError(Exception):
    """Base of every error reconciler reports without a traceback."""


class ConfigError(ReconcilerError):
    pass


class Diagnostic(NamedTuple):  # not a frozen dataclass: `dataclasses` costs every command ~5 ms to import
    """One problem (or warning) found in a manifest, located at file:line:col (1-based)."""

    file: str
    line: int
    col: int
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"


class ManifestError(ReconcilerError):
    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class PlanFileError(ReconcilerError):
    pass


class RefusedError(ReconcilerError):
    pass


class ApiError(ReconcilerError):
    """An API call failed. `action` is the TOS Vectors action name (e.g. "CreateIndex")."""

    outcome_unknown = False  # see the module docstring; set by the client's transport

    def __init__(self, action: str, message: str, attempts: int = 1):
        self.action = action
        self.message = message
        self.attempts = attempts
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.action}: {self.message}"


class TransportError(ApiError):
    pass


class ServiceError(ApiError):
    """The service answered with an error status and (usually) a JSON error body."""

    def __init__(
        self,
        action: str,
        status: int,
        code: str,
        message: str,
        request_id: str = "",
        ec: str = "",
        host_id: str = "",
        retry_after: float | None = None,
        attempts: int = 1,
    ):
        self.status = status
        self.code = code
        self.request_id = request_id
        self.ec = ec
        self.host_id = host_id
        self.retry_after = retry_after
        super().__init__(action, message, attempts)

    def __str__(self) -> str:
        parts = [f"{self.action}: {self.status} {self.code}: {self.message}"]
        if self.ec:
            parts.append(f"EC {self.ec}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return " (".join([parts[0], ", ".join(parts[1:]) + ")"]) if len(parts) > 1 else parts[0]


class ValidationError(ServiceError):
    pass


class AccessDeniedError(ServiceError):
    pass


class QuotaExceededError(ServiceError):
    pass


class NotFoundError(ServiceError):
    pass


class ConflictError(ServiceError):
    pass


class ThrottledError(ServiceError):
    pass


class ServerError(ServiceError):
    pass


_BY_STATUS: dict[int, type[ServiceError]] = {
    400: ValidationError,
    402: QuotaExceededError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: ThrottledError,
}


def service_error_class(status: int, code: str) -> type[ServiceError]:
    """Map an HTTP status and service Code to the class of the error tree."""
    if code == "TooManyRequestsException":
        return ThrottledError
    if code.endswith("NotFound") or code == "NotFoundException":
        return NotFoundError
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ServiceError)
