"""Hypothesis strategies for NMEA sentences: well-formed hot sentences with every optional
field varied, checksum variants, and field-level garbage for the C/pure comparison."""

from __future__ import annotations

from hypothesis import strategies as st

from devices.nmea.checksum import checksum

TALKERS = ["GP", "GN", "GL", "GA", "GB", "BD"]


def _decimal(draw, low: int, high: int, max_places: int = 3) -> str:
    whole = draw(st.integers(low, high))
    places = draw(st.integers(0, max_places))
    if places == 0:
        return str(whole)
    frac = draw(st.integers(0, 10**places - 1))
    return f"{whole}.{frac:0{places}d}"


@st.composite
def times(draw) -> str:
    h, m, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    places = draw(st.integers(0, 3))
    frac = "" if places == 0 else "." + "".join(draw(st.lists(
        st.sampled_from("0123456789"), min_size=places, max_size=places)))
    return f"{h:02d}{m:02d}{s:02d}{frac}"


@st.composite
def coords(draw, limit: int) -> tuple[str, str]:
    degrees = draw(st.integers(0, limit - 1))
    places = draw(st.integers(1, 6))
    minutes = draw(st.integers(0, 60 * 10**places - 1))
    text = f"{minutes // 10**places:02d}.{minutes % 10**places:0{places}d}"
    width = 2 if limit == 90 else 3
    padded = draw(st.booleans())  # terminals drop leading zeros of the degrees
    deg = f"{degrees:0{width}d}" if padded else str(degrees)
    hemi = draw(st.sampled_from("NS" if limit == 90 else "EW"))
    return deg + text, hemi


@st.composite
def dates(draw) -> str:
    year = draw(st.integers(1980, 2079))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    return f"{day:02d}{month:02d}{year % 100:02d}"


def opt(strategy):
    return st.one_of(st.just(""), strategy)


@st.composite
def rmc(draw) -> str:
    lat, ns = draw(opt(coords(90)).map(lambda v: v or ("", "")))
    lon, ew = draw(opt(coords(180)).map(lambda v: v or ("", "")))
    fields = [draw(times()), draw(st.sampled_from("AV")), lat, ns, lon, ew,
              draw(opt(_num(0, 300))), draw(opt(_num(0, 359))), draw(dates()), "", ""]
    if draw(st.booleans()):
        fields.append(draw(st.sampled_from("ADEFMNPRS")))
    return "RMC," + ",".join(fields)


def _num(low: int, high: int, places: int = 3):
    return st.composite(lambda draw: _decimal(draw, low, high, places))()


@st.composite
def gga(draw) -> str:
    lat, ns = draw(coords(90))
    lon, ew = draw(coords(180))
    sats = draw(st.integers(0, 40))
    fields = [draw(times()), lat, ns, lon, ew, str(draw(st.integers(0, 8))),
              draw(st.sampled_from([str(sats), f"{sats:02d}", ""])), draw(opt(_num(0, 99, 2))),
              draw(opt(st.one_of(_num(0, 9000, 3), _num(0, 400, 1).map(lambda s: "-" + s)))),
              "M", draw(opt(_num(0, 99, 1))), "M", "", ""]
    return "GGA," + ",".join(fields)


@st.composite
def gsa(draw) -> str:
    prns = draw(st.lists(st.integers(1, 99), max_size=12))
    slots = [f"{p:02d}" for p in prns] + [""] * (12 - len(prns))
    dops = [draw(opt(_num(0, 99, 2))) for _ in range(3)]
    return "GSA," + ",".join([draw(st.sampled_from("AM")), str(draw(st.integers(1, 3))), *slots,
                              *dops])


@st.composite
def vtg(draw) -> str:
    return "VTG," + ",".join([draw(opt(_num(0, 359, 2))), "T", "", "M", draw(opt(_num(0, 300))),
                              "N", draw(opt(_num(0, 550))), "K",
                              draw(st.sampled_from("ADEN"))])


@st.composite
def zda(draw) -> str:
    year, month, day = draw(st.integers(1980, 2099)), draw(st.integers(1, 12)), draw(
        st.integers(1, 28))
    return "ZDA," + ",".join([draw(times()), f"{day:02d}", f"{month:02d}", str(year), "00",
                              "00"])


@st.composite
def gll(draw) -> str:
    lat, ns = draw(coords(90))
    lon, ew = draw(coords(180))
    return "GLL," + ",".join([lat, ns, lon, ew, draw(times()), draw(st.sampled_from("AV")),
                              draw(st.sampled_from("ADEN"))])


@st.composite
def gns(draw) -> str:
    lat, ns = draw(coords(90))
    lon, ew = draw(coords(180))
    modes = "".join(draw(st.lists(st.sampled_from("NADEFMPRS"), min_size=1, max_size=4)))
    return "GNS," + ",".join([draw(times()), lat, ns, lon, ew, modes,
                              f"{draw(st.integers(0, 40)):02d}", draw(opt(_num(0, 99, 2))),
                              draw(opt(_num(0, 9000, 1))), draw(opt(_num(0, 99, 1))), "", ""])


SENTENCES = {"RMC": rmc(), "GGA": gga(), "GSA": gsa(), "VTG": vtg(), "ZDA": zda(),
             "GLL": gll(), "GNS": gns()}
hot_bodies = st.one_of(*SENTENCES.values())


@st.composite
def sentence_bodies(draw, bodies=hot_bodies) -> tuple[bytes, str]:
    """``(body after '$', checksum variant)``: variant is ok, lower, bad or none."""
    text = draw(st.sampled_from(TALKERS)) + draw(bodies)
    raw = text.encode("ascii")
    value = checksum(raw)
    variant = draw(st.sampled_from(["ok", "lower", "bad", "none"]))
    if variant == "ok":
        return raw + b"*%02X" % value, variant
    if variant == "lower":
        return raw + b"*%02x" % value, variant
    if variant == "bad":
        wrong = (value + draw(st.integers(1, 255))) % 256
        return raw + b"*%02X" % wrong, variant
    return raw, variant


#: field values that look numeric to someone: Python's float()/int() accept some of them
WEIRD_TOKENS = [b"", b"1e5", b" 12", b"12 ", b"1_0", b"inf", b"-inf", b"nan", b"-0", b"+5", b"0x1",
                b".", b"5.", b".5", b"-4807.038", b"4807", b"99999", b"\xd9\xa3", b"1" * 70,
                b"000000", b"311299", b"290223", b"A", b"V", b"N", b"S", b"E", b"W", b"60.0",
                b"235960.5", b"246000", b"1e400", b"9" * 25, b"\t3\n", b"3\x0b"]


@st.composite
def mutated_bodies(draw) -> bytes:
    """A well-formed sentence with fields replaced by odd tokens, bytes flipped or cut."""
    body, _ = draw(sentence_bodies())
    star = body.find(b"*")
    payload, tail = (body, b"") if star < 0 else (body[:star], body[star:])
    fields = payload.split(b",")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(fields) - 1))
        fields[i] = draw(st.sampled_from(WEIRD_TOKENS) | st.binary(max_size=6))
    payload = b",".join(fields)
    if draw(st.booleans()):  # keep the checksum right so that the fields get parsed
        tail = b"*%02X" % checksum(payload)
    data = bytearray(payload + tail)
    for _ in range(draw(st.integers(0, 2))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)
