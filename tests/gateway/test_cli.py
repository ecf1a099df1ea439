"""``fieldgate gateway``: settings from variables and flags, and the command as a real process
(TCP in, database out, /metrics served, clean exit on SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from gateway.config import TcpLimits
from gateway.errors import ConfigError
from gateway.settings import GatewaySettings
from telemetry import TelemetryReader
from tests import servers
from tests.gateway.nmea_data import epochs, fixes, pgid
from tests.gateway.test_end_to_end import register
from tests.servers import free_port, wait_for_port


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("FIELDGATE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_settings_from_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FIELDGATE_TCP", "127.0.0.1:6000")
    clean_env.setenv("FIELDGATE_MQTT", "mqtt://broker:1884")
    clean_env.setenv("FIELDGATE_MQTT_SHARE", "gw")
    clean_env.setenv("FIELDGATE_MQTT_QOS", "0")
    clean_env.setenv("FIELDGATE_SERIAL", "/dev/ttyUSB0=BENCH1@4800, /dev/ttyUSB1=BENCH2")
    clean_env.setenv("FIELDGATE_IDLE_TIMEOUT", "60")
    clean_env.setenv("FIELDGATE_REUSE_PORT", "true")
    config = GatewaySettings().to_config()
    assert config.tcp is not None and (config.tcp.host, config.tcp.port) == ("127.0.0.1", 6000)
    assert config.tcp.reuse_port and config.tcp.limits.idle_timeout == 60
    assert config.mqtt is not None and config.mqtt.topic == "$share/gw/fieldgate/+/nmea"
    assert (config.mqtt.port, config.mqtt.qos, config.mqtt.idle_timeout) == (1884, 0, 60)
    assert [(p.device, p.terminal_id, p.baudrate) for p in config.serial] == [
        ("/dev/ttyUSB0", "BENCH1", 4800), ("/dev/ttyUSB1", "BENCH2", 9600)]
    assert config.tcp.limits.max_line == TcpLimits().max_line


def test_flags_override_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FIELDGATE_TCP", "127.0.0.1:6000")
    clean_env.setenv("FIELDGATE_MAX_CONNECTIONS", "10")
    clean_env.setenv("FIELDGATE_SERIAL", '["/dev/a=A1"]')
    settings = GatewaySettings(tcp="0.0.0.0:7000", serial=["/dev/b=B1"])
    config = settings.to_config()
    assert config.tcp is not None and config.tcp.port == 7000
    assert config.tcp.limits.max_connections == 10  # not given as a flag: the variable holds
    assert [p.device for p in config.serial] == ["/dev/b"]


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--tcp", "somewhere"], {}, "bad address"),
    (["--mqtt-share", "g"], {}, "without a broker"),
    ([], {"FIELDGATE_MQTT_QOS": "2"}, "FIELDGATE_MQTT_QOS"),
    ([], {}, "no transport configured"),
    (["--serial", "/dev/ttyUSB0"], {}, "DEVICE=TERMINAL_ID"),
    (["--tcp", ":0", "--max-line", "4"], {}, "max_line"),
    (["--tcp", "127.0.0.1:0", "--spool-dir", "/dev/null/spool"], {}, "cannot use spool directory"),
])
def test_bad_settings_exit_2_with_one_clear_line(clean_env: pytest.MonkeyPatch, capsys,
                                                 argv: list[str], env: dict[str, str],
                                                 message: str, tmp_path: Path) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    status = main(["gateway", "--db", f"sqlite:///{tmp_path}/x.db", *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.startswith("fieldgate gateway: ")


def test_config_errors_are_gateway_errors() -> None:
    with pytest.raises(ConfigError):
        GatewaySettings(tcp="host:port").to_config()


def test_the_command_ingests_over_tcp_and_stops_cleanly(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "CLI1")
    tcp_port, metrics_port = free_port(), free_port()
    env = servers.clean_env()
    env.update(FIELDGATE_DB=str(db), FIELDGATE_TCP="127.0.0.1:1",  # the flag below wins
               FIELDGATE_SPOOL_DIR=str(tmp_path / "spool"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldgate", "gateway", "--tcp", f"127.0.0.1:{tcp_port}",
         "--metrics", f"127.0.0.1:{metrics_port}", "--idle-timeout", "30"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with servers.stopped_by_sigterm(proc) as stopped:
        wait_for_port("127.0.0.1", tcp_port, timeout=20)
        items = fixes(10, terminal="CLI1")
        with socket.create_connection(("127.0.0.1", tcp_port)) as sock:
            sock.sendall(pgid("CLI1") + epochs(items))
            deadline = time.monotonic() + 10
            text = ""
            while 'records_published_total{transport="tcp"} 10.0' not in text:
                assert time.monotonic() < deadline, text
                time.sleep(0.05)
                url = f"http://127.0.0.1:{metrics_port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as response:
                    text = response.read().decode()
        assert "fieldgate_telemetry_" in text  # the writer's metrics are served alongside
    assert stopped.returncode == 0, stopped.err
    assert f"gateway running: tcp 127.0.0.1:{tcp_port}" in stopped.err

    async def read() -> list:
        async with TelemetryReader(db) as reader:
            return [(f.fix_time, f.lat) async for f in reader.positions("CLI1")]

    assert asyncio.run(read()) == [(f.time, f.lat) for f in items]


def test_storage_settings_from_variables_and_flags(clean_env: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    import argparse

    from fieldgate.cli.gateway import ingest_config

    none = argparse.Namespace(spool_dir=None, auto_register=None)
    default = ingest_config(none)
    assert (str(default.spool_dir), default.auto_register) == (".fieldgate/spool", False)
    clean_env.setenv("FIELDGATE_SPOOL_DIR", str(tmp_path / "env-spool"))
    clean_env.setenv("FIELDGATE_AUTO_REGISTER", "yes")
    from_env = ingest_config(none)
    assert (from_env.spool_dir, from_env.auto_register) == (tmp_path / "env-spool", True)
    flags = ingest_config(argparse.Namespace(spool_dir=str(tmp_path / "flag"), auto_register=None))
    assert flags.spool_dir == tmp_path / "flag" and flags.auto_register is True


def test_jt808_listener_from_variable_and_flag(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FIELDGATE_JT808", "127.0.0.1:7808")
    [listener] = GatewaySettings().to_config().listeners
    assert (listener.protocol, listener.host, listener.port) == ("jt808", "127.0.0.1", 7808)
    [listener] = GatewaySettings(jt808=":7809", reuse_port=True).to_config().listeners
    assert (listener.port, listener.reuse_port) == (7809, True)
    with pytest.raises(ConfigError, match="unknown protocol"):
        from gateway.config import TcpConfig

        TcpConfig(protocol="nope")


def test_the_command_answers_jt808_terminals_and_stores_their_fixes(db: DatabaseURL,
                                                                    tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from simulators.jt808 import Jt808Device

    register(db, "13955550001")
    port = free_port()
    env = servers.clean_env()
    env.update(FIELDGATE_DB=str(db), FIELDGATE_JT808=f"127.0.0.1:{port}",
               FIELDGATE_SPOOL_DIR=str(tmp_path / "spool"))
    proc = subprocess.Popen([sys.executable, "-m", "fieldgate", "gateway"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    device = Jt808Device("13955550001")
    with servers.stopped_by_sigterm(proc) as stopped:
        wait_for_port("127.0.0.1", port, timeout=20)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(device.register())
            while device.auth_code is None:
                device.receive(sock.recv(4096))
            last = 0
            for i in range(5):
                last = device.next_serial
                sock.sendall(device.location(time=t0 + timedelta(seconds=i), lat=22.5, lon=114.0))
            while last not in device.traffic.acknowledged:
                device.receive(sock.recv(4096))
    assert stopped.returncode == 0, stopped.err
    assert f"gateway running: jt808 127.0.0.1:{port}" in stopped.err

    async def read() -> list:
        async with TelemetryReader(db) as reader:
            return [f.fix_time async for f in reader.positions("13955550001")]

    assert asyncio.run(read()) == [t0 + timedelta(seconds=i) for i in range(5)]


def test_a_command_from_the_command_line_reaches_a_jt808_terminal(db: DatabaseURL,
                                                                  tmp_path: Path) -> None:
    import threading

    from simulators.jt808 import Jt808Device

    phone = "13955550002"
    assert main(["terminals", "add", phone, "--db", str(db)]) == 0
    port = free_port()
    env = servers.clean_env()
    env.update(FIELDGATE_DB=str(db), FIELDGATE_JT808=f"127.0.0.1:{port}",
               FIELDGATE_SPOOL_DIR=str(tmp_path / "spool"))
    proc = subprocess.Popen([sys.executable, "-m", "fieldgate", "gateway"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    device = Jt808Device(phone)
    with servers.stopped_by_sigterm(proc) as stopped:
        wait_for_port("127.0.0.1", port, timeout=20)
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)

        def answer() -> None:  # the terminal: answers whatever the platform sends
            with contextlib.suppress(OSError):
                while data := sock.recv(4096):
                    if reply := device.receive(data):
                        sock.sendall(reply)

        sock.sendall(device.register())
        terminal = threading.Thread(target=answer, daemon=True)
        terminal.start()
        try:
            sent = subprocess.run(
                [sys.executable, "-m", "fieldgate", "terminals", "command", phone,
                 "set_interval", "--interval", "45", "--wait", "15", "--db", str(db)],
                env=env, capture_output=True, text=True, timeout=60)
            listed = subprocess.run(
                [sys.executable, "-m", "fieldgate", "terminals", "commands", phone,
                 "--db", str(db)], env=env, capture_output=True, text=True, timeout=60)
        finally:
            sock.close()
            terminal.join(5)
    assert stopped.returncode == 0, stopped.err
    assert sent.returncode == 0, sent.stderr
    assert f"for {phone} (set_interval 45s): acknowledged: ok" in sent.stdout
    assert device.params[0x0029] == (45).to_bytes(4)
    assert "acknowledged: ok" in listed.stdout and "cli:" in listed.stdout
