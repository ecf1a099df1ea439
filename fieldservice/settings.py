"""Settings of the service layer, read once at the edge (CLI, app factory caller) and passed in.

Every field has a ``FIELDGATE_<NAME>`` environment variable (``FIELDGATE_SECRET_KEY``,
``FIELDGATE_TOKEN_TTL_S``...). The argon2 defaults are argon2-cffi's (RFC 9106 low-memory
profile); tests lower them, production must not.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDGATE_", frozen=True, extra="ignore")

    #: signs bearer tokens; when unset, a random key is generated once and kept in the
    #: database (table app_secrets) so that every API process on that database agrees
    secret_key: SecretStr | None = None
    #: keys FIELDGATE_SECRET_KEY had before (comma-separated): their tokens stay valid until
    #: they expire; the configured way to rotate (docs/api.md)
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    #: sign-in throttling: this many failures for one user name within the window lock it out
    #: for the lock-out time; a client address gets ``login_max_failures_per_address``
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_window_s: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    login_lockout_s: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    #: a static bearer token Prometheus may use for /metrics (user tokens work too)
    metrics_token: SecretStr | None = None
    #: serve /metrics without any token (for a scraper on a private network)
    metrics_public: bool = False
    #: the dispatch board's map tiles, e.g. ``https://tile.openstreetmap.org/{z}/{x}/{y}.png``
    #: or a tile server of your own; unset: positions and tracks on a plain background
    map_tile_url: str | None = Field(default=None, max_length=500,
                                     pattern=r"^https?://[^\s\"<>]+$")

    # --- service rules: billing, SLA and escalation, return visits (docs/api.md) ---
    #: currency of new parts' prices (ISO 4217)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    #: minutes from an order's creation until someone must be on the way (depart), and until
    #: the work must be completed, per priority; None: no such deadline for that priority
    sla_urgent_response_min: int | None = Field(default=120, ge=1)
    sla_urgent_resolution_min: int | None = Field(default=24 * 60, ge=1)
    sla_normal_response_min: int | None = Field(default=24 * 60, ge=1)
    sla_normal_resolution_min: int | None = Field(default=5 * 24 * 60, ge=1)
    #: a field worker with fewer active orders (assigned, en route, on site) than this is free
    free_below_active_orders: int = Field(default=1, ge=1, le=100)
    #: the department that owns work orders; staff of other departments are borrowed only
    #: through an escalation the manager approves
    service_department: str = Field(default="service", min_length=1, max_length=64)
    #: return visits are generated this many days ahead of their due date...
    return_visit_lookahead_days: int = Field(default=30, ge=0, le=366)
    #: ...and, for a customer who has none yet, as far back as this
    return_visit_backfill_days: int = Field(default=31, ge=0, le=366)

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # RFC 7518 section 3.2: an HS256 key needs at least 256 bits
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("FIELDGATE_SECRET_KEY must be at least 32 bytes long")
        return value
