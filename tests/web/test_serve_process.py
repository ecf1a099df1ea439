"""Issue 7's browser tests against the product as an operator runs it: a `fieldgate serve`
process (gateway, writer, health monitor, ticket consumer, API and pages in one) fed by a
`fieldgate simulate` process, its users made with `fieldgate users add`. An installer registers
the simulator's terminal and sees the install verified by its first fix; the simulator stops,
and a dispatcher, signed in all along, sees the terminal go offline on the board without
reloading, and the repair ticket the fault opened. On PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldgate.dburl import DatabaseURL
from fieldservice.roles import Role
from tests import servers
from tests.web.conftest import (
    LANDSCAPE,
    PASSWORD,
    PORTRAIT,
    Desk,
    no_horizontal_scroll,
    shot,
    sign_in,
)

PREFIX = "86400000077"  #: the simulator's terminal is PREFIX + 0001, a 15-digit IMEI
TID = PREFIX + "0001"


def fieldgate(*argv: str, log: Path | None = None) -> subprocess.Popen[str]:
    """``fieldgate ARGV`` as its own process, with none of the caller's FIELDGATE_ settings;
    its stderr goes to ``log`` (a pipe nobody reads would stall a chatty server), else is
    read by ``communicate``."""
    with open(log, "w") if log else contextlib.nullcontext(subprocess.PIPE) as err:
        return subprocess.Popen([sys.executable, "-m", "fieldgate", *argv],
                                env=servers.clean_env(), text=True, stderr=err,
                                stdout=subprocess.DEVNULL if log else subprocess.PIPE)


def run(*argv: str) -> str:
    proc = fieldgate(*argv)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"fieldgate {' '.join(argv[:2])}: {err}"
    return out


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Desk, int]]:
    """`fieldgate serve` on a fresh database with an installer, a dispatcher and a manager
    made by `fieldgate users add`; yields the office's view of it and its NMEA TCP port."""
    db: DatabaseURL = request.getfixturevalue(
        "pg_db" if request.param == "postgresql" else "sqlite_db")
    names = {}
    for role in (Role.INSTALLER, Role.DISPATCHER, Role.MANAGER):
        names[role] = f"{role.value}1"
        run("users", "add", "--db", str(db), "--role", role.value, "--password", PASSWORD,
            "--full-name", f"{role.value.title()} Li", "--zone", "Chaoyang", names[role])
    api, tcp = servers.free_port(), servers.free_port()
    log = tmp_path / "serve.log"
    proc = fieldgate("serve", "--db", str(db), "--port", str(api), "--tcp", f"127.0.0.1:{tcp}",
                     "--spool-dir", str(tmp_path / "spool"),
                     # a terminal reporting every second is offline after 3 s of silence
                     "--offline-after", "3", "--offline-intervals", "1",
                     "--offline-sweep-every", "1", log=log)
    with servers.stopped_by_sigterm(proc) as stopped:
        try:
            servers.wait_for_port("127.0.0.1", api, timeout=60)
            servers.wait_for_port("127.0.0.1", tcp, timeout=60)
        except Exception:
            raise AssertionError(f"fieldgate serve did not start: {log.read_text()}") from None
        desk = Desk(base=f"http://127.0.0.1:{api}", ids={}, names=names, db=db)
        for role in names:
            desk.ids[role] = desk.call("GET", "/api/users/me", role)["id"]
        yield desk, tcp
    assert stopped.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()


async def signed_in(browser: Any, desk: Desk, role: Role, viewport: dict[str, int],
                    errors: list[str]) -> Any:
    """A tablet of its own (a fresh context) signed in as ``role``; its JavaScript errors go
    to ``errors``."""
    context = await browser.new_context(viewport=viewport, has_touch=True, locale="en-US",
                                        timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{role.value}: {exc}"))
    await sign_in(page, desk, role)
    return page


@pytest.mark.parametrize("served", ["sqlite", "postgresql"], indirect=True)
async def test_installed_by_the_first_fix_then_offline_on_the_board(
        served: tuple[Desk, int], browser: Any) -> None:
    desk, tcp = served
    order = desk.install_on_site(company="Eastern Cold Chain", plate="京C20261",
                                 contact="Zhao Lei", phone="+86 10 5555 0177",
                                 address="7 Warehouse Road, Tongzhou, Beijing")
    errors: list[str] = []
    board = await signed_in(browser, desk, Role.DISPATCHER, LANDSCAPE, errors)
    await board.locator("#live.up").wait_for()
    installer = await signed_in(browser, desk, Role.INSTALLER, PORTRAIT, errors)
    await installer.locator(f'[data-order="{order["number"]}"]').click()
    form = installer.locator("#register")
    await form.get_by_label("Terminal id (as on its label)").fill(TID)
    await form.get_by_label("SIM card (ICCID)").fill("89860000000000000777")
    await form.get_by_role("button", name="Register on this vehicle").click()
    watch = installer.locator("#first-fix")
    await watch.get_by_text("Waiting for the first valid fix").wait_for()

    # the terminal is powered: one valid report a second for 4 s, then silence
    simulator = fieldgate("simulate", "--tcp", f"127.0.0.1:{tcp}", "--terminals", "1",
                          "--id-prefix", PREFIX, "--interval", "1s", "--duration", "4s",
                          "--center", "39.9042,116.4074", "--radius", "2", "--progress", "0")
    try:
        await watch.locator(".verified").wait_for(timeout=30_000)
        await installer.locator('button[data-action="complete"]:not([disabled])').click()
        await installer.get_by_text("Done: Complete.").wait_for()
        assert await no_horizontal_scroll(installer)
        _, err = await asyncio.to_thread(simulator.communicate, timeout=60)
    finally:
        if simulator.poll() is None:
            simulator.kill()
            simulator.communicate()
    assert simulator.returncode == 0, err

    # silent for 3 s: the serve process's sweep opens `offline`, its feed brings it to the
    # board that has been open since before the install, and the counts follow
    await board.locator("#feed li.fault_opened", has_text=TID).get_by_text("Offline").wait_for(
        timeout=30_000)
    await board.wait_for_function(
        "() => document.querySelector('#health [data-health=\"offline\"] b')"
        ".textContent === '1'")
    # the serve process's ticket consumer makes a repair order of it, submitted for approval:
    # the board's order columns follow without a reload
    waiting = board.locator('#order-board [data-state="awaiting_approval"]')
    await waiting.get_by_text("Repair · Eastern Cold Chain").wait_for()
    assert await no_horizontal_scroll(board)
    await shot(board, "dispatcher-board-offline-from-serve")
    stored = desk.call("GET", f"/api/work-orders/{order['id']}", Role.DISPATCHER)
    assert stored["state"] == "completed" and stored["terminal_id"] == TID
    for page in (board, installer):
        await page.context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"
