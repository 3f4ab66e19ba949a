"""/user and /user/group: the device's users (the API user the lab file names among them, group `full`) and the
three built-in groups with RouterOS's policies. A password is write-only (never printed); `last-logged-in` is when
the user last logged in over the API (schema.yaml; the server tells the device, RouterOSDevice.logged_in)."""
from __future__ import annotations

from typing import Any

from ..schema import trap
from . import check, readonly


@readonly("/user")
def _user(dev, item) -> dict[str, Any]:
    seen = item.state.get("last-logged-in")
    return {"last-logged-in": dev.clock_text(seen) if seen is not None else None, "expired": "false"}


@check("/user")
def _check_user(dev, me: int | None, new: dict[str, Any]) -> None:
    for other in dev._others("user", me):
        if other.values["name"] == new["name"]:
            raise trap("already_have_entry")


@readonly("/user/group")
def _group(dev, item) -> dict[str, Any]:
    return {}
