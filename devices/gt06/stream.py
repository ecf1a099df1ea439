"""GT06 stream decoder: bytes in, records and the replies the terminal waits for out.

The terminal logs in with its IMEI (0x01) and is that terminal from then on; location packets
(0x10, 0x12, 0x22) become :class:`~devices.records.Fix` records (or
:class:`~devices.records.NoFix` when not positioned), alarm packets (0x16, 0x26, 0x27) the same
with their alarm in the :class:`~devices.status.DeviceStatus`. Status packets (0x13, 0x23) carry
no position: their terminal information (ACC, charging, the alarm bits, voltage, signal) is kept
and attached to the following location packets, which have none of their own. Login, status
and alarm packets are answered with their serial number (queued, :meth:`take_output`); the
time request (0x8A) with the time.

Some models lay out a report their own way, as Traccar knows them per device: the terminal's
model (``model``, or ``model_of`` asked with the IMEI at login, e.g. the registry's) chooses
the layout: NT20/XT40 family 0x22 and 0x25 reports (location source, IMEI and the terminal's
time before the GPS block, power and backup battery voltages after it), QH302R 0x12 reports
(the IMEI first). AZ735 reports (0x32/0x33 in ``79 79`` frames) and X1 reports (0x34) are known
by their frame alone.

Nothing here raises on input; every refusal is counted (:class:`~devices.reject.Reject`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from devices.commands import Command, CommandAnswer, CommandKind, UnsupportedCommand
from devices.gt06 import frame as wire
from devices.gt06.messages import (
    ANSWERED,
    AZ735_ALARMS,
    AZ735_ARMED,
    AZ735_PROTOCOLS,
    IMEI_FIRST_MODELS,
    KMH_PER_KNOT,
    LOCATION_PROTOCOLS,
    NT_MODELS,
    SL4X_LBS_LENGTH,
    STATUS_PROTOCOLS,
    Gps,
    Proto,
    decode_gps,
    decode_imei,
    decode_string_reply,
    decode_time,
    encode_command,
    encode_time,
    status_from,
)
from devices.records import Fix, NoFix, Record, StatusReport
from devices.reject import Reject
from devices.stats import DecodeStats
from devices.status import DeviceStatus

_NAMES = {p.value: p.name.lower() for p in Proto}
_STARTS = (b"\x78\x78", b"\x79\x79")


class Gt06Stream:
    """Incremental decoder for one GT06 connection.

    Args:
        stats: counters to add to (shared by the gateway across connections).
        terminal: a terminal id known from outside; a login names its own and wins.
        max_frame: longest frame accepted, bytes.
        clock: the time sent in answer to a time request.
        model: the terminal's model (case does not matter), where it changes the layout.
        model_of: the model of a terminal by its IMEI (None: unknown), asked at each login;
            its answer wins over ``model``.
    """

    protocol = "gt06"

    def __init__(self, *, stats: DecodeStats | None = None, terminal: str | None = None,
                 max_frame: int = wire.MAX_FRAME,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 model: str | None = None,
                 model_of: Callable[[str], str | None] | None = None) -> None:
        self.stats = stats if stats is not None else DecodeStats()
        self.terminal = terminal
        self.model = model.upper() if model else None
        self._model_of = model_of
        self.max_frame = max_frame
        self.sentences = 0
        self.rejected = 0
        self._answers: list[CommandAnswer] = []
        self._clock = clock
        self._buf = bytearray()
        self._out = bytearray()
        self._serial = 0
        self._noise = False  # inside a run of bytes already counted as no_frame

    # -- framing ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Record]:
        out: list[Record] = []
        buf = self._buf
        buf += data
        pos = 0
        # the next short and long start pairs at or after pos, each searched again only once
        # passed (searching both from every position would be quadratic on noise)
        short = buf.find(_STARTS[0])
        long = buf.find(_STARTS[1])
        while True:
            if 0 <= short < pos:
                short = buf.find(_STARTS[0], pos)
            if 0 <= long < pos:
                long = buf.find(_STARTS[1], pos)
            start = short if long < 0 or 0 <= short < long else long
            if start < 0:
                # keep a last byte that may begin a start pair; the rest is noise
                keep = 1 if buf and buf[-1] in (0x78, 0x79) else 0
                if len(buf) - keep > pos:
                    self._noise_seen()
                pos = max(pos, len(buf) - keep)
                break
            if start > pos:
                self._noise_seen()
            size = wire.frame_length(buf, start)
            if size is None:
                pos = start
                break
            if size > self.max_frame:
                self._reject(Reject.OVERLONG)
                pos = start + 2
                self._noise = True  # the rest of that frame is not counted again
                continue
            if len(buf) < start + size:
                pos = start
                break
            end = start + size
            if buf[end - 2:end] != wire.STOP:
                # no stop bytes where the length says: a start pair inside noise, or a length
                # that lies; resynchronise on the next start pair (cheap: no CRC computed)
                self._noise_seen()
                pos = start + 2
                continue
            packet = wire.parse(bytes(buf[start:end]))
            pos = end  # the stop bytes confirm the frame's bounds, whatever its CRC says
            self._noise = False
            if isinstance(packet, Reject):
                self._reject(packet)
                continue
            self._dispatch(packet, out)
        del buf[:pos]
        return out

    def flush(self) -> list[Record]:
        if self._buf and not self._noise:
            self._reject(Reject.TRUNCATED)
        self._buf.clear()
        self._noise = False
        return []

    def take_output(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def _noise_seen(self) -> None:
        if not self._noise:
            self._reject(Reject.NO_FRAME)
            self._noise = True

    # -- packets ---------------------------------------------------------------------------

    def _dispatch(self, packet: wire.Packet, out: list[Record]) -> None:
        proto = packet.protocol
        content = packet.content
        if proto == Proto.LOGIN:
            imei = decode_imei(content)
            if imei is None:
                self._reject(Reject.MALFORMED)
                return
            self.terminal = imei
            if self._model_of is not None:
                model = self._model_of(imei)
                if model:
                    self.model = model.upper()
        elif packet.long and proto in AZ735_PROTOCOLS:
            if not self._az735(packet, out):
                return
        elif proto == Proto.X1_GPS and not packet.long and len(content) + 5 != SL4X_LBS_LENGTH:
            # (the length byte counts the protocol number, content, serial and CRC: + 5)
            gps = self._gps(content[4:])  # after the data and alarm word
            if gps is None or not self._emit(gps, None, out):
                return
        elif proto in (Proto.GPS_LBS_2, Proto.GPS_LBS_DRIVER) and self.model in NT_MODELS:
            if not self._nt(packet, out):
                return
        elif proto in LOCATION_PROTOCOLS:
            if not self._location(packet, out):
                return
        elif proto == Proto.STATUS:
            if len(content) < 5:
                self._reject(Reject.TRUNCATED)
                return
            out.append(StatusReport(None, self.terminal, status_from(
                content[0], voltage_level=content[1], signal=content[2],
                alarm_code=content[3])))
        elif proto == Proto.HEARTBEAT:
            if len(content) < 4:
                self._reject(Reject.TRUNCATED)
                return
            out.append(StatusReport(None, self.terminal, status_from(
                content[0], power_v=int.from_bytes(content[1:3]) / 100, signal=content[3])))
        elif proto in (Proto.STRING_REPLY, Proto.STRING_REPLY_LONG):
            reply = decode_string_reply(content, proto == Proto.STRING_REPLY_LONG)
            if reply is None:
                self._reject(Reject.MALFORMED)
                return
            self._answers.append(CommandAnswer(reply[0], True, reply[1]))
        elif proto == Proto.TIME_REQUEST:
            self._send(Proto.TIME_REQUEST, encode_time(self._clock()), packet.serial)
        self._count(proto)
        if proto in ANSWERED or (packet.long and proto in AZ735_PROTOCOLS):
            self._send(proto, b"", packet.serial, long=packet.long)

    def _gps(self, block: bytes) -> Gps | None:
        """The GPS block at the start of ``block``; None, counted, when it is cut short or
        its coordinates are out of range."""
        gps = decode_gps(block)
        if gps is None:
            self._reject(Reject.TRUNCATED)
        elif not (-90.0 <= gps.lat <= 90.0 and -180.0 <= gps.lon <= 180.0):
            self._reject(Reject.MALFORMED)
            return None
        return gps

    def _identify(self, imei_bcd: bytes) -> None:
        """A report that carries the IMEI names its terminal when no login has."""
        if self.terminal is None:
            self.terminal = decode_imei(imei_bcd)

    def _location(self, packet: wire.Packet, out: list[Record]) -> bool:
        content = packet.content
        proto = packet.protocol
        if proto == Proto.GPS_LBS and self.model in IMEI_FIRST_MODELS:
            self._identify(content[:8])
            content = content[8:]
        gps = self._gps(content)
        if gps is None:
            return False
        status: DeviceStatus | None = None
        if proto in STATUS_PROTOCOLS:
            # an LBS block led by its length (which counts itself), then terminal information,
            # voltage level, GSM signal and alarm
            rest = content[Gps.SIZE:]
            lbs = rest[0] if rest else 0
            info = rest[max(lbs, 1):]
            if len(info) < 4:
                self._reject(Reject.TRUNCATED)
                return False
            status = status_from(info[0], voltage_level=info[1], signal=info[2],
                                 alarm_code=info[3])
        return self._emit(gps, status, out)

    def _nt(self, packet: wire.Packet, out: list[Record]) -> bool:
        """NT/XT models' 0x22 and 0x25: location source, IMEI, the terminal's time, the GPS
        block, a cell block led by its length, terminal information, power (0.01 V), backup
        battery (0.1 V), GSM signal, alarm, language."""
        content = packet.content
        self._identify(content[1:9])
        gps = self._gps(content[15:])
        if gps is None:
            return False
        rest = content[15 + Gps.SIZE:]
        if not rest:
            self._reject(Reject.TRUNCATED)
            return False
        # the cell block, as Traccar reads it: its length byte, MCC, MNC, LAC and a cell id of
        # 3 bytes (4 in 0x25), then as many more bytes as the length exceeds 9
        cell = 9 if packet.protocol == Proto.GPS_LBS_DRIVER else 8
        info = rest[1 + cell + max(rest[0] - 9, 0):] if rest[0] else rest[1:]
        if len(info) < 6:
            self._reject(Reject.TRUNCATED)
            return False
        status = status_from(info[0], power_v=int.from_bytes(info[1:3]) / 100, signal=info[4],
                             alarm_code=info[5], extra={"battery_v": info[3] / 10})
        return self._emit(gps, status, out)

    def _az735(self, packet: wire.Packet, out: list[Record]) -> bool:
        """AZ735 0x32 (report) and 0x33 (alarm) in ``79 79`` frames: the time, a length byte
        (0: no GPS fix in this report), the rest of the GPS block; then a cell block led by its
        length and the GSM signal, more cells and Wi-Fi access points (each led by a length,
        skipped), and the status byte (0x33: the alarm)."""
        content = packet.content
        if len(content) < 7:
            self._reject(Reject.TRUNCATED)
            return False
        alarm = packet.protocol == Proto.AZ735_ALARM
        if content[6] == 0:
            status = self._az735_status(content, 7, alarm)
            out.append(NoFix(decode_time(content[:6]), None, self.terminal, status))
            self.stats.no_fixes += 1
            return True
        gps = self._gps(content[:6] + content[7:])
        if gps is None:
            return False
        return self._emit(gps, self._az735_status(content, 1 + Gps.SIZE, alarm), out)

    @staticmethod
    def _az735_status(content: bytes, pos: int, alarm: bool) -> DeviceStatus | None:
        """The AZ735 tail from ``pos``; None when it is cut short (the position stands)."""
        try:
            signal = None
            cell = content[pos]
            pos += 1
            if cell:  # MCC, MNC, LAC, 3-byte cell id, then what the length says beyond 9
                pos += 8 + max(cell - 9, 0)
                signal = content[pos]
                pos += 1
            pos += 1 + content[pos]  # more cells
            pos += 1 + content[pos]  # Wi-Fi access points
            byte = content[pos]
        except IndexError:
            return None
        alarms = frozenset({AZ735_ALARMS[byte]}) if alarm and byte in AZ735_ALARMS else frozenset()
        attributes: dict[str, object] = {"status": byte}
        if byte in AZ735_ARMED:
            attributes["armed"] = AZ735_ARMED[byte]
        return DeviceStatus(alarms=alarms, signal=signal, attributes=attributes)

    def _emit(self, gps: Gps, status: DeviceStatus | None, out: list[Record]) -> bool:
        if gps.positioned and gps.time is not None:
            out.append(Fix(gps.time, gps.lat, gps.lon, gps.speed_kmh / KMH_PER_KNOT,
                           float(gps.course), None, gps.sats, None, None, None, self.terminal,
                           status))
            self.stats.fixes += 1
            return True
        if gps.positioned:
            self._reject(Reject.UNDATED)
            return False
        out.append(NoFix(gps.time, gps.sats, self.terminal, status))
        self.stats.no_fixes += 1
        return True

    # -- counters and replies --------------------------------------------------------------

    def _count(self, proto: int) -> None:
        self.sentences += 1
        self.stats.accept(_NAMES.get(proto) or f"0x{proto:02x}")

    def _reject(self, reason: Reject) -> None:
        self.rejected += 1
        self.stats.reject(reason)

    def _send(self, proto: int, content: bytes, serial: int, *, long: bool = False) -> None:
        self._out += wire.build(proto, content, serial, long=long)

    def send_command(self, command: Command, ref: int) -> tuple[int, bytes]:
        """The 0x80 frame of ``command``, carrying ``ref`` as its server flag (the terminal's
        string reply names it: :meth:`take_answers`).

        Raises:
            UnsupportedCommand: no login yet, or a kind GT06 has no command for (``text``).
        """
        if self.terminal is None:
            raise UnsupportedCommand("the terminal has not logged in yet")
        texts = {CommandKind.LOCATE: "WHERE#", CommandKind.RESET: "RESET#"}
        if command.kind is CommandKind.SET_INTERVAL:
            text = f"TIMER,{command.interval_s}#"
        elif command.kind is CommandKind.RAW:
            text = command.text or ""
        elif command.kind in texts:
            text = texts[command.kind]
        else:
            raise UnsupportedCommand(f"GT06 has no command for a {command.kind} message")
        flag = ref & 0xFFFFFFFF
        serial = self._serial
        self._serial = (serial + 1) & 0xFFFF
        return flag, wire.build(Proto.COMMAND, encode_command(text, server_flag=flag), serial)

    def take_answers(self) -> list[CommandAnswer]:
        answers, self._answers = self._answers, []
        return answers
