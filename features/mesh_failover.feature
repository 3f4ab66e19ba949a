@mesh
Feature: Cilium ClusterMesh joins the lab's clusters, and global services fail over the way Cilium does it
  The owners' procedure, automated: each member runs Cilium with its own cluster name and id, the CA source's
  cilium-ca is copied to the others, `cilium clustermesh enable` exposes each clustermesh-apiserver, and
  `cilium clustermesh connect` joins every pair of a full mesh (or the hub and each spoke). Global services then
  answer from the members as their affinity says: `none` spreads connections over all backends (one backend per
  connection, at random), `local` stays in the client's cluster while it has an Active backend, `remote` prefers
  the other clusters. Traffic is measured with probe Jobs (a curl loop whose pod log holds one JSON line per
  request), sent from the first member of the mesh; "the others" are every member it is connected to (one in a mesh
  of two, two in a mesh of three), and a split names what each member answers, by that rule: within the set the
  affinity selects, every connection goes to one backend at random, so each member answers in proportion to its
  backends (docs.cilium.io network/clustermesh/load-balancing and network/clustermesh/affinity).

  The services are the lab file's `mesh.global_services` and `mesh.canary`; a lab file that names none gets the
  suite's own probe services, in a namespace each scenario creates and removes (`mesh.probe`). The canary is
  checked in two constructions, and each scenario says which it uses:
  - Envoy: the canary Service redirected by a CiliumEnvoyConfig whose route splits requests by weight between a
    local-affinity and a remote-affinity service; each side falls back through its affinity.
  - L4: the affinity-none service, whose backends in the members are in the same ratio.

  Background:
    Given the lab file passes its intent checks

  @intent
  Scenario Outline: A mesh whose prerequisites are broken in the lab file is refused before any cluster is touched
    Given a copy of the lab file where <change>
    When the mesh is provisioned from that copy
    Then the mesh is refused with "<message>"

    Examples:
      | pair                       | change                                              | message                                              |
      | the first two mesh members | <pair.b> has the Cilium cluster id <pair.a id>       | cluster id <pair.a id> is also <pair.a>'s            |
      | the first two mesh members | <pair.b> has the Cilium cluster id 0                 | cluster id 0 is outside <pair.id range>              |
      | the first two mesh members | <pair.b> has the Cilium cluster id <pair.id above range> | cluster id <pair.id above range> is outside <pair.id range> |
      | the first two mesh members | <pair.b> has the pod subnet <pair.a pod subnet>      | pod CIDR <pair.a pod subnet> overlaps <pair.a>       |

  @writes @destructive
  Scenario Outline: cilium clustermesh connect refuses clusters whose Cilium identity is broken, with Cilium's own messages
    Given the Talos clusters of the mesh are healthy with Cilium
    Then cilium clustermesh connect from <pair.a> to <pair.b> is refused when <pair.b>'s Cilium is broken by hand:
      | broken by hand on <pair.b>                                | message                                                                     |
      | nothing: it keeps the cilium-ca its own install made      | Cilium CA certificates do not match between clusters <pair.a cilium> and <pair.b cilium> |
      | cilium-config cluster-id set to <pair.a id>               | remote and local cluster have the same, non-unique ID: <pair.a id>          |
      | cilium-config cluster-id set to 0                         | remote cluster has non-unique name (<pair.b cilium>) and/or ID (0)          |
      | cilium-config cluster-id set to <pair.id above range>     | remote cluster has cluster ID <pair.id above range> out of acceptable range (<pair.id range>) |
      | cilium-config max-connected-clusters set to <pair.other max connected> | remote and local clusters have different max connected clusters: <pair.other max connected> != <pair.max connected> |
      | cilium-config cluster-name set to <pair.a cilium>          | remote and local cluster have the same, non-unique name: <pair.a cilium>    |
    And nothing was written to either cluster's cilium release

    Examples:
      | pair                       |
      | the first two mesh members |

  @as_found
  Scenario: Every member reports every node connected to the others, and every global service has ready backends in each
    Given the mesh of the lab file is built
    Then cilium clustermesh status of every member reports all nodes connected to all clusters
    And every global service under test exists in every member with its annotations and ready backends

  @as_found
  Scenario: Every member runs Cilium with the values the lab file asks for, and its clustermesh-apiserver is available
    Given the mesh of the lab file is built
    Then the Cilium agents of every mesh member are ready with the cluster name, id and values the lab file asks for
    And the clustermesh-apiserver of every mesh member is available

  @writes @idempotence
  Scenario: Every member reports every node connected to the others, and a second run of the mesh provisioner changes nothing
    Given the mesh of the lab file is built
    Then cilium clustermesh status of every member reports all nodes connected to all clusters
    And every global service under test exists in every member with its annotations and ready backends
    When the mesh is provisioned again
    Then the second mesh run changed nothing and no cilium release got a new revision

  @writes @destructive @probes
  Scenario Outline: Affinity local keeps traffic in the client's cluster, fails over when its local backends go, and comes back with them
    Given the mesh of the lab file is built
    And a probe of 600 requests runs from <pair.a> against "<local>"
    When the "<local>" backends of <pair.a> are scaled to 0 at 15 seconds into the probe
    Then every request before that was answered by <pair.a>
    And the traffic is answered by <pair.b> within 5 seconds, with no failed request after that
    When the "<local>" backends of <pair.a> are scaled to <local.a replicas> at 35 seconds into the probe
    Then the traffic is answered by <pair.a> within 10 seconds, with no failed request after that

    Examples:
      | pair                                 | local                                  |
      | the first mesh member and the others | the mesh's service with affinity local |

  @writes @destructive @probes
  Scenario Outline: The canary holds over 1,000 requests in both constructions, and goes all to one side when the other loses its backends
    Given the mesh of the lab file is built
    When 1000 requests go from <pair.a> to "<canary>", the Envoy construction
    Then the requests were answered <canary.shares>, within 5 points at 95% confidence
    When 1000 requests go from <pair.a> to "<any>", the L4 construction
    Then the requests were answered <any.shares>, within 5 points at 95% confidence
    When the "<canary.local>" and "<canary.remote>" backends of <pair.a> are scaled to 0
    And 1000 requests go from <pair.a> to "<canary>", the Envoy construction
    Then every request was answered by <pair.b>
    When the "<any>" backends of <pair.b> are scaled to 0
    And 1000 requests go from <pair.a> to "<any>", the L4 construction
    Then every request was answered by <pair.a>

    Examples:
      | pair                                 | canary                  | any                                   |
      | the first mesh member and the others | the mesh's Envoy canary | the mesh's service with affinity none |

  @writes @destructive @probes
  Scenario Outline: In a mesh of three, each member answers its share of a global service, and a member that loses its backends hands its share to the two others as the affinity says
    Given the mesh of the lab file is built
    When 1000 requests go from <pair.a> to "<any>"
    Then the requests were answered <any.shares>, within 5 points at 95% confidence
    When the "<any>" backends of <pair.b> are scaled to 0
    And 1000 requests go from <pair.a> to "<any>"
    Then the requests were answered <any.shares without b>, within 5 points at 95% confidence
    When 1000 requests go from <pair.a> to "<local>"
    Then the requests were answered <local.shares>, within 5 points at 95% confidence
    When the "<local>" backends of <pair.a> are scaled to 0
    And 1000 requests go from <pair.a> to "<local>"
    Then the requests were answered <local.shares without a>, within 5 points at 95% confidence

    Examples:
      | pair                       | any                                                    | local                                                   |
      | the first two mesh members | the mesh's service with affinity none in three members | the mesh's service with affinity local in three members |

  @writes @destructive @probes
  Scenario Outline: Cilium CI's clustermesh-apiserver stress recipe keeps established traffic and stops new endpoints until the apiserver returns
    Given the mesh of the lab file is built
    And a probe of 900 requests runs from <pair.b> against "<any>"
    When the clustermesh-apiserver of <pair.a> is scaled to 0 replicas at 10 seconds into the probe
    And the Cilium agents of every member are restarted and their rollout completes
    And the "<any>" backends of <pair.a> are scaled to <any.a replicas plus one> while its clustermesh-apiserver is away
    Then the new <pair.a> backend of "<any>" gets no request from <pair.b>
    When the clustermesh-apiserver of <pair.a> is scaled back to 1 replica
    Then cilium clustermesh status --wait of every member reports all nodes connected
    And the new <pair.a> backend of "<any>" answers requests from <pair.b> within 30 seconds
    And no request of the probe failed

    Examples:
      | pair                       | any                                   |
      | the first two mesh members | the mesh's service with affinity none |

  @writes @destructive @probes
  Scenario Outline: A member lost with clustermesh.cacheTTL unset: the other keeps its last-known backends and requests to them fail
    Given the mesh of the lab file is built
    And a probe of 1200 requests runs from <pair.a> against "<any>"
    When every machine of <pair.b> is powered off at 20 seconds into the probe
    Then about <any.b share>% of the requests after the loss fail, until the end of the probe
    And cilium clustermesh status of <pair.a> names <pair.b> as not connected

    Examples:
      | pair                       | any                                   |
      | the first two mesh members | the mesh's service with affinity none |

  @writes @destructive @probes
  Scenario Outline: A member lost with clustermesh.cacheTTL 15m: traffic from the other recovers once the cache expires
    Given a copy of the lab file where the mesh's cache_ttl is 15m
    And the mesh of that copy is built
    When every machine of <pair.b> is powered off
    And 200 requests go from <pair.a> to "<any>"
    Then about <any.b share>% of them failed
    When 15 minutes pass
    And 200 requests go from <pair.a> to "<any>"
    Then every request was answered by <any.answering without b>

    Examples:
      | pair                       | any                                   |
      | the first two mesh members | the mesh's service with affinity none |

  @writes @destructive @probes
  Scenario Outline: Inter-VLAN routing removed on the fabric disconnects the mesh, and the status says which nodes lost which cluster
    Given the mesh of the lab file is built
    When <router>'s address on <router.vlan> is disabled
    Then cilium clustermesh status of <router.a> reports its nodes not connected to <router.b> within 60 seconds
    And its errors name the KVStoreMesh replica "not able to connect to any etcd endpoints"
    And 200 requests from <router.a> to "<remote>" all fail

    Examples:
      | router                                        | remote                                                                        |
      | the router between the first two mesh members | the mesh's service with affinity remote, backed by the first two members only |
