"""Credentials: environment loading and masking."""

from __future__ import annotations

import pytest

from reconciler.client import Credentials
from reconciler.client.credentials import mask_access_key
from reconciler.errors import ConfigError


def test_repr_and_str_mask_everything_secret():
    creds = Credentials("AKLTexampleAccessKey", "exampleSecretKey", "STS-TOKEN-XYZ")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "AKLT****" in text
        assert "exampleAccessKey" not in text
        assert "exampleSecretKey" not in text
        assert "STS-TOKEN-XYZ" not in text
    assert repr(Credentials("AKLTexampleAccessKey", "s")) == (
        "Credentials(access_key='AKLT****', secret_key=<hidden>, security_token=None)"
    )


def test_short_access_keys_are_hidden_entirely():
    assert mask_access_key("AKLT") == "****"
    assert mask_access_key("") == "****"
    assert mask_access_key("AKLT1234") == "AKLT****"


def test_from_env():
    env = {"TOS_ACCESS_KEY": "AKLTabcdefgh", "TOS_SECRET_KEY": "sk", "TOS_SECURITY_TOKEN": "tok"}
    assert Credentials.from_env(env) == Credentials("AKLTabcdefgh", "sk", "tok")
    env.pop("TOS_SECURITY_TOKEN")
    assert Credentials.from_env(env) == Credentials("AKLTabcdefgh", "sk", None)
    assert Credentials.from_env({}) is None
    assert Credentials.from_env({"TOS_ACCESS_KEY": " ", "TOS_SECRET_KEY": ""}) is None
    assert Credentials.from_env({"TOS_SECURITY_TOKEN": "tok"}) is None


def test_from_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("TOS_ACCESS_KEY", "AKLTfromenv1")
    monkeypatch.setenv("TOS_SECRET_KEY", "secret")
    monkeypatch.delenv("TOS_SECURITY_TOKEN", raising=False)
    assert Credentials.from_env() == Credentials("AKLTfromenv1", "secret")


@pytest.mark.parametrize(
    "env, missing",
    [({"TOS_ACCESS_KEY": "AKLTabcdefgh"}, "TOS_SECRET_KEY"), ({"TOS_SECRET_KEY": "sk"}, "TOS_ACCESS_KEY")],
)
def test_half_a_key_pair_is_a_config_error(env, missing):
    with pytest.raises(ConfigError, match=f"but {missing} is not") as info:
        Credentials.from_env(env)
    assert "sk" not in str(info.value).replace("TOS_SECRET_KEY", "")


def test_credentials_are_frozen():
    creds = Credentials("a", "b")
    with pytest.raises(AttributeError):
        creds.secret_key = "c"  # type: ignore[misc]
    assert Credentials("", "").anonymous and not creds.anonymous


def test_keys_are_stripped_like_the_sdk():
    creds = Credentials(" AKLTabcdefgh\n", "secret\r\n", "tok")
    assert (creds.access_key, creds.secret_key, creds.security_token) == ("AKLTabcdefgh", "secret", "tok")


@pytest.mark.parametrize("name", ["TOS_ACCESS_KEY", "TOS_SECRET_KEY", "TOS_SECURITY_TOKEN"])
@pytest.mark.parametrize("bad", ["sec\udcffret", "sécret", "sec\tret"])  # \udcff: a byte that is not UTF-8
def test_a_key_that_cannot_be_sent_is_a_config_error_that_does_not_show_it(name, bad):
    env = {"TOS_ACCESS_KEY": "AKLTabcdefgh", "TOS_SECRET_KEY": "sk", "TOS_SECURITY_TOKEN": "tok", name: bad}
    with pytest.raises(ConfigError, match=f"^{name} holds characters") as info:
        Credentials.from_env(env)
    assert "ret" not in str(info.value)
