"""The rule contract and the registry that makes the rule set open.

A rule is data plus two small functions: a name, a thresholds type with defaults, the record
types it wants to see besides fixes, and ``evaluate`` (one verdict per evaluation window).
The engine (:class:`~telemetry.health.monitor.HealthMonitor`) knows rules only through a
:class:`RuleRegistry`. A later protocol that reports power cuts, low voltage or antenna faults in
status words adds a rule class and registers it; the engine does not change::

    registry = default_registry()              # telemetry.health.builtin_rules
    registry.register(PowerCutRule())          # record_types = (Jt808Status,)
    monitor = HealthMonitor(config=config, registry=registry)

Fixes and no-fix epochs are not dispatched rule by rule (the gateway delivers 50k+ per second):
the monitor folds them once per read into :class:`~telemetry.health.terminal.TerminalHealth`
counters that the built-in rules read. Other record types go to the ``observe`` of the rules
that list them in ``record_types``, with a per-terminal ``memory`` the rule owns.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from telemetry.health.config import HealthConfig, Thresholds, apply_overrides
from telemetry.health.errors import HealthConfigError, UnknownRuleError
from telemetry.health.hysteresis import Verdict
from telemetry.health.terminal import TerminalHealth


class RuleKind(enum.StrEnum):
    STREAM = "stream"  #: evaluated by the monitor on the gateway's stream and its timer
    SWEEP = "sweep"  #: evaluated by a database sweep (offline: the latest state of every gateway)


class Rule:
    """Base class of health rules. Subclasses set the class attributes and ``evaluate``."""

    name: ClassVar[str]
    kind: ClassVar[RuleKind] = RuleKind.STREAM
    thresholds_type: ClassVar[type[Thresholds]] = Thresholds
    #: record types (besides Fix/NoFix) this rule wants in :meth:`observe`
    record_types: ClassVar[tuple[type, ...]] = ()
    summary: ClassVar[str] = ""

    def default_thresholds(self) -> Thresholds:
        return self.thresholds_type()

    def new_memory(self) -> Any:
        """Per-terminal state owned by the rule (None when it needs none)."""
        return None

    def observe(self, memory: Any, record: Any, now: float, terminal: TerminalHealth) -> None:
        """One record of a type in :attr:`record_types`. Keep it cheap: it is on the data path."""

    def evaluate(self, terminal: TerminalHealth, thresholds: Any, memory: Any,
                 now: float) -> Verdict | None:
        """The verdict for the window since the last evaluation; None when nothing was learnt."""
        raise NotImplementedError(f"rule {self.name!r} has no stream evaluation")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', None)!r} ({self.kind})>"


class RuleRegistry:
    """Rules by name. ``copy()`` before registering test or plugin rules into a shared one."""

    def __init__(self, rules: tuple[Rule, ...] | list[Rule] = ()) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            self.register(rule)

    def register(self, rule: Rule, *, replace: bool = False) -> Rule:
        name = getattr(rule, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise HealthConfigError(f"rule {rule!r} needs a name that is an identifier")
        if name in self._rules and not replace:
            raise HealthConfigError(f"a rule named {name!r} is already registered")
        if not isinstance(rule.default_thresholds(), rule.thresholds_type):
            raise HealthConfigError(f"rule {name!r}: defaults are not a {rule.thresholds_type}")
        self._rules[name] = rule
        return rule

    def get(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            raise UnknownRuleError(
                f"unknown health rule {name!r} (known: {', '.join(sorted(self._rules))})"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._rules

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._rules)

    def of_kind(self, kind: RuleKind) -> tuple[Rule, ...]:
        return tuple(r for r in self._rules.values() if r.kind is kind)

    def observers(self) -> dict[type, tuple[Rule, ...]]:
        """Record type → the rules that observe it."""
        out: dict[type, list[Rule]] = {}
        for rule in self._rules.values():
            for record_type in rule.record_types:
                out.setdefault(record_type, []).append(rule)
        return {k: tuple(v) for k, v in out.items()}

    def copy(self) -> RuleRegistry:
        return RuleRegistry(list(self._rules.values()))

    # thresholds ---------------------------------------------------------------------------

    def validate(self, config: HealthConfig) -> None:
        """Fail at startup on thresholds for unknown rules or of the wrong type."""
        for name, th in config.rules.items():
            rule = self.get(name)
            if not isinstance(th, rule.thresholds_type):
                raise HealthConfigError(
                    f"thresholds of rule {name!r} must be {rule.thresholds_type.__name__}, "
                    f"got {type(th).__name__}"
                )
        for model in config.models:
            self.resolve(config, model)

    def resolve(self, config: HealthConfig, model: str | None) -> dict[str, Thresholds]:
        """The thresholds of every rule for a terminal of ``model``."""
        out: dict[str, Thresholds] = {}
        overrides = config.models.get(model, {}) if model is not None else {}
        for name in overrides:
            self.get(name)
        for name, rule in self._rules.items():
            th = config.rules.get(name) or rule.default_thresholds()
            if name in overrides:
                th = apply_overrides(th, overrides[name], where=f"model {model!r}, rule {name!r}")
            out[name] = th
        return out

    def thresholds_from_mapping(self, name: str, values: Mapping[str, Any]) -> Thresholds:
        """Thresholds of rule ``name`` from plain values (a settings file)."""
        rule = self.get(name)
        return apply_overrides(rule.default_thresholds(), values, where=f"rule {name!r}")

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"name": r.name, "kind": str(r.kind), "summary": r.summary,
             "defaults": dataclasses.asdict(r.default_thresholds())}
            for r in self._rules.values()
        ]
