"""Where a command goes: target resolution is decided in target.py alone (no I/O here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.parser import build_parser, subcommands
from reconciler.cli.target import (
    Settings,
    default_endpoint,
    resolve,
    resolve_for_access,
    resolve_for_saved,
)
from reconciler.errors import ConfigError
from reconciler.plan.model import Target

KEYS = {"TOS_ACCESS_KEY": "AKLTexampleexample", "TOS_SECRET_KEY": "secretsecretsecret"}
SAVED = Target("https://tosvectors-cn-shanghai.volces.com", "cn-shanghai", "2100000042")


def test_the_default_endpoint_is_the_regions_and_the_help_says_so() -> None:
    resolved = resolve(Settings(region="cn-guangzhou", account_id="2100000001"), environ=KEYS)
    assert resolved.target.endpoint == default_endpoint("cn-guangzhou") == "https://tosvectors-cn-guangzhou.volces.com"
    endpoint_help = subcommands(build_parser())["plan"]._option_string_actions["--endpoint"].help
    assert endpoint_help is not None and default_endpoint("REGION") in endpoint_help


def test_a_saved_plan_says_where_it_goes_when_nothing_else_does() -> None:
    resolved = resolve_for_saved(SAVED, Settings(), environ=KEYS)
    assert resolved.target == SAVED and resolved.credentials is not None


def test_flags_then_environment_fill_a_saved_plans_target_before_the_plan_does(tmp_path: Path) -> None:
    env = {**KEYS, "TOS_ACCOUNT_ID": "2100000007", "TOS_REGION": "cn-beijing"}
    from_env = resolve_for_saved(SAVED, Settings(), environ=env).target
    assert (from_env.account_id, from_env.region) == ("2100000007", "cn-beijing")  # the caller reports the mismatch
    from_flags = resolve_for_saved(SAVED, Settings(account_id="2100000009", region="cn-guangzhou"), environ=env).target
    assert (from_flags.account_id, from_flags.region) == ("2100000009", "cn-guangzhou")
    embedded = resolve_for_saved(SAVED, Settings(endpoint="embedded"), environ={}, cwd=tmp_path)
    assert embedded.target.embedded and embedded.target.account_id == SAVED.account_id


def test_access_takes_the_manifests_account_then_the_environments_then_the_one_the_policies_name() -> None:
    env = {"TOS_ACCOUNT_ID": "2100000007", "TOS_REGION": "cn-shanghai"}
    assert resolve_for_access("2100000001", "cn-guangzhou", {"2100000003"}, environ=env) == \
        ("2100000001", "cn-guangzhou")
    assert resolve_for_access(None, None, {"2100000003"}, environ=env) == ("2100000007", "cn-shanghai")
    assert resolve_for_access(None, None, {"2100000003"}, environ={}) == ("2100000003", "cn-beijing")
    with pytest.raises(ConfigError, match="no account id: declare account in the manifest or set TOS_ACCOUNT_ID"):
        resolve_for_access(None, None, {"2100000003", "2100000004"}, environ={})
