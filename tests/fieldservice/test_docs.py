"""docs/api.md stays true to the code: every operation and every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from fieldgate.cli import build_parser
from fieldgate.dburl import DatabaseURL
from fieldservice.api import create_app
from fieldservice.workflow import default_transitions

DOC = (Path(__file__).parents[2] / "docs" / "api.md").read_text()


def test_every_operation_is_documented_with_its_roles(tmp_path):
    app = create_app(db=DatabaseURL.parse(f"sqlite:///{tmp_path}/x.db"))
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+ [^`]+)` \| .* \| (.*) \|$",
                                                       DOC, re.M)}
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            key = f"{method.upper()} {path}"
            assert key in rows, f"{key} missing from docs/api.md"
            roles = op.get("x-roles")
            if roles and len(roles) < 7:
                assert rows[key] == ", ".join(roles), key


def test_state_machine_table_matches_the_code():
    for transition in default_transitions():
        row = re.search(rf"^\| `{transition.action}` \| ([^|]+) \| ([^|]+) \|", DOC, re.M)
        assert row, transition.action
        sources = {s.strip() for s in row.group(1).split(",")}
        assert sources == {s.value for s in transition.sources}, transition.action
        assert row.group(2).strip() == transition.target.value


def test_cli_commands_are_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("users", "terminals", "work-orders", "api"):
        assert name in sub.choices
        assert f"`fieldgate {name}" in DOC
