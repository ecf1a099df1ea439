"""Errors of the gateway package.

::

    GatewayError
     └── ConfigError      a configuration that cannot work (bad address, limit out of range,
                          two serial ports bound to one terminal): raised at construction

Bad input from terminals is never an exception: it is counted (see ``gateway.metrics``).
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of the gateway's errors."""


class ConfigError(GatewayError, ValueError):
    """A configuration value is out of range or malformed."""
