"""Intent check: secrets are references, never values."""
from __future__ import annotations

from collections.abc import Iterator

from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.secrets import InlineSecret


@producer(("secret-inline", "error", "Is every secret written as a reference (env:NAME or file:PATH)?"))
def inline_secrets(ctx: Context) -> Iterator[Hit]:
    for path, value in ctx.lab.secret_fields():
        if isinstance(value, InlineSecret):
            yield Hit("secret-inline", path,
                      f"holds the secret itself ({value.redacted()}); write a reference such as "
                      f"env:NAME or file:PATH and keep the value out of the lab file",
                      {"value": value.redacted()})


@producer(("routeros-password-missing", "error", "Does every RouterOS device have a password reference to log in with?"))
def routeros_passwords(ctx: Context) -> Iterator[Hit]:
    """A device with neither its own `password` nor `routeros.defaults.password`: the suite would log in with an empty
    password, which RouterOS 7 refuses once the admin password is set (every device past its first login)."""
    if ctx.lab.routeros.defaults.password is not None:
        return
    for d, dp in zip(ctx.lab.routeros.devices, ctx.dev_paths):
        if d.password is None:
            yield Hit("routeros-password-missing", f"{dp}.password",
                      f"{d.identity} has no password reference (neither here nor in routeros.defaults.password); "
                      f"write one such as env:ROUTEROS_PASSWORD", {"device": d.identity})
