"""Schemathesis' one fieldgate-specific check (loaded by ``SCHEMATHESIS_HOOKS`` in
test_api_contract.py).

A request the OpenAPI document calls valid may still be refused with 422 for what a schema
cannot say: a reference to a record that does not exist, a time in the future, a range that
ends before it starts (``code`` ``invalid``), or a rule across fields of the body (``code``
``validation`` with errors at ``["body"]``: "decision contractor needs assignee_id"). So
``schemathesis.toml`` lets positive data get a 422, and this check makes sure it is never a
field's own problem: a valid field refused means the document and the validation disagree.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case


@schemathesis.check
def valid_fields_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:  # noqa: ARG001
    meta = case.meta
    if (meta is None or not meta.generation.mode.is_positive or response.status_code != 422
            or is_unexpected_http_status_case(case)):  # probes of the request's shape
        return None
    body = response.json()
    if body.get("code") not in {"validation", "invalid"}:
        raise AssertionError(f"a 422 with code {body.get('code')!r}: {body}")
    # a value schemathesis took from an earlier answer (a charge's id that is null before
    # the charge is made) is not data the document called valid
    drawn = {(d.location, d.parameter_name) for d in getattr(meta, "pool_draws", ())}
    fields = [e for e in body.get("errors") or ()
              if len(e.get("loc", ())) > 1 and tuple(e["loc"][:2]) not in drawn]
    if fields:
        raise AssertionError(f"schema-valid fields refused: {fields}")
    return None
