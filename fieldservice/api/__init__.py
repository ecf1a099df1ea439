"""The REST API (FastAPI): ``create_app(db=..., settings=...)``."""

from fieldservice.api.app import close_app, create_app

__all__ = ["close_app", "create_app"]
