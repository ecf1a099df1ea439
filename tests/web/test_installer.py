"""Issue 7 (d): an installer on site takes a terminal from the list of those already reporting
unregistered, registers it with its SIM on the vehicle, and watches the page verify the install
by itself when the terminal's first fix comes through the serve stack's gateway; then
completes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from devices.nmea import encode
from devices.records import Fix
from fieldservice.roles import Role
from tests.waiting import eventually
from tests.web.conftest import ON_BOTH_DATABASES, Desk, no_horizontal_scroll, shot, sign_in

TID = "864000000000901"


async def report(port: int, tid: str, seconds_ago: int = 0, *, north: float = 0.0) -> None:
    """One valid epoch from ``tid`` over TCP, announced with $PGID as T55 terminals do."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode.pgid(tid) + encode.epoch(Fix(time=at, lat=41.80569 + north, lon=123.43147,
                                                      sats=9, hdop=0.8, fix_quality=1)))
    await writer.drain()
    writer.close()
    await writer.wait_closed()


@ON_BOTH_DATABASES
async def test_register_from_the_unregistered_list_and_see_the_first_fix(
        site: Desk, tablet: Any) -> None:
    order = site.install_on_site(company="Northern Buses", plate="辽A88888",
                                 contact="Wang Fang", phone="+86 24 5555 0101",
                                 address="12 Depot Lane, Shenyang")
    port = site.nmea_port
    await report(port, TID, seconds_ago=30)  # the unit is powered, not yet registered
    await eventually(lambda: any(u["terminal_id"] == TID for u in site.call(
        "GET", "/api/fleet/unknown-terminals", Role.INSTALLER)["items"]),
        what="the terminal in the unregistered list")

    repair = site.repair_order()  # the technician's: not in the installer's list
    page = tablet
    await sign_in(page, site, Role.INSTALLER)
    await page.locator(f'[data-order="{order["number"]}"]').wait_for()
    assert await page.locator(".order-card").count() == 1
    assert await page.locator(f'[data-order="{repair["number"]}"]').count() == 0
    await page.locator(f'[data-order="{order["number"]}"]').click()
    unregistered = page.locator("#unregistered")
    await unregistered.get_by_text(TID).wait_for()
    await unregistered.locator(f'[data-pick="{TID}"]').click()
    form = page.locator("#register")
    assert await form.get_by_label("Terminal id (as on its label)").input_value() == TID
    await form.get_by_label("SIM card (ICCID)").fill("89860000000000000901")
    await form.get_by_role("button", name="Register on this vehicle").click()
    await page.get_by_text(f"Terminal {TID} registered on the vehicle.").wait_for()
    watch = page.locator("#first-fix")
    await watch.get_by_text("Waiting for the first valid fix").wait_for()
    assert await page.locator('button[data-action="complete"]').is_disabled()
    await shot(page, "installer-waiting-first-fix")

    await asyncio.sleep(0.3)  # past the writer's memory of "unregistered"
    await report(port, TID)  # the first fix since the registration
    # the page saw it by itself (and shows it again after the reload that offers Complete)
    await watch.locator(".verified", has_text="41.80569, 123.43147").wait_for(timeout=20_000)
    await page.locator('button[data-action="complete"]:not([disabled])').click()
    await page.get_by_text("Done: Complete.").wait_for()
    assert await no_horizontal_scroll(page)
    await shot(page, "installer-completed")
    stored = site.call("GET", f"/api/work-orders/{order['id']}", Role.DISPATCHER)
    assert stored["state"] == "completed" and stored["terminal_id"] == TID
