"""Photos and the customer's signature on a work order: only the assignee adds them, on site or
just completed, real images only (by their bytes), within the size limits; readers of the
order see them, a technician only on his own orders."""

from __future__ import annotations

import httpx

from fieldservice.roles import Role
from fieldservice.services.attachments import MAX_SIGNATURE_BYTES
from tests.fieldservice.factories import Staff, make_customer, ok, repair_order_in_state
from tests.images import JPEG, png


async def _order(client: httpx.AsyncClient, staff: dict[Role, Staff], state: str) -> dict:
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    return await repair_order_in_state(client, staff, state, customer["id"])


async def test_photo_and_signature_stored_and_shown(client, staff) -> None:
    tech = staff[Role.TECHNICIAN]
    order = await _order(client, staff, "on_site")
    photo = ok(await client.post(
        f"/api/work-orders/{order['id']}/photos", headers=tech.headers,
        data={"version": str(order["version"]), "caption": "corroded antenna connector"},
        files={"file": ("p.jpg", JPEG, "application/octet-stream")}), 201)
    assert photo["kind"] == "photo" and photo["content_type"] == "image/jpeg"
    assert photo["size"] == len(JPEG) and photo["created_by"] == tech.username
    order = ok(await client.get(f"/api/work-orders/{order['id']}", headers=tech.headers))
    signature = ok(await client.post(
        f"/api/work-orders/{order['id']}/signature", headers=tech.headers,
        data={"version": str(order["version"]), "signed_by": "Li Wei"},
        files={"file": ("s.png", png(), "image/png")}), 201)
    assert signature["signed_by"] == "Li Wei"

    for role in (Role.TECHNICIAN, Role.DISPATCHER, Role.MANAGER):
        listed = ok(await client.get(f"/api/work-orders/{order['id']}/attachments",
                                     headers=staff[role].headers))
        assert [a["kind"] for a in listed] == ["photo", "signature"]
    image = await client.get(photo["url"], headers=staff[Role.DISPATCHER].headers)
    assert image.status_code == 200 and image.content == JPEG
    assert image.headers["content-type"] == "image/jpeg"
    assert (await client.get(photo["url"])).status_code == 401


async def test_refusals(client, staff, app) -> None:
    tech, dispatcher = staff[Role.TECHNICIAN], staff[Role.DISPATCHER]
    order = await _order(client, staff, "on_site")
    url = f"/api/work-orders/{order['id']}/photos"
    form = {"version": str(order["version"])}

    not_image = await client.post(url, headers=tech.headers, data=form,
                                  files={"file": ("x.jpg", b"<html>hi</html>", "image/jpeg")})
    assert not_image.status_code == 415 and "not a" in not_image.json()["detail"]
    empty = await client.post(url, headers=tech.headers, data=form,
                              files={"file": ("x.jpg", b"", "image/jpeg")})
    assert empty.status_code == 422
    big = await client.post(f"/api/work-orders/{order['id']}/signature", headers=tech.headers,
                            data={**form, "signed_by": "Li Wei"},
                            files={"file": ("s.png", png() + b"\x00" * MAX_SIGNATURE_BYTES,
                                            "image/png")})
    assert big.status_code == 413
    stale = await client.post(url, headers=tech.headers, data={"version": "1"},
                              files={"file": ("p.jpg", JPEG, "image/jpeg")})
    assert stale.status_code == 409 and "current_version" in stale.json()
    office = await client.post(url, headers=dispatcher.headers, data=form,
                               files={"file": ("p.jpg", JPEG, "image/jpeg")})
    assert office.status_code == 403
    missing = await client.post(url, headers=tech.headers, data=form)
    assert missing.status_code == 422 and missing.json()["code"] == "validation"
    nobody = await client.post(f"/api/work-orders/{order['id']}/signature",
                               headers=tech.headers, data={**form, "signed_by": " "},
                               files={"file": ("s.png", png(), "image/png")})
    assert nobody.status_code == 422
    # nothing was stored by any refusal
    assert ok(await client.get(f"/api/work-orders/{order['id']}/attachments",
                               headers=tech.headers)) == []


async def test_only_on_site_or_completed_and_only_his_own(client, staff, app) -> None:
    tech = staff[Role.TECHNICIAN]
    assigned = await _order(client, staff, "assigned")
    early = await client.post(f"/api/work-orders/{assigned['id']}/photos", headers=tech.headers,
                              data={"version": str(assigned["version"])},
                              files={"file": ("p.jpg", JPEG, "image/jpeg")})
    assert early.status_code == 409 and "completed or on_site" in early.json()["detail"]

    from tests.fieldservice.factories import make_staff

    other = await make_staff(app, client, Role.TECHNICIAN)
    order = await _order(client, staff, "on_site")
    photo = ok(await client.post(f"/api/work-orders/{order['id']}/photos", headers=tech.headers,
                                 data={"version": str(order["version"])},
                                 files={"file": ("p.png", png(), "image/png")}), 201)
    # as for the order itself: another technician's order is refused
    assert (await client.get(photo["url"], headers=other.headers)).status_code == 403
    assert (await client.get(f"/api/work-orders/{order['id']}/attachments",
                             headers=other.headers)).status_code == 403
    assert (await client.get("/api/attachments/999999",
                             headers=tech.headers)).status_code == 404
