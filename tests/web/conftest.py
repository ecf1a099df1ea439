"""The web app as people use it: the whole `fieldgate serve` stack (gateway with NMEA and JT/T 808
listeners, health monitor, writer, API with the ticket consumer, periodic jobs) on free ports,
Debian's Chromium driven by Playwright (never a downloaded browser), tablets' viewports.

``site`` is that stack on a fresh SQLite file (or PostgreSQL database) with one user per role;
``Desk`` makes the records a screen needs through the same public API the pages use, and knows
the gateway's ports for the terminals of a test. `tests/web/test_serve_process.py` runs the
`fieldgate serve` command itself, as its own process.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldgate.dburl import DatabaseURL
from fieldgate.serve import Running, ServeConfig, running
from fieldservice.actors import Actor
from fieldservice.db import create_engine, session_factory, set_actor
from fieldservice.passwords import Passwords
from fieldservice.roles import Role
from fieldservice.schemas.people import UserCreate
from fieldservice.services.users import create_user
from fieldservice.settings import ServiceSettings
from gateway.config import GatewayConfig, TcpConfig
from telemetry.config import IngestConfig
from tests import servers
from tests.fieldservice.factories import FAST_HASHING
from tests.waiting import eventually

_plates = itertools.count(10001)
CHROMIUM = os.environ.get("FIELDGATE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "web-test-pass-1"
#: tablets the technicians carry, portrait and landscape
PORTRAIT = {"width": 800, "height": 1280}
LANDSCAPE = {"width": 1280, "height": 800}
#: where the screenshots of a run go (looked at by people, not compared by the tests)
SHOTS = Path(os.environ.get("FIELDGATE_SHOTS", "/tmp/fieldgate-shots"))


@dataclass
class Desk:
    """The office making records through the API, as the users the site was seeded with."""

    base: str
    ids: dict[Role, int]
    names: dict[Role, str]
    db: DatabaseURL
    tokens: dict[Role, str] = field(default_factory=dict)
    #: the serve stack's gateway: its NMEA ($PGID) and JT/T 808 listeners
    nmea_port: int = 0
    jt808_port: int = 0

    def headers(self, role: Role) -> dict[str, str]:
        if role not in self.tokens:
            r = httpx.post(f"{self.base}/api/auth/token",
                           data={"username": self.names[role], "password": PASSWORD})
            r.raise_for_status()
            self.tokens[role] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, method: str, path: str, role: Role, status: int = 200,
             **kwargs: Any) -> Any:
        r = httpx.request(method, f"{self.base}{path}", headers=self.headers(role), **kwargs)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    async def fleet_terminal(self, terminal_id: str, what: str,
                             having: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """The terminal as the fleet API shows it, once ``having`` holds for it (the writer
        stores latest states on its own interval)."""
        def seen() -> dict[str, Any] | None:
            terminals = self.call("GET", "/api/fleet/terminals", Role.DISPATCHER)["terminals"]
            return next((t for t in terminals
                         if t["terminal_id"] == terminal_id and having(t)), None)

        return await eventually(seen, what=what)

    def act(self, order: dict[str, Any], action: str, role: Role, **body: Any) -> Any:
        return self.call("POST", f"/api/work-orders/{order['id']}/{action}", role,
                         json={"version": order["version"], **body})

    def repair_order(self, *, priority: str = "normal", symptoms: str = "no GPS fix",
                     assign_to: Role | None = Role.TECHNICIAN,
                     company: str = "Blue Line Haulage") -> dict[str, Any]:
        """A repair order for a new customer's vehicle, approved and assigned."""
        customer = self.call("POST", "/api/customers", Role.DISPATCHER, 201, json={
            "company": company, "contact_name": "Li Wei", "phone": "+86 139 0000 0001",
            "address": "88 Jianguo Road, Chaoyang, Beijing"})
        vehicle = self.call("POST", "/api/vehicles", Role.DISPATCHER, 201, json={
            "customer_id": customer["id"], "plate": f"京A{next(_plates):05d}"})
        order = self.call("POST", "/api/work-orders", Role.DISPATCHER, 201, json={
            "type": "repair", "source": "customer_call", "priority": priority,
            "customer_id": customer["id"],
            "vehicle_id": vehicle["id"], "symptoms": symptoms,
            "suggested_action": "check the antenna cable and connector"})
        order = self.act(order, "submit", Role.DISPATCHER)
        order = self.act(order, "approve", Role.MANAGER)
        if assign_to is not None:
            order = self.act(order, "assign", Role.DISPATCHER, assignee_id=self.ids[assign_to])
        return order


    def install_on_site(self, *, company: str = "Harbour Logistics", plate: str = "沪B12345",
                        contact: str = "Zhang Min", phone: str = "+86 21 5555 0199",
                        address: str = "3 Quay Street, Shanghai") -> dict[str, Any]:
        """An install order for a new customer's vehicle, the installer on site."""
        customer = self.call("POST", "/api/customers", Role.DISPATCHER, 201, json={
            "company": company, "contact_name": contact, "phone": phone, "address": address})
        request = self.call("POST", "/api/install-requests", Role.INSTALLER, 201, json={
            "customer_id": customer["id"], "vehicles": [{"plate": plate}]})
        self.call("POST", f"/api/install-requests/{request['id']}/approve", Role.MANAGER,
                  json={"version": request["version"]})
        order = self.call("GET", f"/api/work-orders/{request['orders'][0]['id']}",
                          Role.DISPATCHER)
        order = self.act(order, "assign", Role.DISPATCHER, assignee_id=self.ids[Role.INSTALLER])
        order = self.act(order, "depart", Role.INSTALLER)
        return self.act(order, "arrive", Role.INSTALLER)

    def installed_terminal(self, terminal_id: str) -> dict[str, Any]:
        """A terminal registered on a customer's vehicle by an installer's order (left on site:
        the binding is what the ticket consumer needs)."""
        order = self.install_on_site()
        return self.act(order, "register-terminal", Role.INSTALLER, terminal_id=terminal_id,
                        iccid="89860000000000000001", model="T55")

    async def open_fault(self, terminal_id: str, rule: str, observed: dict[str, Any]) -> None:
        """A fault as the gateway's health monitor stores it (fault row and outbox event)."""
        from datetime import UTC, datetime

        from telemetry.health import FaultStore
        from telemetry.health.hysteresis import FaultEvent, FaultEventKind

        now = datetime.now(UTC)
        async with FaultStore(db=self.db) as store:
            await store.record([FaultEvent(FaultEventKind.OPENED, terminal_id, rule, now, {
                "rule": rule, "event": "opened", "observed": observed})])


