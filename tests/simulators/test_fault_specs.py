"""The fault spec format: what testers type on the command line."""

import math

import pytest

from simulators.errors import SpecError
from simulators.faults import Fault, FaultKind, Target, parse_distance, parse_duration, parse_fault
from simulators.fleet import faults_for, terminal_ids


@pytest.mark.parametrize(("text", "kind", "start", "duration", "params", "target"), [
    ("no_fix@30s+60s", FaultKind.NO_FIX, 30, 60, {}, "*"),
    ("SIM0003/silent:drop@1m+2m", FaultKind.SILENT, 60, 120, {"drop": True}, "SIM0003"),
    ("silent", FaultKind.SILENT, 0, None, {"drop": False}, "*"),
    ("25%/checksum:0.2@0s", FaultKind.CHECKSUM, 0, None, {"rate": 0.2}, "25%"),
    ("checksum:rate=30%", FaultKind.CHECKSUM, 0, None, {"rate": 0.3}, "*"),
    ("poor_accuracy:hdop=12,sats=2@10s+30s", FaultKind.POOR_ACCURACY, 10, 30,
     {"hdop": 12.0, "sats": 2}, "*"),
    ("poor_accuracy", FaultKind.POOR_ACCURACY, 0, None, {"hdop": 8.0, "sats": 3}, "*"),
    ("skew:-2h", FaultKind.SKEW, 0, None, {"offset": -7200.0}, "*"),
    ("clock_drift:+1m30s@1m", FaultKind.SKEW, 60, None, {"offset": 90.0}, "*"),
    ("jump:5km@45s", FaultKind.JUMP, 45, None, {"distance": 5000.0, "keep": False}, "*"),
    ("teleport:800m@45s", FaultKind.JUMP, 45, None, {"distance": 800.0, "keep": True}, "*"),
    ("storm:every=500ms@20s+10s", FaultKind.STORM, 20, 10, {"every": 0.5}, "*"),
    ("reconnect_storm@5s+1s", FaultKind.STORM, 5, 1, {"every": 1.0}, "*"),
    ("offline@1h", FaultKind.SILENT, 3600, None, {"drop": False}, "*"),
    ("SIM00*/garbage:1,size=10", FaultKind.GARBAGE, 0, None, {"rate": 1.0, "size": 10},
     "SIM00*"),
    ("overlong:0.1,length=4096@2s+1.5s", FaultKind.OVERLONG, 2, 1.5,
     {"rate": 0.1, "length": 4096}, "*"),
    ("NO_FIX@1m30s+90", FaultKind.NO_FIX, 90, 90, {}, "*"),
])
def test_specs_parse_into_faults(text, kind, start, duration, params, target) -> None:
    fault = parse_fault(text)
    assert fault.kind is kind
    assert fault.start == start
    assert fault.duration == duration
    assert dict(fault.params) == params
    assert fault.target.text == target
    # the printed form is a spec again, and means the same thing
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(("text", "message"), [
    ("nofix@3s", "unknown fault kind 'nofix'"),
    ("checksum:2", "within 0..1"),
    ("checksum:rate=x", "bad fraction"),
    ("silent:drop,3", "too many parameters"),
    ("silent:drop,drop", "given twice"),
    ("jump:-5km", "must be positive"),
    ("jump:5 miles", "bad distance"),
    ("no_fix@30x", "bad time '30x'"),
    ("no_fix@-3s", "may not be signed"),
    ("no_fix@10s+0s", "duration must be positive"),
    ("storm:every=0", "at least 10ms"),
    ("poor_accuracy:foo=1", "has no parameter 'foo'"),
    ("poor_accuracy:sats=40", "within 0..12"),
    ("a b/no_fix", "bad fault target"),
    ("no_fix:1", "too many parameters"),
    ("", "expected [TARGET/]KIND"),
    ("@5s", "expected [TARGET/]KIND"),
])
def test_bad_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_fault(text)
    assert message in str(err.value)
    assert repr(text) in str(err.value) or text == ""


def test_times_and_distances() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1h2m3s") == 3723
    assert parse_duration("1.5m") == 90
    assert parse_duration("-2h", signed=True) == -7200
    assert parse_distance("1.2km") == 1200
    assert parse_distance("250") == 250
    with pytest.raises(SpecError):
        parse_duration("")
    with pytest.raises(SpecError):
        parse_duration("5 s")


def test_windows_and_instant_faults() -> None:
    window = parse_fault("no_fix@30s+60s")
    assert [window.active(t, 1.0) for t in (29.99, 30, 89.99, 90)] == [False, True, True, False]
    forever = parse_fault("no_fix@30s")
    assert forever.end(1.0) == math.inf
    jump = parse_fault("jump@10s")  # one report, whatever the interval
    assert jump.end(5.0) == 15.0
    assert jump.active(14.9, 5.0) and not jump.active(15.0, 5.0)


def test_targets_select_terminals() -> None:
    ids = terminal_ids(8)
    assert ids[0] == "SIM0001" and ids[-1] == "SIM0008"
    faults = [parse_fault("SIM0002/no_fix"), parse_fault("25%/checksum"),
              parse_fault("SIM000[78]/skew:1h"), parse_fault("silent@1h")]
    per = faults_for(faults, ids)
    kinds = [sorted(f.kind.value for f in mine) for mine in per]
    assert kinds[0] == ["checksum", "silent"]
    assert kinds[1] == ["checksum", "no_fix", "silent"]
    assert kinds[2] == ["silent"]
    assert kinds[6] == kinds[7] == ["silent", "skew"]
    assert Target("50%").matches("X", 3, 8) and not Target("50%").matches("X", 4, 8)


def test_a_target_matching_no_terminal_is_an_error_not_a_silent_no_op() -> None:
    with pytest.raises(SpecError, match="SIM0099"):
        faults_for([parse_fault("SIM0099/no_fix")], terminal_ids(3))


def test_faults_can_be_built_directly_and_check_their_parameters() -> None:
    fault = Fault(FaultKind.CHECKSUM, 5.0, 10.0, (("rate", 0.1),))
    assert fault.param("rate") == 0.1
    with pytest.raises(SpecError, match="unknown parameter"):
        Fault(FaultKind.NO_FIX, params=(("rate", 1),))
    with pytest.raises(SpecError, match="start"):
        Fault(FaultKind.NO_FIX, start=-1)
