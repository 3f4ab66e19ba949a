"""TLS client contexts, one rule for every endpoint: verify by default, against the endpoint's CA
bundle when the lab file names one (`ca_file`), else the system's trust store; only an explicit
`verify_tls: false` turns verification off (a lab that keeps a device's self-signed certificate)."""
from __future__ import annotations

import ssl


def client_context(ca_file: str | None = None, verify: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    if not verify:
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx
