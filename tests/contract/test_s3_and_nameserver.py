"""The lab's S3 endpoint (moto's server, authentication on) through boto3, and the zone's nameserver through
dnspython's resolver: answers with their TTLs, NXDOMAIN, REFUSED, proxied names."""
from __future__ import annotations

import botocore.exceptions
import dns.rcode
import dns.resolver
import pytest

from labsim.fakes.cloud.nameserver import query
from labsim.fakes.cloud.testing import start_clouds


@pytest.fixture(scope="module")
def clouds():
    with start_clouds() as c:
        yield c


def test_buckets_and_objects_with_the_labs_credentials(clouds) -> None:
    s3 = clouds.s3()
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.head_bucket(Bucket="bouquet2-backups")
    assert err.value.response["Error"]["Code"] == "404"
    s3.create_bucket(Bucket="bouquet2-backups", CreateBucketConfiguration={"LocationConstraint": "fsn1"})
    s3.put_object(Bucket="bouquet2-backups", Key="ns/x.json", Body=b'{"a": 1}')
    assert s3.get_object(Bucket="bouquet2-backups", Key="ns/x.json")["Body"].read() == b'{"a": 1}'
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="bouquet2-backups")["Contents"]] == ["ns/x.json"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        clouds.s3(secret="x" * 40).list_objects_v2(Bucket="bouquet2-backups")
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        clouds.s3(access="AKIANOTAKEY000000000").list_objects_v2(Bucket="bouquet2-backups")
    assert err.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_nameserver_answers_records_with_ttls(clouds) -> None:
    zone = clouds.world.zone
    zone.add({"name": "lb.kreato.dev", "type": "A", "content": "49.12.0.1", "ttl": 60})
    zone.add({"name": "lb.kreato.dev", "type": "A", "content": "130.61.24.17", "ttl": 60})
    zone.add({"name": "cdn.kreato.dev", "type": "A", "content": "49.12.0.2", "ttl": 1, "proxied": True})
    ns = clouds.endpoints["dns"]
    r = dns.resolver.Resolver(configure=False)
    r.nameservers, r.port = [ns["host"]], ns["port"]
    ans = r.resolve("lb.kreato.dev", "A")
    assert sorted(a.address for a in ans) == ["130.61.24.17", "49.12.0.1"] and ans.rrset.ttl == 60
    apex = r.resolve("kreato.dev", "A")
    assert [a.address for a in apex] == ["185.199.108.153"] and apex.rrset.ttl == 300      # automatic TTL
    www = r.resolve("www.kreato.dev", "A")                                                   # proxied CNAME
    assert all(a.address.startswith(("104.21.", "172.67.")) for a in www)
    cdn = r.resolve("cdn.kreato.dev", "A")
    assert "49.12.0.2" not in [a.address for a in cdn]                                       # proxied: the edge
    with pytest.raises(dns.resolver.NXDOMAIN):
        r.resolve("nothere.kreato.dev", "A")
    assert query(ns["host"], ns["port"], "example.org").rcode() == dns.rcode.REFUSED
    assert query(ns["host"], ns["port"], "lb.kreato.dev", "AAAA").rcode() == dns.rcode.NOERROR
