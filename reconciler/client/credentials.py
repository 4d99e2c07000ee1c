"""Access credentials for TOS Vectors, and how they are shown (masked, never the secret)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.errors import ConfigError

ENV_ACCESS_KEY = "TOS_ACCESS_KEY"
ENV_SECRET_KEY = "TOS_SECRET_KEY"
ENV_SECURITY_TOKEN = "TOS_SECURITY_TOKEN"


def mask_access_key(access_key: str) -> str:
    """'AKLTexample…' -> 'AKLT****'; short keys are hidden entirely."""
    if len(access_key) >= 8:
        return access_key[:4] + "****"
    return "****"


@dataclass(frozen=True)
class Credentials:
    """An access key pair, optionally with an STS security token.

    `repr()`/`str()` show the access key masked and never the secret key or the token.
    Empty access and secret keys together mean anonymous requests (as in the SDK).
    """

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The SDK strips both keys before signing; a stray newline from a secrets file
        # would otherwise give a different signature.
        object.__setattr__(self, "access_key", self.access_key.strip())
        object.__setattr__(self, "secret_key", self.secret_key.strip())

    @property
    def masked_access_key(self) -> str:
        return mask_access_key(self.access_key)

    @property
    def anonymous(self) -> bool:
        return self.access_key == "" and self.secret_key == ""

    def __repr__(self) -> str:
        token = "<hidden>" if self.security_token else "None"
        return (
            f"Credentials(access_key={self.masked_access_key!r}, secret_key=<hidden>, "
            f"security_token={token})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Credentials | None:
        """Read TOS_ACCESS_KEY, TOS_SECRET_KEY and TOS_SECURITY_TOKEN.

        Returns None when neither key is set; raises ConfigError when only one is.
        """
        ak = environ.get(ENV_ACCESS_KEY, "").strip()
        sk = environ.get(ENV_SECRET_KEY, "").strip()
        token = environ.get(ENV_SECURITY_TOKEN, "").strip() or None
        if not ak and not sk:
            return None
        if not ak or not sk:
            missing = ENV_ACCESS_KEY if not ak else ENV_SECRET_KEY
            present = ENV_SECRET_KEY if not ak else ENV_ACCESS_KEY
            raise ConfigError(f"{present} is set but {missing} is not; set both or neither")
        for name, value in ((ENV_ACCESS_KEY, ak), (ENV_SECRET_KEY, sk), (ENV_SECURITY_TOKEN, token or "")):
            if not (value.isascii() and value.isprintable()):  # they go into headers and the signature
                raise ConfigError(f"{name} holds characters no key or token has (they are printable ASCII); "
                                  "check how it was set")  # the value itself is never shown
        return cls(ak, sk, token)
