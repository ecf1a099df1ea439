"""Everything the simulators raise on purpose.

::

    SimulatorError
    ├── SpecError            a fault spec, profile or option the user wrote is wrong
    ├── TransportError       a connection could not be made or was lost
    └── CaptureError         a replay file cannot be read

Third-party errors (``OSError``, ``aiomqtt.MqttError``) are translated into these at the
transport boundary with ``raise ... from exc`` so callers handle one family.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulators raise deliberately."""


class SpecError(SimulatorError, ValueError):
    """A user-written specification (fault, profile, target, address) is invalid.

    The message names the offending text and says what was expected: it is printed as is by
    ``fieldgate simulate``.
    """


class TransportError(SimulatorError):
    """Connecting, sending or closing failed; the link is down."""


class CaptureError(SimulatorError):
    """A capture file could not be read or holds nothing to replay."""
