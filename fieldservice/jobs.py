"""The service layer's periodic jobs: the escalation sweep and the return-visit generator.

``fieldgate serve`` (or any long-running process holding the database) runs them with::

    async with ServiceJobs(sessions=..., settings=..., interval_s=60):
        ...  # serve

Both jobs are safe in several processes at once (advisory locks on PostgreSQL, unique keys
everywhere), so every API process may run them. Tests call :meth:`ServiceJobs.run_once`, or
the functions themselves with their own clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fieldservice.actors import Actor
from fieldservice.db import set_actor
from fieldservice.services.escalations import SweepResult, sweep
from fieldservice.services.return_visits import generate
from fieldservice.settings import ServiceSettings
from fieldservice.timestamps import utcnow

log = logging.getLogger(__name__)

GENERATOR_ACTOR = Actor.system("return-visit-generator")


async def generate_return_visits(sessions: async_sessionmaker[AsyncSession], *,
                                 settings: ServiceSettings,
                                 now: datetime | None = None) -> int:
    """One run of the generator in its own transaction; the number of visits added."""
    async with sessions() as session:
        set_actor(session, GENERATOR_ACTOR, context="return visit generator")
        created = await generate(session, settings=settings,
                                 today=(now or utcnow()).date())
        await session.commit()
    return len(created)


@dataclass(frozen=True, slots=True)
class JobsReport:
    sweep: SweepResult
    visits_created: int


class ServiceJobs:
    """Runs both jobs every ``interval_s`` seconds in a named background task.

    Args:
        sessions: the session factory of the process (the API's ``state.sessions``).
        settings: SLA, free-staff and return-visit settings.
        interval_s: time between runs; the first run is immediate.
        clock: the time the jobs take as "now" (tests pass their own).
    """

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings,
                 interval_s: float = 60.0, clock: Callable[[], datetime] = utcnow) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._sessions = sessions
        self._settings = settings
        self._interval_s = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.failures = 0

    async def run_once(self) -> JobsReport:
        now = self._clock()
        swept = await sweep(self._sessions, settings=self._settings, now=now)
        created = await generate_return_visits(self._sessions, settings=self._settings, now=now)
        self.runs += 1
        return JobsReport(sweep=swept, visits_created=created)

    async def _loop(self) -> None:
        while True:
            try:
                report = await self.run_once()
                if report.sweep.escalated or report.visits_created:
                    log.info("service jobs: escalated %s, %d return visits scheduled",
                             report.sweep.escalated, report.visits_created)
            except Exception:  # a bad run must not end the loop; the next one retries
                self.failures += 1
                log.exception("service jobs: run failed")
            await asyncio.sleep(self._interval_s)

    async def __aenter__(self) -> ServiceJobs:
        self._task = asyncio.create_task(self._loop(), name="fieldservice-periodic-jobs")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
