"""The cloud provisioners' context from the target: the providers' own clients pointed at the simulated lab's faces
(trusting its CA, on its virtual clock, its internet reached only through its loopback ports), or at the real APIs
the lab file names with the secrets from the environment."""
from __future__ import annotations

import ssl
from pathlib import Path

from labsim.provisioners.cloud.context import HETZNER_API, TAILSCALE_API, CloudContext, Dialer, Resolver
from labsim.provisioners.lab.secrets import resolve
from labsim.provisioners.talos.cli import Tools



def _session(verify):
    import requests
    s = requests.Session()
    s.verify = verify
    s.trust_env = False         # REQUESTS_CA_BUNDLE must not override the CA the target names
    return s


def cloud_context(target, tools: Tools, workdir: Path) -> CloudContext:
    lab = target.lab
    sim = getattr(target, "sim", None)
    if sim is not None:
        ep = sim.endpoints().get("cloud") or {}
        ca = ep.get("ca")
        tls = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()

        def secret(ref) -> str:
            return sim.secret(str(ref))
        hetzner_url, tailscale_url = (ep.get("hetzner") or {}).get("url"), (ep.get("tailscale") or {}).get("url")
        cf_url, s3_url = (ep.get("cloudflare") or {}).get("url"), (ep.get("s3") or {}).get("url")
        verify = ca
        faces = sim.cloud_faces
        dialer = Dialer(via=faces.ingress.listeners if faces else dict)
        dns = ep.get("dns")
        resolver = Resolver((dns["host"], dns["port"]) if dns else None)
        cloud = sim.cloud

        def launch(name: str, user_data: str) -> None:
            cloud.oracle.launch(name, user_data)      # the owner's hand at the OCI console
        writes = sim.writes
    else:
        def secret(ref) -> str:
            return resolve(ref)
        tls = ssl.create_default_context()
        verify = True
        p = next((p for p in (lab.cloud.providers if lab.cloud else []) if p.kind == "hetzner-cloud"), None)
        hetzner_url = (p.api if p and p.api else HETZNER_API) if p else None
        tailscale_url = (lab.tailnet.api or TAILSCALE_API) if lab.tailnet else None
        cf_url = lab.dns.api if lab.dns else None
        s3_url = lab.object_storage.endpoint if lab.object_storage else None
        dialer, resolver, launch, writes = Dialer(), Resolver(), None, None
    ctx = CloudContext(tools=tools, clock=target.clock, workdir=workdir, dialer=dialer, resolver=resolver, tls=tls,
                       launch=launch, writes=writes, secret=secret)
    provider = next((p for p in (lab.cloud.providers if lab.cloud else []) if p.kind == "hetzner-cloud" and p.managed),
                    None)
    if provider is not None and hetzner_url:
        from hcloud import Client
        ctx.hcloud = Client(token=secret(provider.token), api_endpoint=hetzner_url,
                            application_name="labsim", application_version="0.1")
        ctx.hcloud._client._session = _session(verify)
    if lab.dns is not None and (cf_url or sim is None):
        import cloudflare
        import httpx
        kw = {"base_url": cf_url} if cf_url else {}
        ctx.cloudflare = cloudflare.Cloudflare(api_token=secret(lab.dns.api_token), max_retries=2, http_client=httpx.Client(
            verify=tls, timeout=30.0), **kw)
    if lab.tailnet is not None and tailscale_url:
        s = _session(verify)
        s.headers["Authorization"] = f"Bearer {secret(lab.tailnet.api_key)}"
        ctx.tailscale, ctx.tailscale_url = s, tailscale_url
    if lab.object_storage is not None and s3_url:
        store = lab.object_storage

        def s3():
            import boto3
            from botocore.config import Config
            return boto3.client("s3", endpoint_url=s3_url, region_name=store.region,
                                aws_access_key_id=secret(store.access_key),
                                aws_secret_access_key=secret(store.secret_key), verify=verify,
                                config=Config(s3={"addressing_style": store.addressing if sim is None else "path"}))
        ctx.s3 = s3
    return ctx
