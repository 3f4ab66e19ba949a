"""/log: the device's memory log, read-only: configuration changes (`vlan added by admin`, topics system,info) and
API logins (`user admin logged in from 127.0.0.1 via api`, topics system,info,account), as RouterOS 7 words them;
time `hh:mm:ss` for today's entries, `yyyy-mm-dd hh:mm:ss` before (7.10+ formats). The buffer keeps the last 1000
entries (RouterOS's default memory-lines)."""
from __future__ import annotations

from . import rows

MEMORY_LINES = 1000


@rows("/log")
def _log(dev) -> list[dict[str, str]]:
    return [{".id": f"*{i:X}", "time": dev.clock_text(t), "topics": topics, "message": message}
            for i, t, topics, message in dev.log_entries[-MEMORY_LINES:]]
