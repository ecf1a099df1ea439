"""``fieldgate simulate`` end to end: real sockets, real output, clear errors."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.nmea import NmeaStream
from devices.records import Fix, NoFix
from fieldgate.cli import main

T55 = Path(__file__).parent.parent / "fixtures" / "simulators" / "t55.txt"


class _Collector(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections: list[bytes] = []
        self.lock = threading.Lock()

    def decoded(self) -> dict[str, list]:
        out: dict[str, list] = {}
        for data in self.connections:
            stream = NmeaStream(eager=False)
            records = stream.feed(data) + stream.flush()
            out.setdefault(stream.terminal or "?", []).extend(records)
        return out


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        chunks = []
        while data := self.request.recv(65536):
            chunks.append(data)
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.connections.append(b"".join(chunks))  # type: ignore[attr-defined]


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def _wait_connections(server: _Collector, count: int) -> None:
    import time

    deadline = time.monotonic() + 5
    while len(server.connections) < count:
        assert time.monotonic() < deadline, "connections did not finish"
        time.sleep(0.01)


def test_a_fleet_run_prints_a_summary_and_the_gateway_gets_the_fixes(
        collector: _Collector, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.jsonl"
    status = main(["simulate", "--tcp", f"127.0.0.1:{collector.server_address[1]}",
                   "--terminals", "2", "--duration", "10s", "--speedup", "25",
                   "--fault", "SIM0002/no_fix@2s+3s", "--fault", "checksum:0.5@6s+2s",
                   "--truth", str(truth), "--progress", "100ms", "--json"])
    out = capsys.readouterr()
    assert status == 0
    summary = json.loads(out.out)
    stats = summary["stats"]
    assert stats["reports"] == 20 and stats["sent_reports"] == 20
    assert stats["no_fixes"] == 3 and stats["corrupted"] > 0
    assert summary["faults"] == ["SIM0002/no_fix@2s+3s", "checksum@6s+2s"]  # defaults omitted
    assert "simulating 2 terminal(s) SIM0001..SIM0002" in out.err
    assert "faults active" in out.err  # progress lines
    _wait_connections(collector, 2)
    got = collector.decoded()
    assert sorted(got) == ["SIM0001", "SIM0002"]
    assert sum(isinstance(r, NoFix) for r in got["SIM0002"]) == 3
    lines = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(lines) == 20
    intact = {(x["terminal"], x["time"]) for x in lines if x["kind"] == "fix" and x["intact"]}
    received = {(tid, r.as_json()["time"]) for tid, recs in got.items() for r in recs
                if isinstance(r, Fix)}
    assert intact <= received


@pytest.mark.parametrize(("argv", "message"), [
    (["--fault", "no_fix@soon"], "bad time 'soon'"),
    (["--fault", "SIM0042/no_fix"], "matches none"),
    (["--rate", "3"], "not a multiple of 10 ms"),
    (["--rate", "-1"], "positive"),
    (["--profile", "gsa"], "needs RMC or ZDA"),
    (["--center", "north"], "expected LAT,LON"),
    (["--replay", "/nonexistent.nmea"], "cannot read capture"),
    (["--load", "--fault", "no_fix"], "faults are for fleet runs"),
    (["--replay", str(T55), "--terminals", "2"], "one terminal only"),
    (["--radius", "nan"], "--radius nan: expected a positive number of km"),
    (["--radius", "-1"], "--radius -1.0: expected a positive number of km"),
    (["--truth", "/dev/null/truth.jsonl"], "cannot write --truth /dev/null/truth.jsonl"),
    (["--load", "--fixes", "10", "--truth", "/dev/null/truth.jsonl"], "cannot write --truth"),
])
def test_bad_options_get_one_clear_line_and_status_2(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--tcp", "127.0.0.1:9", "--duration", "1s", *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert err.startswith("fieldgate simulate: ")
    assert "Traceback" not in err


def test_an_unusable_pty_directory_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--serial-pty", "/dev/null/ptys", "--duration", "1s"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fieldgate simulate: cannot make the pseudo-terminal directory "
                          "/dev/null/ptys")


def test_bad_addresses_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--tcp", "localhost", "--duration", "1s"]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
    assert main(["simulate", "--mqtt", "http://x", "--duration", "1s"]) == 2
    assert "mqtt://HOST" in capsys.readouterr().err


def test_nobody_listening_is_reported_with_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        status = main(["simulate", "--tcp", f"127.0.0.1:{port}", "--duration", "3s",
                       "--speedup", "30", "--progress", "0"])
    out = capsys.readouterr()
    assert status == 1
    assert "no terminal could connect" in out.err
    assert "connect_failures: " in out.out


def test_replay_of_a_vector_file(collector: _Collector,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--tcp", f"127.0.0.1:{collector.server_address[1]}",
                   "--replay", str(T55), "--replay-speed", "max", "--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    summary = json.loads(out.out)
    assert summary["lines"] == 44 and summary["terminals"] == ["359853000144328"]
    _wait_connections(collector, 1)
    assert b"$GNRMC,164414.90" in collector.connections[0]
    assert not collector.connections[0].startswith(b"$PGID,SIM")  # the capture identifies


def test_load_mode_reports_the_achieved_rate(collector: _Collector,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--tcp", f"127.0.0.1:{collector.server_address[1]}", "--load",
                   "--terminals", "3", "--fixes", "500", "--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    summary = json.loads(out.out)
    assert summary["fixes"] == 1500 and summary["achieved_rate"] > 0
    assert "fixes/s" in out.err
    _wait_connections(collector, 3)
    got = collector.decoded()
    assert sorted(got) == ["SIM0001", "SIM0002", "SIM0003"]
    assert all(len(v) == 500 for v in got.values())


@pytest.mark.mqtt
def test_mqtt_fleet_from_the_command_line(mqtt_broker,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--mqtt", mqtt_broker.url, "--terminals", "2", "--duration",
                   "4s", "--speedup", "20", "--qos", "1", "--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    stats = json.loads(out.out)["stats"]
    assert stats["connects"] == 2 and stats["sent_reports"] == 8


@pytest.mark.serial
def test_serial_ptys_from_the_command_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--serial-pty", str(tmp_path / "ports"), "--terminals", "2",
                   "--duration", "2s", "--speedup", "20", "--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert f"--serial {tmp_path / 'ports' / 'SIM0001'}=SIM0001" in out.err
    assert json.loads(out.out)["stats"]["sent_reports"] == 4
