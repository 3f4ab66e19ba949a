@mesh
Feature: Cilium ClusterMesh joins talos-east and talos-west, and global services fail over the way Cilium does it
  The owners' procedure, automated: each cluster runs Cilium 1.18 with its own cluster name and id, east's
  cilium-ca is copied to west, `cilium clustermesh enable` exposes each clustermesh-apiserver on its own NodePort
  (30001 / 30002), and `cilium clustermesh connect` joins them. The lab file's global services then answer from
  both clusters as their affinity says: `none` spreads connections over all backends (one backend per connection,
  at random), `local` stays in the client's cluster while it has an Active backend, `remote` prefers the other
  cluster. Traffic is measured with probe Jobs (a curl loop whose pod log holds one JSON line per request).

  Two constructions of the 25/75 canary are checked, and each scenario says which it uses:
  - Envoy: the `echo-canary` Service redirected by a CiliumEnvoyConfig whose route sends 25% to `echo-local`
    (affinity local) and 75% to `echo-remote` (affinity remote); each side falls back through its affinity.
  - L4: the `echo` global service with affinity none and 1 backend in talos-east, 3 in talos-west.

  Background:
    Given the lab file passes its intent checks

  @intent
  Scenario Outline: A mesh whose prerequisites are broken in the lab file is refused before any cluster is touched
    Given a copy of the lab file where <change>
    When the mesh is provisioned from that copy
    Then the mesh is refused with "<message>"

    Examples:
      | change                                       | message                                           |
      | talos-west has the Cilium cluster id 1       | cluster id 1 is also talos-east's                 |
      | talos-west has the Cilium cluster id 0       | cluster id 0 is outside 1-255                     |
      | talos-west has the Cilium cluster id 256     | cluster id 256 is outside 1-255                   |
      | talos-west has the pod subnet 10.244.0.0/16  | pod CIDR 10.244.0.0/16 overlaps talos-east        |

  @writes @destructive
  Scenario: cilium clustermesh connect refuses clusters whose Cilium identity is broken, with Cilium's own messages
    Given the Talos clusters of the mesh are healthy with Cilium
    Then cilium clustermesh connect from talos-east to talos-west is refused when talos-west's Cilium is broken by hand:
      | broken by hand on talos-west                           | message                                                                     |
      | nothing: it keeps the cilium-ca its own install made   | Cilium CA certificates do not match between clusters talos-east and talos-west |
      | cilium-config cluster-id set to 1                      | remote and local cluster have the same, non-unique ID: 1                    |
      | cilium-config cluster-id set to 0                      | remote cluster has non-unique name (talos-west) and/or ID (0)               |
      | cilium-config cluster-id set to 256                    | remote cluster has cluster ID 256 out of acceptable range (1-255)           |
      | cilium-config max-connected-clusters set to 511        | remote and local clusters have different max connected clusters: 511 != 255 |
      | cilium-config cluster-name set to talos-east           | remote and local cluster have the same, non-unique name: talos-east         |
    And nothing was written to either cluster's cilium release

  @writes @idempotence
  Scenario: Both clusters report every node connected to the other, and a second run of the mesh provisioner changes nothing
    Given the mesh of the lab file is built
    Then cilium clustermesh status of every member reports all nodes connected to all clusters
    And every global service of the lab file exists in every member with its annotations and ready backends
    When the mesh is provisioned again
    Then the second mesh run changed nothing and no cilium release got a new revision

  @writes @destructive
  Scenario: Affinity local keeps traffic in the client's cluster, fails over when its local backends go, and comes back with them
    Given the mesh of the lab file is built
    And a probe of 600 requests runs from talos-east against "echo-local"
    When the "echo-local" backends of talos-east are scaled to 0 at 15 seconds into the probe
    Then every request before that was answered by talos-east
    And the traffic is answered by talos-west within 5 seconds, with no failed request after that
    When the "echo-local" backends of talos-east are scaled to 2 at 35 seconds into the probe
    Then the traffic is answered by talos-east within 10 seconds, with no failed request after that

  @writes @destructive
  Scenario: The 25/75 canary holds over 1,000 requests in both constructions, and goes all to one side when the other loses its backends
    Given the mesh of the lab file is built
    When 1000 requests go from talos-east to "echo-canary", the Envoy construction
    Then 25% were answered by talos-east and 75% by talos-west, within 5 points at 95% confidence
    When 1000 requests go from talos-east to "echo", the L4 construction
    Then 25% were answered by talos-east and 75% by talos-west, within 5 points at 95% confidence
    When the "echo-local" and "echo-remote" backends of talos-east are scaled to 0
    And 1000 requests go from talos-east to "echo-canary", the Envoy construction
    Then every request was answered by talos-west
    When the "echo" backends of talos-west are scaled to 0
    And 1000 requests go from talos-east to "echo", the L4 construction
    Then every request was answered by talos-east

  @writes @destructive
  Scenario: Cilium CI's clustermesh-apiserver stress recipe keeps established traffic and stops new endpoints until the apiserver returns
    Given the mesh of the lab file is built
    And a probe of 900 requests runs from talos-west against "echo"
    When the clustermesh-apiserver of talos-east is scaled to 0 replicas at 10 seconds into the probe
    And the Cilium agents of both clusters are restarted and their rollout completes
    And the "echo" backends of talos-east are scaled to 2 while its clustermesh-apiserver is away
    Then the new talos-east backend of "echo" gets no request from talos-west
    When the clustermesh-apiserver of talos-east is scaled back to 1 replica
    Then cilium clustermesh status --wait of every member reports all nodes connected
    And the new talos-east backend of "echo" answers requests from talos-west within 30 seconds
    And no request of the probe failed

  @writes @destructive
  Scenario: talos-west lost with clustermesh.cacheTTL unset: talos-east keeps its last-known backends and requests to them fail
    Given the mesh of the lab file is built
    And a probe of 1200 requests runs from talos-east against "echo"
    When every machine of talos-west is powered off at 20 seconds into the probe
    Then about 75% of the requests after the loss fail, until the end of the probe
    And cilium clustermesh status of talos-east names talos-west as not connected

  @writes @destructive
  Scenario: talos-west lost with clustermesh.cacheTTL 15m: traffic from talos-east recovers once the cache expires
    Given a copy of the lab file where the mesh's cache_ttl is 15m
    And the mesh of that copy is built
    When every machine of talos-west is powered off
    And 200 requests go from talos-east to "echo"
    Then about 75% of them failed
    When 15 minutes pass
    And 200 requests go from talos-east to "echo"
    Then every request was answered by talos-east

  @writes @destructive
  Scenario: Inter-VLAN routing removed on the fabric disconnects the mesh, and the status says which nodes lost which cluster
    Given the mesh of the lab file is built
    When rb5009-01's address on VLAN2000 is disabled
    Then cilium clustermesh status of talos-east reports its nodes not connected to talos-west within 60 seconds
    And its errors name the KVStoreMesh replica "not able to connect to any etcd endpoints"
    And 200 requests from talos-east to "echo-remote" all fail
