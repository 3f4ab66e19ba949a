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
