"""Security headers on every answer, pages and API alike (issue 9 §3).

- ``X-Content-Type-Options: nosniff``: a photo is never run as a script or a page, whatever it
  contains (attachments are also served by the type read from their bytes);
- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no page can be framed
  (clickjacking);
- ``Referrer-Policy: same-origin``;
- ``Content-Security-Policy`` on HTML pages: the web app loads scripts, styles, workers and
  data from its own origin only; images also from ``blob:`` (photos and signatures fetched with
  the token) and the map's tile server (``FIELDGATE_MAP_TILE_URL``). Leaflet positions its panes
  with style attributes, hence ``style-src 'unsafe-inline'``; the older ``/fleet`` table keeps
  its inline script, hence ``script-src 'unsafe-inline'`` there only. FastAPI's ``/docs`` and
  ``/redoc`` load their viewers from a CDN and get no CSP.

CORS stays closed: no ``Access-Control-Allow-*`` header is ever sent, so another origin's page
cannot read the API with a user's token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

#: pages that load their viewer from a CDN (FastAPI's API docs): no CSP
_NO_CSP = ("/docs", "/redoc")
#: pages with an inline script (the fleet table)
_INLINE_SCRIPT = ("/fleet",)


def tile_source(url: str | None) -> str:
    """The CSP source of a tile URL template (``{s}`` subdomains become a wildcard)."""
    if not url:
        return ""
    parts = urlsplit(url.replace("{s}", "tiles"))
    host = parts.netloc
    if "{s}" in url:
        host = "*." + host.split(".", 1)[1] if "." in host else host
    return f"{parts.scheme}://{host}"


def content_security_policy(*, tiles: str = "", inline_script: bool = False) -> str:
    script = "'self' 'unsafe-inline'" if inline_script else "'self'"
    images = " ".join(filter(None, ["'self'", "blob:", "data:", tiles]))
    return "; ".join([
        "default-src 'self'", f"script-src {script}", "style-src 'self' 'unsafe-inline'",
        f"img-src {images}", "connect-src 'self'", "worker-src 'self'",
        "manifest-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer."""

    def __init__(self, app: Any, *, tile_url: str | None = None) -> None:
        self.app = app
        tiles = tile_source(tile_url)
        self._csp = content_security_policy(tiles=tiles).encode()
        self._csp_inline = content_security_policy(tiles=tiles, inline_script=True).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin")]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") and not path.startswith(_NO_CSP):
                    csp = self._csp_inline if path in _INLINE_SCRIPT else self._csp
                    extra.append((b"content-security-policy", csp))
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
