"""Server-side errors of the emulator: one class per service error code.

    EmulatorError                       (never raised itself)
    ├── ValidationException             400  a request field breaks a documented limit
    ├── ServiceQuotaExceededException   402  more than 100 vector buckets in an account
    ├── AccessDeniedException           403  missing/unknown key or a wrong signature
    ├── RequestTimeTooSkewed            403  x-tos-date more than 15 minutes off
    ├── VectorBucketNotFound            404
    ├── VectorIndexNotFound             404
    ├── VectorBucketPolicyNotFound      404
    ├── MethodNotAllowed                405  anything but POST
    ├── ConflictException               409  name taken, or a bucket that still has indexes
    ├── TooManyRequestsException        429  injected by --fault-rate (carries Retry-After)
    ├── InternalServerException         500  injected by --fault-rate, or an emulator bug
    └── ServiceUnavailableException     503  injected by --fault-rate

Codes and statuses are those of the API reference and README "Wire protocol" §0 and §4. The
reference gives no EC values, so the emulator's own ECs all start with "9999-" and never
collide with a real EC a client might special-case (the Go SDK retries 400s with EC
0005-00000044).
"""

from __future__ import annotations

from typing import ClassVar

SHOWN_CHARS = 64  # of a caller's value echoed in a message
MAX_MESSAGE_CHARS = 1000  # a backstop: no error message echoes a huge input whole


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A caller's value for an error message: its repr, or, when long, the repr of its first
    `limit` characters and its size, e.g. `'aaaa…'…(10485760 bytes)`."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() <= 3 * limit:  # str() of a huge int is slow, and refused past 4300 digits
            return str(value)
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}…({len(value.encode('utf-8', 'surrogatepass'))} bytes)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} characters)"


class EmulatorError(Exception):
    """An error answer: the app turns it into the JSON error body of README "Wire protocol" §4."""

    code: ClassVar[str] = "InternalServerException"
    status: ClassVar[int] = 500
    ec: ClassVar[str] = "9999-00000500"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        if len(message) > MAX_MESSAGE_CHARS:
            message = f"{message[:MAX_MESSAGE_CHARS]}…(message cut at {MAX_MESSAGE_CHARS} characters)"
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class ValidationException(EmulatorError):
    code, status, ec = "ValidationException", 400, "9999-00000400"


class ServiceQuotaExceededException(EmulatorError):
    code, status, ec = "ServiceQuotaExceededException", 402, "9999-00000402"


class AccessDeniedException(EmulatorError):
    code, status, ec = "AccessDeniedException", 403, "9999-00000403"


class RequestTimeTooSkewed(EmulatorError):
    code, status, ec = "RequestTimeTooSkewed", 403, "9999-00004031"


# The not-found errors word their own message from the name, so every raise site says it alike.


class VectorBucketNotFound(EmulatorError):
    code, status, ec = "VectorBucketNotFound", 404, "9999-00004041"

    def __init__(self, bucket: str) -> None:
        super().__init__(f"vector bucket {bucket!r} does not exist")


class VectorIndexNotFound(EmulatorError):
    code, status, ec = "VectorIndexNotFound", 404, "9999-00004042"

    def __init__(self, bucket: str, index: str) -> None:
        super().__init__(f"index {index!r} does not exist in vector bucket {bucket!r}")


class VectorBucketPolicyNotFound(EmulatorError):
    code, status, ec = "VectorBucketPolicyNotFound", 404, "9999-00004043"

    def __init__(self, bucket: str) -> None:
        super().__init__(f"vector bucket {bucket!r} has no policy")


class MethodNotAllowed(EmulatorError):
    code, status, ec = "MethodNotAllowed", 405, "9999-00000405"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"allow": "POST"})


class ConflictException(EmulatorError):
    code, status, ec = "ConflictException", 409, "9999-00000409"


class TooManyRequestsException(EmulatorError):
    code, status, ec = "TooManyRequestsException", 429, "9999-00000429"

    def __init__(self, message: str, retry_after: str = "0") -> None:
        super().__init__(message, headers={"retry-after": retry_after})


class InternalServerException(EmulatorError):
    code, status, ec = "InternalServerException", 500, "9999-00000500"


class ServiceUnavailableException(EmulatorError):
    code, status, ec = "ServiceUnavailableException", 503, "9999-00000503"
