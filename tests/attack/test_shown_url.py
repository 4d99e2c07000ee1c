"""`shown_url` hides a URL's user part and path, but it splits the authority at the first
`/`, `?` or `#` as a URL parser does: a key pair whose secret holds one of them (base64
secrets do: `/` is one of its 64 characters) is then read as `host:port` and shown, access
key and the secret's first part, in the error that refuses it. A backslash is not a
separator to it either, so `host\\TOKEN` shows the token. Whatever is not plainly
`host[:port]` must not be shown."""

from __future__ import annotations

import argparse

import pytest

from reconciler.client.addressing import Endpoint
from reconciler.errors import ConfigError
from reconciler.util.secrets import shown_url
from reconciler.watch.config import webhook_url

AK = "AKLTshownurlAK0123"
HIDDEN = (AK, "PW9z", "SEKRET", "T0KEN")
URLS = [
    f"https://{AK}:PW9z/cdSEKRET@127.0.0.1:9",  # a base64 secret with a "/" in it
    f"https://{AK}:PW9zSEKRET?x@127.0.0.1:9",
    f"https://{AK}:PW9zSEKRET#x@127.0.0.1:9",
    f"{AK}:PW9z/cdSEKRET@127.0.0.1:9",  # no scheme: the form target.py refuses
    "https://hooks.example.com\\T0KEN",
    "https://hooks.example.com:443\\T0KEN",
]


def leaked(text: str) -> list[str]:
    return [s for s in HIDDEN if s in text]


@pytest.mark.parametrize("url", URLS)
def test_shown_url_shows_no_user_part_or_path_whatever_separates_them(url: str) -> None:
    assert not leaked(shown_url(url)), shown_url(url)


@pytest.mark.parametrize("url", [u for u in URLS if "://" in u])
def test_an_endpoint_refused_for_its_form_is_not_echoed(url: str) -> None:
    """Also the parser's own words: "Port could not be cast to integer value as 'PW9zSEKRET'"."""
    try:
        Endpoint.parse(url, region="cn-beijing")
    except ConfigError as e:
        assert not leaked(str(e)), str(e)
    else:  # accepted: then it is shown as given, so it must not have held a path
        pytest.fail(f"{url!r} accepted as an endpoint")


@pytest.mark.parametrize("url", [u for u in URLS if "://" in u])
def test_a_webhook_url_with_a_token_past_a_backslash_or_in_a_password_is_not_echoed(url: str) -> None:
    try:
        webhook_url(url)
    except argparse.ArgumentTypeError as e:
        assert not leaked(str(e)), str(e)
    else:  # accepted: every delivery warning then shows shown_url(url)
        assert not leaked(shown_url(url)), shown_url(url)
