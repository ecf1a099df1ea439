"""Warranty: a terminal's warranty runs ``warranty_months`` from its install date.

The install date is kept on the terminal-vehicle binding (the first one counts: moving a
terminal to another vehicle does not restart its warranty). A terminal never installed has no
running warranty yet. Billing (issue 3, next step) builds on :func:`warranty_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.models import Terminal
from fieldservice.services.bindings import install_date
from fieldservice.timestamps import add_months


@dataclass(frozen=True, slots=True)
class WarrantyStatus:
    installed_on: date | None
    until: date | None  #: last day covered
    in_warranty: bool


def status_for(*, installed_on: date | None, months: int, on: date) -> WarrantyStatus:
    if installed_on is None:
        return WarrantyStatus(installed_on=None, until=None, in_warranty=False)
    # covered up to the day before the same calendar day ``months`` later
    end = add_months(installed_on, months)
    return WarrantyStatus(installed_on=installed_on, until=date.fromordinal(end.toordinal() - 1),
                          in_warranty=installed_on <= on < end)


async def warranty_status(session: AsyncSession, terminal: Terminal, *, on: date) -> WarrantyStatus:
    installed = await install_date(session, terminal.id)
    return status_for(installed_on=installed, months=terminal.warranty_months, on=on)
