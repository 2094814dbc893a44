"""Settings: EXECUTOR_* variables, their bounds, and the combinations refused at start-up.

Every test reads a fresh environment (the autouse ``clean_environ`` strips EXECUTOR_*)
and never a .env file (``_env_file=None``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from src.language.catalogue import CATALOGUE
from src.settings import (
    MIN_MEMORY_MB,
    Settings,
    malformed_variables,
    unknown_variables,
    variable_names,
    warn_unknown_variables,
)

SECRET = "s3cr3t-token-value-0123456789"


def from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


# ---------------------------------------------------------------------- defaults


def test_defaults_load_without_any_variable() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.execution_timeout_s == 5.0


def test_default_allowed_imports_are_the_whole_catalogue() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.allowed_imports == frozenset(CATALOGUE)


def test_default_has_no_token() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.api_token is None


def test_default_token_is_not_configured() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.token_configured is False


# ---------------------------------------------------------------------- from the environment

FROM_ENV = [
    pytest.param("EXECUTOR_EXECUTION_TIMEOUT", "7", "execution_timeout_s", 7.0, id="timeout-contract-name"),
    pytest.param("EXECUTOR_EXECUTION_TIMEOUT_S", "8", "execution_timeout_s", 8.0, id="timeout-with-unit"),
    pytest.param("EXECUTOR_MAX_TIMEOUT_S", "60", "max_timeout_s", 60.0, id="max-timeout"),
    pytest.param("EXECUTOR_MAX_MEMORY_MB", "512", "max_memory_mb", 512, id="memory"),
    pytest.param("EXECUTOR_MAX_MEMORY_MB", str(MIN_MEMORY_MB), "max_memory_mb", MIN_MEMORY_MB, id="memory-minimum"),
    pytest.param("EXECUTOR_MAX_CONCURRENT_EXECUTIONS", "3", "max_concurrent_executions", 3, id="concurrency"),
    pytest.param("EXECUTOR_MAX_QUEUED_EXECUTIONS", "0", "max_queued_executions", 0, id="no-queue"),
    pytest.param("EXECUTOR_PREFORK_WORKERS", "1", "prefork_workers", 1, id="prefork"),
    pytest.param("EXECUTOR_MAX_AST_DEPTH", "50", "max_ast_depth", 50, id="ast-depth"),
]


@pytest.mark.parametrize(("variable", "raw", "field", "expected"), FROM_ENV)
def test_variable_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, field: str, expected: object
) -> None:
    settings = from_env(monkeypatch, **{variable: raw})
    assert getattr(settings, field) == expected


def test_variable_without_the_prefix_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, MAX_MEMORY_MB="512")
    assert settings.max_memory_mb == 256


def test_allowed_imports_are_parsed_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_ALLOWED_IMPORTS=" json , re,,math ")
    assert settings.allowed_imports == frozenset({"json", "re", "math"})


def test_dotted_catalogue_module_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_ALLOWED_IMPORTS="collections,collections.abc")
    assert settings.allowed_imports == frozenset({"collections", "collections.abc"})


def test_empty_allowed_imports_means_no_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_ALLOWED_IMPORTS="")
    assert settings.allowed_imports == frozenset()


def test_token_is_read_as_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET)
    assert isinstance(settings.api_token, SecretStr)


def test_token_value_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET)
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == SECRET


def test_token_configured_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET).token_configured is True


def test_empty_token_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert from_env(monkeypatch, EXECUTOR_API_TOKEN="").token_configured is False


@pytest.mark.parametrize("render", [repr, str], ids=["repr", "str"])
def test_token_does_not_appear_when_settings_are_printed(
    monkeypatch: pytest.MonkeyPatch, render: Callable[[object], str]
) -> None:
    settings = from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET)
    assert SECRET not in render(settings)


def test_token_does_not_appear_in_a_json_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET)
    assert SECRET not in settings.model_dump_json()


def test_settings_are_frozen() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        settings.max_memory_mb = 1


# ---------------------------------------------------------------------- refusals

REFUSED = [
    pytest.param({"EXECUTOR_EXECUTION_TIMEOUT": "0"}, id="timeout-zero"),
    pytest.param({"EXECUTOR_EXECUTION_TIMEOUT": "-1"}, id="timeout-negative"),
    pytest.param({"EXECUTOR_EXECUTION_TIMEOUT_S": "0"}, id="timeout-s-zero"),
    pytest.param({"EXECUTOR_EXECUTION_TIMEOUT": "nan"}, id="timeout-nan"),
    pytest.param({"EXECUTOR_EXECUTION_TIMEOUT": "soon"}, id="timeout-not-a-number"),
    pytest.param({"EXECUTOR_MAX_TIMEOUT_S": "0"}, id="max-timeout-zero"),
    pytest.param({"EXECUTOR_MAX_MEMORY_MB": str(MIN_MEMORY_MB - 1)}, id="memory-below-minimum"),
    pytest.param({"EXECUTOR_MAX_MEMORY_MB": "0"}, id="memory-zero"),
    pytest.param({"EXECUTOR_MAX_CPU_S": "0"}, id="cpu-zero"),
    pytest.param({"EXECUTOR_MAX_CONCURRENT_EXECUTIONS": "0"}, id="no-slots"),
    pytest.param({"EXECUTOR_MAX_QUEUED_EXECUTIONS": "-1"}, id="negative-queue"),
    pytest.param({"EXECUTOR_MAX_STDOUT_BYTES": "10"}, id="stdout-budget-tiny"),
    pytest.param({"EXECUTOR_ALLOWED_IMPORTS": "json,socket"}, id="import-outside-catalogue"),
    pytest.param({"EXECUTOR_EXECUTION_TIMEOUT": "40", "EXECUTOR_MAX_TIMEOUT_S": "30"}, id="timeout-above-max"),
    pytest.param({"EXECUTOR_MAX_CODE_BYTES": "4096", "EXECUTOR_MAX_BODY_BYTES": "2048"}, id="code-above-body"),
]


@pytest.mark.parametrize("env", REFUSED)
def test_unsafe_value_stops_start_up(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        from_env(monkeypatch, **env)


def test_import_outside_the_catalogue_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="not in the vetted catalogue: socket, subprocess"):
        from_env(monkeypatch, EXECUTOR_ALLOWED_IMPORTS="json,subprocess,socket")


def test_timeout_above_max_names_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="EXECUTOR_EXECUTION_TIMEOUT_S must not exceed EXECUTOR_MAX_TIMEOUT_S"):
        from_env(monkeypatch, EXECUTOR_EXECUTION_TIMEOUT="40", EXECUTOR_MAX_TIMEOUT_S="30")


def test_timeout_equal_to_max_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_EXECUTION_TIMEOUT="30", EXECUTOR_MAX_TIMEOUT_S="30")
    assert settings.execution_timeout_s == 30.0


def test_memory_refusal_names_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=f"greater than or equal to {MIN_MEMORY_MB}"):
        from_env(monkeypatch, EXECUTOR_MAX_MEMORY_MB="32")


def test_refusal_does_not_echo_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as caught:
        from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET, EXECUTOR_EXECUTION_TIMEOUT="0")
    assert SECRET not in str(caught.value)


# ---------------------------------------------------------------------- token file


def test_token_is_read_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(SECRET + "\n")  # as `kubectl create secret` and editors leave it
    settings = from_env(monkeypatch, EXECUTOR_API_TOKEN_FILE=str(tmp_path / "token"))
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == SECRET
    assert settings.token_configured


def test_token_file_and_token_together_are_refused_without_echoing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text(SECRET)
    with pytest.raises(ValidationError, match="not both") as caught:
        from_env(monkeypatch, EXECUTOR_API_TOKEN=SECRET, EXECUTOR_API_TOKEN_FILE=str(tmp_path / "token"))
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b" \n", "is empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b"x" * 5000, "larger than 4096 bytes"),
    ],
)
def test_unusable_token_file_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "token").write_bytes(content)
    with pytest.raises(ValidationError, match=message):
        from_env(monkeypatch, EXECUTOR_API_TOKEN_FILE=str(tmp_path / "token"))


def test_missing_token_file_stops_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot be read: No such file"):
        from_env(monkeypatch, EXECUTOR_API_TOKEN_FILE=str(tmp_path / "absent"))


def test_field_refusal_does_not_echo_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as caught:
        from_env(monkeypatch, EXECUTOR_MAX_MEMORY_MB="32")
    assert "input_value" not in str(caught.value)


# ---------------------------------------------------------------------- required layers


def test_the_containing_layers_and_the_repairs_are_required_by_default() -> None:
    assert Settings(_env_file=None).required_layers == frozenset(  # type: ignore[call-arg]
        {"rlimits", "no_new_privs", "landlock", "seccomp", "interpreter_repairs"}
    )


def test_required_layers_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, EXECUTOR_REQUIRED_LAYERS=" seccomp, landlock ,network_namespace")
    assert settings.required_layers == frozenset({"seccomp", "landlock", "network_namespace"})


def test_requiring_no_layer_is_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert from_env(monkeypatch, EXECUTOR_REQUIRED_LAYERS="").required_layers == frozenset()


def test_unknown_layer_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="unknown layers: apparmor"):
        from_env(monkeypatch, EXECUTOR_REQUIRED_LAYERS="seccomp,apparmor")


# ---------------------------------------------------------------------- unknown variables


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        pytest.param("EXECUTOR_MAX_MEMORY", "EXECUTOR_MAX_MEMORY_MB", id="missing-unit"),
        pytest.param("EXECUTOR_API_TOKN", "EXECUTOR_API_TOKEN", id="typo"),
        pytest.param("executor_max_timeout", "EXECUTOR_MAX_TIMEOUT_S", id="lower-case"),
        pytest.param("EXECUTOR_COMPLETELY_DIFFERENT_THING", None, id="nothing-close"),
    ],
)
def test_an_unknown_variable_is_named_with_the_closest_setting(name: str, closest: str | None) -> None:
    assert unknown_variables({name: "1"}) == [(name, closest)]


def test_every_setting_and_alias_is_a_known_variable() -> None:
    known = {f"EXECUTOR_{name.upper()}" for name in Settings.model_fields} | {"EXECUTOR_EXECUTION_TIMEOUT"}
    assert unknown_variables(dict.fromkeys(known, "1")) == []
    assert known == variable_names()


def test_other_variables_are_not_ours_to_judge() -> None:
    assert unknown_variables({"PATH": "/bin", "EXECUTORS": "4", "HOME": "/root"}) == []


def test_unknown_variables_are_warned_about_without_their_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"EXECUTOR_MAX_CPU={SECRET}\n")
    with caplog.at_level("WARNING", logger="src.settings"):
        warn_unknown_variables({"EXECUTOR_MAX_MEMORY": SECRET, "EXECUTOR_MAX_MEMORY_MB": "512"}, env_file)
    assert [r.getMessage() for r in caplog.records] == [
        "EXECUTOR_MAX_CPU is not a setting of this service and is ignored; did you mean EXECUTOR_MAX_CPU_S?",
        "EXECUTOR_MAX_MEMORY is not a setting of this service and is ignored; did you mean EXECUTOR_MAX_MEMORY_MB?",
    ]
    assert SECRET not in caplog.text


def test_known_variables_give_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="src.settings"):
        warn_unknown_variables({"EXECUTOR_MAX_MEMORY_MB": "512"}, tmp_path / "absent.env")
    assert caplog.records == []


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(f"EXECUTOR_API_TOKEN:{SECRET}", id="colon"),
        pytest.param(f"EXECUTOR_API_TOKEN{SECRET}", id="no-separator"),
        pytest.param(f"EXECUTOR_API_TOKEN-{SECRET}", id="dash"),
        pytest.param(f"EXECUTOR_API_TOKEN.{SECRET}", id="dot"),
        pytest.param("EXECUTOR_API_TOKEN_0123456789abcdef", id="underscore-for-equals"),
        pytest.param("EXECUTOR_API_TOKEN0123456789abcdef", id="glued-hex"),
    ],
)
def test_a_dotenv_line_without_equals_is_counted_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, line: str
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(line + "\n")
    with caplog.at_level("WARNING", logger="src.settings"):
        warn_unknown_variables({}, env_file)
    assert SECRET not in caplog.text
    assert "0123456789abcdef" not in caplog.text
    assert [r.getMessage().split(" are not")[0] for r in caplog.records] == [
        f"1 EXECUTOR_ line(s) in the environment or {env_file}"
    ]


def test_malformed_names_are_counted_only_when_they_mention_the_prefix() -> None:
    assert malformed_variables({"EXECUTOR_X:y": None, "OTHER:z": None, "EXECUTOR_OK": "1"}) == 1


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("with space", id="space"),
        pytest.param("café-token", id="accent"),
        pytest.param("tab\ttoken", id="tab"),
        pytest.param(" padded", id="leading-space"),
    ],
)
def test_a_token_no_client_could_send_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    with pytest.raises(ValidationError, match="only visible ASCII characters"):
        from_env(monkeypatch, EXECUTOR_API_TOKEN=token)


def test_a_token_of_visible_ascii_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "Az09!#$%&*+-./:;<=>?@[]^_`{|}~"
    assert from_env(monkeypatch, EXECUTOR_API_TOKEN=token).api_token == SecretStr(token)


def test_extra_tokens_are_accepted_after_the_main_one_and_checked_like_it(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(api_token=SecretStr("main-token"), extra_api_tokens="alpha, beta")
    assert settings.accepted_tokens == ("main-token", "alpha", "beta")
    with pytest.raises(ValidationError, match="visible ASCII"):
        settings_factory(api_token=SecretStr("main-token"), extra_api_tokens="has space,ok")
    # Without the main token nothing is accepted (the service answers 503).
    assert settings_factory(api_token=None, extra_api_tokens="alpha").accepted_tokens == ()


def test_a_real_name_that_extends_an_alias_is_not_taken_for_a_glued_value() -> None:
    # EXECUTOR_EXECUTION_TIMEOUT_S begins with its own alias EXECUTOR_EXECUTION_TIMEOUT.
    assert malformed_variables({"EXECUTOR_EXECUTION_TIMEOUT_S": "3"}) == 0
    assert malformed_variables({"EXECUTOR_EXECUTION_TIMEOUT_Sabc": "3"}) == 1
