"""The token rules shared by /execute and /mcp (src/api/front.py): which header carries
the token, when two headers are refused, and what a refusal says."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from starlette.datastructures import Headers

from src.api.front import Caller, caller_token, check_token, presented_token
from src.errors import SandboxUnavailable, Unauthorized
from tests.support.server import TOKEN, make_settings


def headers(**given: str) -> Headers:
    return Headers({name.replace("_", "-"): value for name, value in given.items()})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(headers(x_executor_token=TOKEN), TOKEN, id="x-executor-token"),
        pytest.param(headers(authorization=f"Bearer {TOKEN}"), TOKEN, id="bearer"),
        pytest.param(headers(authorization=f"bearer {TOKEN}"), TOKEN, id="bearer-scheme-in-lower-case"),
        pytest.param(headers(authorization=f"Bearer  {TOKEN} "), TOKEN, id="bearer-with-spaces"),
        pytest.param(headers(x_executor_token=TOKEN, authorization=f"Bearer {TOKEN}"), TOKEN, id="both-the-same"),
        pytest.param(headers(authorization=f"Basic {TOKEN}"), None, id="another-scheme-is-not-a-token"),
        pytest.param(headers(authorization="Bearer "), None, id="bearer-without-credentials"),
        pytest.param(headers(authorization=TOKEN), None, id="no-scheme"),
        pytest.param(headers(), None, id="nothing"),
        pytest.param(headers(x_executor_token=""), "", id="empty-header-is-presented-and-wrong"),
    ],
)
def test_the_token_is_read_from_either_header(given: Headers, expected: str | None) -> None:
    assert presented_token(given) == expected


@pytest.mark.parametrize("space", ["\xa0", "\x85"])
def test_bearer_credentials_lose_only_http_whitespace(space: str) -> None:
    # Unicode-aware trimming would make a value that differs from the token byte for
    # byte (and from X-Executor-Token) authenticate.
    given = presented_token(Headers(raw=[(b"authorization", f"Bearer {TOKEN}{space}".encode("latin-1"))]))
    assert given == TOKEN + space
    with pytest.raises(Unauthorized):
        check_token(make_settings(), given)


def test_two_different_tokens_are_refused() -> None:
    with pytest.raises(Unauthorized, match="different tokens"):
        presented_token(headers(x_executor_token=TOKEN, authorization="Bearer another"))


@pytest.mark.parametrize("name", [b"x-executor-token", b"authorization"])
def test_a_token_header_sent_twice_is_refused_whatever_the_values(name: bytes) -> None:
    # Taking the first or the last would let a header a proxy adds (or one smuggled past
    # it) decide which token counts.
    value = b"Bearer " + TOKEN.encode() if name == b"authorization" else TOKEN.encode()
    with pytest.raises(Unauthorized, match="more than once"):
        presented_token(Headers(raw=[(name, value), (name, value)]))


def test_a_proxys_basic_credentials_next_to_the_token_are_not_a_second_token() -> None:
    assert presented_token(headers(x_executor_token=TOKEN, authorization="Basic dXNlcjpwYXNz")) == TOKEN


def test_the_callers_token_for_keys_and_fingerprints_never_raises() -> None:
    assert caller_token(headers(x_executor_token=TOKEN, authorization="Bearer another")) == TOKEN
    assert caller_token(headers(authorization=f"Bearer {TOKEN}")) == TOKEN


def test_the_right_token_is_admitted() -> None:
    check_token(make_settings(), TOKEN)


def test_every_extra_token_is_admitted_and_nothing_else() -> None:
    settings = make_settings(extra_api_tokens="client-a-token,client-b-token")
    for token in (TOKEN, "client-a-token", "client-b-token"):
        check_token(settings, token)
    with pytest.raises(Unauthorized):
        check_token(settings, "client-c-token")


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(TOKEN[:-1], id="prefix"),
        pytest.param(TOKEN + "x", id="longer"),
        pytest.param("\udcff" + TOKEN[1:], id="undecodable-byte"),
    ],
)
def test_a_missing_or_wrong_token_is_unauthorized(given: str | None) -> None:
    with pytest.raises(Unauthorized) as refusal:
        check_token(make_settings(), given)
    assert refusal.value.detail == "missing or invalid token: send X-Executor-Token or Authorization: Bearer"


def test_without_a_configured_token_the_refusal_names_the_settings_to_set() -> None:
    with pytest.raises(SandboxUnavailable) as refusal:
        check_token(make_settings(api_token=None), TOKEN)
    assert "EXECUTOR_API_TOKEN" in refusal.value.detail
    assert "EXECUTOR_API_TOKEN_FILE" in refusal.value.detail
    assert refusal.value.headers == {"Retry-After": "30"}


def test_an_empty_configured_token_admits_no_one() -> None:
    with pytest.raises(SandboxUnavailable):
        check_token(make_settings(api_token=SecretStr("")), "")


def test_the_caller_is_known_by_a_fingerprint_never_the_token() -> None:
    caller = Caller.presenting("127.0.0.1", TOKEN)
    assert caller.token_fingerprint is not None
    assert TOKEN not in repr(caller)
    assert len(caller.token_fingerprint) == 16
