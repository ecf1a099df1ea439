"""Idempotency-Key (issue 7's offline queue, issue 9): a change sent again with the same key is
made once and answered as the first time; another key, path or user is another request."""

from __future__ import annotations

import httpx
import pytest

from fieldservice.roles import Role
from tests.fieldservice.factories import make_customer, ok, repair_order_in_state


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def count_customers(client: httpx.AsyncClient, headers: dict[str, str],
                          company: str) -> int:
    page = ok(await client.get("/api/customers", headers=headers,
                               params={"q": company, "limit": 100}))
    return sum(c["company"] == company for c in page["items"])


async def test_a_repeated_create_is_made_once_and_answered_the_same(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    body = {"company": "Once Only Logistics", "contact_name": "Wu", "phone": "+86 21 5555 0101",
            "address": "9 Quay Road"}
    first = await client.post("/api/customers", json=body,
                              headers=keyed(dispatcher.headers, "key-00000001"))
    again = await client.post("/api/customers", json=body,
                              headers=keyed(dispatcher.headers, "key-00000001"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-content-type-options"] == "nosniff"  # still behind the headers
    assert await count_customers(client, dispatcher.headers, body["company"]) == 1
    other = await client.post("/api/customers", json=body,
                              headers=keyed(dispatcher.headers, "key-00000002"))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # the same key from another user is that user's own request
    manager = staff[Role.MANAGER]
    theirs = await client.post("/api/customers", json=body,
                               headers=keyed(manager.headers, "key-00000001"))
    assert theirs.status_code == 201 and theirs.json()["id"] not in (first.json()["id"],
                                                                     other.json()["id"])


async def test_a_replayed_transition_is_not_a_version_conflict(client, staff):
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    order = await repair_order_in_state(client, staff, "en_route", customer["id"])
    technician = staff[Role.TECHNICIAN]
    headers = keyed(technician.headers, "arrive-order-0001")
    first = await client.post(f"/api/work-orders/{order['id']}/arrive", headers=headers,
                              json={"version": order["version"]})
    assert first.status_code == 200, first.text
    # the tablet never saw the answer and sends the change again, with the version it had
    again = await client.post(f"/api/work-orders/{order['id']}/arrive", headers=headers,
                              json={"version": order["version"]})
    assert again.status_code == 200 and again.json() == first.json()
    # without the key the same request is a stale version: the conflict the key avoids
    stale = await client.post(f"/api/work-orders/{order['id']}/arrive",
                              headers=technician.headers, json={"version": order["version"]})
    assert stale.status_code == 409


async def test_refusals_are_kept_and_bad_keys_refused(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    bad = {"company": ""}
    first = await client.post("/api/customers", json=bad,
                              headers=keyed(dispatcher.headers, "bad-body-0001"))
    again = await client.post("/api/customers", json=bad,
                              headers=keyed(dispatcher.headers, "bad-body-0001"))
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    for key in ("short", "x" * 129, "spaces are bad"):
        answer = await client.post("/api/customers", json=bad,
                                   headers=keyed(dispatcher.headers, key))
        assert answer.status_code == 422 and "Idempotency-Key" in answer.json()["detail"]


@pytest.mark.parametrize("method", ["GET"])
async def test_safe_methods_ignore_the_key(client, staff, method):
    dispatcher = staff[Role.DISPATCHER]
    answers = [await client.request(method, "/api/customers",
                                    headers=keyed(dispatcher.headers, "get-key-0001"))
               for _ in range(2)]
    assert all(a.status_code == 200 for a in answers)
    assert all("idempotent-replayed" not in a.headers for a in answers)


async def test_a_kept_answer_expires_after_a_day(app, client, staff):
    from datetime import timedelta

    from fieldservice.api.state import app_state
    from fieldservice.models.tables import idempotency_keys
    from fieldservice.timestamps import utcnow

    dispatcher = staff[Role.DISPATCHER]
    body = {"company": "Day Old Freight", "contact_name": "Xu", "phone": "+86 21 5555 0199",
            "address": "3 Dock Road"}
    headers = keyed(dispatcher.headers, "day-old-key-1")
    first = await client.post("/api/customers", json=body, headers=headers)
    async with app_state(app).engine.begin() as conn:  # the answer was kept two days ago
        await conn.execute(idempotency_keys.update().values(
            created_at=utcnow() - timedelta(days=2)))
    later = await client.post("/api/customers", json=body, headers=headers)
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]  # processed afresh
