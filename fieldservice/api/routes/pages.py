"""Web pages. A page is a static shell: it holds no data and fetches everything from the API
with the user's bearer token, so it is served without one (like the sign-in form it contains).

``/`` is the web app (``fieldservice/web/app.html`` and its modules under
``fieldservice/web/static``: every role's screens, see docs/web.md); ``/fleet`` is the older
single fleet table, kept for dispatchers until the dispatch board replaces it.
"""

from __future__ import annotations

import functools
import html
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from fieldservice.api.deps import StateDep

router = APIRouter(include_in_schema=False)

_WEB = resources.files("fieldservice.web")
_APP = _WEB.joinpath("app.html")
_FLEET = _WEB.joinpath("fleet.html")
_WORKER = _WEB.joinpath("static", "js", "sw.js")

#: the app's scripts, styles and strings, mounted at /static by create_app
static_files = StaticFiles(packages=[("fieldservice.web", "static")])


@functools.cache
def _app_shell(tile_url: str | None) -> str:
    """The shell with the map's tile URL (FIELDGATE_MAP_TILE_URL) in its meta tag: read from
    the package once per setting, not at every page load."""
    tiles = html.escape(tile_url or "", quote=True)
    return _APP.read_text(encoding="utf-8").replace("{{MAP_TILE_URL}}", tiles)


@router.get("/", response_class=HTMLResponse)
async def app_page(state: StateDep) -> HTMLResponse:
    # no-cache: a new release's shell (and so its module versions) is seen at the next load
    return HTMLResponse(_app_shell(state.settings.map_tile_url),
                        headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
async def service_worker() -> Response:
    # at the root, so that it may control every page of the app (a worker's scope is its
    # folder); no-cache: the browser checks it at each load and picks up a new release
    return Response(_WORKER.read_text(encoding="utf-8"), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})


@router.get("/fleet", response_class=HTMLResponse)
async def fleet_page() -> HTMLResponse:
    return HTMLResponse(_FLEET.read_text(encoding="utf-8"))
