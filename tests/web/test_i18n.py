"""Every string of the web app exists in English and Simplified Chinese, and every key the
scripts ask for exists (a missing one would show as its key)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from tests.web.conftest import Desk

JS = Path(__file__).parents[2] / "fieldservice" / "web" / "static" / "js"


async def test_both_languages_have_the_same_keys_and_the_scripts_use_only_known_ones(
        site: Desk, tablet: Any) -> None:
    await tablet.goto(site.base + "/")
    tables = await tablet.evaluate("""async () => {
        const m = await import('/static/js/i18n.js');
        return Object.fromEntries(Object.entries(m.STRINGS).map(([k, v]) => [k, v]));
    }""")
    assert set(tables) == {"en", "zh-CN"}
    assert set(tables["en"]) == set(tables["zh-CN"])
    assert all(text.strip() for table in tables.values() for text in table.values())
    used = set()
    for script in JS.glob("*.js"):
        used |= set(re.findall(r'\bt\(\s*"([\w.]+)"', script.read_text(encoding="utf-8")))
    missing = sorted(used - set(tables["en"]))
    assert not missing, f"keys used by the scripts but not translated: {missing}"


def _reasons_in_the_server() -> dict[str, set[str]]:
    """Each refusal code the service layer gives (``Reason("code", text, **params)``) with the
    names of its params, read from the source."""
    found: dict[str, set[str]] = {}
    for source in (JS.parents[2]).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Reason" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                params = {k.arg for k in node.keywords if k.arg}
                found.setdefault(node.args[0].value, set()).update(params)
    return found


async def test_every_refusal_reason_is_worded_in_both_languages(site: Desk, tablet: Any) -> None:
    await tablet.goto(site.base + "/")
    tables = await tablet.evaluate("""async () => (await import('/static/js/i18n.js')).STRINGS""")
    reasons = _reasons_in_the_server()
    assert len(reasons) > 30  # the guards of work orders, escalations, billing, reports
    for code, params in sorted(reasons.items()):
        for locale, table in tables.items():
            text = table.get(f"refusal.{code}")
            assert text, f"refusal {code} has no {locale} words"
            named = set(re.findall(r"\{(\w+)\}", text))
            assert named <= params, f"{locale} refusal.{code} names {named - params}"
    # the same placeholders in both languages, for every string
    for key, text in tables["en"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(
            re.findall(r"\{(\w+)\}", tables["zh-CN"][key])), key


def _custom_validation_errors() -> dict[str, set[str]]:
    """Each of fieldgate's own validation error types
    (``PydanticCustomError("type", template, ctx)``) with the names of its ctx, from the source."""
    found: dict[str, set[str]] = {}
    for source in (JS.parents[2]).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "PydanticCustomError" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                names: set[str] = set()
                if len(node.args) > 2 and isinstance(node.args[2], ast.Dict):
                    names = {k.value for k in node.args[2].keys
                             if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                found.setdefault(node.args[0].value, set()).update(names)
    return found


async def test_every_validation_error_of_fieldgate_is_worded_in_both_languages(
        site: Desk, tablet: Any) -> None:
    await tablet.goto(site.base + "/")
    tables = await tablet.evaluate("""async () => (await import('/static/js/i18n.js')).STRINGS""")
    custom = _custom_validation_errors()
    assert {"amount_places", "decision_needs", "command_needs", "plate_empty"} <= set(custom)
    for kind, ctx in sorted(custom.items()):
        for locale, table in tables.items():
            text = table.get(f"validation.{kind}")
            assert text, f"validation error {kind} has no {locale} words"
            named = set(re.findall(r"\{(\w+)\}", text))
            assert named <= ctx, f"{locale} validation.{kind} names {named - ctx}"
    # a real 422 of the API, worded by the app: the field's label and its problem in Chinese
    worded = await tablet.evaluate("""async () => {
        const i18n = await import('/static/js/i18n.js');
        const { ApiError } = await import('/static/js/api.js');
        const answer = await fetch('/api/auth/token', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'username=x'});
        const body = await answer.json();
        i18n.setLocale('zh-CN');
        const error = new ApiError(answer.status, body.detail, body);
        i18n.setLocale('en');
        return {status: answer.status, code: body.code, fields: error.fields};
    }""")
    assert worded == {"status": 422, "code": "validation", "fields": {"password": "必填。"}}
