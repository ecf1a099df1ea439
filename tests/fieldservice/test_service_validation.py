"""Bad bodies on the routes of the rest of issue 3 get 422 with a message naming the field."""

from __future__ import annotations

import pytest

from fieldservice.roles import Role
from tests.fieldservice.factories import ok

#: (role, method, path, body, text the message must contain)
CASES = [
    (Role.FINANCE, "post", "/api/parts", {"code": "A 1", "name": "x", "unit_price": "1"},
     "body.code: String should match pattern"),
    (Role.FINANCE, "post", "/api/parts", {"code": "A1", "name": "x"},
     "body.unit_price: Field required"),
    (Role.FINANCE, "patch", "/api/parts/1", {"version": 1, "name": None},
     "name cannot be null"),
    (Role.FINANCE, "post", "/api/parts/1/prices", {"version": 1, "unit_price": "12.345"},
     "body.unit_price"),
    (Role.TECHNICIAN, "post", "/api/work-orders/1/parts",
     {"version": 1, "part_code": "A1", "quantity": 0}, "body.quantity"),
    (Role.TECHNICIAN, "post", "/api/work-orders/1/parts/1/void", {"version": 1},
     "body.reason: Field required"),
    (Role.TECHNICIAN, "post", "/api/work-orders/1/payment",
     {"version": 1, "amount": "5.00", "method": "barter", "invoice_number": "I-1"},
     "body.method"),
    (Role.TECHNICIAN, "post", "/api/work-orders/1/payment",
     {"version": 1, "amount": "5.00", "method": "cash", "invoice_number": "bad number!"},
     "body.invoice_number"),
    (Role.FINANCE, "post", "/api/payments/1/confirm", {"version": 0}, "body.version"),
    (Role.DISPATCHER, "post", "/api/escalations", {"work_order_id": 1}, "body.detail"),
    (Role.MANAGER, "post", "/api/escalations/1/decide", {"version": 1, "decision": "later"},
     "body.decision"),
    (Role.MANAGER, "post", "/api/escalations/1/decide",
     {"version": 1, "decision": "other_department", "assignee_id": 2, "contractor_id": 3},
     "contractor_id goes with decision contractor only"),
    (Role.MANAGER, "post", "/api/contractors", {"name": ""}, "body.name"),
    (Role.MANAGER, "put", "/api/staff-affiliations/1", {"department": "x", "contractor_id": 1},
     "give exactly one of department and contractor_id"),
    (Role.DISPATCHER, "post", "/api/complaints",
     {"customer_id": 1, "channel": "phone", "subject": "s"}, "body.description"),
    (Role.DISPATCHER, "post", "/api/complaints/1/reply", {"version": 1, "reply": "r"},
     "body.channel: Field required"),
    (Role.DISPATCHER, "post", "/api/return-visits/generate", {"on": "soon"}, "body.on"),
    (Role.DISPATCHER, "post", "/api/return-visits/1/record",
     {"version": 1, "feedback": "ok", "satisfaction": 0}, "body.satisfaction"),
    (Role.DISPATCHER, "post", "/api/fault-reports",
     {"occurred_at": "yesterday", "place": "p", "symptom": "s", "handling_plan": "h",
      "notified_people": ["a"]}, "body.occurred_at"),
    (Role.MANAGER, "post", "/api/fault-reports/1/send", {"version": 1}, "body.sent_to"),
    (Role.FINANCE, "get", "/api/billing/report?period_from=noon", None, "query.period_from"),
    (Role.MANAGER, "get", "/api/return-visits/report?group_by=weekday", None,
     "query.group_by"),
]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_bad_bodies_are_422_with_the_field_named(client, staff):
    for role, method, path, body, text in CASES:
        answer = await client.request(method, path, json=body, headers=staff[role].headers)
        detail = ok(answer, 422)
        assert text in detail["detail"], (path, detail["detail"])
