"""What a virtual receiver says each epoch: the sentence profile and its encoding.

Sentences come from ``devices.nmea.encode`` (the devices package owns the wire format); GSV and
the empty no-fix VTG/GSA are written here with its generic ``sentence`` builder.

:func:`encode_epoch` also returns the record a correct decoder must produce from those bytes:
values are quantised exactly as the encoding rounds them, so tests and benchmarks can compare
decoded or stored fixes with ``==`` rather than with tolerances.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from devices.nmea import encode
from devices.records import Fix, NoFix, Record
from simulators.errors import SpecError


class Sentence(enum.StrEnum):
    RMC = "RMC"
    GGA = "GGA"
    GSA = "GSA"
    VTG = "VTG"
    ZDA = "ZDA"
    GSV = "GSV"


#: talkers a receiver may use: GPS, multi-GNSS, GLONASS, BeiDou (two spellings), Galileo
TALKERS = ("GP", "GN", "GL", "BD", "GB", "GA")


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceProfile:
    """Which sentences a terminal sends each epoch, in its cycle order, and its talker id.

    The default, RMC then GGA, is what most vehicle trackers send. The profile must date its
    epochs (RMC or ZDA) and position them (RMC or GGA), or nothing it sends becomes a fix.
    """

    sentences: tuple[Sentence, ...] = (Sentence.RMC, Sentence.GGA)
    talker: str = "GP"

    def __post_init__(self) -> None:
        try:
            kinds = tuple(Sentence(str(s).upper()) for s in self.sentences)
        except ValueError as exc:
            known = ", ".join(s.value for s in Sentence)
            raise SpecError(f"unknown sentence in profile {self.sentences}: known are {known}"
                            ) from exc
        object.__setattr__(self, "sentences", kinds)
        if len(set(kinds)) != len(kinds):
            raise SpecError(f"sentence profile repeats a sentence: {','.join(kinds)}")
        if Sentence.RMC not in kinds and Sentence.ZDA not in kinds:
            raise SpecError("sentence profile needs RMC or ZDA: nothing else dates an epoch")
        if Sentence.RMC not in kinds and Sentence.GGA not in kinds:
            raise SpecError("sentence profile needs RMC or GGA: nothing else carries a position")
        if kinds[0] not in (Sentence.RMC, Sentence.GGA, Sentence.ZDA):
            # GSA, VTG and GSV carry no time: decoders attach them to the epoch already open,
            # so a cycle starting with one would lend its values to the previous epoch
            raise SpecError(f"sentence profile must start with RMC, GGA or ZDA, not {kinds[0]}")
        if self.talker not in TALKERS:
            raise SpecError(f"talker {self.talker!r} is not one of {', '.join(TALKERS)}")

    @classmethod
    def parse(cls, text: str, *, talker: str = "GP") -> SentenceProfile:
        """``"rmc,gga,gsa"`` (case-insensitive, comma separated)."""
        names = tuple(part.strip().upper() for part in text.split(",") if part.strip())
        if not names:
            raise SpecError("empty sentence profile")
        # __post_init__ turns the names into Sentence members (and refuses unknown ones)
        return cls(sentences=names, talker=talker.upper())  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Reading:
    """What the receiver believes in one epoch (faults already applied)."""

    time: datetime  #: the terminal's clock, UTC
    lat: float
    lon: float
    speed_kn: float
    course: float
    alt_m: float
    sats: int
    hdop: float
    valid: bool = True
    in_view: tuple[tuple[int, int, int, int], ...] = ()  #: (prn, elevation, azimuth, snr)


def quantise_time(t: datetime) -> datetime:
    """The time as NMEA carries it: centiseconds."""
    return t.replace(microsecond=t.microsecond // 10000 * 10000)


def _coord(value: bytes, hemisphere: bytes) -> float:
    # the decoder's documented arithmetic (devices.nmea: degrees = int(value / 100), result
    # rounded to 1e-8); round-trip tests through NmeaStream hold the two together
    number = float(value)
    degrees = int(number / 100)
    result = round(degrees + (number - degrees * 100) / 60, 8)
    return -result if hemisphere in (b"S", b"W") else result


def coords_of(sentence: bytes) -> tuple[float, float]:
    """The position as a decoder reads it back from an encoded RMC or GGA sentence."""
    f = sentence.split(b",")
    i = 3 if f[0].endswith(b"RMC") else 2
    return _coord(f[i], f[i + 1]), _coord(f[i + 2], f[i + 3])


def _q(value: float, digits: int) -> float:
    return float(f"{value:.{digits}f}")


def gsv(in_view: tuple[tuple[int, int, int, int], ...], *, talker: str = "GP") -> list[bytes]:
    """GSV messages (four satellites each) for the satellites in view."""
    total = max(1, (len(in_view) + 3) // 4)
    out = []
    for n in range(total):
        fields: list[object] = [total, n + 1, f"{len(in_view):02d}"]
        for prn, elev, az, snr in in_view[n * 4:n * 4 + 4]:
            fields += [f"{prn:02d}", f"{elev:02d}", f"{az:03d}", f"{snr:02d}" if snr else None]
        out.append(encode.sentence(f"{talker}GSV", *fields))
    return out


def encode_epoch(reading: Reading, profile: SentenceProfile) -> tuple[list[bytes], Record]:
    """The sentences of one epoch, in profile order, and the record they decode to."""
    talker = profile.talker
    kinds = profile.sentences
    t = quantise_time(reading.time)
    out: list[bytes] = []
    if not reading.valid:
        for kind in kinds:
            if kind is Sentence.RMC:
                out.append(encode.no_fix_rmc(t, talker=talker))
            elif kind is Sentence.GGA:
                out.append(encode.no_fix_gga(t, talker=talker))
            elif kind is Sentence.GSA:
                out.append(encode.gsa(1, talker=talker))
            elif kind is Sentence.VTG:
                out.append(encode.sentence(f"{talker}VTG", None, "T", None, "M", None, "N",
                                           None, "K", "N"))
            elif kind is Sentence.ZDA:
                out.append(encode.zda(t, talker=talker))
            else:
                out += gsv(reading.in_view, talker=talker)
        return out, NoFix(t, 0 if Sentence.GGA in kinds else None)

    # encode the receiver's values; the record takes them back as the encoding rounded them
    sats = reading.sats
    mode = 3 if sats >= 4 else 2
    hdop = _q(reading.hdop, 1)
    course = _q(reading.course % 360.0, 2)
    if course >= 360.0:
        course = 0.0
    raw = Fix(t, reading.lat, reading.lon, reading.speed_kn, course, reading.alt_m, sats, hdop, 1)
    positioned = None
    for kind in kinds:
        if kind is Sentence.RMC:
            out.append(encode.rmc(raw, talker=talker))
            positioned = positioned or out[-1]
        elif kind is Sentence.GGA:
            out.append(encode.gga(raw, talker=talker))
            positioned = positioned or out[-1]
        elif kind is Sentence.GSA:
            prns = tuple(p for p, *_ in reading.in_view[:sats])
            out.append(encode.gsa(mode, hdop=hdop, prns=prns, talker=talker))
        elif kind is Sentence.VTG:
            out.append(encode.vtg(raw, talker=talker))
        elif kind is Sentence.ZDA:
            out.append(encode.zda(t, talker=talker))
        else:
            out += gsv(reading.in_view, talker=talker)
    assert positioned is not None  # the profile guarantees RMC or GGA
    lat, lon = coords_of(positioned)
    speed = _q(reading.speed_kn, 2)
    alt = _q(reading.alt_m, 1)
    has = set(kinds)
    moving = Sentence.RMC in has or Sentence.VTG in has
    gga = Sentence.GGA in has
    record = Fix(
        t, lat, lon,
        speed if moving else None,
        course if moving else None,
        alt if gga else None,
        sats if gga else None,
        hdop if gga or Sentence.GSA in has else None,
        1 if gga else None,
        mode if Sentence.GSA in has else None,
    )
    return out, record
