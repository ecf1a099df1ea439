"""A GT06 terminal's side of the protocol, for tests, benchmarks and the demo.

:class:`Gt06Device` is pure and clock-free: it makes the packets a GT06 terminal sends (login,
heartbeat/status, GPS+LBS location, alarm) with its own serial numbers, and reads what the
server sends back (answers to login, status and alarm packets; online commands, which it
answers with a string reply the way the terminal does). With a ``model`` of the NT20/XT40
family or QH302R its location reports take that model's layout (the IMEI inside; NT: the
terminal's time, power and backup battery voltages), as the gateway reads them when the
registry names the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devices.gt06 import Proto, build, parse
from devices.gt06 import messages as m
from devices.gt06.frame import frame_length
from devices.reject import Reject
from devices.status import Alarm

#: a cell (MCC 460 China Mobile, a LAC and a cell id) for the LBS block
_CELL = (460).to_bytes(2) + bytes((0,)) + (0x2795).to_bytes(2) + (0x0E1F).to_bytes(3)


@dataclass(slots=True)
class ServerTraffic:
    answered: dict[int, int] = field(default_factory=dict)  #: our serial → protocol answered
    commands: list[tuple[int, str]] = field(default_factory=list)  #: (server flag, text)
    rejected: int = 0


class Gt06Device:
    """One GT06 terminal.

    Args:
        imei: its IMEI (15 digits), the terminal id fieldgate shows.
        answer_commands: answer online commands (0x80) with a string reply (0x15).
        model: the terminal's model, where it changes the layout of its location reports
            (``messages.NT_MODELS``, ``messages.IMEI_FIRST_MODELS``); case does not matter.
    """

    def __init__(self, imei: str, *, answer_commands: bool = True,
                 model: str | None = None) -> None:
        self.imei = imei
        self.answer_commands = answer_commands
        self.model = model.upper() if model else None
        self.traffic = ServerTraffic()
        self._serial = 1
        self._buf = bytearray()

    @property
    def next_serial(self) -> int:
        return self._serial

    def _packet(self, proto: int, content: bytes) -> bytes:
        serial = self._serial
        self._serial = (serial + 1) & 0xFFFF
        return build(proto, content, serial)

    def login(self) -> bytes:
        return self._packet(Proto.LOGIN, m.encode_login(self.imei))

    def heartbeat(self, *, acc: bool = True, charging: bool = True, alarm: Alarm | None = None,
                  voltage_level: int = 6, signal: int = 4) -> bytes:
        """A 0x13 status packet (terminal information, voltage level, GSM signal, alarm)."""
        info = m.encode_info(acc=acc, charging=charging, alarm=alarm)
        code = m.alarm_code(alarm) if alarm is not None and alarm in m.ALARM_CODES.values() else 0
        return self._packet(Proto.STATUS, bytes((info, voltage_level, signal, code, 0x02)))

    def location(self, *, time: datetime, lat: float, lon: float, speed_kmh: int = 0,
                 course: int = 0, sats: int = 8, positioned: bool = True, acc: bool = True,
                 power_v: float = 12.6, battery_v: float = 4.1) -> bytes:
        """A 0x12 GPS+LBS packet; an NT model's 0x22 (``acc``, ``power_v`` and ``battery_v``
        in its status), a QH302R's 0x12 with the IMEI first."""
        gps = m.encode_gps(time=time, lat=lat, lon=lon, speed_kmh=speed_kmh, course=course,
                           sats=sats, positioned=positioned)
        imei = bytes.fromhex(self.imei.zfill(16))
        if self.model in m.NT_MODELS:
            status = (bytes((m.encode_info(acc=acc),)) + round(power_v * 100).to_bytes(2)
                      + bytes((round(battery_v * 10), 4, 0, 0x02)))
            return self._packet(Proto.GPS_LBS_2, b"\x01" + imei + m.encode_time(time) + gps
                                + bytes((len(_CELL) + 1,)) + _CELL + status)
        if self.model in m.IMEI_FIRST_MODELS:
            return self._packet(Proto.GPS_LBS, imei + gps + _CELL)
        return self._packet(Proto.GPS_LBS, gps + _CELL)

    def alarm(self, alarm: Alarm, *, time: datetime, lat: float, lon: float, acc: bool = True,
              positioned: bool = True) -> bytes:
        """A 0x16 alarm packet: GPS, LBS with its length, terminal information and the alarm."""
        gps = m.encode_gps(time=time, lat=lat, lon=lon, positioned=positioned)
        info = m.encode_info(acc=acc, alarm=alarm)
        tail = bytes((info, 6, 4, m.alarm_code(alarm), 0x02))
        return self._packet(Proto.ALARM, gps + bytes((len(_CELL) + 1,)) + _CELL + tail)

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the server; returns the terminal's answers to them (to send)."""
        buf = self._buf
        buf += data
        answers = bytearray()
        while len(buf) >= 5:
            if buf[0] != buf[1] or buf[0] not in (0x78, 0x79):
                del buf[:1]
                continue
            size = frame_length(buf, 0)
            if size is None or len(buf) < size:
                break
            packet = parse(bytes(buf[:size]))
            del buf[:size]
            if isinstance(packet, Reject):
                self.traffic.rejected += 1
                continue
            if packet.protocol == Proto.COMMAND:
                length = packet.content[0]
                flag = int.from_bytes(packet.content[1:5])
                text = packet.content[5:1 + length].decode("ascii", "replace")
                self.traffic.commands.append((flag, text))
                if self.answer_commands:
                    answers += self._packet(Proto.STRING_REPLY,
                                            m.encode_string_reply(flag, f"{text} OK"))
            else:
                self.traffic.answered[packet.serial] = packet.protocol
        return bytes(answers)
