"""Every string of the web app exists in English and Simplified Chinese, and every key the
scripts ask for exists (a missing one would show as its key)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
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


def _calls_in_the_server(function: str,
                         names: Callable[[ast.Call], set[str]]) -> dict[str, set[str]]:
    """Each code the server passes first to ``function(...)`` (a refusal's ``Reason``, a
    validation error's ``PydanticCustomError``) with the names of the parameters it gives,
    read from the source."""
    found: dict[str, set[str]] = {}
    for source in (JS.parents[2]).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == function and node.args
                    and isinstance(node.args[0], ast.Constant)):
                found.setdefault(node.args[0].value, set()).update(names(node))
    return found


def _keywords(call: ast.Call) -> set[str]:
    """``Reason("code", text, **params)``"""
    return {k.arg for k in call.keywords if k.arg}


def _ctx_keys(call: ast.Call) -> set[str]:
    """``PydanticCustomError("type", template, {ctx})``"""
    if len(call.args) > 2 and isinstance(call.args[2], ast.Dict):
        return {k.value for k in call.args[2].keys
                if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return set()


def _worded(tables: dict[str, dict[str, str]], prefix: str, found: dict[str, set[str]]) -> None:
    """Both languages have words for each code, naming only the parameters it gives."""
    for code, params in sorted(found.items()):
        for locale, table in tables.items():
            text = table.get(f"{prefix}.{code}")
            assert text, f"{prefix}.{code} has no {locale} words"
            named = set(re.findall(r"\{(\w+)\}", text))
            assert named <= params, f"{locale} {prefix}.{code} names {named - params}"


async def test_every_refusal_reason_is_worded_in_both_languages(site: Desk, tablet: Any) -> None:
    await tablet.goto(site.base + "/")
    tables = await tablet.evaluate("""async () => (await import('/static/js/i18n.js')).STRINGS""")
    reasons = _calls_in_the_server("Reason", _keywords)
    assert len(reasons) > 30  # the guards of work orders, escalations, billing, reports
    _worded(tables, "refusal", reasons)
    # the same placeholders in both languages, for every string
    for key, text in tables["en"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(
            re.findall(r"\{(\w+)\}", tables["zh-CN"][key])), key


async def test_every_validation_error_of_fieldgate_is_worded_in_both_languages(
        site: Desk, tablet: Any) -> None:
    await tablet.goto(site.base + "/")
    tables = await tablet.evaluate("""async () => (await import('/static/js/i18n.js')).STRINGS""")
    custom = _calls_in_the_server("PydanticCustomError", _ctx_keys)
    assert {"amount_places", "decision_needs", "command_needs", "plate_empty"} <= set(custom)
    _worded(tables, "validation", custom)
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
