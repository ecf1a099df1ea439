"""Configuration value objects: parsing of the forms users type, refusal of impossible values."""

from __future__ import annotations

import pytest

from gateway.backoff import BackoffPolicy
from gateway.config import (
    GatewayConfig,
    MqttConfig,
    SerialPortConfig,
    TcpConfig,
    TcpLimits,
    parse_host_port,
)
from gateway.errors import ConfigError


@pytest.mark.parametrize(("text", "expected"), [
    ("0.0.0.0:5055", ("0.0.0.0", 5055)),
    ("127.0.0.1:0", ("127.0.0.1", 0)),
    (":9100", ("0.0.0.0", 9100)),
    ("9100", ("0.0.0.0", 9100)),
    ("[::1]:5055", ("::1", 5055)),
    ("gw.example:5055", ("gw.example", 5055)),
])
def test_host_port_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["host:", "host:port", "host:70000", ""])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_host_port(text)


@pytest.mark.parametrize(("spec", "device", "terminal", "baud"), [
    ("/dev/ttyUSB0=T55-0001", "/dev/ttyUSB0", "T55-0001", 9600),
    ("/dev/ttyUSB0=359853000144328@115200", "/dev/ttyUSB0", "359853000144328", 115200),
    ("/dev/serial/by-id/usb-FTDI=x=BENCH1@4800", "/dev/serial/by-id/usb-FTDI=x", "BENCH1", 4800),
])
def test_serial_binding_forms(spec: str, device: str, terminal: str, baud: int) -> None:
    port = SerialPortConfig.parse(spec)
    assert (port.device, port.terminal_id, port.baudrate) == (device, terminal, baud)


@pytest.mark.parametrize("spec", ["/dev/ttyUSB0", "=T1", "/dev/ttyUSB0=", "/dev/x=T1@fast",
                                  "/dev/x=bad id", "/dev/x=a/b", "/dev/x=T1@0"])
def test_bad_serial_bindings_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError):
        SerialPortConfig.parse(spec)


def test_mqtt_url_and_share_group() -> None:
    cfg = MqttConfig.from_url("mqtt://gw:secret@broker.example:1884", share_group="g1", qos=0)
    assert (cfg.host, cfg.port, cfg.username, cfg.password) == ("broker.example", 1884, "gw",
                                                                 "secret")
    assert cfg.topic == "$share/g1/fieldgate/+/nmea"
    assert MqttConfig.from_url("broker").topic == "fieldgate/+/nmea"
    assert MqttConfig.from_url("broker").port == 1883


@pytest.mark.parametrize("make", [
    lambda: MqttConfig.from_url("http://broker"),
    lambda: MqttConfig.from_url("mqtt://:1883"),
    lambda: MqttConfig(qos=2),
    lambda: MqttConfig(share_group="a/b"),
    lambda: TcpLimits(read_buffer=100, max_line=512),
    lambda: TcpLimits(idle_timeout=0),
    lambda: TcpLimits(max_line=8),
    lambda: TcpConfig(port=70000),
    lambda: BackoffPolicy(initial=5, maximum=1),
    lambda: BackoffPolicy(jitter=2),
    lambda: GatewayConfig(),
    lambda: GatewayConfig(serial=(SerialPortConfig(device="/dev/a", terminal_id="T1"),
                                  SerialPortConfig(device="/dev/b", terminal_id="T1"))),
])
def test_impossible_configurations_fail_at_construction(make) -> None:
    with pytest.raises(ConfigError):
        make()


def test_config_objects_are_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        TcpLimits(512)  # type: ignore[misc]
    limits = TcpLimits()
    with pytest.raises(AttributeError):
        limits.max_line = 1  # type: ignore[misc]
