"""Every EXECUTOR_* setting, typed, with units in the names and bounds on every limit.

Nonsense values stop start-up with a message naming the variable: a sandbox that
silently runs with a zero timeout or a memory limit below what Python needs is worse
than one that refuses to start.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from limits import parse_many
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .language.catalogue import CATALOGUE
from .protocol import LAYERS

log = logging.getLogger(__name__)
ENV_PREFIX = "EXECUTOR_"
ENV_FILE = ".env"

#: Below this the interpreter cannot even start its compiler inside the worker.
MIN_MEMORY_MB = 64
#: A token file larger than this is not a token file.
MAX_TOKEN_FILE_BYTES = 4096
#: Refused executions without it. seccomp needs only libseccomp and a kernel from the
#: last decade, including under Docker's and Kubernetes' default profiles; Landlock and
#: the network namespace depend on the host, so they are opt-in (see docs/deployment.md).
#: The layers that contain a program that escaped the language layer (a memory-safety bug
#: of the interpreter is enough: docs/security.md): without seccomp it may open sockets and
#: start processes, without Landlock read any file the worker's user can. A host that
#: lacks one refuses executions until the operator lists what it has. The interpreter
#: repairs close the memory-safety routes known to reach an escape (worker/repairs.py):
#: a checkout set up without a C compiler lacks them.
DEFAULT_REQUIRED_LAYERS = frozenset({"rlimits", "no_new_privs", "landlock", "seccomp", "interpreter_repairs"})


def _check_sendable(token: SecretStr) -> None:
    if not all("!" <= char <= "~" for char in token.get_secret_value()):
        raise ValueError("the token may hold only visible ASCII characters (no spaces, no accents)")


def _read_token_file(path: str) -> str:
    """The token in a Docker/Kubernetes secret file: the whole file, without the
    trailing newline editors and ``kubectl create secret`` leave."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"EXECUTOR_API_TOKEN_FILE cannot be read: {exc.strerror}") from None
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise ValueError(f"EXECUTOR_API_TOKEN_FILE is larger than {MAX_TOKEN_FILE_BYTES} bytes")
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError("EXECUTOR_API_TOKEN_FILE is not UTF-8 text") from None
    if not token:
        raise ValueError("EXECUTOR_API_TOKEN_FILE is empty")
    return token


