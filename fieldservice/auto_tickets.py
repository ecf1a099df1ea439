"""Repair tickets from terminal faults: the consumer of the health rules' outbox.

Every opening or clearing of a fault (``fault_events``, written by the gateway's health monitor
and the offline sweep) is processed exactly once:

- an **opening** makes a repair work order (source ``auto_detected``) for the customer of the
  vehicle the terminal is installed in, with symptom text and a suggested action, and submits it
  into the normal approval flow; if the terminal already has an open repair order, the fault is
  **appended** to it instead (one open ticket per terminal);
- a **clearing** is noted on the ticket; when every fault of a ticket has cleared before anyone
  was dispatched, the ticket says so and a dispatcher may close it as self-resolved
  (``close-self-resolved``, added to the state machine by :func:`health_transitions`);
- completing a repair that swapped the terminal or the SIM resets the terminal's fault history
  (an effect added to ``complete`` by :func:`health_transitions`).

Exactly once, with any number of consumers: each event is claimed and handled in its own
transaction (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite transactions are
``BEGIN IMMEDIATE``, hence serial), and ``processed_at`` is stamped in that same transaction.
Events of one terminal are serialised by locking the terminal's row, so two consumers never
make two tickets for one terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from fieldservice.actors import Actor
from fieldservice.db import session_factory, set_actor
from fieldservice.errors import Reason, ServiceError, TransitionRefused
from fieldservice.models import (
    OPEN_STATES,
    Priority,
    Source,
    SwapKind,
    Terminal,
    WorkOrder,
    WorkOrderState,
    WorkOrderType,
)
from fieldservice.roles import Role
from fieldservice.schemas.work_orders import WorkOrderCreate, WorkOrderUpdate
from fieldservice.services import bindings
from fieldservice.services.work_orders import create_work_order, update_work_order
from fieldservice.timestamps import utcnow
from fieldservice.workflow import (
    Transition,
    TransitionContext,
    TransitionRequest,
    TransitionTable,
    default_transitions,
    perform,
)
from telemetry.health.schema import fault_events, faults
from telemetry.health.store import FaultState, reset_fault_history

log = logging.getLogger(__name__)

#: who the tickets say opened them (audit log, transitions)
HEALTH_ACTOR = Actor.system("health-rules")

#: the action that closes a ticket whose faults all cleared before dispatch
SELF_RESOLVED_ACTION = "close-self-resolved"

#: states of a ticket nobody was dispatched for yet
NOT_DISPATCHED = frozenset({WorkOrderState.NEW, WorkOrderState.AWAITING_APPROVAL,
                            WorkOrderState.APPROVED})

#: how long leaving the consumer waits for the event in hand before cancelling it
STOP_TIMEOUT_S = 10.0

#: text fields of a work order hold at most this much (schemas.common.Text)
MAX_TEXT = 4000

SUGGESTED_ACTIONS: Mapping[str, str] = {
    "offline": "check the terminal's power supply (fuse, ignition wiring, battery), "
               "then the SIM (data plan, signal)",
    "no_fix": "check the GPS antenna: connector, cable, placement (not under metal)",
    "poor_accuracy": "check the GPS antenna placement and cable",
    "position_jump": "check the GPS antenna; update the firmware if jumps persist",
    "clock_drift": "check the terminal's time settings and update its firmware",
    "reconnect_storm": "swap the SIM (network or SIM trouble)",
    "checksum_errors": "check the wiring between receiver and terminal (serial cable, "
                       "connectors, baud rate)",
    "power_cut": "check the terminal's power wiring and fuse (main power reported off); "
                 "if the wiring is sound, swap the terminal",
    "low_voltage": "check the vehicle battery and the terminal's supply wiring and fuse",
    "antenna": "check the GNSS antenna cable and connector (reported open or shorted); "
               "replace the antenna if the cable is sound",
    "gnss_fault": "swap the terminal (its GNSS module reports a fault)",
    "sos": "call the driver now: the SOS button was pressed",
}
#: rules whose tickets are urgent (dispatched first, escalated on their own SLA)
URGENT_RULES = frozenset({"sos"})
SWAP_TERMINAL = "swap the terminal: {count} faults within {days:g} days on this terminal"


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketPolicy:
    """How faults become tickets.

    Args:
        suggested_actions: per rule, what the technician should do first.
        urgent_rules: rules whose tickets are urgent (a ticket an urgent fault joins becomes
            urgent too).
        repeat_count: this many faults (archived ones excepted) of one terminal within
            ``repeat_window_s`` suggest swapping the terminal.
        repeat_window_s: window of ``repeat_count``.
        submit: submit new tickets for approval (the normal flow); otherwise leave them new.
        poll_s: how often the consumer looks for new events when idle.
        max_attempts: an event that keeps failing is marked processed (with the error) after
            this many attempts rather than blocking its terminal's later events forever.
    """

    suggested_actions: Mapping[str, str] = field(default_factory=lambda: dict(SUGGESTED_ACTIONS))
    urgent_rules: frozenset[str] = URGENT_RULES
    repeat_count: int = 3
    repeat_window_s: float = 30 * 86400.0
    submit: bool = True
    poll_s: float = 2.0
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if self.repeat_count < 2:
            raise ValueError("TicketPolicy.repeat_count must be at least 2")
        if self.poll_s <= 0 or self.repeat_window_s <= 0 or self.max_attempts < 1:
            raise ValueError("TicketPolicy: poll_s and repeat_window_s must be > 0, "
                             "max_attempts >= 1")


@dataclass(frozen=True, slots=True)
class Processed:
    """What the consumer did with one outbox row."""

    event_id: int
    terminal_id: str
    rule: str
    kind: str
    outcome: str
    work_order: str | None = None  #: the ticket's number, when there is one
    failed: bool = False


# -- the state machine additions --------------------------------------------------------------

async def faults_all_cleared(ctx: TransitionContext) -> str | None:
    """An auto-detected ticket whose every fault has cleared."""
    if ctx.order.source is not Source.AUTO_DETECTED:
        return Reason("not_auto_detected", "only auto-detected tickets close as self-resolved")
    rows = (await ctx.session.execute(
        sa.select(faults.c.rule, faults.c.state).where(faults.c.work_order_id == ctx.order.id)
    )).all()
    if not rows:
        return Reason("no_fault_linked", "no detected fault is linked to this ticket")
    still_open = sorted({rule for rule, state in rows if state == FaultState.OPEN})
    if still_open:
        return Reason("faults_open", f"fault(s) still open: {', '.join(still_open)}",
                      rules=still_open)
    return None


async def reset_history_after_swaps(ctx: TransitionContext) -> None:
    """Completing a repair that swapped hardware starts the new hardware's fault history."""
    if ctx.order.type is not WorkOrderType.REPAIR:
        return
    swaps = await bindings.swaps(ctx.session, work_order_pk=ctx.order.id)
    if not swaps:
        return
    conn = await ctx.session.connection()
    done: set[str] = set()
    for swap in swaps:
        if swap.kind is SwapKind.TERMINAL:
            targets = [swap.old_ref, swap.new_ref]
        else:
            terminal = await ctx.session.get(Terminal, swap.terminal_pk)
            targets = [terminal.terminal_id] if terminal is not None else []
        for terminal_id in targets:
            if terminal_id in done:
                continue
            done.add(terminal_id)
            await reset_fault_history(
                conn, terminal_id=terminal_id, at=ctx.now, reason=f"{swap.kind.value}_swap",
                evidence={"work_order": ctx.order.number, "swap": swap.kind.value,
                          "old": swap.old_ref, "new": swap.new_ref},
            )


