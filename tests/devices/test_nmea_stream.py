"""NmeaStream: epochs merged, dates carried, junk counted (the lead's first cut; the devices
engineer extends this with the Traccar captures and property tests)."""

from datetime import UTC, datetime, timedelta

import pytest

from devices.nmea import NmeaStream, Reject, encode
from devices.records import Fix, NoFix

T0 = datetime(2026, 11, 29, 23, 59, 58, tzinfo=UTC)


def _fix(i: int) -> Fix:
    return Fix(T0 + timedelta(seconds=i), 48.1173 + i * 1e-4, -11.5167, 12.5, 271.25, 545.4, 9,
               0.9, 1)


def test_rmc_and_gga_of_one_epoch_merge_into_one_fix() -> None:
    stream = NmeaStream(eager=False)
    out = stream.feed(encode.epoch(_fix(0)) + encode.gsa(3, hdop=0.9)) + stream.flush()
    assert out == [Fix(T0, 48.1173, -11.5167, 12.5, 271.25, 545.4, 9, 0.9, 1, 3)]


def test_eager_mode_learns_the_cycle_end_and_emits_without_waiting() -> None:
    stream = NmeaStream(eager=True)
    emitted = [len(stream.feed(encode.epoch(_fix(i)))) for i in range(6)]
    # epoch 0 closes when epoch 1 starts; from epoch 2 on GGA is known to end the cycle
    assert emitted == [0, 1, 2, 1, 1, 1]
    assert stream.flush() == []


def test_order_change_after_learning_counts_a_late_sentence_not_a_second_fix() -> None:
    stream = NmeaStream(eager=True)
    out = []
    for i in range(3):
        out += stream.feed(encode.epoch(_fix(i)))
    swapped = _fix(3)
    out += stream.feed(encode.gga(swapped) + encode.rmc(swapped))
    out += stream.feed(encode.epoch(_fix(4))) + stream.flush()
    times = [r.time for r in out]
    assert times == sorted(set(times))
    assert stream.stats.rejected.get(Reject.LATE) == 1


def test_date_from_rmc_dates_later_gga_only_epochs_across_midnight() -> None:
    stream = NmeaStream(eager=False)
    data = encode.rmc(_fix(0)) + b"".join(encode.gga(_fix(i)) for i in range(1, 4))
    out = stream.feed(data) + stream.flush()
    assert [r.time for r in out] == [T0 + timedelta(seconds=i) for i in range(4)]
    assert out[-1].time.date() == datetime(2026, 11, 30).date()


def test_gga_before_any_date_is_counted_undated() -> None:
    stream = NmeaStream(eager=False)
    out = stream.feed(encode.gga(_fix(0)) + encode.gga(_fix(1))) + stream.flush()
    assert out == []
    assert stream.stats.rejected[Reject.UNDATED] == 2


def test_invalid_epochs_become_nofix() -> None:
    stream = NmeaStream(eager=False)
    out = stream.feed(encode.no_fix_rmc(T0) + encode.no_fix_gga(T0)) + stream.flush()
    assert out == [NoFix(T0, 0)]


@pytest.mark.parametrize(
    ("junk", "reason"),
    [
        (b"\x00\xff\xfe binary noise", Reject.NO_SENTENCE),
        (b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6B",
         Reject.BAD_CHECKSUM),
        (b"$GPRMC,123519,A,48x7.038,N,01131.000,E,022.4,084.4,230394,003.1,W", Reject.MALFORMED),
        (b"$GPRMC,123519,A,9907.038,N,01131.000,E,022.4,084.4,230394,003.1,W", Reject.MALFORMED),
        (b"$GPRMC,123519", Reject.MALFORMED),
        (b"$" + b"A" * 600, Reject.OVERLONG),
    ],
)
def test_bad_lines_are_counted_and_the_good_ones_survive(junk: bytes, reason: Reject) -> None:
    stream = NmeaStream(eager=False)
    good = encode.epoch(_fix(0))
    out = stream.feed(junk + b"\r\n" + good) + stream.flush()
    assert len(out) == 1
    assert stream.stats.rejected == {reason: 1}


