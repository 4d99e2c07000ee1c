"""The flags of `reconciler watch`: durations, --listen, webhook URLs (never echoed with
their token), and flags that only make sense together."""

from __future__ import annotations

import argparse

import pytest

from reconciler.errors import ConfigError
from reconciler.watch import add_watch_arguments, config_from_args
from reconciler.util.secrets import shown_url
from reconciler.watch.config import duration, listen_address


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("-f", dest="files", action="append", default=[])
    add_watch_arguments(p)
    return p.parse_args(["-f", "m.yaml", *argv])


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("0.5s", 0.5), ("90m", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["5", "0s", "-1m", "5 minutes", "1d", "", "200h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="30s, 5m or 1h"):
        duration(text)


def test_the_default_interval_is_five_minutes() -> None:
    assert config_from_args(parse()).interval == 300


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:9464", ("127.0.0.1", 9464)), (":9464", ("0.0.0.0", 9464)), ("[::1]:80", ("::1", 80)),
    ("localhost:0", ("localhost", 0))])
def test_listen(text: str, address: tuple[str, int]) -> None:
    assert listen_address(text) == address


@pytest.mark.parametrize("text", ["9464", "host:", "host:99999", "::1:80", "host:port"])
def test_bad_listen(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        listen_address(text)


def test_a_webhook_url_is_shown_by_scheme_and_host_only() -> None:
    url = "https://user:pw@hooks.example.com:8443/services/T000/B000/XXXXSECRETXXXX?token=abc"
    assert shown_url(url) == "https://…@hooks.example.com:8443/…"
    assert shown_url("https://hooks.example.com") == "https://hooks.example.com"


def test_a_bad_webhook_url_is_refused_without_echoing_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--webhook", "ftp://hooks.example.com/T0KEN-0123456789")
    err = capsys.readouterr().err
    assert "T0KEN" not in err and "ftp://hooks.example.com/…" in err


@pytest.mark.parametrize("flag", ["--allow-destroy", "--allow-public-access"])
def test_consent_flags_need_remediate(flag: str) -> None:
    with pytest.raises(ConfigError, match=f"{flag} only applies with --remediate"):
        config_from_args(parse(flag))
    assert config_from_args(parse(flag, "--remediate")).remediate


def test_standard_input_can_be_read_once_only() -> None:
    args = parse()
    args.files = ["-"]
    with pytest.raises(ConfigError, match="--once"):
        config_from_args(args)
    args.once = True
    assert config_from_args(args).once


def test_a_plan_key_too_short_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "short")
    with pytest.raises(ConfigError, match="RECONCILER_PLAN_KEY is too short"):
        config_from_args(parse("--plan-dir", "plans"))


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        parse("--help")
    assert stop.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--interval", "--listen", "--events", "--webhook", "--plan-dir", "--remediate", "--allow-destroy",
                 "--allow-public-access", "--once"):
        assert flag in out
    assert "up to 10% jitter" in out


def test_manifests_are_required() -> None:
    args = parse()
    args.files = []
    with pytest.raises(ConfigError, match="no manifest given"):
        config_from_args(args)


def test_a_webhook_url_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_HOOK", " https://hooks.example.com/services/T0KEN \n")
    assert config_from_args(parse("--webhook", "env:CHAT_HOOK")).webhooks == ("https://hooks.example.com/services/T0KEN",)


@pytest.mark.parametrize("flag", ["env:", "env:1ABC", "env:A-B", "env:A B"])
def test_env_needs_a_variable_name(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--webhook", flag)
    assert "expected env:NAME" in capsys.readouterr().err


def test_env_with_a_url_in_place_of_a_name_does_not_echo_it(capsys: pytest.CaptureFixture[str]) -> None:
    """`--webhook env:$URL`: the shell put the URL, token and all, where the name goes."""
    with pytest.raises(SystemExit):
        parse("--webhook", "env:https://hooks.example.com/services/T0KEN")
    err = capsys.readouterr().err
    assert "expected env:NAME" in err and "T0KEN" not in err and "hooks.example.com" not in err
