"""Downlink commands, named once for every protocol.

A dispatcher asks for what a terminal should do (report every N seconds, tell where it is,
show a text to the driver, restart); each binary protocol encodes that its own way
(:meth:`Jt808Stream.send_command`, :meth:`Gt06Stream.send_command`) and turns the terminal's
answer into a :class:`CommandAnswer`. Kinds a protocol cannot express are refused with
:class:`UnsupportedCommand`, before anything is sent.

============== ================================== ==========================================
kind           JT/T 808                           GT06 (online command 0x80)
============== ================================== ==========================================
set_interval   0x8103, parameter 0x0029           ``TIMER,<s>#``
locate         0x8201 (answered by 0x0201)        ``WHERE#``
text           0x8300 (display + TTS flags)       —
reset          0x8105, command word 4             ``RESET#``
raw            —                                  the text as given (maker's command set)
============== ================================== ==========================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CommandKind(enum.StrEnum):
    SET_INTERVAL = "set_interval"  #: ``interval_s``: the time-based report interval
    LOCATE = "locate"  #: report the position now
    TEXT = "text"  #: ``text``: show (and speak) a message to the driver
    RESET = "reset"  #: restart the terminal
    RAW = "raw"  #: ``text``: a maker's own command string (GT06 family)


#: longest text message or raw command (JT/T 808 text is GBK; GT06 commands are short ASCII)
MAX_TEXT = 200


class UnsupportedCommand(ValueError):
    """The protocol (or the terminal's state) cannot carry this command."""


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    interval_s: int | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.kind is CommandKind.SET_INTERVAL:
            if self.interval_s is None or not 1 <= self.interval_s <= 86_400:
                raise ValueError("set_interval needs interval_s between 1 and 86400 seconds")
        elif self.kind in (CommandKind.TEXT, CommandKind.RAW):
            if not self.text or len(self.text) > MAX_TEXT:
                raise ValueError(f"{self.kind} needs a text of 1 to {MAX_TEXT} characters")
            if self.kind is CommandKind.RAW and not self.text.isascii():
                raise ValueError("a raw command is ASCII")


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    """The terminal's answer to a command: ``ref`` is what :meth:`send_command` returned."""

    ref: int
    ok: bool
    text: str
