"""Options shared by several commands."""

from __future__ import annotations

import argparse
import os

from fieldgate.dburl import DatabaseURL, DatabaseURLError


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="postgresql://user@host:port/db or sqlite:///path/file.db (env FIELDGATE_DB)",
    )


def database_from(args: argparse.Namespace) -> DatabaseURL:
    from fieldgate.cli import CLIError

    url = args.db or os.environ.get("FIELDGATE_DB")
    try:
        return DatabaseURL.parse(url or "")
    except DatabaseURLError as exc:
        raise CLIError(str(exc)) from exc


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls-cert", metavar="PEM", default=None,
                        help="serve HTTPS with this certificate chain (env FIELDGATE_TLS_CERT); "
                             "tablets need HTTPS for offline work and the camera")
    parser.add_argument("--tls-key", metavar="PEM", default=None,
                        help="the certificate's private key (env FIELDGATE_TLS_KEY)")


def tls_files(args: argparse.Namespace) -> tuple[str, str] | None:
    """(certificate, key) when HTTPS is asked for, checked by loading them (one clear line
    instead of uvicorn's traceback); None for plain HTTP."""
    import ssl

    from fieldgate.cli import CLIError

    cert = getattr(args, "tls_cert", None) or os.environ.get("FIELDGATE_TLS_CERT")
    key = getattr(args, "tls_key", None) or os.environ.get("FIELDGATE_TLS_KEY")
    if not cert and not key:
        return None
    if not (cert and key):
        raise CLIError("--tls-cert and --tls-key go together (FIELDGATE_TLS_CERT/_KEY)")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise CLIError(f"cannot use {cert} with {key} for TLS: {exc}") from None
    return cert, key
