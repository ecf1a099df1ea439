"""Every string of the web app exists in English and Simplified Chinese, and every key the
scripts ask for exists (a missing one would show as its key)."""

from __future__ import annotations

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
