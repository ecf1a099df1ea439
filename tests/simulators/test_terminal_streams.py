"""What a virtual terminal sends decodes, through the real NMEA decoder, into exactly the fixes
it meant; every fault shows at the byte level as what it promises."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from devices.nmea import NmeaStream, Reject
from devices.records import Fix, NoFix
from simulators.errors import SpecError
from simulators.faults import FaultKind, parse_fault
from simulators.geo import haversine_m
from simulators.route import RouteConfig
from simulators.sentences import SentenceProfile
from simulators.terminal import Report, TerminalConfig, VirtualTerminal

T0 = datetime(2026, 3, 1, 23, 58, 0, tzinfo=UTC)  # runs cross midnight: dates must follow


def run(*faults: str, seconds: int = 120, profile: str = "rmc,gga", talker: str = "GP",
        interval: float = 1.0, seed: int = 1) -> list[Report]:
    config = TerminalConfig(terminal_id="SIM0001", interval=interval, seed=seed,
                            profile=SentenceProfile.parse(profile, talker=talker),
                            faults=tuple(parse_fault(f) for f in faults))
    vt = VirtualTerminal(config, start=T0)
    return [vt.next_report() for _ in range(int(seconds / interval))]


def decode(reports: list[Report], *, eager: bool = False) -> tuple[list, NmeaStream]:
    stream = NmeaStream(eager=eager)
    out = []
    for r in reports:
        out += stream.feed(r.data)
    return out + stream.flush(), stream


@pytest.mark.parametrize(("profile", "talker"), [
    ("rmc,gga", "GP"), ("rmc,gga", "GN"), ("rmc,gga,gsa,vtg,zda,gsv", "GN"),
    ("gga,zda", "GP"), ("zda,rmc", "GL"), ("rmc", "GP"), ("gga,vtg,zda", "BD"),
    ("gga,gsa,rmc", "GA"),
])
@pytest.mark.parametrize("eager", [False, True])
def test_streams_decode_into_the_intended_fixes(profile: str, talker: str, eager: bool) -> None:
    reports = run(profile=profile, talker=talker, seconds=180)
    records, stream = decode(reports, eager=eager)
    assert records == [r.record for r in reports]
    assert not stream.stats.rejected
    assert all(isinstance(r, Fix) for r in records)
    # midnight passed during the run and every epoch carries its own date
    assert records[0].time == T0 and records[-1].time == T0 + timedelta(seconds=179)
    # sentences counted by the terminal are the decoder's sentences
    assert stream.stats.sentences == sum(r.sentences for r in reports)


def test_records_carry_what_the_profile_says() -> None:
    fix = run(profile="rmc,gga,gsa", seconds=1)[0].record
    assert fix.mode == 3 and fix.fix_quality == 1 and fix.sats >= 5 and fix.alt_m is not None
    fix = run(profile="rmc", seconds=1)[0].record
    assert fix.alt_m is fix.sats is fix.hdop is fix.fix_quality is None
    assert fix.speed_kn is not None and fix.course is not None
    fix = run(profile="gga,zda", seconds=1)[0].record
    assert fix.speed_kn is fix.course is None


def test_reports_follow_the_interval_and_the_track() -> None:
    reports = run(seconds=600, interval=10)
    assert [r.at for r in reports[:3]] == [0, 10, 20]
    assert [r.record.time for r in reports[:2]] == [T0, T0 + timedelta(seconds=10)]
    top = RouteConfig().max_speed_mps * 10
    for a, b in zip(reports, reports[1:], strict=False):
        assert haversine_m(a.record.lat, a.record.lon, b.record.lat, b.record.lon) <= top


def test_same_seed_same_bytes() -> None:
    faults = ("checksum:0.3", "garbage:0.2", "jump@30s")
    assert [r.data for r in run(*faults, seed=5)] == [r.data for r in run(*faults, seed=5)]
    assert [r.data for r in run(*faults, seed=5)] != [r.data for r in run(*faults, seed=6)]


def test_bad_profiles_are_refused() -> None:
    with pytest.raises(SpecError, match="RMC or ZDA"):
        SentenceProfile.parse("gga,gsa")
    with pytest.raises(SpecError, match="RMC or GGA"):
        SentenceProfile.parse("zda,vtg")
    with pytest.raises(SpecError, match="unknown sentence"):
        SentenceProfile.parse("rmc,xyz")
    with pytest.raises(SpecError, match="must start with"):
        SentenceProfile.parse("gsa,rmc,gga")
    with pytest.raises(SpecError, match="talker"):
        SentenceProfile.parse("rmc", talker="QQ")
    with pytest.raises(SpecError, match="multiple of 0.01"):
        TerminalConfig(terminal_id="A1", interval=0.333)
    with pytest.raises(SpecError, match="letters/digits"):
        TerminalConfig(terminal_id="bad id")


# -- faults, seen from the decoder ---------------------------------------------------------

def window(reports: list[Report], start: float, end: float) -> list[Report]:
    return [r for r in reports if start <= r.at < end]


@pytest.mark.parametrize("profile", ["rmc,gga", "rmc,gga,gsa,vtg,zda,gsv", "gga,zda"])
def test_no_fix_reports_invalid_epochs_while_still_reporting(profile: str) -> None:
    reports = run("no_fix@30s+20s", profile=profile)
    records, stream = decode(reports)
    nofix = [r for r in records if isinstance(r, NoFix)]
    assert [r.time for r in nofix] == [T0 + timedelta(seconds=s) for s in range(30, 50)]
    assert all(r.sats == 0 for r in nofix)  # GGA says 00 satellites
    assert len([r for r in records if isinstance(r, Fix)]) == 100
    assert all(r.faults == (FaultKind.NO_FIX,) for r in window(reports, 30, 50))
    assert not stream.stats.rejected


def test_poor_accuracy_gives_valid_fixes_with_high_hdop_and_few_satellites() -> None:
    reports = run("poor_accuracy:hdop=9.5,sats=3@10s+5s", profile="rmc,gga,gsa")
    records, _ = decode(reports)
    poor = [r for r in records if r.hdop == 9.5]
    assert [r.time for r in poor] == [T0 + timedelta(seconds=s) for s in range(10, 15)]
    assert all(r.sats == 3 and r.mode == 2 for r in poor)  # 2D with three satellites
    assert all(r.sats >= 5 and r.hdop < 3 for r in records if r not in poor)


def test_bad_checksums_are_rejected_and_counted_exactly() -> None:
    reports = run("checksum:0.4@20s+60s")
    records, stream = decode(reports)
    corrupted = sum(r.rejects.get(Reject.BAD_CHECKSUM, 0) for r in reports)
    assert 20 < corrupted < 80  # 40 % of 120 sentences
    assert stream.stats.rejected == {Reject.BAD_CHECKSUM: corrupted}
    assert all(r.intact for r in reports if not 20 <= r.at < 80)
    # every intact epoch decodes exactly; nothing decodes that was not sent
    intact = [r.record for r in reports if r.intact]
    assert all(fix in records for fix in intact)
    assert {r.time for r in records} <= {r.record.time for r in reports}


def test_garbage_and_overlong_lines_are_counted_and_the_fixes_survive() -> None:
    reports = run("garbage:0.5,size=64@0s+60s", "overlong:0.3,length=2000@30s+60s")
    records, stream = decode(reports)
    expected = Counter()
    for r in reports:
        expected.update(r.rejects)
    assert expected[Reject.NO_SENTENCE] > 15 and expected[Reject.OVERLONG] > 10
    assert stream.stats.rejected == dict(expected)
    assert records == [r.record for r in reports]  # noise never costs a fix
    noisy = b"".join(r.data for r in reports)
    assert max(len(line) for line in noisy.split(b"\n")) > 2000


def test_garbage_also_survives_an_eager_decoder_fed_in_small_pieces() -> None:
    reports = run("garbage:1,size=300", "overlong:1,length=700", seconds=30)
    data = b"".join(r.data for r in reports)
    stream = NmeaStream(eager=True)
    records = []
    for i in range(0, len(data), 37):  # TCP segments cut lines anywhere
        records += stream.feed(data[i:i + 37])
    records += stream.flush()
    assert records == [r.record for r in reports]
    assert stream.stats.rejected == {Reject.NO_SENTENCE: 30, Reject.OVERLONG: 30}


def test_a_jump_is_one_far_away_fix_then_back_on_track() -> None:
    reports = run("jump:5km@40s")
    records, _ = decode(reports)
    steps = [haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(records, records[1:],
                                                                      strict=False)]
    far = [i for i, d in enumerate(steps) if d > 1000]
    assert far == [39, 40]  # out at 40 s, back at 41 s
    assert steps[39] == pytest.approx(5000, rel=0.01)
    assert steps[40] == pytest.approx(5000, rel=0.01)
    assert reports[40].faults == (FaultKind.JUMP,)


def test_a_teleport_moves_the_vehicle_for_good() -> None:
    reports = run("teleport:20km@40s")
    records, _ = decode(reports)
    steps = [haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(records, records[1:],
                                                                      strict=False)]
    assert [i for i, d in enumerate(steps) if d > 1000] == [39]
    assert steps[39] == pytest.approx(20000, rel=0.01)


def test_clock_skew_offsets_the_terminal_time_from_true_time() -> None:
    reports = run("skew:-90m@60s")
    records, _ = decode(reports)
    for r, rec in zip(reports, records, strict=True):
        offset = (rec.time - r.time).total_seconds()
        assert offset == (-5400 if r.at >= 60 else 0)
    # skewed back across midnight: the terminal's date goes back with its clock
    assert records[-1].time.date() == T0.date()


def test_silent_sends_nothing_in_its_window() -> None:
    reports = run("silent@10s+15s")
    quiet = window(reports, 10, 25)
    assert len(quiet) == 15 and all(r.data == b"" and r.record is None for r in quiet)
    records, _ = decode(reports)
    assert len(records) == 105
    # the vehicle kept driving while it was quiet: the next fix is where it would be
    assert records[10].time == T0 + timedelta(seconds=25)


def test_faults_compose() -> None:
    reports = run("no_fix@10s+20s", "checksum:0.5@20s+20s", "skew:+1h@15s+10s")
    records, stream = decode(reports)
    both = window(reports, 20, 30)
    assert all(set(r.faults) >= {FaultKind.NO_FIX, FaultKind.CHECKSUM} for r in both)
    nofix_times = {r.time for r in records if isinstance(r, NoFix)}
    assert T0 + timedelta(seconds=12) in nofix_times
    assert T0 + timedelta(seconds=3600 + 16) in nofix_times  # skewed and without fix
    corrupted = sum(r.rejects.get(Reject.BAD_CHECKSUM, 0) for r in reports)
    assert corrupted > 5
    assert stream.stats.rejected == {Reject.BAD_CHECKSUM: corrupted}
    assert all(r.record in records for r in reports if r.intact)


def test_link_plans_follow_connection_faults() -> None:
    config = TerminalConfig(terminal_id="SIM0001", faults=(
        parse_fault("silent:drop@10s+5s"), parse_fault("storm:every=2s@30s+10s"),
        parse_fault("storm:every=500ms@35s+2s")))
    vt = VirtualTerminal(config, start=T0)
    assert vt.link_plan(9.9).up and not vt.link_plan(10).up and vt.link_plan(15).up
    assert vt.link_plan(31).storm_every == 2.0
    assert vt.link_plan(36).storm_every == 0.5  # the fastest storm wins
    assert vt.link_plan(40).storm_every is None
    assert vt.fault_boundaries() == [10, 15, 30, 35, 37, 40]


@pytest.mark.parametrize("seed", range(20))
def test_bad_checksums_never_cost_an_eager_decoder_an_intact_epoch(seed: int) -> None:
    """A corrupted sentence closing a cycle must not teach the eager decoder a wrong cycle end
    (it used to: the next, intact epoch then lost its GGA as `late`)."""
    reports = run("checksum:0.3", seed=seed, seconds=60)
    records, stream = decode(reports, eager=True)
    intact = [r.record for r in reports if r.intact]
    assert all(fix in records for fix in intact)
    assert Reject.LATE not in stream.stats.rejected
