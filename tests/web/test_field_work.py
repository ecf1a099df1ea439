"""Issue 7 (b): on site, the technician swaps the terminal and the SIM (and sees the old
terminal's label), records parts from the price list, takes a photo and the customer's
signature, completes, and collects the payment of an out-of-warranty repair."""

from __future__ import annotations

from typing import Any

from fieldservice.roles import Role
from tests.images import png
from tests.web.conftest import ON_BOTH_DATABASES, Desk, no_horizontal_scroll, shot, sign_in


def on_site_repair(site: Desk, tid: str) -> dict[str, Any]:
    """An out-of-warranty terminal on a customer's vehicle, and a repair of it on site."""
    install = site.installed_terminal(tid)
    terminal = site.call("GET", f"/api/terminals/{tid}", Role.INSTALLER)
    site.call("PATCH", f"/api/terminals/{tid}", Role.INSTALLER,
              json={"version": terminal["version"], "warranty_months": 0})
    site.call("POST", "/api/parts", Role.MANAGER, 201,
              json={"code": "ANT-01", "name": "GPS antenna", "unit_price": "35.00"})
    order = site.call("POST", "/api/work-orders", Role.DISPATCHER, 201, json={
        "type": "repair", "source": "customer_call", "vehicle_id": install["vehicle_id"],
        "symptoms": "position frozen since Monday"})
    order = site.act(order, "submit", Role.DISPATCHER)
    order = site.act(order, "approve", Role.MANAGER)
    order = site.act(order, "assign", Role.DISPATCHER, assignee_id=site.ids[Role.TECHNICIAN])
    order = site.act(order, "checklist", Role.TECHNICIAN, tools=True, spare_terminals=True,
                     sims=True, documents=True)
    order = site.act(order, "depart", Role.TECHNICIAN)
    return site.act(order, "arrive", Role.TECHNICIAN)


@ON_BOTH_DATABASES
async def test_swaps_parts_photo_signature_and_payment(site: Desk, tablet: Any) -> None:
    order = on_site_repair(site, "864000000000501")
    page = tablet
    await sign_in(page, site, Role.TECHNICIAN)
    await page.goto(f"{site.base}/#/orders/{order['id']}")

    # terminal swap: the old one's label says where it came from and why
    swap = page.locator("#terminal-swap")
    await swap.get_by_label("New terminal id").fill("864000000000502")
    await swap.get_by_label("Reason").fill("GNSS module dead")
    await swap.get_by_role("button", name="Swap terminal").click()
    await page.get_by_text("Swapped: 864000000000501 → 864000000000502.").wait_for()
    label = await page.locator("#old-label").inner_text()
    assert "沪B12345" in label and "GNSS module dead" in label and order["number"] in label
    assert "864000000000502" in await page.locator("#order dl").first.inner_text()

    # SIM swap: the SIM now in the new terminal is the one taken out
    sim = page.locator("#sim-swap")
    assert "89860000000000000001" in await sim.inner_text()
    await sim.get_by_label("New SIM (ICCID)").fill("89860000000000000002")
    await sim.get_by_role("button", name="Swap SIM").click()
    await page.get_by_text("Swapped: 89860000000000000001 → 89860000000000000002.").wait_for()
    swaps = await page.locator("#swaps").inner_text()
    assert "Terminal: 864000000000501 → 864000000000502" in swaps
    assert "SIM: 89860000000000000001 → 89860000000000000002" in swaps

    # a part from the price list, priced in the user's locale
    await page.locator("#part-use").get_by_label("Part").select_option("ANT-01")
    await page.locator("#part-use").get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add part").click()
    await page.locator("#parts").get_by_text("GPS antenna").wait_for()
    assert "Parts total: CN¥70.00" in await page.locator("#parts").inner_text() or \
        "Parts total: ¥70.00" in await page.locator("#parts").inner_text()

    # a photo (the camera input takes a file in the test)
    photo = page.locator("#photo-form")
    image = png(64, 48, b"\x30\x80\xc0")
    await photo.get_by_label("Photo (camera)").set_input_files(
        files=[{"name": "antenna.png", "mimeType": "image/png", "buffer": image}])
    await photo.get_by_label("Caption").fill("antenna connector")
    await photo.get_by_role("button", name="Upload photo").click()
    await page.get_by_text("Photo stored.").wait_for()
    await page.locator("#photos img.thumb[src^='blob:']").wait_for()

    # the customer signs with a finger
    form = page.locator("#signature-form")
    await form.get_by_label("Name of the person signing").fill("Zhang Min")
    await form.get_by_role("button", name="Save signature").click()
    await form.get_by_text("Nothing is drawn yet.").wait_for()
    box = await page.locator("canvas.pad").bounding_box()
    await page.mouse.move(box["x"] + 30, box["y"] + 60)
    await page.mouse.down()
    for step in range(1, 12):
        await page.mouse.move(box["x"] + 30 + step * 25, box["y"] + 60 + (step % 3) * 30)
    await page.mouse.up()
    await form.get_by_role("button", name="Save signature").click()
    await page.get_by_text("Signature stored.").wait_for()
    assert "Signed by Zhang Min" in await page.locator("#signature").inner_text()
    await page.locator("#signature img[src^='blob:']").wait_for()

    await page.get_by_label("Diagnosis").fill("GNSS module dead")
    await page.get_by_label("Actions taken").fill("terminal and SIM replaced")
    await page.get_by_role("button", name="Save report").click()
    await page.get_by_text("Report saved.").wait_for()
    await page.locator('button[data-action="complete"]').click()
    await page.get_by_text("Done: Complete.").wait_for()

    # out of warranty: the charge is due, and the payment is recorded on site
    assert "Out of warranty" in await page.locator("#charge").inner_text()
    pay = page.locator("#payment")
    assert await pay.get_by_label("Amount (CNY)").input_value() == "70.00"
    await pay.get_by_label("Method").select_option("mobile")
    await pay.get_by_label("Invoice number").fill("INV-2026-0042")
    await pay.get_by_role("button", name="Record payment").click()
    await page.get_by_text("Payment recorded.").wait_for()
    assert "invoice INV-2026-0042" in await page.locator("#charge").inner_text()
    assert await no_horizontal_scroll(page)
    await shot(page, "technician-field-work")

    stored = site.call("GET", f"/api/work-orders/{order['id']}/attachments", Role.DISPATCHER)
    assert [(a["kind"], a["caption"], a["signed_by"]) for a in stored] == [
        ("photo", "antenna connector", None), ("signature", None, "Zhang Min")]
    signature = site.call("GET", f"/api/work-orders/{order['id']}/attachments",
                          Role.DISPATCHER)[1]
    assert signature["content_type"] == "image/png" and signature["size"] > 1000