def health_transitions(table: TransitionTable | None = None) -> TransitionTable:
    """``table`` (default: the default state machine) with the health additions: the
    ``close-self-resolved`` action and the fault-history reset on ``complete``."""
    table = table if table is not None else default_transitions()
    return table.with_effects("complete", reset_history_after_swaps).extended(Transition(
        action=SELF_RESOLVED_ACTION,
        sources=NOT_DISPATCHED,
        target=WorkOrderState.CLOSED,
        roles=frozenset({Role.DISPATCHER, Role.MANAGER}),
        guards=(faults_all_cleared,),
        order_types=frozenset({WorkOrderType.REPAIR}),
        summary="close an auto-detected ticket whose faults all cleared before dispatch",
    ))


# -- the consumer -----------------------------------------------------------------------------

def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe(rule: str, evidence: Mapping[str, Any]) -> str:
    """One line of symptom text from a fault's evidence."""
    observed = evidence.get("observed") or {}
    th = evidence.get("thresholds") or {}
    if rule == "offline":
        return (f"no data for {_short(round(observed.get('silent_for_s', 0)))} s "
                f"(threshold {_short(observed.get('offline_after_s'))} s); last seen "
                f"{observed.get('last_seen_at')}")
    if rule == "no_fix":
        return (f"reporting without a valid fix since {observed.get('no_fix_since')} "
                f"(threshold {_short(th.get('open_after_s'))} s)")
    if rule == "poor_accuracy":
        return (f"{observed.get('poor_fixes_in_window')} of {observed.get('fixes_in_window')} "
                f"fixes poor (HDOP {observed.get('last_hdop')}, {observed.get('last_sats')} "
                f"satellites; limits HDOP {_short(th.get('max_hdop'))}, "
                f"{th.get('min_sats')} satellites)")
    if rule == "position_jump":
        jump = observed.get("last_jump") or {}
        return (f"{observed.get('jumps_in_window')} position jumps; last "
                f"{_short(round(jump.get('distance_m', 0)))} m in {_short(jump.get('seconds'))} s "
                f"({_short(jump.get('implied_speed_kmh'))} km/h)")
    if rule == "clock_drift":
        return (f"terminal clock off by {_short(observed.get('drift_s'))} s "
                f"(limit {_short(th.get('max_drift_s'))} s)")
    if rule == "reconnect_storm":
        return (f"{observed.get('opens_in_window')} reconnections within "
                f"{_short(th.get('window_s'))} s")
    if rule in ("power_cut", "low_voltage", "antenna", "gnss_fault", "sos"):
        alarms = ", ".join(observed.get("alarms") or [rule])
        extra = "; ".join(f"{k} {_short(observed[k])}" for k in ("power_v", "battery_v", "acc")
                          if observed.get(k) is not None)
        return (f"terminal reports {alarms} since {observed.get('reported_since')}"
                + (f" ({extra})" if extra else ""))
    if rule == "checksum_errors":
        return (f"{observed.get('corrupt_lines')} of {observed.get('lines')} lines corrupt "
                f"(rate {observed.get('rate')}, limit {_short(th.get('max_rate'))})")
    return ", ".join(f"{k}={v}" for k, v in observed.items()) or rule


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ")