def _default_concurrency() -> int:
    return max(2, os.cpu_count() or 2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        # A refusal names the variable and the rule, never the value: the value may be
        # the token (or sit next to it in the same model-level check).
        hide_input_in_errors=True,
    )

    api_token: SecretStr | None = Field(default=None, description="shared secret for X-Executor-Token")
    api_token_file: Path | None = Field(
        default=None, description="file holding the token instead (Docker and Kubernetes secrets)"
    )
    extra_api_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="more accepted tokens, comma-separated (one per client): each client's sessions are its own",
    )

    # Time
    execution_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=600,
        validation_alias=AliasChoices(
            "EXECUTOR_EXECUTION_TIMEOUT_S", "EXECUTOR_EXECUTION_TIMEOUT", "execution_timeout_s"
        ),
        description="wall-clock limit when the request gives no timeout_s",
    )
    max_timeout_s: float = Field(default=30.0, gt=0, le=600, description="largest timeout_s a request may ask for")
    body_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="time a request body may take to arrive; slower is a 408"
    )
    queue_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="time a request may wait for an execution slot; longer is a 429"
    )
    template_hang_timeout_s: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="time the template may leave a fork or a liveness ping unanswered before it is declared hung, "
        "killed and restarted (waiting requests get 503)",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="time from a connection's start, or the end of its previous answer, to the end of the next "
        "request's headers; slower connections are closed",
    )
    send_timeout_s: float = Field(
        default=15.0, gt=0, le=300, description="time an answer may wait for a client that stops reading it"
    )
    max_cpu_s: int = Field(default=30, ge=1, le=600, description="RLIMIT_CPU ceiling of a worker")

    # Memory and descriptors
    max_memory_mb: int = Field(default=256, ge=MIN_MEMORY_MB, le=65536, description="RLIMIT_AS of a worker")
    max_open_files: int = Field(default=16, ge=8, le=1024, description="RLIMIT_NOFILE of a worker")

    # Sizes
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576, description="largest request body")
    max_code_bytes: int = Field(default=262_144, ge=64, le=16 * 1_048_576, description="largest program (UTF-8)")
    max_ast_nodes: int = Field(default=50_000, ge=10, le=1_000_000)
    # At most 200: RestrictedPython's transformer and the compiler recurse once per level.
    max_ast_depth: int = Field(default=100, ge=5, le=200, description="deepest nesting of syntax nodes")
    max_context_depth: int = Field(default=32, ge=1, le=128, description="deepest nesting of a context value")
    max_stdout_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    max_stderr_bytes: int = Field(default=262_144, ge=1024, le=64 * 1_048_576)
    max_result_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    # What an MCP client shows its model is only the text content (openai-agents and
    # LangChain pass nothing else on), so the text has its own budget, well below the
    # streams': a model's context is far smaller than 1 MiB of stdout.
    mcp_max_text_bytes: int = Field(
        default=16_384,
        ge=1024,
        le=1_048_576,
        description="budget of the text an MCP run_python answer shows the model; past it a marker says what was cut",
    )
    output_flood_factor: int = Field(
        default=4, ge=1, le=1000, description="a stream past this many times its budget stops the run (limit 'output')"
    )

    # Files: each execution's private working directory (sandbox/workdirs.py)
    files_root: Path | None = Field(
        default=None,
        description="directory in which the service keeps the executions' working directories (one directory "
        "per service process beneath it); default: the system's temporary directory",
    )
    max_files: int = Field(
        default=64, ge=1, le=100_000, description="files in a working directory: those sent and those the program makes"
    )
    max_file_bytes: int = Field(
        default=8 * 1_048_576, ge=1024, le=1024 * 1_048_576, description="largest file, sent or written"
    )
    max_files_bytes: int = Field(
        default=32 * 1_048_576, ge=1024, le=16 * 1024 * 1_048_576, description="all files of a working directory"
    )
    max_path_chars: int = Field(default=255, ge=16, le=4096, description="longest file path, in characters")
    max_path_depth: int = Field(default=8, ge=1, le=64, description="most levels of a file path (a/b/c is 3)")
    max_returned_file_bytes: int = Field(
        default=4 * 1_048_576,
        ge=0,
        le=256 * 1_048_576,
        description="file content an answer carries in all; files past it are listed without their content",
    )

    # The data tier (docs/data.md): numpy, pandas and matplotlib, when installed
    data_tier_enabled: bool = Field(
        default=True,
        description="offer numpy, pandas and matplotlib (when installed) to programs that import them, in a "
        "template of their own",
    )
    data_max_memory_mb: int = Field(
        default=1024,
        ge=MIN_MEMORY_MB,
        le=65536,
        description="RLIMIT_AS of a data-tier worker (the libraries alone map about 300 MB)",
    )
    data_prefork_workers: int = Field(default=2, ge=0, le=256, description="data-tier workers forked ahead of demand")
    max_figures: int = Field(
        default=8, ge=0, le=64, description="open figures rendered into an answer's figures; the rest are dropped"
    )
    max_figure_pixels: int = Field(
        default=4_000_000,
        ge=10_000,
        le=100_000_000,
        description="largest figure (width x height in pixels) rendered or saved; larger ones are refused",
    )

    # Sessions (docs/sessions.md): state across calls, in a worker process of its own
    max_sessions: int = Field(default=32, ge=0, le=10_000, description="sessions open at once in this process")
    max_sessions_per_token: int = Field(default=8, ge=1, le=10_000, description="sessions open at once per token")
    session_idle_timeout_s: float = Field(
        default=600.0, gt=0, le=86_400, description="a session not called for this long ends (reason 'idle')"
    )
    session_lifetime_s: float = Field(
        default=3600.0, gt=0, le=7 * 86_400, description="a session ends this long after it began ('lifetime')"
    )
    session_max_executions: int = Field(
        default=1000, ge=1, le=1_000_000, description="calls a session may run; it ends after the last ('executions')"
    )
    session_max_memory_mb: int = Field(
        default=512,
        ge=MIN_MEMORY_MB,
        le=65536,
        description="RLIMIT_AS of a session's worker, for the whole session (at least its template's one-shot limit)",
    )
    session_max_queued_calls: int = Field(
        default=4, ge=0, le=1000, description="calls waiting for a session's running call; more get 429"
    )
    replica_url: str | None = Field(
        default=None,
        description="this replica's address as its peers reach it (http://10.0.0.5:8030); with a redis:// rate-limit "
        "storage and a replica secret, requests for a session another replica holds are forwarded to it",
    )
    replica_secret: SecretStr | None = Field(
        default=None,
        description="a secret the replicas share and no client holds: it signs the sessions' entries in Redis and "
        "the requests passed between replicas",
    )

    # Pool and admission
    max_concurrent_executions: int = Field(default_factory=_default_concurrency, ge=1, le=256)
    max_queued_executions: int = Field(default=64, ge=0, le=10_000, description="requests waiting for a slot")
    prefork_workers: int = Field(default=4, ge=0, le=256, description="workers forked ahead of demand")
    self_test_interval_s: float = Field(default=30.0, gt=0, le=3600)

    required_layers: Annotated[frozenset[str], NoDecode] = Field(
        default=DEFAULT_REQUIRED_LAYERS,
        description="comma-separated isolation layers without which /execute answers 503 and /health "
        f"says unhealthy ({', '.join(LAYERS)}); empty: none",
    )

    # Rate limits (slowapi; the "limits" notation: "120/minute", "10/second;600/hour").
    rate_limit_execute_per_token: str = Field(
        default="6000/minute", description="POST /execute, per token fingerprint (never the raw token)"
    )
    rate_limit_execute_per_ip: str = Field(default="6000/minute", description="POST /execute, per client IP")
    rate_limit_storage_uri: str = Field(
        default="memory://",
        description="where the counters live: memory:// (this process) or redis://host:port/db (shared by replicas)",
    )
    rate_limit_fail_mode: Literal["open", "closed"] = Field(
        default="open",
        description="while a redis:// storage is unreachable: open counts in this process's memory, closed refuses "
        "executions (503)",
    )
    rate_limits_enabled: bool = Field(default=True)

    # HTTP surface
    cors_allow_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="comma-separated origins allowed to call /execute from a browser; empty: CORS off"
    )
    docs_enabled: bool = Field(default=True, description="serve /docs and /openapi.json (turn off in production)")
    log_format: Literal["json", "text"] = Field(default="json")
    shutdown_retry_after_s: int = Field(default=5, ge=1, le=3600, description="Retry-After of 503s while draining")

    allowed_imports: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(CATALOGUE), description="comma-separated module names, a subset of the vetted catalogue"
    )

    @model_validator(mode="before")
    @classmethod
    def _token_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("api_token_file") in (None, ""):
            return data
        if data.get("api_token") not in (None, ""):
            raise ValueError("set EXECUTOR_API_TOKEN or EXECUTOR_API_TOKEN_FILE, not both")
        return {**data, "api_token": _read_token_file(str(data["api_token_file"]))}

    @field_validator("api_token")
    @classmethod
    def _sendable_token(cls, value: SecretStr | None) -> SecretStr | None:
        # A header carries bytes that clients encode differently (latin-1, UTF-8) and
        # trim: a token with spaces or non-ASCII characters would lock every client out
        # while /health says a token is configured.
        if value is not None:
            _check_sendable(value)
        return value

    @field_validator("extra_api_tokens")
    @classmethod
    def _sendable_tokens(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for token in value:
            _check_sendable(token)
        return value

    @property
    def accepted_tokens(self) -> tuple[str, ...]:
        """Every token a request may carry: the main one first (none without it)."""
        if self.api_token is None or not self.api_token.get_secret_value():
            return ()
        return (self.api_token.get_secret_value(), *(token.get_secret_value() for token in self.extra_api_tokens))

    @field_validator("rate_limit_execute_per_token", "rate_limit_execute_per_ip")
    @classmethod
    def _parseable_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit ({exc}); e.g. '120/minute' or '10/second;600/hour'") from None
        return value

    @field_validator("rate_limit_storage_uri")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise ValueError("must be memory:// or a redis:// URI")
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _explicit_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r}: list each origin as scheme://host[:port]; '*' is not allowed")
        return value

    @field_validator("required_layers")
    @classmethod
    def _known_layers(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(value - set(LAYERS))
        if unknown:
            raise ValueError(f"unknown layers: {', '.join(unknown)} (known: {', '.join(LAYERS)})")
        return value

    @field_validator("allowed_imports", "required_layers", "cors_allow_origins", "extra_api_tokens", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Comma-separated lists in the environment: "a, b,c" (pydantic then makes the
        field's own collection of them)."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_imports")
    @classmethod
    def _vetted_only(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(value - CATALOGUE.keys())
        if unknown:
            raise ValueError(
                f"not in the vetted catalogue: {', '.join(unknown)} (vetted: {', '.join(sorted(CATALOGUE))})"
            )
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.execution_timeout_s > self.max_timeout_s:
            raise ValueError("EXECUTOR_EXECUTION_TIMEOUT_S must not exceed EXECUTOR_MAX_TIMEOUT_S")
        if self.max_code_bytes > self.max_body_bytes:
            raise ValueError("EXECUTOR_MAX_CODE_BYTES must not exceed EXECUTOR_MAX_BODY_BYTES")
        if self.max_file_bytes > self.max_files_bytes:
            raise ValueError("EXECUTOR_MAX_FILE_BYTES must not exceed EXECUTOR_MAX_FILES_BYTES")
        return self

    @property
    def token_configured(self) -> bool:
        return self.api_token is not None and bool(self.api_token.get_secret_value())


def variable_names() -> frozenset[str]:
    """Every environment variable the settings read (field names and their aliases)."""
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        names.add(f"{ENV_PREFIX}{name.upper()}")
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices if str(choice).upper().startswith(ENV_PREFIX))
    return frozenset(names)


#: What a variable's name can be. Anything else seen as a "name" is a malformed line
#: (``EXECUTOR_API_TOKEN:s3cret`` in .env has no ``=``) that may hold a value: never logged.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _hides_a_value(name: str, known: frozenset[str]) -> bool:
    """A line that may be a value glued to a name: not a valid name at all, or a real
    setting's name with more after it (``EXECUTOR_API_TOKEN_<hex>``, ``=`` typed as ``_``)."""
    upper = name.upper()
    # A real name is never one (EXECUTOR_EXECUTION_TIMEOUT_S extends its own alias).
    return not _NAME.fullmatch(name) or (upper not in known and any(upper.startswith(k) for k in known))


def unknown_variables(given: Mapping[str, object]) -> list[tuple[str, str | None]]:
    """The ``EXECUTOR_*`` names in ``given`` that no setting reads, each with the closest
    real name (or None): a mistyped variable must not be silently ignored. Names that may
    hide a value are left out (see ``malformed_variables``)."""
    known = variable_names()
    unknown = sorted(
        name
        for name in given
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known and not _hides_a_value(name, known)
    )
    return [(name, next(iter(difflib.get_close_matches(name.upper(), known, n=1)), None)) for name in unknown]


def malformed_variables(given: Mapping[str, object]) -> int:
    """How many entries of ``given`` mention the prefix but may hide a value."""
    known = variable_names()
    return sum(1 for name in given if ENV_PREFIX in name.upper() and _hides_a_value(name, known))


def warn_unknown_variables(environ: Mapping[str, str], env_file: str | Path = ENV_FILE) -> None:
    """Log a warning for every ``EXECUTOR_*`` variable (in the environment or the .env
    file) that no setting reads, naming the closest real one. Only names are logged,
    never values, nor lines that are not ``NAME=value``: those are counted."""
    given: dict[str, object] = dict(environ)
    if Path(env_file).is_file():
        given.update(dotenv_values(env_file))
    for name, closest in unknown_variables(given):
        hint = f"; did you mean {closest}?" if closest else ""
        log.warning("%s is not a setting of this service and is ignored%s", name, hint)
    malformed = malformed_variables(given)
    if malformed:
        log.warning(
            "%d EXECUTOR_ line(s) in the environment or %s are not NAME=value, or extend a setting's "
            "name, and are ignored (not shown: they may hold a secret); check their '='",
            malformed,
            env_file,
        )


def load_settings() -> Settings:
    """The settings from the environment and .env; on invalid values, a message naming
    each variable on stderr and exit status 2 (never the values: one may be the token)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "\n".join(
            f"  {ENV_PREFIX}{'_'.join(str(p) for p in e['loc']).upper() or '(settings)'}: {e['msg']}"
            for e in exc.errors()
        )
        sys.stderr.write(f"invalid configuration, refusing to start:\n{problems}\n")
        raise SystemExit(2) from None
