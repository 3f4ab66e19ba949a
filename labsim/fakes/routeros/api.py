"""The contract between the RouterOS API wire server and the device's menu engine.

The server (`server.py`) owns the socket: framing, login, `.tag`, `!empty`, faults. For every command
sentence after login it calls `CommandHandler.execute(...)` and turns the `Reply` into sentences:
one `!re` per row, then the traps (`!trap` each), then `!done` (with `=ret=` when set); or `!fatal`; or, for a
`listen`, a stream of `!re` as the menu's rows change (`rows(menu)`, woken by `watchers`) until `/cancel`.
Values in rows and attributes are RouterOS text exactly as on the wire (`true`/`false`, `*1A`, `30m`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Trap:
    message: str
    category: int | None = None


@dataclass
class Reply:
    rows: list[dict[str, str]] = field(default_factory=list)
    ret: str | None = None
    traps: list[Trap] = field(default_factory=list)
    fatal: str | None = None  # e.g. "session terminated on request" after /quit
    listen: str | None = None  # `listen` accepted on this menu: the server streams its changing rows until /cancel


class CommandHandler(Protocol):
    def execute(self, command: str, attrs: dict[str, str], queries: list[str]) -> Reply:
        """Run one API command.

        command: the first word, e.g. "/interface/vlan/add" or "/interface/print".
        attrs: the `=key=value` words in order of arrival (`.proplist` included as ".proplist").
        queries: the raw `?...` words in order (evaluated by `query.py` for print).
        """
        ...
