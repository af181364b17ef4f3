"""One typed settings object: config/default.toml, overridden by the environment."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .countries import COUNTRIES
from .ratelimit import Limit

# "N/S" in files and the environment, a Limit in code.
RateLimit = Annotated[Limit, NoDecode, BeforeValidator(lambda v: Limit.parse(v) if isinstance(v, str) else v)]
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "default.toml"
# Secrets come from the environment only; a config file that names one is refused.
SECRETS = frozenset(
    {
        "jwt_secret",
        "password_pepper",
        "smtp_password",
        "google_client_secret",
        "facebook_app_secret",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "paypal_client_secret",
        "media_s3_access_key_id",
        "media_s3_secret_access_key",
    }
)


def _conventional(name: str, default: Any) -> Any:
    """A field also read from its conventional unprefixed variable (DATABASE_URL, PORT)."""
    return Field(default, validation_alias=AliasChoices(name, f"SHOPFLOW_{name}", name.lower()))


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHOPFLOW_",
        extra="forbid",
        populate_by_name=True,
        frozen=True,
    )

    env: Literal["dev", "test", "production"] = "dev"
    host: str = "0.0.0.0"
    port: int = _conventional("PORT", 8080)
    database_url: str = _conventional("DATABASE_URL", "")
    redis_url: str = _conventional("REDIS_URL", "")
    redis_timeout: float = Field(0.5, gt=0, le=30)  # seconds a Redis connect or reply may take
    data_dir: Path = Path(".shopflow")

    migrate_on_start: bool = True
    db_pool_min: int = Field(2, ge=0)
    db_pool_max: int = Field(20, ge=1)
    db_acquire_timeout: float = Field(2.0, gt=0)
    db_statement_timeout: float = Field(10.0, gt=0)  # the server cancels a longer statement
    db_command_timeout: float = Field(2.0, gt=0)  # we stop waiting for an answer (a frozen server)
    db_connect_timeout: float = Field(2.0, gt=0)

    max_concurrent_requests: int = Field(1000, ge=1)
    request_timeout: float = Field(30.0, gt=0)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # Slow or greedy clients (see README, "Production"): seconds, then connection caps.
    max_queue_delay: float = Field(0.5, gt=0)  # a request that waited longer to start is answered 503
    header_timeout: float = Field(10.0, gt=0)  # for a request's headers, from its first byte
    body_read_timeout: float = Field(5.0, gt=0)  # between two reads of a request's body
    keepalive_timeout: float = Field(75.0, gt=0)  # an idle connection is closed after this
    max_connections: int = Field(10_000, ge=1)  # per web process; more are answered 503
    max_connections_per_address: int = Field(1024, ge=1)  # trusted proxies excepted
    # seconds a request holds its Idempotency-Key unless its process renews the hold (every
    # fifth of it); a key whose process died is taken over by a retry this long after
    idempotency_lease: float = Field(5.0, ge=1, le=300)
    # seconds a long job (image processing) holds its outbox row; a worker that died
    # mid-job has its job taken over by another this long after it started
    job_lease: float = Field(300.0, ge=1, le=3600)
    access_log: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    worker_metrics_port: int = Field(9191, ge=0, le=65535)  # `shopflow worker` serves /metrics here; 0: off

    cache_ttl: int = Field(300, ge=0)
    listing_cache_ttl: int = Field(60, ge=1)
    local_cache_ttl: float = Field(30.0, ge=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")

    # Accounts and sessions
    bcrypt_cost: int = Field(12, ge=4, le=16)
    bcrypt_threads: int = Field(0, ge=0, le=64)  # hashes at once (0: one per core); more wait, off the loop
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "shopflow"
    jwt_audience: str = "shopflow-api"
    access_token_ttl: int = Field(900, ge=60, le=86400)
    session_idle_timeout: int = Field(7 * 86400, ge=300)  # a session not refreshed for this long ends
    session_lifetime: int = Field(30 * 86400, ge=300)  # and every session ends this long after login

    # Rate limits, "N/S": N requests per S seconds, per client address or per account.
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()  # only their X-Forwarded-For is believed
    rate_limit_api_ip: RateLimit = Limit(3000, 60)  # every /api/ request, per client address
    rate_limit_api_settle: float = Field(0.5, gt=0, le=10)  # seconds between a process's settlements
    rate_limit_login_ip: RateLimit = Limit(20, 60)
    rate_limit_login_account: RateLimit = Limit(10, 60)
    rate_limit_register_ip: RateLimit = Limit(10, 3600)
    rate_limit_refresh_ip: RateLimit = Limit(60, 60)
    rate_limit_oauth_ip: RateLimit = Limit(30, 60)
    login_backoff_after: int = Field(5, ge=1)  # failed sign-ins before each next one must wait
    login_backoff_max: int = Field(900, ge=1)  # seconds; the wait doubles up to this, never locks out

    # Mail: "log" keeps mail in the mail_outbox table and the log (the embedded default);
    # "smtp" sends it through the server named here.
    public_url: str = "http://localhost:8080"  # where links in mail point
    mail_mode: Literal["log", "smtp"] = "log"
    mail_from: str = "ShopFlow <shop@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_starttls: bool = True
    email_token_ttl: int = Field(86400, ge=60)  # seconds a verification link works
    reset_token_ttl: int = Field(3600, ge=60)  # seconds a password reset link works
    rate_limit_forgot_ip: RateLimit = Limit(10, 3600)
    rate_limit_forgot_account: RateLimit = Limit(3, 3600)

    # Sign-in with Google (OpenID Connect) and Facebook: offered once the client id is set
    # here and the secret in the environment. The URLs are the providers' own.
    oauth_state_ttl: int = Field(600, ge=60, le=3600)  # seconds a started sign-in may take
    google_client_id: str = ""
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    google_issuer: tuple[str, ...] = ("https://accounts.google.com", "accounts.google.com")
    facebook_app_id: str = ""
    facebook_authorize_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    facebook_token_url: str = "https://graph.facebook.com/v21.0/oauth/access_token"
    facebook_me_url: str = "https://graph.facebook.com/v21.0/me"

    # Carts, checkout and orders. Money in minor units; tax rates in basis points (1900 = 19 %),
    # charged on the subtotal and shipping; "default" covers the countries not named.
    cart_ttl: int = Field(30 * 86400, ge=3600)  # seconds an idle cart lives
    reconcile_after: int = Field(10, ge=1)  # minutes before the provider is asked about an unpaid order
    # Stripe: offered once SHOPFLOW_STRIPE_SECRET_KEY and SHOPFLOW_STRIPE_WEBHOOK_SECRET are set.
    stripe_api_base: str = "https://api.stripe.com"
    # The storefront's card step loads Stripe.js from here (only on that step) with this key;
    # without the key the storefront offers no card payment. Tests point it at localstripe.
    stripe_publishable_key: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # PayPal: offered once the client id, SHOPFLOW_PAYPAL_CLIENT_SECRET and the webhook id are set.
    paypal_api_base: str = "https://api-m.paypal.com"  # sandbox: https://api-m.sandbox.paypal.com
    paypal_client_id: str = ""
    paypal_webhook_id: str = ""
    reservation_ttl: int = Field(900, ge=60)  # seconds stock is held for an unpaid order
    shipping_rates: dict[str, int] = {"default": 1500, "US": 500}
    tax_rates: dict[str, int] = {"default": 0}

    @field_validator("shipping_rates", "tax_rates")
    @classmethod
    def _per_country(cls, v: dict[str, int]) -> dict[str, int]:
        if "default" not in v:
            raise ValueError('needs a "default" entry')
        if bad := [k for k, n in v.items() if n < 0 or (k != "default" and k not in COUNTRIES)]:
            raise ValueError(f"unknown country or negative amount: {', '.join(bad)}")
        return v

    # Product media: the bytes on a local disk (under data_dir/media unless media_local_dir
    # names a directory) or in an S3 bucket; with a CDN, variant URLs point at it.
    media_storage: Literal["local", "s3"] = "local"
    media_local_dir: Path | None = None
    media_max_bytes: int = Field(25 * 1024 * 1024, ge=1024)  # an upload past this is refused, nothing kept
    media_s3_bucket: str = ""
    media_s3_region: str = "us-east-1"
    media_s3_endpoint_url: str = ""  # an S3-compatible store (MinIO, R2, ...); empty: AWS
    media_s3_max_connections: int = Field(64, ge=1, le=1024)  # to S3 at once, per process; more wait
    media_cdn_url: str = ""  # e.g. https://cdn.shop.example/media; empty: {public path}/media/{key}
    media_memory_cache_mb: int = Field(64, ge=0)  # per web process, for the variants served most; 0: none
    # The variants every image is made in (a change re-keys them: `shopflow media reprocess`)
    # and what an original may be before it is refused.
    media_widths: tuple[int, ...] = (160, 320, 480, 640, 960, 1280, 1600, 1920, 2560)
    media_avif_quality: int = Field(52, ge=1, le=100)
    media_avif_effort: int = Field(2, ge=0, le=9)
    media_webp_quality: int = Field(78, ge=1, le=100)
    media_jpeg_quality: int = Field(80, ge=1, le=100)
    media_max_pixels: int = Field(50_000_000, ge=1)
    media_max_heif_pixels: int = Field(28_000_000, ge=1)  # AVIF/HEIF decode whole: a lower bound on memory
    media_max_frames: int = Field(500, ge=1)
    # Images a worker process makes variants of at once: libvips spreads each over every core,
    # and a 50 MP original peaks near 450 MB, so more only adds memory. More workers scale it.
    media_jobs_at_once: int = Field(1, ge=1, le=32)

    @field_validator("media_widths")
    @classmethod
    def _widths(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or list(v) != sorted(set(v)) or v[0] < 1 or v[-1] > 16383:
            raise ValueError("must be unique widths from 1 to 16383, ascending")
        return v

    @field_validator("stripe_js_url")
    @classmethod
    def _script_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v  # kept as written: Stripe.js (and localstripe's) is at a path ending in /

    @field_validator("media_s3_endpoint_url", "media_cdn_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    # Secrets: the environment only (SHOPFLOW_JWT_SECRET, SHOPFLOW_PASSWORD_PEPPER, ...).
    jwt_secret: SecretStr = SecretStr("")
    password_pepper: SecretStr = SecretStr("")
    smtp_password: SecretStr = SecretStr("")
    google_client_secret: SecretStr = SecretStr("")
    facebook_app_secret: SecretStr = SecretStr("")
    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    paypal_client_secret: SecretStr = SecretStr("")
    # Empty: the standard AWS chain (AWS_ACCESS_KEY_ID, ~/.aws, an instance role).
    media_s3_access_key_id: SecretStr = SecretStr("")
    media_s3_secret_access_key: SecretStr = SecretStr("")

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        if not 1 <= v <= 65535:
            raise ValueError("must be between 1 and 65535")
        return v

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, v: str) -> str:
        if v and not v.startswith(("postgres://", "postgresql://")):
            raise ValueError("must be a postgresql:// URL")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str) -> str:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ConfigFile(settings_cls)

    @property
    def dev(self) -> bool:
        return self.env == "dev"


class _ConfigFile(TomlConfigSettingsSource):
    """The file SHOPFLOW_CONFIG_FILE names, else config/default.toml when it is there (an
    installed package has only the defaults in this module, which are the same)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        named = os.environ.get("SHOPFLOW_CONFIG_FILE")
        path = Path(named) if named else DEFAULT_CONFIG
        if named and not path.is_file():
            raise SettingsError(f"SHOPFLOW_CONFIG_FILE: no such file {path}")
        try:
            super().__init__(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as e:
            raise SettingsError(f"{path.name} is not valid TOML: {e}") from None
        if secrets := sorted(SECRETS & self.toml_data.keys()):
            raise SettingsError(f"{path.name}: {', '.join(secrets)} may only come from the environment")


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning any validation error into one line naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
