"""One frozen settings object, read from a TOML file and TONGBAN_* environment variables."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("tongban_config_file", default=None)

CITY_CODE = re.compile(r"^[1-8]\d{5}$")  # GB/T 2260 administrative division code

# Where `make run` puts each city's sandbox partner systems, and where each publishes its trust list.
SANDBOX_URLS = {"440300": "http://127.0.0.1:8081", "442000": "http://127.0.0.1:8082", "150100": "http://127.0.0.1:8083"}
SANDBOX_TRUST_LIST_PATH = "/pki/trust-list.jws"


class Settings(BaseSettings):
    """Everything the gateway can be told. Secure defaults; checked at start-up."""

    model_config = SettingsConfigDict(env_prefix="TONGBAN_", frozen=True, extra="forbid")

    # Identity
    city: str = Field("440300", description="GB/T 2260 code of the city operating this gateway")
    gateway_id: str = Field("", description="JWT audience and party id; defaults to <city>.tongban.gateway")
    public_url: str = Field("", description="Base URL callers use; defaults to http://127.0.0.1:<port>")

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(0, ge=0, description="worker processes; 0 means one per CPU core")
    # h11 reads the body of a request that offers an HTTP/2 upgrade (Java's HttpClient does by
    # default); uvicorn's httptools parser drops it (Kludex/uvicorn#2722, MagicStack/httptools#124).
    http_parser: Literal["h11", "httptools"] = "h11"

    # Storage
    var_dir: Path = Path("var")
    database_url: str = ""

    # Keys
    signing_algorithm: Literal["ed25519", "ecdsa-p256"] = "ed25519"
    key_reload_seconds: float = Field(5.0, gt=0)

    # Authentication
    token_max_lifetime_seconds: int = Field(300, ge=1, le=300)
    clock_skew_seconds: int = Field(30, ge=0, le=300)
    signature_max_age_seconds: int = Field(300, ge=1, le=3600)

    # Requests
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)

    # Partner systems reached through adapters: city code -> base URL (defaults: the sandboxes)
    partner_urls: dict[str, str] = Field(default_factory=lambda: dict(SANDBOX_URLS))

    # Mutual recognition: each city's signed trust list, where it is published, and the certificate of
    # its list operator (PEM). An operator not configured here is taken from the sandbox PKI
    # (var/sandbox/pki/<city>/trust-list-operator.crt) when one exists; a city with neither is not trusted.
    trust_list_urls: dict[str, str] = Field(
        default_factory=lambda: {city: f"{url}{SANDBOX_TRUST_LIST_PATH}" for city, url in SANDBOX_URLS.items()}
    )
    trust_list_operators: dict[str, Path] = Field(default_factory=dict)
    trust_list_refresh_seconds: float = Field(300.0, ge=1)
    trust_fetch_timeout_seconds: float = Field(5.0, gt=0)

    # Upstream relay
    upstream_connect_timeout: float = Field(5.0, gt=0)
    upstream_read_timeout: float = Field(30.0, gt=0)
    upstream_retries: int = Field(2, ge=0, le=10)
    upstream_retry_backoff_seconds: float = Field(0.2, ge=0)
    circuit_failure_threshold: int = Field(5, ge=1)
    circuit_reset_seconds: float = Field(30.0, gt=0)
    # Each process keeps members, services, rights and circuit states in memory and looks for
    # changes this often: a revoked right or member takes effect everywhere within this time.
    registry_refresh_seconds: float = Field(0.5, gt=0, le=1.0)
    allow_plain_http_upstreams: bool = False
    # The relay's connection pool under httpx's API: aiohttp's (faster, see `make bench`) or httpcore's.
    upstream_pool: Literal["aiohttp", "httpcore"] = "aiohttp"

    # Public-credit reports: queries per member and purpose in each fixed window, counted in the
    # database (exact across worker processes); credit_quotas overrides the limit per purpose.
    credit_quota_per_window: int = Field(1000, ge=1)
    credit_quota_window_seconds: int = Field(3600, ge=1, le=31 * 24 * 3600)
    credit_quotas: dict[str, int] = Field(default_factory=dict)

    # Idempotency
    idempotency_ttl_seconds: int = Field(24 * 3600, ge=60)

    # Audit
    audit_retry_after_seconds: int = Field(5, ge=1)
    audit_checkpoint_interval_seconds: float = Field(1.0, gt=0, le=3600)
    audit_max_batch: int = Field(1000, ge=1, le=100_000)
    audit_keep_bodies: bool = True
    audit_body_retention_days: int = Field(180, ge=1)
    audit_body_key: str = Field("", description="base64 AES-256 key; made under var/keys on first run if empty")
    audit_witness_keys: list[str] = Field(
        default_factory=list,
        description="C2SP verifier keys of the witnesses that may cosign our checkpoints",
    )

    # Applications: the State Council's holiday notices for years the shipped calendar lacks
    working_days_file: Path | None = Field(
        None,
        description='JSON {"notices": [{"year", "source", "holidays", "working_days"}]}; without it, '
        "a year the chinese-calendar package lacks is counted provisionally",
    )

    # The sandbox's handling systems move an application on one state every this many seconds
    # (0: only when told, through their own endpoints).
    sandbox_step_seconds: float = Field(5.0, ge=0, le=3600)

    # Logs
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    @field_validator("city")
    @classmethod
    def _city_is_a_division_code(cls, value: str) -> str:
        if not CITY_CODE.match(value):
            raise ValueError("must be a six-digit GB/T 2260 code such as 440300")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_absolute(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^/]+", value):
            raise ValueError("must be an absolute http(s) URL such as https://tongban.example.gov.cn")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _fill_derived_defaults(self) -> Settings:
        # Frozen model: derived defaults are set once here and never change.
        if not self.gateway_id:
            object.__setattr__(self, "gateway_id", f"{self.city}.tongban.gateway")
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.var_dir / 'tongban.db'}")
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", self.database_url):
            raise ValueError(
                "database_url must be a SQLAlchemy URL: sqlite:///path/to.db or postgresql+psycopg://user@host/db"
            )
        return self

    @property
    def keys_dir(self) -> Path:
        return self.var_dir / "keys"

    @property
    def sandbox_dir(self) -> Path:
        """The sandbox's PKI, sample documents and partner data (made by `tongban run` / `tongban sandbox`)."""
        return self.var_dir / "sandbox"

    def trust_list_operator_path(self, city: str) -> Path:
        return self.trust_list_operators.get(city) or self.sandbox_dir / "pki" / city / "trust-list-operator.crt"

    @property
    def audit_origin(self) -> str:
        """The checkpoint origin line, also the name of the checkpoint signing key."""
        return f"{self.gateway_id}/audit"

    @property
    def effective_workers(self) -> int:
        return self.workers or (os.cpu_count() or 1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _CONFIG_FILE.get()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings from a TOML file (or $TONGBAN_CONFIG) and the environment.

    Raises ConfigurationError with every problem spelled out, one per line.
    """
    path_text = config_file if config_file is not None else os.environ.get("TONGBAN_CONFIG")
    path = Path(path_text) if path_text else None
    if path is not None and not path.is_file():
        raise ConfigurationError(f"config file {path} does not exist")
    token = _CONFIG_FILE.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        where = f" (from {path} and TONGBAN_* variables)" if path else " (from TONGBAN_* variables)"
        raise ConfigurationError(f"invalid settings{where}: {problems}") from exc
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    finally:
        _CONFIG_FILE.reset(token)
