"""Virtual terminals and fleets speaking every wire protocol over every transport, with fault
injection; capture replay; load generation. Used by tests, benchmarks, the demo and testers;
never by production code paths.

The usual entry points::

    from simulators import Fleet, ScaledClock, TcpTransport, TruthLog, parse_fault

    async with Fleet(transport=TcpTransport("127.0.0.1", 5000), terminals=10, duration=60,
                     faults=[parse_fault("no_fix@20s+10s")], clock=ScaledClock(speed=20),
                     truth=(truth := TruthLog())) as fleet:
        await fleet.wait()

See ``docs/simulators.md`` for the fault spec format and the command line.
"""

from simulators.clock import Clock, ManualClock, RealClock, ScaledClock
from simulators.errors import CaptureError, SimulatorError, SpecError, TransportError
from simulators.faults import Fault, FaultKind, Target, parse_fault
from simulators.fleet import Fleet, FleetStats, terminal_ids
from simulators.load import LoadPlan, LoadResult, send_mqtt, send_tcp
from simulators.replay import Capture, load_capture, replay
from simulators.route import RouteConfig, Vehicle
from simulators.sentences import Sentence, SentenceProfile
from simulators.terminal import Report, TerminalConfig, VirtualTerminal
from simulators.transports import (
    Backoff,
    Link,
    MqttTransport,
    PtyTransport,
    TcpTransport,
    Transport,
)
from simulators.truth import TruthFile, TruthLog

__all__ = [
    "Backoff", "Capture", "CaptureError", "Clock", "Fault", "FaultKind", "Fleet", "FleetStats",
    "Link", "LoadPlan", "LoadResult", "ManualClock", "MqttTransport", "PtyTransport",
    "RealClock", "Report", "RouteConfig", "ScaledClock", "Sentence", "SentenceProfile",
    "SimulatorError", "SpecError", "Target", "TcpTransport", "TerminalConfig", "Transport",
    "TransportError", "TruthFile", "TruthLog", "Vehicle", "VirtualTerminal", "load_capture",
    "parse_fault", "replay", "send_mqtt", "send_tcp", "terminal_ids",
]
