"""Fixtures the unit tests share."""
from __future__ import annotations

import pytest

from labsim.fakes.tools.zygote import Zygote


@pytest.fixture(scope="module")
def zygote():
    """A tools' zygote of the test module's own, listening."""
    z = Zygote().start()
    z.wait_listening()
    yield z
    z.stop()
