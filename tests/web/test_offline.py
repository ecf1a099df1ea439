"""Issue 7 (c): the connection drops mid-task. The app keeps working from the service worker's
cache, the technician's changes wait in IndexedDB (and survive a reload), the top bar shows
what waits, and when the connection returns they are sent in order, each with the order's
version; a change someone else made meanwhile comes back as a clear refusal, never a loss."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fieldservice.roles import Role
from tests.web.conftest import ON_BOTH_DATABASES, Desk, shot, sign_in


async def _controlled(page: Any, desk: Desk, order: dict[str, Any]) -> None:
    """Signed in, the service worker controlling the page, and the order read once online
    (so its answers are in the worker's cache)."""
    await sign_in(page, desk, Role.TECHNICIAN)
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.goto(f"{desk.base}/#/orders/{order['id']}")
    await page.reload()  # now under the worker: this load fills its caches
    assert await page.evaluate("Boolean(navigator.serviceWorker.controller)")
    await page.locator("#order h1").wait_for()
    await page.locator("#history li").first.wait_for()


async def _checklist_confirmed_offline(page: Any, desk: Desk, order: dict[str, Any]) -> None:
    """Controlled, then offline: the checklist confirmed on the tablet, waiting to be sent."""
    await _controlled(page, desk, order)
    await page.context.set_offline(True)
    for name in ("Tools", "Spare terminals", "SIM cards", "Documents"):
        await page.get_by_label(name, exact=True).check()
    await page.get_by_role("button", name="Confirm checklist").click()
    await page.get_by_text("No connection: saved on this tablet").wait_for()


def _server_state(desk: Desk, order: dict[str, Any]) -> dict[str, Any]:
    return desk.call("GET", f"/api/work-orders/{order['id']}", Role.DISPATCHER)


async def _until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.2)


@ON_BOTH_DATABASES
async def test_work_offline_then_everything_is_sent_in_order(site: Desk, tablet: Any) -> None:
    order = site.repair_order(priority="urgent")
    page = tablet
    await _controlled(page, site, order)

    await page.context.set_offline(True)
    await page.reload()  # the app and the order come from the worker's cache
    await page.locator("#order h1").wait_for()
    assert await page.locator("#net").inner_text() == "Offline"

    for name in ("Tools", "Spare terminals", "SIM cards", "Documents"):
        await page.get_by_label(name, exact=True).check()
    await page.get_by_role("button", name="Confirm checklist").click()
    await page.get_by_text("No connection: saved on this tablet").wait_for()
    # shown as it will be: the checklist confirmed, leaving offered
    await page.locator('button[data-action="depart"]:not([disabled])').click()
    await page.locator("#waiting").get_by_text("2 waiting to be sent").wait_for()
    await page.locator("#order .view-head").get_by_text("En route").wait_for()
    await page.locator('button[data-action="arrive"]').click()
    await page.locator("#waiting").get_by_text("3 waiting to be sent").wait_for()
    pending = await page.locator("#pending").inner_text()
    assert "Checklist" in pending and "Leave for the site" in pending
    await shot(page, "technician-offline-pending")

    await page.reload()  # the queue is in IndexedDB: it survives
    await page.locator("#waiting").get_by_text("3 waiting to be sent").wait_for()
    assert _server_state(site, order)["state"] == "assigned"  # nothing reached the server

    await page.context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await _until(lambda: _server_state(site, order)["state"] == "on_site")
    await page.locator("#waiting").wait_for(state="detached")
    stored = _server_state(site, order)
    assert stored["checklist_confirmed_at"] is not None
    history = site.call("GET", f"/api/work-orders/{order['id']}/transitions", Role.DISPATCHER)
    # each queued change sent exactly once, in the order it was made
    assert [h["action"] for h in history] == ["submit", "approve", "assign", "depart", "arrive"]


async def test_a_conflict_is_shown_and_kept_until_the_technician_decides(
        site: Desk, tablet: Any) -> None:
    order = site.repair_order()
    page = tablet
    await _checklist_confirmed_offline(page, site, order)

    # meanwhile the office changes the order: the queued change was made on an older version
    site.call("PATCH", f"/api/work-orders/{order['id']}", Role.DISPATCHER,
              json={"version": order["version"], "description": "customer moved the truck"})
    await page.context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    failed = page.locator("#waiting.failed")
    await failed.wait_for()
    await failed.click()
    item = page.locator(".queue-item.failed")
    await item.wait_for()
    text = await item.inner_text()
    assert "Refused" in text and "409" in text and "changed by someone else" in text
    assert _server_state(site, order)["checklist_confirmed_at"] is None
    await shot(page, "technician-offline-conflict")

    # signing out would drop it: refused while it waits
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_text("have not been sent yet").wait_for()

    # after reading the change, the technician sends it again on the current version
    await item.get_by_role("button", name="Send again").click()
    await page.get_by_text("Nothing waits: everything has been sent.").wait_for()
    stored = _server_state(site, order)
    assert stored["checklist_confirmed_at"] is not None
    assert stored["description"] == "customer moved the truck"


async def test_a_change_whose_answer_was_lost_is_sent_again_and_made_once(
        site: Desk, tablet: Any) -> None:
    order = site.repair_order()
    page = tablet
    await _checklist_confirmed_offline(page, site, order)

    # the first time, the server gets the change and makes it, but its answer never arrives
    keys: list[str | None] = []
    lost = {"done": False}

    async def lose_the_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if not lost["done"]:
            lost["done"] = True
            await route.fetch()  # reaches the server, which confirms the checklist
            await route.abort("connectionreset")
            return
        await route.continue_()

    await page.route("**/api/work-orders/*/checklist", lose_the_first_answer)
    await page.context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await _until(lambda: len(keys) >= 1)
    assert _server_state(site, order)["checklist_confirmed_at"] is not None  # it was made
    # the tablet does not know: it sends the same change again, with the same key
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await _until(lambda: len(keys) >= 2)
    await page.locator("#waiting").wait_for(state="detached")
    assert keys[0] and keys[0] == keys[1]  # the same Idempotency-Key both times
    assert await page.locator(".queue-item.failed").count() == 0  # no false conflict
    audit = site.call("GET", "/api/audit", Role.MANAGER,
                      params={"entity": "work_orders", "entity_id": str(order["id"]),
                              "limit": 100})["items"]
    confirmed = [e for e in audit if "checklist_confirmed_at" in e["changes"]]
    assert len(confirmed) == 1  # made once
