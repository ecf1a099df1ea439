"""Issue 7 (f): the manager approves and rejects, decides an escalation and reads the
complaint, satisfaction and fault reports; finance confirms a payment collected on site and
reads the billing report; the tester sees the simulated fleet's terminals and faults."""

from __future__ import annotations

from typing import Any

from fieldservice.roles import Role
from tests.web.conftest import LANDSCAPE, Desk, no_horizontal_scroll, shot, sign_in
from tests.web.test_field_work import on_site_repair


def submitted(site: Desk, company: str) -> dict[str, Any]:
    customer = site.call("POST", "/api/customers", Role.DISPATCHER, 201, json={
        "company": company, "contact_name": "Chen Jie", "phone": "+86 10 5555 0111",
        "address": "5 Ring Road, Beijing"})
    order = site.call("POST", "/api/work-orders", Role.DISPATCHER, 201, json={
        "type": "repair", "source": "customer_call", "customer_id": customer["id"],
        "symptoms": "tracker silent since yesterday"})
    return site.act(order, "submit", Role.DISPATCHER)


async def test_manager_approves_rejects_and_decides(site: Desk, tablet: Any) -> None:
    first = submitted(site, "Approve Me Ltd")
    second = submitted(site, "Reject Me Ltd")
    escalated = site.repair_order(assign_to=None, company="Escalated Co")
    site.call("POST", "/api/escalations", Role.DISPATCHER, 201,
              json={"work_order_id": escalated["id"], "detail": "no technician in the zone"})
    customer = site.call("POST", "/api/customers", Role.DISPATCHER, 201, json={
        "company": "Complaining Co", "contact_name": "Liu Yang", "phone": "+86 10 5555 0123",
        "address": "1 Main Street"})
    site.call("POST", "/api/complaints", Role.DISPATCHER, 201, json={
        "customer_id": customer["id"], "channel": "phone", "subject": "late technician",
        "description": "waited all morning", "cause": "service_delay"})

    page = tablet
    await page.set_viewport_size(LANDSCAPE)
    await sign_in(page, site, Role.MANAGER)
    await page.get_by_role("link", name="Approvals & reports").click()
    approvals = page.locator("#approvals")
    row = approvals.locator(f'[data-order="{first["number"]}"]')
    await row.get_by_role("button", name="Approve").click()
    await page.get_by_text(f"{first['number']} approved.").wait_for()
    row = approvals.locator(f'[data-order="{second["number"]}"]')
    await row.get_by_role("button", name="Reject").click()
    await page.get_by_text("Say why in the note to reject.").wait_for()
    await row.get_by_label(f"Reason for rejecting {second['number']}").fill("duplicate call")
    await row.get_by_role("button", name="Reject").click()
    await page.get_by_text(f"{second['number']} rejected.").wait_for()
    await approvals.get_by_text("Nothing waits for approval.").wait_for()

    decisions = page.locator("#escalation-decisions")
    await decisions.get_by_text(escalated["number"]).wait_for()
    await decisions.get_by_label("Note").fill("a technician from the next zone goes tomorrow")
    await decisions.get_by_role("button", name="Decide").click()
    await page.get_by_text(f"Decision recorded for {escalated['number']}.").wait_for()

    # each section loads by itself: wait for its answer, not for the page
    await page.locator("#complaint-report").get_by_text("1 complaint(s)").wait_for()
    assert "Service delay" in await page.locator("#complaint-report").inner_text()
    await page.locator("#fault-reports").get_by_text("No major fault reported.").wait_for()
    await page.locator("#satisfaction").get_by_text("0 visit(s)").wait_for()
    assert await no_horizontal_scroll(page)
    await shot(page, "manager")
    assert site.call("GET", f"/api/work-orders/{first['id']}", Role.MANAGER)["state"] == "approved"
    assert site.call("GET", f"/api/work-orders/{second['id']}", Role.MANAGER)["state"] == \
        "rejected"


async def test_finance_confirms_the_payment_and_reads_the_report(site: Desk,
                                                                 tablet: Any) -> None:
    order = on_site_repair(site, "864000000000601")
    order = site.call("GET", f"/api/work-orders/{order['id']}", Role.TECHNICIAN)
    parts = site.call("POST", f"/api/work-orders/{order['id']}/parts", Role.TECHNICIAN, 201,
                      json={"version": order["version"], "part_code": "ANT-01"})
    order = site.act({**order, "version": parts["order_version"]}, "report", Role.TECHNICIAN,
                     diagnosis="antenna cut", actions_taken="antenna replaced")
    order = site.act(order, "complete", Role.TECHNICIAN)
    charge = site.call("GET", f"/api/work-orders/{order['id']}/charge", Role.TECHNICIAN)
    site.call("POST", f"/api/work-orders/{order['id']}/payment", Role.TECHNICIAN, json={
        "version": charge["version"], "amount": "35.00", "method": "cash",
        "invoice_number": "INV-77"})

    page = tablet
    await sign_in(page, site, Role.FINANCE)
    menu = await page.locator("header nav a").all_inner_texts()
    assert "Payments" in menu and "Board" not in menu
    await page.get_by_role("link", name="Payments").click()
    row = page.locator("#to-confirm tr[data-charge]")
    assert "INV-77" in await row.inner_text()
    await row.get_by_role("button", name="Confirm received").click()
    await page.get_by_text(f"Payment of {order['number']} confirmed.").wait_for()
    await page.locator("#to-confirm").get_by_text("No payment waits").wait_for()
    await page.locator("#billing td").first.wait_for()
    billing = await page.locator("#billing").inner_text()
    assert "CNY" in billing and "35.00" in billing
    await shot(page, "finance")


async def test_tester_sees_the_fleet_and_its_faults(site: Desk, tablet: Any) -> None:
    site.installed_terminal("SIM0001")
    await site.open_fault("SIM0001", "offline", {"silent_for_s": 90})
    page = tablet
    await sign_in(page, site, Role.TESTER)
    await page.get_by_role("link", name="Simulated fleet").click()
    row = page.locator('#simulated tr[data-terminal="SIM0001"]')
    await row.wait_for()
    text = await row.inner_text()
    assert "Offline" in text
    await page.locator("#tester-unregistered").get_by_text(
        "No unregistered terminal is reporting now.").wait_for()
    await shot(page, "tester")


async def test_the_approval_list_pages(site: Desk, tablet: Any) -> None:
    numbers = [submitted(site, f"Fleet {n:02d} Ltd")["number"] for n in range(22)]
    page = tablet
    await sign_in(page, site, Role.MANAGER)
    await page.get_by_role("link", name="Approvals & reports").click()
    pager = page.locator('[data-pager="approvals"]')
    await pager.get_by_text("1–20 of 22").wait_for()
    assert await page.locator("#approvals li").count() == 20
    await pager.get_by_role("button", name="Next").click()
    await pager.get_by_text("21–22 of 22").wait_for()
    shown = [await li.get_attribute("data-order")
             for li in await page.locator("#approvals li").all()]
    assert shown == numbers[20:]  # oldest first among equal priorities
    await pager.get_by_role("button", name="Previous").click()
    await pager.get_by_text("1–20 of 22").wait_for()
