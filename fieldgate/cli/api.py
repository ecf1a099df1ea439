"""``fieldgate api``: serve the REST API alone (uvicorn), with the health views and the
auto-ticket consumer (safe in every worker: each outbox row is taken once)."""

from __future__ import annotations

import argparse
import os

from fieldgate.cli.options import add_db_option, add_tls_options, tls_files
from fieldgate.cli.users import service_db, service_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("api", help="serve the REST API (/api, /openapi.json, /metrics)")
    add_db_option(parser)
    parser.add_argument("--host", default=None,
                        help="address to listen on (env FIELDGATE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (env FIELDGATE_PORT, default 8000)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes sharing the port (env FIELDGATE_WORKERS, default 1)")
    add_tls_options(parser)
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from fieldgate.cli import CLIError
    from fieldservice.api import create_app
    from fieldservice.api.routes.fleet_health import health_app_options

    db = service_db(args)
    settings = service_settings()
    host = args.host or os.environ.get("FIELDGATE_HOST", "127.0.0.1")
    try:
        # `is None`, not `or`: --port 0 (any free port) must not fall back to the default
        port = args.port if args.port is not None else int(os.environ.get("FIELDGATE_PORT",
                                                                          "8000"))
        workers = (args.workers if args.workers is not None
                   else int(os.environ.get("FIELDGATE_WORKERS", "1")))
    except ValueError as exc:
        raise CLIError(f"FIELDGATE_PORT / FIELDGATE_WORKERS: {exc}") from None
    if not 0 <= port <= 65535:
        raise CLIError(f"the port must be 0-65535, got {port}")
    if workers < 1:
        raise CLIError(f"--workers must be at least 1, got {workers}")
    cert, key = tls_files(args) or (None, None)
    if workers != 1:
        # each worker process builds its own app; they agree on the token key through the
        # database (or FIELDGATE_SECRET_KEY)
        os.environ["FIELDGATE_DB"] = str(db)
        uvicorn.run("fieldgate.cli.api:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level="info", ssl_certfile=cert,
                    ssl_keyfile=key)
        return 0
    app = create_app(db=db, settings=settings, **health_app_options())
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", ssl_certfile=cert,
                    ssl_keyfile=key)
    except SystemExit as exc:  # uvicorn logged why it cannot listen, then exits with 3
        if exc.code != STARTUP_FAILURE:
            raise
        raise CLIError(f"cannot start the API server on {host}:{port} "
                       "(see the error above)") from None
    return 0


def app_from_environment() -> object:
    """Factory for uvicorn's worker processes: everything from ``FIELDGATE_*``."""
    from fieldgate.dburl import DatabaseURL
    from fieldservice.api import create_app
    from fieldservice.api.routes.fleet_health import health_app_options
    from fieldservice.settings import ServiceSettings

    return create_app(db=DatabaseURL.parse(os.environ["FIELDGATE_DB"]),
                      settings=ServiceSettings(), **health_app_options())
