"""A namespace backed up to the lab's S3 bucket and restored into another namespace, with boto3 and the kubernetes
client, in Velero's layout (what bouquet2's owners planned: Velero with S3):

    <prefix>/backups/<name>/velero-backup.json                          what was backed up, when, how many items
    <prefix>/backups/<name>/resources/<plural>.<group>/namespaces/<ns>/<object>.json   one object per file

This is the suite's own backup of the objects (the Velero CLI and its server are not simulated here): what it proves
is the path a Velero backup takes, with the lab's credentials, bucket and endpoint, and that a restore brings back
the same objects. Objects are stored without what the API server owns (uid, resourceVersion, timestamps, status,
managed fields, a Service's cluster IPs, owner references), as Velero strips them on restore.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from labsim.provisioners.cloud import kubeobjects as K
from labsim.provisioners.vocabulary import Result

# what is backed up and restored, in restore order (Velero's priorities: service accounts and config first)
KINDS = [("v1", "ServiceAccount", "serviceaccounts"), ("v1", "ConfigMap", "configmaps"), ("v1", "Secret", "secrets"),
         ("v1", "Service", "services"), ("apps/v1", "Deployment", "deployments.apps")]
SKIP = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
DEMO_NS = "labsim-backup-demo"


@dataclass
class Backup:
    name: str
    keys: list[str] = field(default_factory=list)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)     # "Kind/name" -> object


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    out = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
           "metadata": {k: v for k, v in md.items() if k in ("name", "namespace", "labels", "annotations") and v}}
    for k, v in obj.items():
        if k not in ("apiVersion", "kind", "metadata", "status"):
            out[k] = v
    if out["kind"] == "Service":
        spec = dict(out.get("spec") or {})
        for k in ("clusterIP", "clusterIPs"):
            spec.pop(k, None)
        out["spec"] = spec
    anns = out["metadata"].get("annotations")
    if anns:
        anns = {k: v for k, v in anns.items() if k != "kubectl.kubernetes.io/last-applied-configuration"
                and not k.startswith("deployment.kubernetes.io/")}
        out["metadata"]["annotations"] = anns
        if not anns:
            out["metadata"].pop("annotations")
    return out


def _objects(api, ns: str) -> list[dict[str, Any]]:
    dyn = K.client(api)
    out = []
    for api_version, kind, _ in KINDS:
        res = dyn.resources.get(api_version=api_version, kind=kind)
        for item in res.get(namespace=ns).to_dict().get("items") or []:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
            if (kind, item["metadata"]["name"]) in SKIP:
                continue
            if kind == "Secret" and item.get("type") == "kubernetes.io/service-account-token":
                continue
            out.append(clean(item))
    return out


def backup(lab, api, s3, ns: str, name: str, now: str) -> Backup:
    store = lab.object_storage
    b = Backup(name)
    base = f"{store.prefix}/backups/{name}"
    for obj in _objects(api, ns):
        plural = next(p for v, k, p in KINDS if k == obj["kind"])
        key = f"{base}/resources/{plural}/namespaces/{ns}/{obj['metadata']['name']}.json"
        s3.put_object(Bucket=store.bucket, Key=key, Body=json.dumps(obj, sort_keys=True).encode(),
                      ContentType="application/json")
        b.keys.append(key)
        b.items[f"{obj['kind']}/{obj['metadata']['name']}"] = obj
    meta = {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": name, "namespace": "velero"},
            "spec": {"includedNamespaces": [ns], "storageLocation": "default"},
            "status": {"phase": "Completed", "startTimestamp": now, "completionTimestamp": now,
                       "progress": {"totalItems": len(b.keys), "itemsBackedUp": len(b.keys)}}}
    s3.put_object(Bucket=store.bucket, Key=f"{base}/velero-backup.json", Body=json.dumps(meta).encode(),
                  ContentType="application/json")
    b.keys.append(f"{base}/velero-backup.json")
    return b


class StorageRefused(Exception):
    """The object storage refused the lab's credentials (one message: endpoint, secret reference, bucket)."""


