"""Which service a command talks to, and the client for it (README.md, "Pointing it at TOS
Vectors": flags, environment, the embedded emulator, the CI rule).

With no endpoint and no credentials the target is the embedded emulator, in-process,
with its data under `.reconciler/local/` in the working directory; `--endpoint embedded`
(or TOS_ENDPOINT=embedded) chooses it on purpose. Under CI the implicit fallback is
refused: a pipeline whose secrets are missing must fail, not "apply" to a throwaway store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

# defined with the flags' help, which loads nothing else
from reconciler.cli.flags import DEFAULT_PARALLELISM, DEFAULT_READ_PARALLELISM, DEFAULT_REGION
from reconciler.errors import ConfigError
from reconciler.rules.names import default_endpoint
from reconciler.util.ci import in_ci
from reconciler.util.secrets import shown_url

if TYPE_CHECKING:  # the client loads only when a command talks to a service; the plan when
    # a target is resolved
    from reconciler.client import Credentials, VectorsClient
    from reconciler.plan.model import Target

__all__ = ["DEFAULT_PARALLELISM", "DEFAULT_READ_PARALLELISM", "DEFAULT_REGION", "EMBEDDED_ACCOUNT", "EMBEDDED_DIR",
           "EMBEDDED_ENDPOINT", "Resolved", "Settings", "in_ci", "open_client", "resolve", "resolve_for_access",
           "resolve_for_saved"]

EMBEDDED_ACCOUNT = "2100000000"
EMBEDDED_DIR = Path(".reconciler") / "local"
EMBEDDED_ENDPOINT = "embedded"  # --endpoint embedded / TOS_ENDPOINT=embedded



@dataclass(frozen=True)
class Settings:
    """Target flags as given on the command line (None = not given)."""

    endpoint: str | None = None
    region: str | None = None
    account_id: str | None = None
    parallelism: int = DEFAULT_PARALLELISM  # changes in flight (apply's DAG)
    max_rps: float | None = None
    # Reads in flight (refresh, probes, re-reads, output, export): a read changes nothing, so
    # more at once only shortens the wait; on 429 the client's limiter cuts. `--parallelism N`
    # sets both.
    read_parallelism: int = DEFAULT_READ_PARALLELISM


@dataclass(frozen=True)
class Resolved:
    target: Target
    credentials: Credentials | None
    data_dir: Path | None  # set for the embedded emulator
    chosen: bool = False  # the embedded emulator was asked for by name, not fallen back to

    @property
    def announcement(self) -> str | None:
        if self.data_dir is None:
            return None
        if self.chosen:
            return f"reconciler: using the embedded emulator (data in {EMBEDDED_DIR}/)"
        return (f"reconciler: no TOS_ENDPOINT or credentials set; using the embedded emulator "
                f"(data in {EMBEDDED_DIR}/)")


def _pick(name: str, flag: str | None, env: str | None, manifest: str | None) -> str | None:
    """Flag, then environment, must agree with what the manifest declares. Surrounding
    whitespace is dropped: a value read from a file (`$(cat account-id)`) ends in a newline."""
    given = (flag or "").strip() or (env or "").strip() or None
    if manifest and given and manifest != given:
        raise ConfigError(f"the manifest declares {name} '{manifest}' but the command line/environment says '{given}'")
    return manifest or given


def resolve(settings: Settings, *, manifest_account: str | None = None, manifest_region: str | None = None,
            environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Resolved:
    from reconciler.client import Credentials
    from reconciler.plan.model import Target

    env = os.environ if environ is None else environ
    region = _pick("region", settings.region, env.get("TOS_REGION"), manifest_region) or DEFAULT_REGION
    if not re.fullmatch(r"[a-z0-9-]+", region):  # one spelling: TRNs and the signing scope use it as is
        raise ConfigError(f"invalid region {region!r}: a region is lower-case letters, digits and '-', "
                          "e.g. cn-beijing")
    account = _pick("account", settings.account_id, env.get("TOS_ACCOUNT_ID"), manifest_account)
    endpoint = (settings.endpoint or "").strip() or env.get("TOS_ENDPOINT", "").strip() or None
    # 127.0.0.1:8765 would otherwise mean https, which an emulator is not ("embedded" is a name, not a URL)
    if endpoint is not None and "://" not in endpoint and endpoint.lower() != EMBEDDED_ENDPOINT:
        shown = shown_url(endpoint)  # a pasted endpoint may carry a key pair (AK:SK@host)
        raise ConfigError(f"invalid endpoint {shown!r}: no scheme; write {'http://' + shown!r} "
                          f"(an emulator) or {'https://' + shown!r}")
    credentials = Credentials.from_env(env)
    if account is not None and not account.isdigit():
        raise ConfigError(f"account id must be digits, got {account!r}")
    chosen = endpoint is not None and endpoint.lower() == EMBEDDED_ENDPOINT
    if endpoint is None and credentials is None and in_ci(env):  # (credentials: neither key is set)
        raise ConfigError("no target: CI is set and none of TOS_ENDPOINT, TOS_ACCESS_KEY, TOS_SECRET_KEY is set; "
                          "set them, or pass --endpoint embedded to use the embedded emulator")
    if chosen or (endpoint is None and credentials is None):
        # one emulator store per region: regions are separate services, as in TOS Vectors
        data_dir = (cwd or Path.cwd()) / EMBEDDED_DIR / region
        # the absolute store path: a plan saved in one directory is for that store only
        target = Target(f"embedded:{data_dir}", region, account or EMBEDDED_ACCOUNT, embedded=True)
        return Resolved(target, None, data_dir, chosen)
    if account is None:
        raise ConfigError("no account id: set TOS_ACCOUNT_ID, pass --account-id, or declare account in the manifest")
    endpoint = endpoint or default_endpoint(region)
    return Resolved(Target(endpoint.rstrip("/"), region, account), credentials, None)


def resolve_for_saved(saved: Target, settings: Settings, *, environ: Mapping[str, str] | None = None,
                      cwd: Path | None = None) -> Resolved:
    """The target of a saved plan: the plan says where it goes, and flags and environment
    fill in only what it leaves open (a disagreement is the caller's to report, against the
    plan file: there is no manifest here)."""
    env = os.environ if environ is None else environ
    settings = replace(settings, account_id=settings.account_id or env.get("TOS_ACCOUNT_ID") or saved.account_id,
                       region=settings.region or env.get("TOS_REGION") or saved.region)
    return resolve(settings, environ=env, cwd=cwd)


def resolve_for_access(manifest_account: str | None, manifest_region: str | None, policy_accounts: set[str],
                       *, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(account, region) that `access` evaluates policies in, with no endpoint or credentials:
    the manifest's, else the environment's, else the one account the policies' resources
    name, and the default region."""
    env = os.environ if environ is None else environ
    account = (manifest_account or env.get("TOS_ACCOUNT_ID") or "").strip()
    region = (manifest_region or env.get("TOS_REGION") or "").strip() or DEFAULT_REGION
    if not account and len(policy_accounts) == 1:
        account = next(iter(policy_accounts))
    if not account:
        raise ConfigError("no account id: declare account in the manifest or set TOS_ACCOUNT_ID "
                          "(the policies' resources do not name exactly one account)")
    return account, region


def open_client(resolved: Resolved, settings: Settings) -> VectorsClient:
    """A client for the resolved target; the embedded emulator runs in-process."""
    from reconciler.client import VectorsClient

    sender = None
    endpoint = resolved.target.endpoint
    if resolved.data_dir is not None:
        from reconciler.cli.inprocess import embedded_sender

        resolved.data_dir.mkdir(parents=True, exist_ok=True)
        sender = embedded_sender(resolved.data_dir, account_id=resolved.target.account_id,
                                 region=resolved.target.region)
        endpoint = "http://127.0.0.1"
    return VectorsClient(
        region=resolved.target.region,
        endpoint=endpoint,
        account_id=resolved.target.account_id,
        credentials=resolved.credentials,
        sender=sender,
        # the limiter starts at the parallelism: above it, a cut on throttling would change nothing
        max_connections=max(settings.read_parallelism, settings.parallelism, 1),
        max_rps=settings.max_rps,
    )
