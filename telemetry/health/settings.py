"""Health settings: ``FIELDGATE_*`` environment variables and flags of ``fieldgate gateway`` /
``fieldgate serve``, turned into a :class:`~telemetry.health.config.HealthConfig`.

Precedence, lowest first: the rules' defaults, the TOML file of ``--health-config``
(``[rules.<rule>]`` and ``[models."<model>".<rule>]`` tables of threshold fields), environment
variables, flags. One table (:data:`THRESHOLD_SETTINGS`) drives the flags, the variables and the
mapping onto thresholds, so they cannot drift apart.

The gateway CLI calls::

    add_health_options(parser)               # when building its parser
    settings = health_settings_from(args)    # after parsing
    if settings.enabled:
        async with HealthStack(db=db, config=settings.to_config(),
                               sweep=settings.offline_sweep) as health:
            sink = health.wrap(ingest)
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from telemetry.health.builtin_rules import default_registry
from telemetry.health.config import HealthConfig, Thresholds
from telemetry.health.errors import HealthConfigError
from telemetry.health.rules import RuleRegistry


@dataclass(frozen=True, slots=True)
class ThresholdSetting:
    field: str  #: HealthSettings field; flag --field-with-dashes; env FIELDGATE_FIELD
    rule: str
    threshold: str  #: field of the rule's thresholds
    kind: type
    metavar: str
    help: str


THRESHOLD_SETTINGS: tuple[ThresholdSetting, ...] = (
    ThresholdSetting("offline_after", "offline", "open_after_s", float, "SECONDS",
                     "offline when silent this long (or report interval x N, if longer)"),
    ThresholdSetting("offline_intervals", "offline", "intervals", float, "N",
                     "N of 'report interval x N' for terminals with a known interval"),
    ThresholdSetting("offline_clear_after", "offline", "clear_after_s", float, "SECONDS",
                     "an offline terminal must be back this long before the fault clears"),
    ThresholdSetting("no_fix_after", "no_fix", "open_after_s", float, "SECONDS",
                     "no_fix when reporting without a valid fix this long"),
    ThresholdSetting("no_fix_clear_after", "no_fix", "clear_after_s", float, "SECONDS",
                     "valid fixes must hold this long before no_fix clears"),
    ThresholdSetting("max_hdop", "poor_accuracy", "max_hdop", float, "HDOP",
                     "a fix with a higher HDOP is poor"),
    ThresholdSetting("min_sats", "poor_accuracy", "min_sats", int, "N",
                     "a fix with fewer satellites is poor"),
    ThresholdSetting("poor_accuracy_after", "poor_accuracy", "open_after_s", float, "SECONDS",
                     "poor_accuracy when fixes are mostly poor this long"),
    ThresholdSetting("max_speed_kmh", "position_jump", "max_speed_kmh", float, "KMH",
                     "a step between fixes faster than this is a jump"),
    ThresholdSetting("jump_count", "position_jump", "count", int, "N",
                     "position_jump after this many jumps within --jump-window"),
    ThresholdSetting("jump_window", "position_jump", "window_s", float, "SECONDS",
                     "window of --jump-count"),
    ThresholdSetting("max_clock_drift", "clock_drift", "max_drift_s", float, "SECONDS",
                     "clock_drift when fix time and receive time differ by more"),
    ThresholdSetting("clock_drift_after", "clock_drift", "open_after_s", float, "SECONDS",
                     "the drift must persist this long"),
    ThresholdSetting("reconnect_count", "reconnect_storm", "count", int, "N",
                     "reconnect_storm after this many session openings within the window"),
    ThresholdSetting("reconnect_window", "reconnect_storm", "window_s", float, "SECONDS",
                     "window of --reconnect-count"),
    ThresholdSetting("checksum_error_rate", "checksum_errors", "max_rate", float, "RATIO",
                     "checksum_errors when this share of lines is corrupt (0..1)"),
    ThresholdSetting("checksum_errors_after", "checksum_errors", "open_after_s", float,
                     "SECONDS", "the error rate must persist this long"),
)


class HealthSettings(BaseSettings):
    """Health settings as the edge reads them (flags override ``FIELDGATE_*`` variables)."""

    model_config = SettingsConfigDict(env_prefix="FIELDGATE_", extra="ignore",
                                      validate_default=False)

    health: bool = True  #: FIELDGATE_HEALTH=0 turns the monitor off
    health_config: Path | None = None
    health_disable: str = ""  #: comma-separated rule names
    health_tick: float | None = Field(None, gt=0)
    health_sync_every: float | None = Field(None, gt=0)
    offline_sweep: bool = True
    offline_sweep_every: float | None = Field(None, gt=0)

    offline_after: float | None = Field(None, ge=0)
    offline_intervals: float | None = Field(None, ge=0)
    offline_clear_after: float | None = Field(None, ge=0)
    no_fix_after: float | None = Field(None, ge=0)
    no_fix_clear_after: float | None = Field(None, ge=0)
    max_hdop: float | None = Field(None, ge=0)
    min_sats: int | None = Field(None, ge=0)
    poor_accuracy_after: float | None = Field(None, ge=0)
    max_speed_kmh: float | None = Field(None, gt=0)
    jump_count: int | None = Field(None, ge=1)
    jump_window: float | None = Field(None, gt=0)
    max_clock_drift: float | None = Field(None, ge=0)
    clock_drift_after: float | None = Field(None, ge=0)
    reconnect_count: int | None = Field(None, ge=1)
    reconnect_window: float | None = Field(None, gt=0)
    checksum_error_rate: float | None = Field(None, ge=0, le=1)
    checksum_errors_after: float | None = Field(None, ge=0)

    @property
    def enabled(self) -> bool:
        return self.health

    @property
    def disabled_rules(self) -> list[str]:
        return [n.strip() for n in self.health_disable.split(",") if n.strip()]

    def to_config(self, registry: RuleRegistry | None = None) -> HealthConfig:
        registry = registry if registry is not None else default_registry()
        file_rules, models = _read_file(self.health_config) if self.health_config else ({}, {})
        values: dict[str, dict[str, Any]] = {name: dict(v) for name, v in file_rules.items()}
        for s in THRESHOLD_SETTINGS:
            value = getattr(self, s.field)
            if value is not None:
                values.setdefault(s.rule, {})[s.threshold] = value
        for name in self.disabled_rules:
            registry.get(name)
            values.setdefault(name, {})["enabled"] = False
        rules: dict[str, Thresholds] = {}
        for name, fields in values.items():
            rules[name] = registry.thresholds_from_mapping(name, fields)
        periods: dict[str, Any] = {k: v for k, v in (("tick_s", self.health_tick),
                                     ("sync_every_s", self.health_sync_every),
                                     ("sweep_every_s", self.offline_sweep_every))
                   if v is not None}
        config = HealthConfig(rules=rules, models=models, **periods)
        registry.validate(config)
        return config


def _read_file(path: Path) -> tuple[dict[str, Mapping[str, Any]], dict[str, Any]]:
    try:
        # TOML is UTF-8 by its spec, whatever the locale: decode the bytes ourselves
        data = tomllib.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise HealthConfigError(f"cannot read health config {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HealthConfigError(f"health config {path} is not valid TOML: {exc}") from exc
    unknown = set(data) - {"rules", "models"}
    if unknown:
        raise HealthConfigError(
            f"health config {path}: unknown table(s) {', '.join(sorted(unknown))} "
            "(expected [rules.<rule>] and [models.\"<model>\".<rule>])"
        )
    rules, models = data.get("rules", {}), data.get("models", {})
    for where, table in (("rules", rules), *((f"models.{m}", t) for m, t in models.items())):
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise HealthConfigError(f"health config {path}: [{where}] must hold rule tables")
    return rules, models


def add_health_options(parser: argparse.ArgumentParser) -> None:
    """The health flags of ``fieldgate gateway`` and ``fieldgate serve``."""
    group = parser.add_argument_group(
        "terminal health", "fault rules on the stream and the offline sweep (docs/health.md); "
        "every flag also reads FIELDGATE_<NAME>")
    group.add_argument("--no-health", dest="health", action="store_const", const=False,
                       default=None, help="do not run the health rules (env FIELDGATE_HEALTH=0)")
    group.add_argument("--health-config", metavar="FILE", default=None,
                       help="TOML thresholds: [rules.<rule>], [models.\"<model>\".<rule>] "
                            "(env FIELDGATE_HEALTH_CONFIG)")
    group.add_argument("--health-disable", metavar="RULE[,RULE]", default=None,
                       help="rules not to run (env FIELDGATE_HEALTH_DISABLE)")
    group.add_argument("--health-tick", metavar="SECONDS", type=float, default=None,
                       help="period of rule evaluation (default 2; env FIELDGATE_HEALTH_TICK)")
    group.add_argument("--no-offline-sweep", dest="offline_sweep", action="store_const",
                       const=False, default=None,
                       help="never run the offline sweep in this process "
                            "(env FIELDGATE_OFFLINE_SWEEP=0)")
    group.add_argument("--offline-sweep-every", metavar="SECONDS", type=float, default=None,
                       help="period of the offline sweep (default 15; "
                            "env FIELDGATE_OFFLINE_SWEEP_EVERY)")
    for s in THRESHOLD_SETTINGS:
        flag = "--" + s.field.replace("_", "-")
        group.add_argument(flag, metavar=s.metavar, type=s.kind, default=None,
                           help=f"{s.help} (env FIELDGATE_{s.field.upper()})")


def health_settings_from(args: argparse.Namespace) -> HealthSettings:
    """Settings from parsed flags over ``FIELDGATE_*`` variables; a clear error when invalid."""
    names = ["health", "health_config", "health_disable", "health_tick", "offline_sweep",
             "offline_sweep_every", *(s.field for s in THRESHOLD_SETTINGS)]
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    try:
        return HealthSettings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise HealthConfigError(f"invalid health setting: {problems}") from None
