"""Walk /openapi.json: every protected operation refuses a missing or bad token (401) and every
role outside its ``x-roles`` (403), and admits the roles inside (neither 401 nor 403)."""

from __future__ import annotations

import re

from fieldservice.roles import Role

#: the only operations reachable without a token
PUBLIC = {("get", "/health"), ("post", "/api/auth/token")}


def _url(path: str) -> str:
    # ids that exist in no table: an admitted role gets 404/422, never 401/403
    return re.sub(r"\{[^}]+\}", "860000000000777", path)


async def test_every_protected_operation_refuses_missing_token_and_wrong_roles(client, staff):
    schema = (await client.get("/openapi.json")).json()
    operations = [(method, path, op) for path, ops in schema["paths"].items()
                  for method, op in ops.items()]
    assert len(operations) > 50
    public = {(m, p) for m, p, op in operations if not op.get("security")}
    assert public == PUBLIC

    refused_roles = 0
    for method, path, op in operations:
        if (method, path) in PUBLIC:
            continue
        url = _url(path)
        bare = await client.request(method, url)
        assert bare.status_code == 401, (method, path, bare.text)
        assert bare.headers["www-authenticate"] == "Bearer"
        forged = await client.request(method, url, headers={"Authorization": "Bearer x.y.z"})
        assert forged.status_code == 401, (method, path)

        admitted = {Role(r) for r in op.get("x-roles", [r.value for r in Role])}
        for role in Role:
            answer = await client.request(method, url, headers=staff[role].headers,
                                          json={} if method in ("post", "patch") else None)
            if role in admitted:
                assert answer.status_code not in (401, 403), (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert f"role {role.value} may not" in answer.json()["detail"]
                refused_roles += 1
    assert refused_roles > 100


async def test_public_operations_need_no_token(client):
    assert (await client.get("/health")).json()["status"] == "ok"
    assert (await client.get("/openapi.json")).status_code == 200
    answer = await client.post("/api/auth/token", data={"username": "x", "password": "y"})
    assert answer.status_code == 401
