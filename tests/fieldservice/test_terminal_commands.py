"""POST/GET /api/terminals/{id}/commands: who may send, what a command must carry, the log
with its states, and the audit entry (the gateway side: tests/gateway/test_commands.py)."""

from __future__ import annotations

import pytest

from fieldservice.roles import Role
from tests.fieldservice.factories import make_terminal, ok, terminal_id


async def test_a_dispatcher_sends_and_the_log_lists_it(client, staff):
    dispatcher, installer = staff[Role.DISPATCHER], staff[Role.INSTALLER]
    tid = terminal_id()
    await make_terminal(client, installer.headers, terminal_id=tid)
    created = ok(await client.post(f"/api/terminals/{tid}/commands", headers=dispatcher.headers,
                                   json={"kind": "set_interval", "interval_s": 30}), 201)
    assert created["state"] == "pending" and created["interval_s"] == 30
    assert created["created_by"] == dispatcher.username and created["sent_at"] is None
    ok(await client.post(f"/api/terminals/{tid}/commands", headers=staff[Role.MANAGER].headers,
                         json={"kind": "text", "text": "请回电", "expires_in_s": 600}), 201)
    page = ok(await client.get(f"/api/terminals/{tid}/commands", headers=dispatcher.headers,
                               params={"limit": 1}))
    assert page["total"] == 2 and [c["kind"] for c in page["items"]] == ["text"]
    audit = ok(await client.get("/api/audit", headers=staff[Role.MANAGER].headers,
                                params={"entity": "terminal_commands",
                                        "entity_id": str(created["id"])}))
    [entry] = audit["items"]
    assert entry["actor_name"] == dispatcher.username
    assert entry["changes"]["kind"] == [None, "set_interval"]


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.INSTALLER, Role.FINANCE, Role.TESTER])
async def test_only_dispatchers_and_managers_send(client, staff, role):
    tid = terminal_id()
    await make_terminal(client, staff[Role.INSTALLER].headers, terminal_id=tid)
    response = await client.post(f"/api/terminals/{tid}/commands",
                                 headers=staff[role].headers, json={"kind": "locate"})
    assert response.status_code == 403


@pytest.mark.parametrize(("body", "message"), [
    ({"kind": "set_interval"}, "set_interval needs interval_s"),
    ({"kind": "set_interval", "interval_s": 0}, "greater than or equal to 1"),
    ({"kind": "text"}, "text needs text"),
    ({"kind": "raw", "text": "重启#"}, "a raw command is ASCII"),
    ({"kind": "reboot"}, "Input should be"),
    ({"kind": "locate", "expires_in_s": 1}, "greater than or equal to 10"),
])
async def test_incomplete_commands_are_refused_with_the_reason(client, staff, body, message):
    tid = terminal_id()
    await make_terminal(client, staff[Role.INSTALLER].headers, terminal_id=tid)
    response = await client.post(f"/api/terminals/{tid}/commands",
                                 headers=staff[Role.DISPATCHER].headers, json=body)
    assert response.status_code == 422
    assert message in response.text


async def test_an_unknown_terminal_is_404(client, staff):
    response = await client.post("/api/terminals/13999999999/commands",
                                 headers=staff[Role.DISPATCHER].headers, json={"kind": "locate"})
    assert response.status_code == 404 and "no terminal 13999999999" in response.text
    response = await client.get("/api/terminals/13999999999/commands",
                                headers=staff[Role.DISPATCHER].headers)
    assert response.status_code == 404
