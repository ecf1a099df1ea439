"""Everything in one process: gateway, telemetry writer, REST API, periodic jobs.

``fieldgate serve`` and ``fieldgate demo`` run :func:`run_all`. One event loop (uvloop when
installed) carries the gateway's sockets, the telemetry writer, the API (uvicorn) and the
service layer's periodic jobs. The API's ``/metrics`` shows the gateway's and the writer's
collectors besides its own. For scale, run the pieces as separate processes instead
(``fieldgate gateway`` several times, ``fieldgate api --workers N``): docs/operations.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from fieldgate import gcpolicy
from fieldgate.dburl import DatabaseURL
from fieldgate.signals import stop_on_signals
from fieldservice.api import create_app
from fieldservice.api.routes.fleet_health import health_app_options
from fieldservice.api.state import app_state
from fieldservice.jobs import ServiceJobs
from fieldservice.settings import ServiceSettings
from gateway import Gateway
from gateway.config import GatewayConfig
from telemetry.config import IngestConfig
from telemetry.health import HealthConfig, HealthStack
from telemetry.ingest import Ingest

log = logging.getLogger("fieldgate.serve")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """What :func:`run_all` runs.

    Args:
        db: the database, migrated to head.
        gateway: transports and limits (see ``gateway.config``).
        ingest: the telemetry writer's settings.
        service: the API's and the periodic jobs' settings.
        api_host, api_port: where the HTTP server listens (port 0: any free port).
        tls: certificate chain and key (PEM files) to serve HTTPS instead of HTTP.
        jobs_interval_s: seconds between runs of the escalation sweep and the return-visit
            generator.
        health: the terminal health rules (docs/health.md); None runs none of health: no
            rules, no tickets from faults, no health routes.
        offline_sweep: this process takes part in the offline sweep.
    """

    db: DatabaseURL
    gateway: GatewayConfig
    ingest: IngestConfig
    service: ServiceSettings
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: (certificate chain, private key) PEM files: serve HTTPS (tablets need it on a LAN)
    tls: tuple[str, str] | None = None
    jobs_interval_s: float = 60.0
    health: HealthConfig | None = field(default_factory=HealthConfig)
    offline_sweep: bool = True


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the caller decides when to stop, so the
    gateway and the writer shut down in order after the API."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn logs why it cannot listen (address in use, not this host's) and then calls
        # sys.exit, which would end the process from inside a task: make it an OSError for
        # the caller (`fieldgate serve` turns it into one line and exit status 2)
        try:
            await super().startup(sockets=sockets)
        except SystemExit:
            raise OSError(f"the API server cannot start on {self.config.host}:"
                          f"{self.config.port} (see the error above)") from None


@dataclass(slots=True)
class Running:
    """Handles on a running stack, for the caller of :func:`running` (the demo seeds data and
    starts simulated terminals through them)."""

    gateway: Gateway
    sink: Ingest
    app: Any
    api_url: str


@contextlib.asynccontextmanager
async def running(config: ServeConfig) -> AsyncIterator[Running]:
    """Start the whole stack; leaving stops the API first, then the gateway (flushing every
    stream and session), then the writer (flushing to the database, or to the spool)."""
    async with (Ingest(db=config.db, config=config.ingest) as sink,
                contextlib.AsyncExitStack() as parts):
        upstream: Any = sink
        collectors: list[Any] = [sink.collector]
        extras: Any = {}
        if config.health is not None:
            # the gateway's records pass the health monitor on their way to the writer; the
            # API gets the health routes, the ticket consumer and the state-machine additions
            health = await parts.enter_async_context(
                HealthStack(db=config.db, config=config.health, sweep=config.offline_sweep))
            upstream = health.wrap(sink)
            collectors.append(health.collector)
            extras = health_app_options()
        commands = None
        if config.gateway.listeners:  # binary-protocol terminals take downlink commands
            from telemetry.commands import CommandStore

            commands = await parts.enter_async_context(CommandStore(config.db))
        gateway = await parts.enter_async_context(Gateway(config=config.gateway,
                                                          sink=upstream, commands=commands))
        app = create_app(db=config.db, settings=config.service,
                         metrics_collectors=[gateway.collector, *collectors], **extras)
        state = app_state(app)
        cert, key = config.tls or (None, None)
        server = _ApiServer(uvicorn.Config(app, host=config.api_host, port=config.api_port,
                                           log_level="warning", lifespan="on",
                                           ssl_certfile=cert, ssl_keyfile=key))
        api = asyncio.create_task(server.serve(), name="api-server")
        try:
            while not server.started:
                if api.done():
                    api.result()  # raises the reason it could not start
                    raise OSError(f"the API server on {config.api_host}:"
                                  f"{config.api_port} stopped during startup")
                await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            # the jobs start once the API listens and stop before it: they use the app's
            # engine, which the API's shutdown disposes (a job caught mid-query by a failed
            # start leaked its SQLite connection)
            async with ServiceJobs(sessions=state.sessions, settings=config.service,
                                   interval_s=config.jobs_interval_s):
                gcpolicy.settle()
                yield Running(gateway=gateway, sink=sink, app=app,
                              api_url=f"{'https' if config.tls else 'http'}://"
                                      f"{config.api_host}:{port}")
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await api


async def run_all(config: ServeConfig, *,
                  companion: Callable[[Running], Coroutine[Any, Any, None]] | None = None,
                  stop: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stop``).

    ``companion(stack)``, when given, runs as a task once everything listens (the demo's
    simulated office and fleet); it is cancelled before the stack shuts down. Its failure is
    logged, and the stack keeps serving.
    """
    with stop_on_signals(stop or asyncio.Event()) as stopping:
        async with running(config) as stack:
            log.warning("fieldgate serving: API %s, gateway %s", stack.api_url,
                        stack.gateway.describe())
            task: asyncio.Task[None] | None = None
            if companion is not None:
                task = asyncio.create_task(companion(stack), name="serve-companion")
                task.add_done_callback(_log_failure)
            try:
                await stopping.wait()
            finally:
                log.warning("fieldgate stopping")
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
    return 0


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %r", task.get_name(), task.exception(),
                  exc_info=task.exception())
