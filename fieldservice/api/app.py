"""The app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from fieldservice import __version__
from fieldservice.api.errors import install_error_handlers
from fieldservice.api.idempotency import IdempotencyMiddleware
from fieldservice.api.metrics import ApiMetrics, MetricsMiddleware
from fieldservice.api.openapi import annotate_roles
from fieldservice.api.routes import (
    aftercare,
    attachments,
    audit,
    auth,
    billing,
    complaints,
    customers,
    escalations,
    fleet,
    health,
    install_requests,
    pages,
    parts,
    sims,
    terminal_commands,
    terminals,
    users,
    vehicles,
    work_order_actions,
    work_orders,
)
from fieldservice.api.security import SecurityHeaders
from fieldservice.api.state import ServiceState, app_state
from fieldservice.settings import ServiceSettings
from fieldservice.workflow import TransitionTable, default_transitions
from telemetry.dburl import DatabaseURL


def create_app(
    *,
    db: DatabaseURL,
    settings: ServiceSettings | None = None,
    transitions: TransitionTable | None = None,
    routers: Sequence[APIRouter] = (),
    metrics_collectors: Sequence[Collector] = (),
    metrics_registries: Sequence[CollectorRegistry] = (),
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """The fieldservice API.

    Args:
        db: the database (migrated to head; see ``fieldgate db upgrade``).
        settings: secrets, token lifetime, argon2 cost; default: from ``FIELDGATE_*``.
        transitions: the work-order state machine; default :func:`default_transitions`.
            Every action gets a ``POST /api/work-orders/{id}/<action>`` route.
        routers: more routers to include (pages, health views, gateway endpoints).
        metrics_collectors, metrics_registries: shown on ``/metrics`` after the API's own.
        engine: share an engine the caller owns (it then disposes of it); by default the app
            creates one and disposes of it at shutdown (or :func:`close_app`).
    """
    settings = settings or ServiceSettings()
    table = transitions or default_transitions(settings=settings)
    metrics = ApiMetrics(collectors=metrics_collectors, registries=metrics_registries)
    state = ServiceState(db=db, settings=settings, transitions=table, metrics=metrics,
                         engine=engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await state.token_codec()  # fail at start, not at first login, if the DB is unusable
        yield
        await state.aclose()

    app = FastAPI(
        title="fieldgate service API", version=__version__, lifespan=lifespan,
        description="Install dispatch, repair orders, terminal/SIM registry and swaps. "
                    "Authenticate at POST /api/auth/token (OAuth2 password flow) and send "
                    "`Authorization: Bearer <token>`. Each operation's `x-roles` lists the "
                    "roles it admits.",
    )
    app.state.fieldservice = state
    install_error_handlers(app)
    for router in (health.router, auth.router, users.router, customers.router,
                   vehicles.router, terminals.router, sims.router, work_orders.router,
                   work_order_actions.transition_router(table), work_order_actions.field_router,
                   install_requests.router, audit.router, fleet.router, pages.router,
                   # the rest of issue 3
                   parts.router, billing.orders_router, billing.router, escalations.router,
                   complaints.router, aftercare.router,
                   # issue 7: photos and signatures of an order
                   attachments.router,
                   # issue 8: downlink commands to binary-protocol terminals
                   terminal_commands.router, *routers):
        annotate_roles(router)
        app.include_router(router)
    app.mount("/static", pages.static_files, name="static")
    # innermost: a replayed answer still gets the security headers and is counted
    app.add_middleware(IdempotencyMiddleware, engine=lambda: state.engine)
    app.add_middleware(SecurityHeaders, tile_url=settings.map_tile_url)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


async def close_app(app: FastAPI) -> None:
    """Release what the app holds (for callers that do not run its lifespan, like tests)."""
    await app_state(app).aclose()
