"""`pods/portforward` (placeholder until the WebSocket tunnel lands)."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/portforward/?$")


def is_portforward(path: str) -> bool:
    return bool(PATH.match(urlsplit(path).path))


def serve(h: Any, cluster: Any) -> None:
    from labsim.fakes import kube_exec
    h.close_connection = True
    kube_exec._http_error(h, kube_exec._status(400, "BadRequest", "Upgrade request required"))
