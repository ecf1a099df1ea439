"""Settings of the service layer, read once at the edge (CLI, app factory caller) and passed in.

Every field has a ``FIELDGATE_<NAME>`` environment variable (``FIELDGATE_SECRET_KEY``,
``FIELDGATE_TOKEN_TTL_S``...). The argon2 defaults are argon2-cffi's (RFC 9106 low-memory
profile); tests lower them, production must not.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDGATE_", frozen=True, extra="ignore")

    #: signs bearer tokens; when unset, a random key is generated once and kept in the
    #: database (table app_secrets) so that every API process on that database agrees
    secret_key: SecretStr | None = None
    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    #: a static bearer token Prometheus may use for /metrics (user tokens work too)
    metrics_token: SecretStr | None = None
    #: serve /metrics without any token (for a scraper on a private network)
    metrics_public: bool = False

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # RFC 7518 section 3.2: an HS256 key needs at least 256 bits
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("FIELDGATE_SECRET_KEY must be at least 32 bytes long")
        return value
