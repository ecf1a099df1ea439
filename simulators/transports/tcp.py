"""Terminals over TCP: plain NMEA the way T55-family terminals do it (``$PGID,<id>*hh`` then
sentences), or the binary protocols of vehicle terminals (JT/T 808, GT06), which register or
log in on every connection, encode each report's record as a location (with the alarms their
faults raise) and answer the platform's commands (:mod:`simulators.jt808`,
:mod:`simulators.gt06`)."""

from __future__ import annotations

import asyncio
import contextlib

from devices.gt06.messages import ALARM_CODES
from devices.nmea import encode
from devices.records import Fix, NoFix
from devices.reject import Reject
from devices.status import Alarm
from simulators.errors import SpecError, TransportError
from simulators.gt06 import Gt06Device
from simulators.jt808 import Jt808Device
from simulators.terminal import Report
from simulators.transports.base import Link, Transport

GT06_ALARMS = frozenset(ALARM_CODES.values())
#: the protocols a simulated TCP terminal can speak
PROTOCOLS = ("nmea", "jt808", "gt06")

#: how long a clean close may wait for the kernel to hand the last bytes over
CLOSE_TIMEOUT_S = 2.0


def parse_host_port(text: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[v6]:PORT``."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        raise SpecError(f"bad address {text!r}: expected HOST:PORT")
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise SpecError(f"bad port in {text!r}") from None
    if not 0 < number < 65536:
        raise SpecError(f"port {number} in {text!r} outside 1..65535")
    return host, number


def _device(protocol: str, terminal_id: str) -> Jt808Device | Gt06Device | None:
    if protocol == "nmea":
        return None
    if not terminal_id.isdigit():
        raise SpecError(f"a {protocol} terminal id is digits (phone number or IMEI), "
                        f"not {terminal_id!r}: give a numeric id prefix")
    if protocol == "jt808":
        if len(terminal_id) > 12:
            raise SpecError(f"a JT/T 808 phone number has at most 12 digits: {terminal_id!r}")
        return Jt808Device(terminal_id)
    if len(terminal_id) > 16:
        raise SpecError(f"a GT06 IMEI has at most 16 digits: {terminal_id!r}")
    return Gt06Device(terminal_id)


class TcpLink(Link):
    def __init__(self, terminal_id: str, host: str, port: int, *, identify: bool,
                 connect_timeout: float, protocol: str = "nmea") -> None:
        self.terminal_id = terminal_id
        self._host, self._port = host, port
        self._identify = identify
        self._timeout = connect_timeout
        self.protocol = protocol
        #: the terminal's side of a binary protocol (None for NMEA)
        self.device = _device(protocol, terminal_id)
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._peer_closed = False
        self.received = 0  #: bytes the server sent back (acks in later protocols)

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._peer_closed

    @property
    def remote(self) -> str:
        return f"{self._host}:{self._port}"

    async def open(self) -> None:
        await self.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._timeout)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"{self.terminal_id}: cannot connect to {self.remote}: "
                                 f"{exc or type(exc).__name__}") from exc
        self._writer = writer
        self._peer_closed = False
        # the server closing its side is seen here at once, not at the next failed write
        self._reader_task = asyncio.create_task(self._watch(reader),
                                                name=f"sim-tcp-watch-{self.terminal_id}")
        device = self.device
        if isinstance(device, Jt808Device):
            await self.send(device.register() + device.authenticate())
        elif isinstance(device, Gt06Device):
            await self.send(device.login())
        elif self._identify:
            await self.send(encode.pgid(self.terminal_id))

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(4096):
                self.received += len(data)
                if self.device is not None:
                    answer = self.device.receive(data)  # acknowledgements, commands
                    if answer and self._writer is not None:
                        self._writer.write(answer)
        except OSError:
            pass
        self._peer_closed = True

    async def send_report(self, report: Report) -> int:
        device = self.device
        if device is None:
            return await super().send_report(report)
        data = bytearray(self._frame(device, report))
        if report.rejects.get(Reject.BAD_CHECKSUM):
            data[-2 if isinstance(device, Jt808Device) else -3] ^= 0x01  # a wrong check code
        await self.send(bytes(data))
        return len(data)

    @staticmethod
    def _frame(device: Jt808Device | Gt06Device, report: Report) -> bytes:
        record = report.record
        positioned = isinstance(record, Fix)
        when = (record.time if record is not None and record.time is not None
                else report.time)
        lat = record.lat if isinstance(record, Fix) else 0.0
        lon = record.lon if isinstance(record, Fix) else 0.0
        speed = (record.speed_kn or 0.0) * 1.852 if isinstance(record, Fix) else 0.0
        course = round(record.course or 0.0) % 360 if isinstance(record, Fix) else 0
        sats = (record.sats or 0) if isinstance(record, Fix | NoFix) else 0
        if isinstance(device, Jt808Device):
            alt = round(record.alt_m or 0.0) if isinstance(record, Fix) else 0
            return device.location(time=when, lat=lat, lon=lon, speed_kmh=speed, course=course,
                                   alt_m=alt, sats=sats, positioned=positioned,
                                   acc=Alarm.POWER_CUT not in report.alarms,
                                   alarms=report.alarms)
        # an alarm packet carries one alarm (the first by name) of those GT06 has a code for;
        # antenna and GNSS faults it cannot report
        alarms = sorted(a for a in report.alarms if a in GT06_ALARMS)
        if alarms:
            return device.alarm(alarms[0], time=when, lat=lat, lon=lon, positioned=positioned)
        return device.location(time=when, lat=lat, lon=lon, speed_kmh=min(round(speed), 255),
                               course=course, sats=min(sats, 15), positioned=positioned)

    async def send(self, data: bytes) -> None:
        writer = self._writer
        if writer is None or self._peer_closed:
            raise TransportError(f"{self.terminal_id}: connection to {self.remote} is closed")
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, RuntimeError) as exc:  # RuntimeError: write on a closing transport
            self._peer_closed = True
            raise TransportError(f"{self.terminal_id}: connection to {self.remote} lost: "
                                 f"{exc}") from exc

    async def close(self) -> None:
        task, self._reader_task = self._reader_task, None
        writer, self._writer = self._writer, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)


class TcpTransport(Transport):
    """Each terminal opens its own connection to ``host:port``.

    Args:
        host, port: where the gateway listens.
        identify: send ``$PGID,<terminal id>`` first on every connection (T55 convention;
            NMEA only: binary protocols identify in their own way).
        connect_timeout: seconds before a connect attempt counts as failed.
        protocol: ``nmea``, ``jt808`` or ``gt06`` (terminal ids then digits: a phone number of
            up to 12 digits, an IMEI).
    """

    name = "tcp"

    def __init__(self, host: str, port: int, *, identify: bool = True,
                 connect_timeout: float = 5.0, protocol: str = "nmea") -> None:
        if protocol not in PROTOCOLS:
            raise SpecError(f"unknown protocol {protocol!r}: one of {', '.join(PROTOCOLS)}")
        self.host, self.port = host, port
        self.identify = identify
        self.connect_timeout = connect_timeout
        self.protocol = protocol

    def link(self, terminal_id: str) -> TcpLink:
        return TcpLink(terminal_id, self.host, self.port, identify=self.identify,
                       connect_timeout=self.connect_timeout, protocol=self.protocol)

    def describe(self) -> str:
        scheme = "tcp" if self.protocol == "nmea" else f"{self.protocol}+tcp"
        return f"{scheme}://{self.host}:{self.port}"
