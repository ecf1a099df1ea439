"""A JT/T 808 terminal's side of the protocol, for tests, benchmarks and the demo.

:class:`Jt808Device` is pure and clock-free like :class:`~simulators.terminal.VirtualTerminal`:
it makes the frames a terminal sends (registration, authentication, heartbeat, location, batch,
logout) with its own serial numbers, and reads what the platform sends back (registration
reply and its authentication code, general replies, commands), answering commands the way a
terminal does. Runners decide when to call it and where the bytes go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devices.jt808 import Message, MsgId, RegisterResult, ReplyResult, build, parse
from devices.jt808 import messages as m
from devices.reject import Reject
from devices.status import Alarm


@dataclass(slots=True)
class PlatformTraffic:
    """What the platform said, as the terminal understood it."""

    acknowledged: dict[int, int] = field(default_factory=dict)  #: our serial → result
    registered: RegisterResult | None = None
    commands: list[Message] = field(default_factory=list)  #: 0x8103, 0x8201, ... received
    rejected: int = 0  #: frames that failed to parse (a gateway bug, if ever)


class Jt808Device:
    """One JT/T 808 terminal.

    Args:
        phone: the phone number in the header (the terminal id fieldgate shows).
        version: None for a 2013 header, 1 for JT/T 808-2019.
        answer_commands: reply 0x0001 (and 0x0201 to a position query) to commands.
    """

    def __init__(self, phone: str, *, version: int | None = None,
                 answer_commands: bool = True) -> None:
        self.phone = phone
        self.version = version
        self.answer_commands = answer_commands
        self.auth_code: str | None = None
        self.traffic = PlatformTraffic()
        self.params: dict[int, bytes] = {}  #: parameters the platform set (0x8103)
        self._serial = 0
        self._buf = bytearray()
        self._last_location: bytes | None = None

    # -- what the terminal sends -----------------------------------------------------------

    def _frame(self, msg_id: int, body: bytes = b"") -> bytes:
        serial = self._serial
        self._serial = (serial + 1) & 0xFFFF
        return build(msg_id, self.phone, serial, body, version=self.version)

    @property
    def next_serial(self) -> int:
        """The serial number the next frame will carry."""
        return self._serial

    def register(self, *, plate: str = "") -> bytes:
        return self._frame(MsgId.REGISTER, m.encode_register(plate=plate, version=self.version))

    def authenticate(self) -> bytes:
        code = self.auth_code if self.auth_code is not None else self.phone
        return self._frame(MsgId.AUTH, m.encode_auth(code, version=self.version))

    def heartbeat(self) -> bytes:
        return self._frame(MsgId.HEARTBEAT)

    def logout(self) -> bytes:
        return self._frame(MsgId.LOGOUT)

    def location_body(self, *, time: datetime, lat: float, lon: float, speed_kmh: float = 0.0,
                      course: int = 0, alt_m: int = 0, sats: int | None = 9,
                      positioned: bool = True, acc: bool = True,
                      alarms: frozenset[Alarm] = frozenset(),
                      mileage_km: float | None = None) -> bytes:
        items: dict[int, bytes] = {}
        if mileage_km is not None:
            items[0x01] = round(mileage_km * 10).to_bytes(4)
        if sats is not None:
            items[0x31] = bytes((sats,))
        body = m.encode_location(time=time, lat=lat, lon=lon, speed_kmh=speed_kmh, course=course,
                                 alt_m=alt_m, positioned=positioned, acc=acc, alarms=alarms,
                                 items=items)
        self._last_location = body
        return body

    def location(self, **kw: object) -> bytes:
        """A 0x0200 report; keywords as :meth:`location_body`."""
        return self._frame(MsgId.LOCATION, self.location_body(**kw))  # type: ignore[arg-type]

    def batch(self, bodies: list[bytes], *, supplement: bool = False) -> bytes:
        """A 0x0704 batch of location bodies (blind-area supplement when ``supplement``)."""
        return self._frame(MsgId.BATCH_LOCATION, m.encode_batch(bodies, supplement=supplement))

    # -- what the platform sends -----------------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the platform; returns the terminal's answers to them (to send)."""
        buf = self._buf
        buf += data
        answers = bytearray()
        while True:
            start = buf.find(0x7E)
            if start < 0:
                buf.clear()
                break
            end = buf.find(0x7E, start + 1)
            if end < 0:
                del buf[:start]
                break
            raw = bytes(buf[start + 1:end])
            del buf[:end + 1]
            if not raw:
                buf[:0] = b"\x7e"  # two flags in a row: the second opens the next frame
                continue
            msg = parse(raw)
            if isinstance(msg, Reject):
                self.traffic.rejected += 1
                continue
            answers += self._handle(msg)
        return bytes(answers)

    def _handle(self, msg: Message) -> bytes:
        if msg.msg_id == MsgId.PLATFORM_REPLY:
            reply = m.decode_reply(msg.body)
            if reply is not None:
                self.traffic.acknowledged[reply[0]] = reply[2]
            return b""
        if msg.msg_id == MsgId.REGISTER_REPLY and len(msg.body) >= 3:
            self.traffic.registered = RegisterResult(msg.body[2])
            if msg.body[2] == RegisterResult.OK:
                self.auth_code = msg.body[3:].decode("ascii", "replace")
            return b""
        self.traffic.commands.append(msg)
        if not self.answer_commands:
            return b""
        if msg.msg_id == MsgId.SET_PARAMS:
            self.params.update(m.decode_params(msg.body) or {})
        if msg.msg_id == MsgId.LOCATION_QUERY and self._last_location is not None:
            return self._frame(MsgId.LOCATION_QUERY_REPLY,
                               msg.serial.to_bytes(2) + self._last_location)
        return self._frame(MsgId.TERMINAL_REPLY,
                           m.terminal_reply(msg.serial, msg.msg_id, ReplyResult.OK))