def ensure_bucket(lab, s3) -> str | None:
    """The bucket exists (created if missing): returns "created" or None."""
    import botocore.exceptions
    store = lab.object_storage
    try:
        s3.head_bucket(Bucket=store.bucket)
        return None
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            # HEAD has no body: S3 says only 403, whatever the cause; say which credentials and bucket it was
            raise StorageRefused(f"{store.endpoint} refused the lab's credentials (object_storage.access_key "
                                 f"{store.access_key}) for bucket {store.bucket}: {code} on HeadBucket (a key revoked "
                                 "or rotated at the provider, or one without access to this bucket)") from None
        if code not in ("404", "NoSuchBucket"):
            raise
    s3.create_bucket(Bucket=store.bucket, CreateBucketConfiguration={"LocationConstraint": store.region})
    return "created"


def stored(lab, s3, name: str) -> dict[str, dict[str, Any]]:
    """What the bucket holds for backup `name`: "Kind/name" -> object (read back with boto3)."""
    store = lab.object_storage
    prefix = f"{store.prefix}/backups/{name}/resources/"
    out = {}
    token = None
    while True:
        kw = {"Bucket": store.bucket, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
        page = s3.list_objects_v2(**kw)
        for o in page.get("Contents") or []:
            obj = json.loads(s3.get_object(Bucket=store.bucket, Key=o["Key"])["Body"].read())
            out[f"{obj['kind']}/{obj['metadata']['name']}"] = obj
        if not page.get("IsTruncated"):
            return out
        token = page.get("NextContinuationToken")


def restore(lab, api, s3, name: str, target_ns: str) -> list[str]:
    dyn = K.client(api)
    K.ensure(dyn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target_ns}})
    items = stored(lab, s3, name)
    done = []
    for _, kind, _ in KINDS:
        for key, obj in sorted(items.items()):
            if obj["kind"] != kind:
                continue
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["namespace"] = target_ns
            try:
                what = K.ensure(dyn, obj)
            except ApiException as exc:
                raise RuntimeError(f"restoring {key} into {target_ns}: {exc.status} {exc.reason}") from None
            done.append(f"{key}: {what or 'unchanged'}")
    return done


def compare(api, source_ns: str, target_ns: str) -> list[Result]:
    """Every object of the source namespace is in the target with the same content (labels, data, spec)."""
    src = {f"{o['kind']}/{o['metadata']['name']}": o for o in _objects(api, source_ns)}
    dst = {f"{o['kind']}/{o['metadata']['name']}": o for o in _objects(api, target_ns)}
    out = []
    for key, obj in sorted(src.items()):
        got = dst.get(key)
        if got is None:
            out.append(Result("restored-object", key, False, f"missing in {target_ns}"))
            continue
        a = {k: v for k, v in obj.items() if k != "metadata"}
        b = {k: v for k, v in got.items() if k != "metadata"}
        same = a == b and (obj["metadata"].get("labels") or {}) == (got["metadata"].get("labels") or {})
        out.append(Result("restored-object", key, same, f"the same in {target_ns}" if same else
                          f"differs in {target_ns}", {} if same else {"backed up": a, "restored": b}))
    extra = sorted(set(dst) - set(src))
    if extra:
        out.append(Result("restored-object", target_ns, False, f"objects that were not backed up: {extra}"))
    return out


def demo(ns: str = DEMO_NS) -> list[dict[str, Any]]:
    """The suite's own namespace to back up: an app's usual objects."""
    labels = {"app.kubernetes.io/name": "guestbook"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "guestbook", "namespace": ns,
                                                                    "labels": labels}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "guestbook", "namespace": ns, "labels": labels},
         "data": {"greeting": "hello from bouquet2", "entries.txt": "rose\nlily\ntulip\n"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "guestbook-db", "namespace": ns, "labels": labels},
         "type": "Opaque", "data": {"password": "bm90LWEtcmVhbC1wYXNzd29yZA=="}},   # not-a-real-password
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "guestbook", "namespace": ns, "labels": labels},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "guestbook", "namespace": ns,
                                                                     "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                  "spec": {"serviceAccountName": "guestbook", "containers": [
                      {"name": "guestbook", "image": "docker.io/library/nginx:1.27", "ports": [{"containerPort": 8080}],
                       "envFrom": [{"configMapRef": {"name": "guestbook"}}]}]}}}},
    ]