def test_pgid_names_the_terminal_and_vendor_prefixes_are_skipped() -> None:
    stream = NmeaStream(eager=False)
    data = b"$PGID,359853000144328*0F\r\n123456789" + encode.rmc(_fix(0))
    out = stream.feed(data) + stream.flush()
    assert stream.terminal == "359853000144328"
    assert out[0].terminal == "359853000144328"


def test_split_anywhere_gives_the_same_fixes() -> None:
    data = b"".join(encode.epoch(_fix(i)) for i in range(5))
    whole = NmeaStream(eager=False)
    expected = whole.feed(data) + whole.flush()
    for step in (1, 7, 64):
        stream = NmeaStream(eager=False)
        out = []
        for i in range(0, len(data), step):
            out += stream.feed(data[i : i + step])
        assert out + stream.flush() == expected


def test_two_gsa_per_epoch_the_second_one_ends_the_cycle() -> None:
    """Multi-constellation receivers send one GSA per system: learning "GSA ends the cycle"
    would close each epoch on the first GSA and push the second into the next epoch."""
    stream = NmeaStream(eager=True)
    emitted = []
    for i in range(5):
        first = stream.feed(encode.epoch(_fix(i), talker="GN") + encode.gsa(3, hdop=0.9,
                                                                            talker="GN"))
        second = stream.feed(encode.gsa(2, talker="GN"))
        emitted.append((len(first), len(second)))
    # epochs 0 and 1 close when the next starts; from epoch 2 on, by the 2nd GSA (not the 1st)
    assert emitted == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 1)]
    assert stream.flush() == []
    assert stream.stats.rejected == {}
    assert stream.stats.fixes == 5


def test_long_tail_time_sentences_join_their_epoch_and_unknown_types_are_counted() -> None:
    from devices.nmea.checksum import with_checksum

    stream = NmeaStream(eager=True)
    out = []
    for i in range(4):
        t = (T0 + timedelta(seconds=i)).strftime("%H%M%S.00")
        out += stream.feed(encode.epoch(_fix(i))
                           + with_checksum(f"GPGST,{t},0.006,0.023,0.020,273.6,0.023,0.020,"
                                           "0.031".encode()) + b"\r\n"
                           + with_checksum(b"GPTXT,01,01,02,hello") + b"\r\n")
    # GST carries the epoch's time: it is learnt as the cycle end and closes epochs at once
    assert len(out) == 4 and stream._ender == "GST"
    assert stream.stats.by_type == {"RMC": 4, "GGA": 4, "GST": 4, "TXT": 4}


def test_pubx04_dates_a_gga_only_stream() -> None:
    from devices.nmea.checksum import with_checksum

    stream = NmeaStream(eager=False)
    data = (with_checksum(b"PUBX,04,235958.00,291126,431998.00,2447,18,1930035,-2660.664,43")
            + b"\r\n" + encode.gga(_fix(0)) + encode.gga(_fix(1)))
    out = stream.feed(data) + stream.flush()
    assert [r.time for r in out] == [T0, T0 + timedelta(seconds=1)]


def test_counted_types_are_bounded() -> None:
    from devices.nmea.checksum import with_checksum

    stream = NmeaStream()
    data = b"".join(with_checksum(b"GP%03d,1" % i) + b"\r\n" for i in range(200))
    stream.feed(data)
    assert len(stream.stats.by_type) == 65  # 64 names and "other"
    assert stream.stats.by_type["other"] == 200 - 64
    assert stream.sentences == 200


def test_require_checksum_rejects_bare_sentences() -> None:
    stream = NmeaStream(eager=False, require_checksum=True)
    bare = encode.rmc(_fix(0)).split(b"*")[0] + b"\r\n"
    assert stream.feed(bare) + stream.flush() == []
    assert stream.stats.rejected == {Reject.BAD_CHECKSUM: 1}
