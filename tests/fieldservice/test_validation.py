"""Bad bodies and parameters get 422 with a message that names the field and the problem."""

from __future__ import annotations

from fieldservice.roles import Role
from tests.fieldservice.factories import make_customer, ok

CASES = [
    # (role, method, path, body, text the message must contain)
    (Role.DISPATCHER, "post", "/api/customers", {}, "body.company: Field required"),
    (Role.DISPATCHER, "post", "/api/customers", {"company": "X", "colour": "red"},
     "body.colour: Extra inputs are not permitted"),
    (Role.DISPATCHER, "post", "/api/customers", {"company": "X", "phone": "call me"},
     "body.phone: String should match pattern"),
    (Role.DISPATCHER, "post", "/api/customers", {"company": ""},
     "body.company: String should have at least 1 character"),
    (Role.DISPATCHER, "post", "/api/vehicles", {"customer_id": 1, "plate": "A1",
                                                "vin": "LSVAU2180N218329O"},
     "body.vin: String should match pattern"),
    (Role.DISPATCHER, "post", "/api/vehicles", {"customer_id": 0, "plate": "A1"},
     "body.customer_id: Input should be greater than or equal to 1"),
    (Role.DISPATCHER, "post", "/api/vehicles", {"customer_id": 2**40, "plate": "A1"},
     "body.customer_id: Input should be less than or equal to 2147483647"),
    (Role.INSTALLER, "post", "/api/install-requests", {"customer_id": 1, "vehicles": []},
     "body.vehicles: List should have at least 1 item"),
    (Role.INSTALLER, "post", "/api/install-requests",
     {"customer_id": 1, "vehicles": [{"vin": "LSVAU2180N2183294"}]},
     "body.vehicles.0.plate: Field required"),
    (Role.INSTALLER, "post", "/api/terminals", {"terminal_id": "86 00"},
     "body.terminal_id: String should match pattern"),
    (Role.INSTALLER, "post", "/api/sims", {"iccid": "8986ABC"},
     "body.iccid: String should match pattern"),
    (Role.INSTALLER, "post", "/api/terminals", {"terminal_id": "860001", "warranty_months": -1},
     "body.warranty_months: Input should be greater than or equal to 0"),
    (Role.DISPATCHER, "post", "/api/work-orders", {"type": "paint", "source": "customer_call"},
     "body.type: Input should be 'install' or 'repair'"),
    (Role.DISPATCHER, "post", "/api/work-orders/1/assign", {"assignee_id": 3},
     "body.version: Field required"),
    (Role.DISPATCHER, "post", "/api/work-orders/1/assign", {"version": "three"},
     "body.version: Input should be a valid integer"),
    (Role.DISPATCHER, "patch", "/api/customers/1", {"version": 1, "company": None},
     "company cannot be null"),
    (Role.ADMIN, "post", "/api/users", {"username": "bob", "password": "short",
                                        "role": "technician"},
     "body.password: String should have at least 8 characters"),
    (Role.ADMIN, "post", "/api/users", {"username": "bob", "password": "long enough",
                                        "role": "overlord"},
     "body.role: Input should be"),
    (Role.DISPATCHER, "get", "/api/work-orders?limit=0", None,
     "query.limit: Input should be greater than or equal to 1"),
    (Role.DISPATCHER, "get", "/api/work-orders?state=lost", None, "query.state.0: Input should be"),
    (Role.DISPATCHER, "get", "/api/work-orders?created_from=yesterday", None,
     "query.created_from: Input should be a valid datetime"),
    (Role.DISPATCHER, "get", "/api/work-orders/0", None,
     "path.order_id: Input should be greater than or equal to 1"),
]


async def test_bad_input_is_422_with_a_clear_message(client, staff):
    # one database for all cases: each fresh database costs more than the requests
    for role, method, path, body, text in CASES:
        answer = await client.request(method, path, json=body, headers=staff[role].headers)
        assert answer.status_code == 422, (path, body, answer.text)
        payload = answer.json()
        assert text in payload["detail"], (path, body, payload["detail"])
        assert payload["code"] == "validation" and payload["errors"][0]["loc"]


async def test_malformed_json_and_no_echo_of_passwords(client, staff):
    answer = await client.post("/api/customers", content=b"{company: ",
                               headers={**staff[Role.DISPATCHER].headers,
                                        "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert "JSON decode error" in answer.json()["detail"]
    secret = "s3cr"
    answer = await client.post("/api/users", headers=staff[Role.ADMIN].headers,
                               json={"username": "bob", "password": secret, "role": "tester"})
    assert answer.status_code == 422 and secret not in answer.text


async def test_service_level_bad_references_are_422(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    answer = await client.post("/api/vehicles", headers=dispatcher.headers,
                               json={"customer_id": 4242, "plate": "ZZ1"})
    assert (answer.status_code, answer.json()["detail"]) == (
        422, "customer_id 4242: no such customer")
    answer = await client.post("/api/work-orders", headers=dispatcher.headers,
                               json={"type": "repair", "source": "complaint"})
    assert answer.status_code == 422
    assert "customer_id is required" in answer.json()["detail"]
    customer = await make_customer(client, dispatcher.headers)
    other = await make_customer(client, dispatcher.headers)
    vehicle = ok(await client.post("/api/vehicles", headers=dispatcher.headers,
                                   json={"customer_id": customer["id"], "plate": "ZZ2"}), 201)
    answer = await client.post("/api/work-orders", headers=dispatcher.headers, json={
        "type": "repair", "source": "complaint", "customer_id": other["id"],
        "vehicle_id": vehicle["id"]})
    assert answer.status_code == 422
    assert f"vehicle ZZ2 belongs to customer {customer['id']}" in answer.json()["detail"]
    answer = await client.post("/api/install-requests", headers=staff[Role.INSTALLER].headers,
                               json={"customer_id": customer["id"],
                                     "vehicles": [{"plate": "a b1"}, {"plate": "AB1"}]})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "vehicles lists plate(s) twice: AB1"
