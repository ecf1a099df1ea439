"""Typed thresholds of the health rules and the monitor's configuration.

Every rule has a frozen thresholds object; all of them share the hysteresis pair
``open_after_s`` (how long the bad condition must persist before a fault opens) and
``clear_after_s`` (how long recovery must hold before it clears). Rules add their own limits.
A :class:`HealthConfig` holds one thresholds object per rule plus per-terminal-model overrides
(cheap receivers report worse HDOP; slow trackers report less often), resolved once per model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telemetry.health.errors import HealthConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Hysteresis shared by every rule."""

    enabled: bool = True
    open_after_s: float = 0.0  #: the bad condition must persist this long before opening
    clear_after_s: float = 60.0  #: recovery must hold this long before clearing

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(value) or value < 0:
                raise HealthConfigError(
                    f"{type(self).__name__}.{f.name} must be a finite number >= 0, got {value!r}"
                )

    def as_json(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflineThresholds(Thresholds):
    """``offline``: no data for ``max(open_after_s, intervals x report_interval_s)``.

    ``open_after_s`` is ``--offline-after``. A terminal counts as back once it was seen within
    ``max(recovery_gap_s, 2 x report_interval_s)``; it clears once that has held ``clear_after_s``.
    """

    open_after_s: float = 300.0
    clear_after_s: float = 60.0
    intervals: float = 5.0  #: N in "expected interval x N"
    recovery_gap_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NoFixThresholds(Thresholds):
    """``no_fix``: reporting, but no valid fix for ``open_after_s`` (``--no-fix-after``)."""

    open_after_s: float = 300.0
    clear_after_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PoorAccuracyThresholds(Thresholds):
    """``poor_accuracy``: at least ``min_poor_ratio`` of the fixes of each evaluation have HDOP
    above ``max_hdop`` or fewer than ``min_sats`` satellites, for ``open_after_s``."""

    open_after_s: float = 300.0
    clear_after_s: float = 120.0
    max_hdop: float = 5.0
    min_sats: int = 4
    min_poor_ratio: float = 0.8

    def __post_init__(self) -> None:
        Thresholds.__post_init__(self)
        if self.min_poor_ratio > 1:
            raise HealthConfigError("PoorAccuracyThresholds.min_poor_ratio must be <= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionJumpThresholds(Thresholds):
    """``position_jump``: ``count`` jumps within ``window_s``; a jump is a step between
    consecutive fixes longer than ``min_distance_m`` at an implied speed above
    ``max_speed_kmh`` (the vehicle's limit; per model where vehicles differ)."""

    open_after_s: float = 0.0
    clear_after_s: float = 300.0
    max_speed_kmh: float = 250.0
    #: below this a step is receiver noise, whatever the implied speed (1 Hz fixes 30 m apart
    #: already "move" at 108 km/h)
    min_distance_m: float = 1000.0
    count: int = 3
    window_s: float = 900.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockDriftThresholds(Thresholds):
    """``clock_drift``: the terminal's fix time differs from the server's receive time by more
    than ``max_drift_s``. The least drift of an evaluation window counts, so a store-and-forward
    backlog of old fixes mixed with live ones is not mistaken for a wrong clock."""

    open_after_s: float = 120.0
    clear_after_s: float = 120.0
    max_drift_s: float = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectStormThresholds(Thresholds):
    """``reconnect_storm``: ``count`` session openings within ``window_s`` (SIM or network)."""

    open_after_s: float = 0.0
    clear_after_s: float = 300.0
    count: int = 10
    window_s: float = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksumErrorThresholds(Thresholds):
    """``checksum_errors``: corrupt lines (``reasons``, counted by the gateway per session)
    make up at least ``max_rate`` of the lines of an evaluation window of at least
    ``min_lines`` lines, for ``open_after_s``."""

    open_after_s: float = 60.0
    clear_after_s: float = 120.0
    max_rate: float = 0.1
    min_lines: int = 50
    reasons: tuple[str, ...] = ("bad_checksum",)

    def __post_init__(self) -> None:
        Thresholds.__post_init__(self)
        if self.max_rate > 1:
            raise HealthConfigError("ChecksumErrorThresholds.max_rate must be <= 1")
        if self.min_lines < 1:
            raise HealthConfigError("ChecksumErrorThresholds.min_lines must be >= 1")
        if isinstance(self.reasons, str) or not all(isinstance(r, str) for r in self.reasons):
            raise HealthConfigError("ChecksumErrorThresholds.reasons must be a list of strings")


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerCutThresholds(Thresholds):
    """``power_cut``: the terminal reports its main power off (alarm word). Terminals debounce
    it themselves: it opens at once and clears after ``clear_after_s`` without it."""

    open_after_s: float = 0.0
    clear_after_s: float = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LowVoltageThresholds(Thresholds):
    """``low_voltage``: the terminal reports its supply voltage low for ``open_after_s`` (a
    cranking engine dips it for seconds)."""

    open_after_s: float = 60.0
    clear_after_s: float = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AntennaThresholds(Thresholds):
    """``antenna``: the terminal reports its GNSS antenna open or short-circuited."""

    open_after_s: float = 60.0
    clear_after_s: float = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GnssFaultThresholds(Thresholds):
    """``gnss_fault``: the terminal reports its GNSS module faulty."""

    open_after_s: float = 60.0
    clear_after_s: float = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SosThresholds(Thresholds):
    """``sos``: the emergency button; opens at the first report (an urgent ticket)."""

    open_after_s: float = 0.0
    clear_after_s: float = 600.0


#: Terminal states the rules ignore: hardware that is not supposed to be in service.
DEFAULT_IGNORED_STATES = frozenset({"returned", "scrapped", "faulty"})


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthConfig:
    """Everything the monitor and the sweep need; built once at the edge (settings, CLI).

    Args:
        rules: thresholds per rule name; rules not named use their registered defaults.
        models: per terminal model, per rule, the fields that differ from ``rules``
            (``{"T55": {"poor_accuracy": {"max_hdop": 8.0}}}``).
        tick_s: how often the stream rules are evaluated (per terminal with activity or an
            unsettled fault), so the per-record cost stays a few counter updates.
        sweep_every_s: period of the offline sweep.
        sync_every_s: period of re-reading the terminal registry and the open faults (another
            gateway or a repair may have changed them).
        registered_only: rules run for registered terminals only (unknown ids are the
            installers' list, not a fleet to watch).
        ignored_states: terminal states (``terminals.state``) the rules skip.
    """

    rules: Mapping[str, Thresholds] = field(default_factory=dict)
    models: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    tick_s: float = 2.0
    sweep_every_s: float = 15.0
    sync_every_s: float = 30.0
    registered_only: bool = True
    ignored_states: frozenset[str] = DEFAULT_IGNORED_STATES

    def __post_init__(self) -> None:
        for name in ("tick_s", "sweep_every_s", "sync_every_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise HealthConfigError(f"HealthConfig.{name} must be > 0, got {value!r}")
        for name, th in self.rules.items():
            if not isinstance(th, Thresholds):
                raise HealthConfigError(f"thresholds of rule {name!r} must be a Thresholds")
        # frozen: normalise through object.__setattr__ so callers may pass plain dicts/sets
        object.__setattr__(self, "rules", dict(self.rules))
        object.__setattr__(self, "models", {m: {r: dict(v) for r, v in o.items()}
                                            for m, o in self.models.items()})
        object.__setattr__(self, "ignored_states", frozenset(self.ignored_states))

    def with_rule(self, name: str, **changes: Any) -> HealthConfig:
        """A copy with some thresholds of one (already configured) rule changed."""
        rules = dict(self.rules)
        rules[name] = dataclasses.replace(rules[name], **changes)
        return dataclasses.replace(self, rules=rules)


def apply_overrides(base: Thresholds, overrides: Mapping[str, Any], *, where: str) -> Thresholds:
    """``base`` with the named fields replaced; unknown fields are a configuration error."""
    known = {f.name for f in dataclasses.fields(base)}
    unknown = set(overrides) - known
    if unknown:
        raise HealthConfigError(
            f"{where}: unknown threshold(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )
    # values come from TOML or the command line: their types are checked by the dataclass's
    # own validation after the replace, not here
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in overrides.items()}
    try:
        return dataclasses.replace(base, **values)
    except TypeError as exc:
        raise HealthConfigError(f"{where}: {exc}") from exc
