"""The Kubernetes fake through lightkube: a second client nobody here wrote, beside the `kubernetes` client and
kubectl (its own HTTP stack, httpx, its own models and error type). One lab for the module."""
from __future__ import annotations

import pytest
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.authentication_v1 import SelfSubjectReview
from lightkube.resources.authorization_v1 import SelfSubjectAccessReview
from lightkube.resources.core_v1 import ConfigMap, Namespace, ServiceAccount

from labsim.fakes.kube.testing import start_kube_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with start_kube_lab(tmp_path_factory.mktemp("lightkube"), workers=1) as lab:
        yield lab


@pytest.fixture(scope="module")
def kube(lab):
    return Client(config=KubeConfig.from_file(str(lab.kubeconfig_path)), field_manager="lightkube")


def _deploy(replicas: int) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name="lk", namespace="default"),
        spec=DeploymentSpec(replicas=replicas, selector=LabelSelector(matchLabels={"app": "lk"}),
                            template=PodTemplateSpec(metadata=ObjectMeta(labels={"app": "lk"}),
                                                     spec=PodSpec(containers=[Container(name="c", image="nginx")]))))


def test_create_get_list_and_errors(kube):
    kube.create(ConfigMap(metadata=ObjectMeta(name="lk-cm", namespace="default"), data={"a": "b"}))
    got = kube.get(ConfigMap, "lk-cm", namespace="default")
    assert got.data == {"a": "b"} and got.metadata.resourceVersion.isdigit()
    names = {n.metadata.name for n in kube.list(Namespace)}
    assert {"default", "kube-system", "kube-node-lease", "kube-public"} <= names
    with pytest.raises(ApiError) as exc:
        kube.create(ConfigMap(metadata=ObjectMeta(name="lk-cm", namespace="default")))
    assert (exc.value.status.code, exc.value.status.reason, exc.value.status.message) == \
        (409, "AlreadyExists", 'configmaps "lk-cm" already exists')
    with pytest.raises(ApiError) as exc:
        kube.get(ConfigMap, "missing", namespace="no-such-ns")
    assert exc.value.status.message == 'configmaps "missing" not found'


def test_paging_in_chunks(kube):
    for i in range(5):
        kube.create(ConfigMap(metadata=ObjectMeta(name=f"chunk-{i}", namespace="default", labels={"chunk": "y"})))
    names = [c.metadata.name for c in kube.list(ConfigMap, namespace="default", chunk_size=2, labels={"chunk": "y"})]
    assert names == [f"chunk-{i}" for i in range(5)]


def test_server_side_apply_conflict(kube):
    kube.apply(_deploy(2), field_manager="first")
    with pytest.raises(ApiError) as exc:
        kube.apply(_deploy(4), field_manager="second")
    assert exc.value.status.code == 409
    assert exc.value.status.message == 'Apply failed with 1 conflict: conflict with "first": .spec.replicas'
    applied = kube.apply(_deploy(4), field_manager="second", force=True)
    assert applied.spec.replicas == 4
    assert {m.manager for m in applied.metadata.managedFields} == {"first", "second"}


def test_reviews_and_a_token(kube, lab):
    who = kube.create(SelfSubjectReview(metadata=ObjectMeta()))
    assert who.status.userInfo.username == "admin"
    review = kube.create(SelfSubjectAccessReview(metadata=ObjectMeta(), spec={
        "resourceAttributes": {"verb": "delete", "resource": "nodes"}}))
    assert review.status.allowed is True
    kube.create(ServiceAccount(metadata=ObjectMeta(name="lk-sa", namespace="default")))
    from lightkube.models.authentication_v1 import TokenRequestSpec
    from lightkube.resources.core_v1 import ServiceAccount as SA
    request = SA.Token(metadata=ObjectMeta(), spec=TokenRequestSpec(audiences=[], expirationSeconds=600))
    token = kube.create(request, "lk-sa", namespace="default")
    assert token.status.token.count(".") == 2
    cfg = KubeConfig.from_dict({
        "clusters": [{"name": "c", "cluster": {"server": lab.server.url, "certificate-authority": lab.ca.cert_path}}],
        "users": [{"name": "u", "user": {"token": token.status.token}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "current-context": "x"})
    sa = Client(config=cfg)
    with pytest.raises(ApiError) as exc:
        list(sa.list(ConfigMap, namespace="default"))
    assert exc.value.status.code == 403
    assert exc.value.status.message == ('configmaps is forbidden: User "system:serviceaccount:default:lk-sa" cannot '
                                        'list resource "configmaps" in API group "" in the namespace "default"')
