"""What the gateway hands its decoded records to.

The gateway knows no SQL: it talks to a :class:`TelemetrySink`, which ``telemetry`` implements
(batch writer, spool, registry, latest state) and the wiring in ``fieldgate`` plugs in. The
types live in :mod:`devices.session` (both sides import them from there) and are re-exported
here for the gateway's users.
"""

from devices.session import SessionInfo, TelemetrySink, Transport

__all__ = ["SessionInfo", "TelemetrySink", "Transport"]
