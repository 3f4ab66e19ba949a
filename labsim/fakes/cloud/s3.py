"""The lab's S3 endpoint (Hetzner Object Storage in bouquet2): moto's S3 server, a well-kept implementation of the
S3 protocol, served over HTTPS with the lab CA, with its request authentication on.

moto checks every request's SigV4 signature against the IAM access keys it knows when its
`INITIAL_NO_AUTH_ACTION_COUNT` is 0 (moto/core/authorization.py), and evaluates the user's IAM policy. The lab gets
an IAM user of its own AWS account (so two simulated labs in one process keep their buckets apart) whose access key
is exactly the lab file's credentials (`object_storage.access_key`/`secret_key`, the values the simulated lab gives
those references), allowed s3:* and nothing else: a wrong secret is `SignatureDoesNotMatch`, an unknown key
`InvalidAccessKeyId`, as at any S3 service. The bucket does not exist when the lab starts (the owner, or the suite,
creates it).
"""
from __future__ import annotations

import itertools
import json
import threading
from typing import Any

_ACCOUNTS = itertools.count(100000000000)
_LOCK = threading.Lock()
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


class S3Endpoint:
    def __init__(self, *, access_key: str, secret_key: str, region: str, tls=None, host: str = "127.0.0.1"):
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.tls = tls
        self.host = host
        with _LOCK:
            self.account_id = str(next(_ACCOUNTS))
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> S3Endpoint:
        from moto import settings
        from moto.iam.models import iam_backends
        from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0       # authenticate every request (process-wide: only S3 here)
        iam = iam_backends[self.account_id]["aws"]
        iam.create_user(self.region, "labsim-backups", "/")
        iam.put_user_policy("labsim-backups", "s3-all", json.dumps(POLICY))
        key = iam.create_access_key("labsim-backups")
        iam.access_keys.pop(key.access_key_id, None)
        key.access_key_id, key.secret_access_key = self.access_key, self.secret_key
        iam.access_keys[self.access_key] = key
        class Quiet(MotoRequestHandler):
            def log(self, *args: Any, **kwargs: Any) -> None:   # werkzeug prints every request otherwise
                pass

        app = create_backend_app("s3")       # S3 only, whatever the Host header says
        self._server = make_server(self.host, 0, app, threaded=True, request_handler=Quiet, ssl_context=self.tls)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="labsim-s3")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._forget()

    def _forget(self) -> None:
        """Drop this lab's buckets and account from moto's process-wide state."""
        try:
            from moto.iam.models import iam_backends
            from moto.s3.models import s3_backends
        except ImportError:
            return
        try:
            backend = s3_backends[self.account_id]["aws"]
            for name in list(backend.buckets):
                backend.buckets.pop(name, None)
                s3_backends.bucket_accounts.pop(name, None)
        except (KeyError, AttributeError):
            pass
        iam_backends.pop(self.account_id, None) if hasattr(iam_backends, "pop") else None

    def bucket_objects(self, bucket: str) -> dict[str, bytes]:
        """What the bucket holds (for tests and evidence): key -> bytes."""
        from moto.s3.models import s3_backends
        b = s3_backends[self.account_id]["aws"].buckets.get(bucket)
        if b is None:
            return {}
        return {k: v.value for k, v in b.keys.items()}
