"""Web pages. A page is a static shell: it holds no data and fetches everything from the API
with the user's bearer token, so it is served without one (like the login form it contains).
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_FLEET = resources.files("fieldservice.web").joinpath("fleet.html")


@router.get("/", response_class=HTMLResponse)
async def fleet_page() -> HTMLResponse:
    return HTMLResponse(_FLEET.read_text(encoding="utf-8"))
