"""``fieldgate escalations sweep`` and ``fieldgate return-visits generate``."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from fieldservice.api import close_app, create_app
from fieldservice.roles import Role
from fieldservice.timestamps import utcnow
from tests.fieldservice.factories import (
    act,
    installed_vehicle,
    make_customer,
    make_staff,
    ok,
    repair_order_in_state,
)
from tests.fieldservice.test_cli import FAST_ENV


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)


async def test_sweep_and_generate_commands(db: DatabaseURL, settings, capsys):
    app = create_app(db=db, settings=settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            staff = {role: await make_staff(app, client, role) for role in Role}
            await installed_vehicle(app, client, staff)  # a customer due return visits
            customer = await make_customer(client, staff[Role.DISPATCHER].headers)
            await repair_order_in_state(client, staff, "assigned", customer["id"])
            urgent = ok(await client.post("/api/work-orders", json={
                "type": "repair", "source": "customer_call", "priority": "urgent",
                "customer_id": customer["id"], "symptoms": "offline"},
                headers=staff[Role.DISPATCHER].headers), 201)
            urgent = await act(client, urgent, "submit", staff[Role.DISPATCHER])
            await act(client, urgent, "approve", staff[Role.MANAGER])
    finally:
        await close_app(app)

    async def cli(*argv: str) -> tuple[int, str, str]:
        status = await asyncio.to_thread(main, [*argv, "--db", str(db)])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, _ = await cli("escalations", "sweep", "--json")
    assert status == 0
    assert json.loads(out) == {"ran": True,
                               "escalated": [f"{urgent['number']}: no_free_technician"]}
    status, out, _ = await cli("escalations", "sweep")
    assert (status, out) == (0, "0 escalation(s)\n")

    on = (utcnow().date() + timedelta(days=5)).isoformat()
    status, out, _ = await cli("return-visits", "generate", "--on", on)
    assert (status, out) == (0, "1 return visit(s) scheduled\n")
    status, out, _ = await cli("return-visits", "generate", "--on", on)
    assert (status, out) == (0, "0 return visit(s) scheduled\n")
    with pytest.raises(SystemExit):
        await cli("return-visits", "generate", "--on", "tomorrow")
    assert "invalid iso_date value: 'tomorrow'" in capsys.readouterr().err
