"""Issue 7 (a): a technician signs in on a tablet, sees his open orders (urgent first, with
their deadlines counting down), opens one and works it: the checklist, on the way, on site,
the report, completion. Everything through the real API in Debian's Chromium."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fieldservice.passwords import MIN_PASSWORD_LENGTH
from fieldservice.roles import Role
from tests.web.conftest import LANDSCAPE, PASSWORD, Desk, no_horizontal_scroll, shot, sign_in


async def test_sign_in_shows_name_role_and_only_the_technicians_menu(site: Desk,
                                                                     tablet: Any) -> None:
    page = tablet
    await page.goto(site.base + "/")
    await page.get_by_label("User name").fill(site.names[Role.TECHNICIAN])
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_text("Incorrect user name or password.").wait_for()

    await sign_in(page, site, Role.TECHNICIAN)
    who = (await page.locator("#who").inner_text())
    assert "Technician Wang" in who and "Technician" in who
    menu = await page.locator("header nav a").all_inner_texts()
    assert menu == ["My orders", "Password"]  # no fleet table: a technician may not read it

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="Sign in").wait_for()
    assert await page.evaluate("localStorage.getItem('fieldgate-token')") is None


async def test_my_orders_urgent_first_with_deadlines_and_paging(site: Desk, tablet: Any) -> None:
    normal = site.repair_order(priority="normal", company="Slow Freight")
    urgent = site.repair_order(priority="urgent", company="Express Cold Chain")
    site.repair_order(priority="normal", assign_to=None, company="Not Mine Ltd")
    page = tablet
    await page.clock.install()  # the page's clock, moved by the test below
    await sign_in(page, site, Role.TECHNICIAN)
    await page.locator(".order-card").first.wait_for()
    numbers = [await el.get_attribute("data-order")
               for el in await page.locator(".order-card").all()]
    assert numbers == [urgent["number"], normal["number"]]  # his own only, urgent first
    first = page.locator(".order-card").first
    card = await first.inner_text()
    assert "Urgent" in card and "Express Cold Chain" in card
    sla = first.locator(".sla")
    assert "On the way within" in (await sla.inner_text())
    before = await sla.inner_text()
    await page.clock.fast_forward("20:00")  # twenty minutes later
    await page.wait_for_function(
        "([el, before]) => el.textContent !== before", arg=[await sla.element_handle(), before])
    assert await sla.inner_text() != before  # counting down
    assert "1–2 of 2" in (await page.locator(".pager").inner_text())
    assert await no_horizontal_scroll(page)
    await shot(page, "technician-orders-portrait")


async def test_working_an_order_from_checklist_to_completion(site: Desk, tablet: Any) -> None:
    order = site.repair_order(priority="urgent")
    page = tablet
    await sign_in(page, site, Role.TECHNICIAN)
    await page.locator(f'[data-order="{order["number"]}"]').click()
    await page.locator("#order h1").wait_for()
    assert (await page.locator("#order h1").inner_text()) == order["number"]
    text = (await page.locator("#order").inner_text())
    for expected in ("Blue Line Haulage", "88 Jianguo Road", "Li Wei", "no GPS fix",
                     "check the antenna cable and connector"):
        assert expected in text
    assert (await page.locator("#call").get_attribute("href")) == "tel:+8613900000001"
    assert (await page.locator("#maps").get_attribute("href")).startswith("geo:0,0?q=88%20Jianguo")

    # before the checklist, leaving is not allowed, and the page says why
    depart = page.locator('button[data-action="depart"]')
    assert (await depart.is_disabled())
    assert "checklist" in (await page.locator("#actions .reasons").first.inner_text()).lower()
    await shot(page, "technician-order-assigned")

    for name in ("Tools", "Spare terminals", "SIM cards", "Documents"):
        await page.get_by_label(name, exact=True).check()
    await page.get_by_role("button", name="Confirm checklist").click()
    await page.get_by_text("Checklist confirmed").wait_for()

    await page.locator('button[data-action="depart"]:not([disabled])').click()
    await page.get_by_text("Done: Leave for the site.").wait_for()
    assert "En route" in (await page.locator("#order .view-head").inner_text())
    await page.locator('button[data-action="arrive"]').click()
    await page.get_by_text("Done: Arrived on site.").wait_for()

    await page.get_by_label("Diagnosis").fill("antenna connector corroded")
    await page.get_by_label("Actions taken").fill("replaced the antenna cable")
    await page.get_by_role("button", name="Save report").click()
    await page.get_by_text("Report saved.").wait_for()
    await page.locator('button[data-action="complete"]').click()
    await page.get_by_text("Done: Complete.").wait_for()
    assert "Completed" in (await page.locator("#order .view-head").inner_text())
    history = (await page.locator("#history").inner_text())
    assert "Assigned → En route" in history and "On site → Completed" in history
    stored = site.call("GET", f"/api/work-orders/{order['id']}", Role.DISPATCHER)
    assert stored["state"] == "completed" and stored["diagnosis"] == "antenna connector corroded"
    assert await no_horizontal_scroll(page)


async def test_a_change_made_elsewhere_is_a_clear_conflict_not_a_silent_loss(
        site: Desk, tablet: Any) -> None:
    order = site.repair_order()
    page = tablet
    await sign_in(page, site, Role.TECHNICIAN)
    await page.goto(f"{site.base}/#/orders/{order['id']}")
    await page.get_by_role("button", name="Confirm checklist").wait_for()
    # the dispatcher edits the order while the page shows the old version
    site.call("PATCH", f"/api/work-orders/{order['id']}", Role.DISPATCHER,
              json={"version": order["version"], "description": "bring a spare antenna"})
    for name in ("Tools", "Spare terminals", "SIM cards", "Documents"):
        await page.get_by_label(name, exact=True).check()
    await page.get_by_role("button", name="Confirm checklist").click()
    await page.get_by_text("Someone else changed this order meanwhile").wait_for()
    assert "bring a spare antenna" in (await page.locator("#order").inner_text())  # reloaded
    for name in ("Tools", "Spare terminals", "SIM cards", "Documents"):
        await page.get_by_label(name, exact=True).check()
    await page.get_by_role("button", name="Confirm checklist").click()
    await page.get_by_text("Checklist confirmed").wait_for()


async def test_landscape_and_chinese(site: Desk, tablet: Any) -> None:
    order = site.repair_order(priority="urgent")
    page = tablet
    await page.set_viewport_size(LANDSCAPE)
    await sign_in(page, site, Role.TECHNICIAN)
    await page.get_by_label("language / 语言").select_option("zh-CN")
    await page.get_by_role("heading", name="我的工单").wait_for()
    card = page.locator(f'[data-order="{order["number"]}"]')
    assert "紧急" in (await card.inner_text()) and "已派工" in (await card.inner_text())
    await card.click()
    await page.get_by_role("button", name="确认检查").wait_for()
    assert "客户" in (await page.locator("#order").inner_text())
    # why leaving is not allowed yet, in Chinese too: the server's reason by its code
    depart_reason = page.locator('#actions .reasons li[data-code="checklist_unchecked"]')
    assert (await depart_reason.inner_text()) == (
        "请先确认检查清单（未勾选：工具、备用终端、SIM 卡、单据）。")
    assert await no_horizontal_scroll(page)
    await shot(page, "technician-order-landscape-zh")
    # the choice is remembered
    await page.reload()
    await page.get_by_role("button", name="确认检查").wait_for()


async def test_password_change_with_errors_next_to_the_fields(site: Desk, tablet: Any) -> None:
    page = tablet
    await sign_in(page, site, Role.TECHNICIAN)
    await page.get_by_role("link", name="Password").click()
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_label("New password again").fill("short")
    await page.get_by_role("button", name="Change password").click()
    error = page.locator('[data-error-for="new_password"]')
    await error.wait_for()
    assert (await error.inner_text()) == f"Use at least {MIN_PASSWORD_LENGTH} characters."
    # the API's field errors are worded in the user's language (from their type and ctx)
    await page.get_by_label("language / 语言").select_option("zh-CN")
    await page.get_by_label("当前密码").fill(PASSWORD)
    await page.get_by_label("新密码", exact=True).fill("short")
    await page.get_by_label("再次输入新密码").fill("short")
    await page.get_by_role("button", name="修改密码").click()
    await page.get_by_text(f"至少 {MIN_PASSWORD_LENGTH} 个字符。").wait_for()
    await page.get_by_label("language / 语言").select_option("en")
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("a-much-longer-pass-2")
    await page.get_by_label("New password again").fill("a-much-longer-pass-2")
    await page.get_by_role("button", name="Change password").click()
    await page.get_by_text("Password changed.").wait_for()


async def test_the_faults_that_opened_an_order_are_on_its_page(site: Desk, tablet: Any) -> None:
    tid = "864000000000777"
    site.installed_terminal(tid)
    await site.open_fault(tid, "no_fix", {"no_fix_since": "2026-12-06T08:00:00Z",
                                          "no_fix_epochs_in_window": 40})
    deadline = time.monotonic() + 15
    while not (found := site.call("GET", "/api/work-orders", Role.DISPATCHER,
                                  params={"terminal_id": tid, "type": "repair"})["items"]):
        assert time.monotonic() < deadline, "the ticket consumer opened no repair order"
        await asyncio.sleep(0.2)
    order = found[0]  # auto-detected: submitted for approval already
    order = site.act(order, "approve", Role.MANAGER)
    order = site.act(order, "assign", Role.DISPATCHER, assignee_id=site.ids[Role.TECHNICIAN])
    page = tablet
    await sign_in(page, site, Role.TECHNICIAN)
    await page.locator(f'[data-order="{order["number"]}"]').click()
    faults = page.locator("#faults")
    await faults.get_by_text("No GPS fix").wait_for()
    text = await faults.inner_text()
    assert "no fix epochs in window: 40" in text
    assert tid in await page.locator("#order").inner_text()
    await shot(page, "technician-order-with-fault")
