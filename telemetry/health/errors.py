"""Exceptions of the health package.

``HealthError`` → ``HealthConfigError`` (bad thresholds, unknown rule names: raised at
startup, never on the data path) and ``UnknownRuleError``.
"""

from __future__ import annotations


class HealthError(Exception):
    """Base of every error the health package raises."""


class HealthConfigError(HealthError, ValueError):
    """A threshold, an override or a setting is invalid."""


class UnknownRuleError(HealthConfigError, KeyError):
    """A rule name that no registered rule has."""

    def __str__(self) -> str:  # KeyError quotes its argument; this one is a sentence
        return str(self.args[0]) if self.args else "unknown rule"
