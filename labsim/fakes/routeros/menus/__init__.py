"""The menus of the simulated RouterOS device that need behaviour, each declared beside its name.

A menu is data first: its fields, defaults, commands and read-only columns are in `schema.yaml` (the engine that
reads it is labsim/fakes/routeros/schema.py). A menu whose print shows columns the device computes, whose values
need a check across rows, or whose rows the device makes rather than stores, registers that here, by its path:

    @readonly("/interface/bridge/port")
    def _(dev, item) -> dict: ...            # the computed columns of one row (printed when schema.yaml lists them)

    @check("/ip/address")
    def _(dev, me, new) -> None: ...        # refuse a change with a trap (errors.yaml)

    @rows("/system/routerboard")
    def _(dev) -> list[dict]: ...           # the rows of a menu the device computes (single or read-only lists)

A menu without an entry prints its stored fields only. One module per menu family: interface.py, ip.py, ipv6.py,
system.py, user.py, log.py, routing.py.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Behaviour:
    readonly: Callable[[Any, Any], dict[str, Any]] | None = None
    check: Callable[[Any, int | None, dict[str, Any]], None] | None = None
    rows: Callable[[Any], list[dict[str, str]]] | None = None
    # columns that change with time alone (lease expiry, uptime): a listen reports a row when anything else changes
    volatile: tuple[str, ...] = ()


REGISTRY: dict[str, Behaviour] = {}


def behaviour(path: str) -> Behaviour:
    return REGISTRY.get(path) or Behaviour()


def _entry(path: str) -> Behaviour:
    return REGISTRY.setdefault(path, Behaviour())


def readonly(path: str, volatile: tuple[str, ...] = ()) -> Callable:
    def deco(fn: Callable) -> Callable:
        entry = _entry(path)
        entry.readonly, entry.volatile = fn, volatile
        return fn
    return deco


def check(path: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        _entry(path).check = fn
        return fn
    return deco


def rows(path: str, volatile: tuple[str, ...] = ()) -> Callable:
    def deco(fn: Callable) -> Callable:
        entry = _entry(path)
        entry.rows, entry.volatile = fn, volatile
        return fn
    return deco


from . import interface, ip, ipv6, log, routing, system, user  # noqa: E402,F401 - registers the families