class _Stack(threading.Thread):
    """`fieldgate serve`'s stack (:func:`fieldgate.serve.running`) on an event loop of its own:
    the tests' blocking HTTP calls and Playwright's loop must not be the server's."""

    def __init__(self, config: ServeConfig) -> None:
        super().__init__(name="web-test-serve", daemon=True)
        self.config = config
        self.ready = threading.Event()
        self.stack: Running | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with running(self.config) as stack:
                self.stack = stack
                self.ready.set()
                await self._stopping.wait()
        except BaseException as exc:  # noqa: BLE001 - reported to the test by stop()
            self.error = exc
        finally:
            self.ready.set()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(30)
        assert not self.is_alive(), "the serve stack did not stop"
        if self.error is not None:
            raise self.error


async def _seed(db: DatabaseURL, settings: ServiceSettings) -> tuple[dict[Role, int],
                                                                      dict[Role, str]]:
    engine = create_engine(db)
    ids: dict[Role, int] = {}
    names: dict[Role, str] = {}
    try:
        async with session_factory(engine)() as session:
            set_actor(session, Actor.system("web-test-setup"))
            passwords = Passwords(settings=settings)
            for role in Role:
                name = f"{role.value}1"
                user = await create_user(session, passwords=passwords, data=UserCreate(
                    username=name, password=PASSWORD, role=role,
                    full_name=f"{role.value.title()} Wang", skills=["gps"], zone="Chaoyang"))
                ids[role], names[role] = user.id, name
            await session.commit()
    finally:
        await engine.dispose()
    return ids, names


#: the main flow of each role runs on both databases: ``@ON_BOTH_DATABASES`` over ``site``
ON_BOTH_DATABASES = pytest.mark.parametrize("site", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Desk]:
    """`fieldgate serve`'s stack on free ports, seeded with one user per role, on a fresh
    SQLite file (or PostgreSQL database, with ``ON_BOTH_DATABASES``)."""
    backend = getattr(request, "param", "sqlite")
    db: DatabaseURL = request.getfixturevalue("pg_db" if backend == "postgresql"
                                              else "sqlite_db")
    settings = ServiceSettings(secret_key=None, metrics_token=None, metrics_public=False,
                               token_ttl_s=3600, **FAST_HASHING)
    ids, names = await _seed(db, settings)
    config = ServeConfig(
        db=db, service=settings, api_port=0, jobs_interval_s=1.0,
        gateway=GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0), listeners=(
            TcpConfig(host="127.0.0.1", port=0, protocol="jt808"),)),
        # quick to write, and quick to forget that a terminal was unregistered: an installer
        # registers one and its next fix counts
        ingest=IngestConfig(spool_dir=tmp_path / "serve-spool", flush_interval=0.02,
                            state_interval=0.05, spool_fsync=False, registry_miss_ttl=0.2))
    serving = _Stack(config)
    serving.start()
    await asyncio.to_thread(serving.ready.wait, 60)
    try:
        if serving.stack is None:
            raise AssertionError(f"the serve stack did not start: {serving.error!r}")
        gateway = serving.stack.gateway
        yield Desk(base=serving.stack.api_url, ids=ids, names=names, db=db,
                   nmea_port=gateway.tcp.addresses[0][1],
                   jt808_port=gateway.listeners["jt808"].port)
    finally:
        await asyncio.to_thread(serving.stop)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, launched by Playwright's async API (its sync API runs an event loop
    of its own, which pytest-asyncio's fixtures cannot share)."""
    if not os.path.exists(CHROMIUM):
        servers.unavailable("Chromium", f"{CHROMIUM} missing (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        servers.unavailable("Playwright", str(exc))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def tablet(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser context (no storage) with a portrait tablet's viewport and touch."""
    context = await browser.new_context(viewport=PORTRAIT, has_touch=True, locale="en-US",
                                        timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    errors: list[str] = []
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def sign_in(page: Any, desk: Desk, role: Role) -> None:
    await page.goto(desk.base + "/")
    await page.get_by_label("User name").fill(desk.names[role])
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("#who").wait_for()


async def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def no_horizontal_scroll(page: Any) -> bool:
    return bool(await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))
