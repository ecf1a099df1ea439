"""Where simulated terminals send: TCP, MQTT, serial pseudo-terminals."""

from simulators.transports.base import Backoff, Link, Transport
from simulators.transports.mqtt import MqttTransport, parse_mqtt_url
from simulators.transports.serial import PtyTransport
from simulators.transports.tcp import TcpTransport, parse_host_port

__all__ = ["Backoff", "Link", "MqttTransport", "PtyTransport", "TcpTransport", "Transport",
           "parse_host_port", "parse_mqtt_url"]