def _bounded(text: str, header: str) -> str:
    """Keep the header and the newest lines within the field's limit."""
    if len(text) <= MAX_TEXT:
        return text
    lines = text[len(header):].splitlines()
    while lines and len(header) + len("\n".join(lines)) + 2 > MAX_TEXT:
        lines.pop(0)
    return header + "\n".join(lines)


SYMPTOMS_HEADER = "Detected by the terminal health rules:\n"
LOG_HEADER = "Health log:\n"


class TicketConsumer:
    """Consumes the ``fault_events`` outbox. An async context manager that polls every
    ``policy.poll_s``; :meth:`process_pending` runs one pass.

    Args:
        engine: the service layer's engine (``fieldservice.db.create_engine``: on SQLite its
            transactions begin IMMEDIATE, which the exactly-once guarantee relies on).
        policy: how faults become tickets.
        transitions: the state machine for ``submit`` (default: :func:`health_transitions`).
        name: recorded in ``processed_by`` (default: host:pid).
    """

    def __init__(self, *, engine: AsyncEngine, policy: TicketPolicy | None = None,
                 transitions: TransitionTable | None = None, name: str | None = None) -> None:
        self.engine = engine
        self.policy = policy or TicketPolicy()
        self.transitions = transitions if transitions is not None else health_transitions()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._sessions = session_factory(engine)
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.processed = 0
        self.errors = 0

    async def __aenter__(self) -> TicketConsumer:
        self._task = asyncio.create_task(self._run(), name="health-ticket-consumer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        # stop between events rather than cancel one half-way through its transaction (a
        # cancelled database call leaves the driver's connection to be torn down behind us)
        self._stopping = True
        self._wake.set()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look at the outbox now (tests, or a LISTEN/NOTIFY bridge)."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.process_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("health tickets: processing the outbox failed")
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.policy.poll_s):
                    await self._wake.wait()
            self._wake.clear()

    async def process_pending(self, limit: int | None = None) -> list[Processed]:
        """Handle unprocessed events, oldest first, each in its own transaction, until none is
        left (or ``limit`` were handled)."""
        done: list[Processed] = []
        while (limit is None or len(done) < limit) and not self._stopping:
            result = await self.process_one()
            if result is None:
                break
            done.append(result)
        return done

    async def process_one(self) -> Processed | None:
        async with self._sessions() as session, session.begin():
            set_actor(session, HEALTH_ACTOR, context="health outbox")
            stmt = (sa.select(fault_events)
                    .where(fault_events.c.processed_at.is_(None))
                    .order_by(fault_events.c.id).limit(1))
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = (await session.execute(stmt)).mappings().first()
            if row is None:
                return None
            failed = False
            number: str | None = None
            try:
                async with session.begin_nested():
                    outcome, number = await self._handle(session, row)
            except (ServiceError, ValidationError) as exc:
                # the service refused (customer deactivated, ...): a business answer, final
                message = exc.message if isinstance(exc, ServiceError) else str(exc)
                outcome = f"no ticket: {message}"
            except Exception as exc:  # a conflict with a concurrent edit, the database...
                self.errors += 1
                attempts = row["attempts"] + 1
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("health tickets: event %s failed (attempt %d): %s", row["id"],
                            attempts, error)
                if attempts < self.policy.max_attempts:
                    await session.execute(
                        sa.update(fault_events).where(fault_events.c.id == row["id"])
                        .values(attempts=attempts, last_error=error))
                    return Processed(row["id"], row["terminal_id"], row["rule"], row["kind"],
                                     f"failed (attempt {attempts}): {error}", failed=True)
                outcome, failed = f"failed after {attempts} attempts: {error}", True
            await session.execute(
                sa.update(fault_events).where(fault_events.c.id == row["id"]).values(
                    processed_at=utcnow(), processed_by=self.name[:128], outcome=outcome,
                    attempts=row["attempts"] + 1,
                ))
            self.processed += 1
            return Processed(row["id"], row["terminal_id"], row["rule"], row["kind"], outcome,
                             number, failed)

    # handling -----------------------------------------------------------------------------

    async def _handle(self, session: AsyncSession, ev: Mapping[Any, Any]) -> tuple[str,
                                                                                  str | None]:
        terminal = (await session.execute(
            sa.select(Terminal).where(Terminal.terminal_id == ev["terminal_id"])
            .with_for_update()  # serialises the events of one terminal across consumers
        )).scalars().first()
        if ev["kind"] == "opened":
            return await self._opened(session, ev, terminal)
        return await self._cleared(session, ev)

    async def _open_ticket(self, session: AsyncSession, terminal: Terminal) -> WorkOrder | None:
        return (await session.execute(
            sa.select(WorkOrder).where(WorkOrder.terminal_pk == terminal.id,
                                       WorkOrder.type == WorkOrderType.REPAIR,
                                       WorkOrder.state.in_(OPEN_STATES))
            .order_by(WorkOrder.id).limit(1)
        )).scalars().first()

    async def _recent_faults(self, session: AsyncSession, terminal_id: str,
                             now: datetime) -> int:
        since = now - timedelta(seconds=self.policy.repeat_window_s)
        return (await session.execute(
            sa.select(sa.func.count()).select_from(faults).where(
                faults.c.terminal_id == terminal_id, faults.c.archived_at.is_(None),
                faults.c.opened_at >= since)
        )).scalar_one()

    async def _ticket_faults(self, session: AsyncSession, order_pk: int) -> list[Any]:
        return list((await session.execute(
            sa.select(faults.c.id, faults.c.rule, faults.c.state, faults.c.opened_at)
            .where(faults.c.work_order_id == order_pk).order_by(faults.c.id)
        )).all())

    def _suggestion(self, rules: list[str], repeated: int) -> str:
        lines = []
        if repeated >= self.policy.repeat_count:
            days = round(self.policy.repeat_window_s / 86400, 1)
            lines.append(SWAP_TERMINAL.format(count=repeated, days=days))
        for rule in dict.fromkeys(rules):  # distinct, in order of first occurrence
            lines.append(f"{rule}: "
                         f"{self.policy.suggested_actions.get(rule, 'inspect the terminal')}")
        return "\n".join(lines)[:MAX_TEXT]

    async def _opened(self, session: AsyncSession, ev: Mapping[str, Any],
                      terminal: Terminal | None) -> tuple[str, str | None]:
        if terminal is None:
            return "no ticket: the terminal is not registered", None
        binding = await bindings.open_vehicle_binding(session, terminal_pk=terminal.id)
        if binding is None:
            return "no ticket: the terminal is not installed in a vehicle", None
        fault = (await session.execute(
            sa.select(faults.c.state, faults.c.work_order_id, faults.c.cleared_at)
            .where(faults.c.id == ev["fault_id"])
        )).first()
        line = f"- {_stamp(ev['occurred_at'])} {ev['rule']}: {describe(ev['rule'], ev['evidence'])}"
        repeated = await self._recent_faults(session, ev["terminal_id"], ev["occurred_at"])
        order = await self._open_ticket(session, terminal)
        if order is None:
            urgent = ev["rule"] in self.policy.urgent_rules
            order = await create_work_order(session, actor=HEALTH_ACTOR, data=WorkOrderCreate(
                type=WorkOrderType.REPAIR, source=Source.AUTO_DETECTED,
                priority=Priority.URGENT if urgent else Priority.NORMAL,
                vehicle_id=binding.vehicle_pk,
                symptoms=_bounded(SYMPTOMS_HEADER + line, SYMPTOMS_HEADER),
                suggested_action=self._suggestion([ev["rule"]], repeated),
                description=f"{LOG_HEADER}- {_stamp(ev['occurred_at'])} {ev['rule']} opened",
            ))
            await self._link(session, ev["fault_id"], order.id)
            outcome = f"ticket {order.number} created"
            if self.policy.submit:
                try:
                    await perform(session, table=self.transitions, order=order, action="submit",
                                  actor=HEALTH_ACTOR,
                                  request=TransitionRequest(version=order.version,
                                                            note="auto-detected fault"))
                    outcome += " and submitted for approval"
                except TransitionRefused as exc:
                    outcome += f", left new ({'; '.join(exc.reasons)})"
        else:
            await self._link(session, ev["fault_id"], order.id)
            rules = [f.rule for f in await self._ticket_faults(session, order.id)]
            header = SYMPTOMS_HEADER if (order.symptoms or "").startswith(SYMPTOMS_HEADER) else ""
            symptoms = f"{order.symptoms}\n{line}" if order.symptoms else SYMPTOMS_HEADER + line
            urgent = (ev["rule"] in self.policy.urgent_rules
                      and order.priority is not Priority.URGENT)
            await self._update(session, order, symptoms=_bounded(symptoms, header),
                               suggested_action=self._suggestion(rules, repeated),
                               log=f"{ev['rule']} opened (appended)"
                                   + ("; ticket made urgent" if urgent else ""),
                               priority=Priority.URGENT if urgent else None)
            outcome = f"appended to ticket {order.number}"
        if fault is not None and fault.state == FaultState.CLEARED:
            # its clearing was handled first (another consumer), before this link existed
            outcome += "; " + await self._note_cleared(session, order, ev["rule"],
                                                       fault.cleared_at)
        return outcome, order.number

    async def _cleared(self, session: AsyncSession,
                       ev: Mapping[str, Any]) -> tuple[str, str | None]:
        work_order_pk = (await session.execute(
            sa.select(faults.c.work_order_id).where(faults.c.id == ev["fault_id"])
        )).scalar()
        if work_order_pk is None:
            return "no ticket: the fault was not linked to one", None
        order = await session.get(WorkOrder, work_order_pk)
        if order is None or order.state not in OPEN_STATES:
            state = order.state.value if order is not None else "gone"
            return f"ticket {order.number if order else work_order_pk} is {state}: " \
                   "nothing to record", order.number if order else None
        reason = (ev["evidence"] or {}).get("clear_reason", "recovered")
        return await self._note_cleared(session, order, ev["rule"], ev["occurred_at"],
                                        reason), order.number

    async def _note_cleared(self, session: AsyncSession, order: WorkOrder, rule: str,
                            at: datetime, reason: str = "recovered") -> str:
        linked = await self._ticket_faults(session, order.id)
        still_open = [f.rule for f in linked if f.state == FaultState.OPEN]
        log_line = f"{rule} cleared ({reason})"
        outcome = f"clearing noted on {order.number}"
        if not still_open and order.state in NOT_DISPATCHED:
            log_line += (f"; all detected faults cleared before dispatch: "
                         f"may be closed as self-resolved ({SELF_RESOLVED_ACTION})")
            outcome = f"all faults of {order.number} cleared before dispatch"
        await self._update(session, order, log=log_line, at=at)
        return outcome

    async def _update(self, session: AsyncSession, order: WorkOrder, *, log: str,
                      at: datetime | None = None, symptoms: str | None = None,
                      suggested_action: str | None = None,
                      priority: Priority | None = None) -> None:
        line = f"- {_stamp(at or utcnow())} {log}"
        description = (f"{order.description}\n{line}" if order.description
                       else LOG_HEADER + line)
        changes: dict[str, Any] = {"description": _bounded(
            description, LOG_HEADER if description.startswith(LOG_HEADER) else "")}
        if symptoms is not None:
            changes["symptoms"] = symptoms
        if suggested_action is not None:
            changes["suggested_action"] = suggested_action
        if priority is not None:
            changes["priority"] = priority
        await update_work_order(session, actor=HEALTH_ACTOR, order_pk=order.id,
                                data=WorkOrderUpdate(version=order.version, **changes))

    @staticmethod
    async def _link(session: AsyncSession, fault_id: int, order_pk: int) -> None:
        await session.execute(sa.update(faults).where(faults.c.id == fault_id)
                              .values(work_order_id=order_pk, updated_at=utcnow()))
