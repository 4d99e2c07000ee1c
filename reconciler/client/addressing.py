"""Where a request goes (README "Wire protocol" §1).

Bucket actions go to the virtual host `{bucket}-{account}.{endpoint host[:port]}`;
CreateVectorBucket and ListVectorBuckets go to the endpoint host itself. When the endpoint
host is an IP address or `localhost` (an emulator), the connection goes to the endpoint and
the virtual host travels only in the (signed) Host header.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.errors import ConfigError
from reconciler.rules.names import BUCKET_NAME, default_endpoint, name_fault
from reconciler.util.secrets import shown_url

__all__ = ["Endpoint", "bucket_name_problem", "default_endpoint"]

_REGION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
# A host name or an IP address (urlsplit takes `host\TOKEN` or `ho st` as a host name)
_HOST = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")


def bucket_name_problem(bucket: str) -> str | None:
    """Why `bucket` is not a valid vector bucket name (the SDK's client-side rule), or None."""
    if not isinstance(bucket, str) or name_fault(BUCKET_NAME, bucket) is not None:
        return (
            f"invalid vector bucket name {bucket!r}: 3-32 characters of a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        )
    return None


@dataclass(frozen=True)
class Endpoint:
    """A parsed endpoint. `netloc` is host[:port] exactly as given: it is part of the
    signed Host, so it is not normalised (the SDK does not normalise it either)."""

    scheme: str
    netloc: str
    direct: bool  # IP address or localhost: connect here, route by Host header

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @classmethod
    def parse(cls, endpoint: str | None, region: str) -> Endpoint:
        if not _REGION_RE.match(region.strip()):  # it is signed even with an explicit endpoint
            raise ConfigError(f"invalid region {region!r}: letters, digits and '-', like cn-beijing")
        if endpoint is None or not endpoint.strip():
            endpoint = default_endpoint(region.strip())
        text = endpoint.strip()
        if not text.isascii():  # it becomes the Host header, which is ASCII
            raise ConfigError(f"invalid endpoint {shown_url(endpoint)!r}: the host must be ASCII (an internationalised "
                              "name in its xn-- form)")
        if "://" not in text:
            text = "https://" + text
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:  # not its words: "as 'PW9z'" may quote a pasted secret key's start
            what = "the IPv6 address is not closed" if "IPv6" in str(exc) else "the port must be a number 0-65535"
            raise ConfigError(f"invalid endpoint {shown_url(endpoint)!r}: {what}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"invalid endpoint {shown_url(endpoint)!r}: scheme must be http or https")
        if not parts.hostname or "@" in parts.netloc or not _HOST.fullmatch(parts.hostname):
            raise ConfigError(f"invalid endpoint {shown_url(endpoint)!r}: expected [http[s]://]host[:port]")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f"invalid endpoint {shown_url(endpoint)!r}: must not have a path or query")
        return cls(scheme, parts.netloc, _is_direct(parts.hostname))

    def virtual_host(self, bucket: str, account_id: str) -> str:
        return f"{bucket}-{account_id}.{self.netloc}"

    def target(self, bucket: str | None = None, account_id: str | None = None) -> tuple[str, str]:
        """(base URL to connect to, Host header) for a region action (no bucket) or a bucket action."""
        if bucket is None or account_id is None:
            return self.url, self.netloc
        host = self.virtual_host(bucket, account_id)
        if self.direct:
            return self.url, host
        return f"{self.scheme}://{host}", host


def _is_direct(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True
