"""Issue 9 §3, security headers, through real HTTP (uvicorn on a free port): pages carry a CSP
fit for the web app, every answer no-sniff and frame denial, and CORS stays closed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fieldgate.dburl import DatabaseURL
from fieldservice.api import create_app
from fieldservice.api.security import content_security_policy, tile_source
from fieldservice.settings import ServiceSettings
from tests import servers
from tests.fieldservice.factories import FAST_HASHING


@pytest.fixture
def base(sqlite_db: DatabaseURL) -> Iterator[str]:
    settings = ServiceSettings(map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
                               **FAST_HASHING)
    with servers.serving_app(create_app(db=sqlite_db, settings=settings)) as url:
        yield url


def test_headers_on_pages_api_and_files(base: str) -> None:
    page = httpx.get(base + "/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "img-src 'self' blob: data: https://*.tile.example.org" in csp
    assert "connect-src 'self'" in csp and "object-src 'none'" in csp
    fleet = httpx.get(base + "/fleet").headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in fleet  # its inline script, there only
    for path in ("/", "/health", "/static/js/main.js", "/api/work-orders", "/sw.js"):
        r = httpx.get(base + path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "same-origin", path
    assert "content-security-policy" not in httpx.get(base + "/health").headers  # JSON


def test_cors_is_closed(base: str) -> None:
    preflight = httpx.options(base + "/api/auth/token", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    simple = httpx.get(base + "/health", headers={"Origin": "https://evil.example"})
    assert not any(h.startswith("access-control-") for h in simple.headers)


@pytest.mark.parametrize(("url", "source"), [
    (None, ""), ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
    ("http://tiles.local:8080/{z}/{x}/{y}.png", "http://tiles.local:8080"),
])
def test_tile_source(url: str | None, source: str) -> None:
    assert tile_source(url) == source
    assert ("img-src 'self' blob: data:" + (f" {source}" if source else "")) in \
        content_security_policy(tiles=source)
