"""``fieldgate gateway``: ingest terminals (NMEA over TCP, MQTT and serial; JT/T 808 and GT06
over TCP)
into the database.

Wiring: :class:`gateway.Gateway` hands records to :class:`telemetry.ingest.Ingest` (batch writer,
spool, registry) through the health monitor's wrapper (:class:`telemetry.health.HealthStack`,
docs/health.md). Every flag has a ``FIELDGATE_*`` variable; flags win. ``fieldgate serve`` can
reuse :func:`add_gateway_options`, :func:`gateway_settings`, :func:`ingest_config` and
:func:`health_config`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from fieldgate import gcpolicy
from fieldgate.cli.options import add_db_option, database_from

log = logging.getLogger("fieldgate.gateway")

DEFAULT_SPOOL_DIR = ".fieldgate/spool"

# flag -> GatewaySettings field (the variable is FIELDGATE_<FIELD>)
_FLAGS: dict[str, str] = {
    "tcp": "tcp", "jt808": "jt808", "gt06": "gt06", "reuse_port": "reuse_port",
    "mqtt": "mqtt", "mqtt_share": "mqtt_share",
    "mqtt_qos": "mqtt_qos", "mqtt_client_id": "mqtt_client_id", "serial": "serial",
    "metrics": "metrics", "max_line": "max_line", "max_connections": "max_connections",
    "idle_timeout": "idle_timeout", "read_buffer": "read_buffer",
    "max_unidentified": "max_unidentified",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gateway", help="ingest terminals over TCP, MQTT and serial into the database",
        description="Receive NMEA from terminals (TCP with $PGID identification, MQTT topics "
                    "fieldgate/<id>/nmea, serial ports bound to ids) and JT/T 808 and GT06 "
                    "terminals on their own TCP ports, and store their fixes. "
                    "Each option also reads FIELDGATE_<NAME>; options win over variables.")
    add_db_option(parser)
    add_gateway_options(parser)
    parser.set_defaults(func=_run)


def add_gateway_options(parser: argparse.ArgumentParser) -> None:
    t = parser.add_argument_group("transports")
    t.add_argument("--tcp", metavar="HOST:PORT",
                   help="TCP listener for NMEA terminals (env FIELDGATE_TCP)")
    t.add_argument("--jt808", metavar="HOST:PORT",
                   help="TCP listener for JT/T 808 terminals (env FIELDGATE_JT808)")
    t.add_argument("--gt06", metavar="HOST:PORT",
                   help="TCP listener for GT06 terminals (env FIELDGATE_GT06)")
    t.add_argument("--reuse-port", action="store_true", default=None,
                   help="SO_REUSEPORT: several gateway processes share the TCP port "
                        "(env FIELDGATE_REUSE_PORT)")
    t.add_argument("--mqtt", metavar="mqtt://HOST:PORT",
                   help="MQTT broker to subscribe to fieldgate/+/nmea on (env FIELDGATE_MQTT)")
    t.add_argument("--mqtt-share", metavar="GROUP",
                   help="shared subscription group: gateways of one group split the messages "
                        "(env FIELDGATE_MQTT_SHARE)")
    t.add_argument("--mqtt-qos", type=int, choices=(0, 1),
                   help="subscription QoS (env FIELDGATE_MQTT_QOS, default 1)")
    t.add_argument("--mqtt-client-id", metavar="ID",
                   help="fixed client id: persistent broker session, QoS 1 messages kept while "
                        "the gateway is away (env FIELDGATE_MQTT_CLIENT_ID)")
    t.add_argument("--serial", metavar="DEVICE=TERMINAL_ID[@BAUD]", action="append",
                   help="serial port bound to a terminal; repeatable (env FIELDGATE_SERIAL, "
                        "comma-separated)")
    t.add_argument("--metrics", metavar="HOST:PORT",
                   help="serve Prometheus /metrics here (env FIELDGATE_METRICS)")
    lim = parser.add_argument_group("limits")
    lim.add_argument("--max-line", type=int, metavar="BYTES",
                     help="longest NMEA line (env FIELDGATE_MAX_LINE, default 512)")
    lim.add_argument("--max-connections", type=int, metavar="N",
                     help="TCP connections at once (env FIELDGATE_MAX_CONNECTIONS, "
                          "default 20000)")
    lim.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                     help="close TCP connections and MQTT sessions silent this long "
                          "(env FIELDGATE_IDLE_TIMEOUT, default 300)")
    lim.add_argument("--read-buffer", type=int, metavar="BYTES",
                     help="undecoded bytes per connection before reading pauses "
                          "(env FIELDGATE_READ_BUFFER, default 65536)")
    lim.add_argument("--max-unidentified", type=int, metavar="N",
                     help="records held per TCP connection until its $PGID "
                          "(env FIELDGATE_MAX_UNIDENTIFIED, default 1000)")
    st = parser.add_argument_group("storage")
    st.add_argument("--spool-dir", metavar="DIR",
                    help="on-disk spool for database outages, one per process "
                         f"(env FIELDGATE_SPOOL_DIR, default {DEFAULT_SPOOL_DIR})")
    st.add_argument("--auto-register", action="store_true", default=None,
                    help="store fixes of unregistered terminals and register them "
                         "(env FIELDGATE_AUTO_REGISTER)")
    from telemetry.health.settings import add_health_options

    add_health_options(parser)


def gateway_settings(args: argparse.Namespace) -> Any:
    """Settings from the variables, overridden by the flags given."""
    from pydantic import ValidationError

    from fieldgate.cli import CLIError
    from gateway.settings import GatewaySettings, settings_error

    given = {field: getattr(args, flag) for flag, field in _FLAGS.items()
             if getattr(args, flag, None) is not None}
    try:
        return GatewaySettings(**given)
    except ValidationError as exc:
        raise CLIError(settings_error(exc)) from None


def ingest_config(args: argparse.Namespace) -> Any:
    """The sink's settings this command exposes (``FIELDGATE_SPOOL_DIR``,
    ``FIELDGATE_AUTO_REGISTER``), flags winning, as a ``telemetry.IngestConfig``."""
    from pydantic import ValidationError
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from fieldgate.cli import CLIError
    from gateway.settings import settings_error
    from telemetry.config import IngestConfig
    from telemetry.errors import ConfigError

    class StorageSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="FIELDGATE_", frozen=True, extra="ignore")

        spool_dir: Path = Path(DEFAULT_SPOOL_DIR)
        auto_register: bool = False

    given = {name: getattr(args, name) for name in ("spool_dir", "auto_register")
             if getattr(args, name, None) is not None}
    try:
        storage = StorageSettings(**given)
        return IngestConfig(spool_dir=storage.spool_dir, auto_register=storage.auto_register)
    except ValidationError as exc:
        raise CLIError(settings_error(exc)) from None
    except ConfigError as exc:
        raise CLIError(str(exc)) from None


def health_config(args: argparse.Namespace) -> tuple[Any, bool]:
    """The health rules' configuration (None with ``--no-health``) and whether this process
    may run the offline sweep, from the health flags over ``FIELDGATE_*``."""
    from fieldgate.cli import CLIError
    from telemetry.health.errors import HealthConfigError
    from telemetry.health.settings import health_settings_from

    try:
        settings = health_settings_from(args)
        return (settings.to_config() if settings.enabled else None), settings.offline_sweep
    except HealthConfigError as exc:
        raise CLIError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from gateway.errors import ConfigError

    settings = gateway_settings(args)
    try:
        config = settings.to_config()
        metrics = settings.metrics_address()
    except ConfigError as exc:
        raise CLIError(str(exc)) from None
    db = database_from(args)
    ingest = ingest_config(args)
    health, sweep = health_config(args)
    return run_event_loop(serve(config=config, db=db, ingest=ingest, metrics=metrics,
                                health=health, offline_sweep=sweep))


def run_event_loop(main: Any) -> int:
    """Run ``main`` on uvloop when it is installed (it is a dependency on POSIX)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def serve(*, config: Any, db: Any, ingest: Any, metrics: tuple[str, int] | None,
                stop: asyncio.Event | None = None, health: Any = None,
                offline_sweep: bool = True) -> int:
    """Run the gateway into the database until SIGINT/SIGTERM (or ``stop`` is set); with a
    ``health`` config (:class:`telemetry.health.HealthConfig`) the health rules watch the
    stream and, with ``offline_sweep``, this process takes part in the offline sweep."""
    from fieldgate.cli import CLIError
    from fieldgate.signals import stop_on_signals
    from gateway import Gateway
    from gateway.metrics_http import MetricsEndpoint, private_registry
    from telemetry.errors import SpoolError, SpoolLocked
    from telemetry.ingest import Ingest

    try:
        with stop_on_signals(stop or asyncio.Event()) as stopping:
            async with (Ingest(db=db, config=ingest) as sink,
                        contextlib.AsyncExitStack() as extra):
                upstream: Any = sink
                collectors: list[Any] = [sink.collector]
                if health is not None:
                    from telemetry.health import HealthStack

                    stack = await extra.enter_async_context(
                        HealthStack(db=db, config=health, sweep=offline_sweep))
                    upstream = stack.wrap(sink)
                    collectors.append(stack.collector)
                commands = None
                if config.listeners:  # binary-protocol terminals take downlink commands
                    from telemetry.commands import CommandStore

                    commands = await extra.enter_async_context(CommandStore(db))
                gateway = await extra.enter_async_context(
                    Gateway(config=config, sink=upstream, commands=commands))
                if metrics is not None:
                    registry = private_registry(gateway.collector, *collectors)
                    endpoint = await extra.enter_async_context(
                        MetricsEndpoint(host=metrics[0], port=metrics[1], registry=registry))
                    log.warning("metrics on http://%s:%d/metrics", metrics[0], endpoint.port)
                gcpolicy.settle()
                log.warning("gateway running: %s", gateway.describe())
                await stopping.wait()
                log.warning("gateway stopping")
    except SpoolLocked as exc:
        raise CLIError(f"{exc} (give each gateway process its own --spool-dir)") from None
    except SpoolError as exc:  # a --spool-dir that is a file, not writable, ...
        raise CLIError(str(exc)) from None
    except OSError as exc:
        raise CLIError(f"cannot start the gateway: {exc}") from None
    return 0
