@mesh
Feature: Applications reach each other across the mesh only as the lab file's mesh.applications allow
  The owners' mesh gives "both Frontend and Backend applications policy based access across clusters". The lab
  file says who may reach which global service (`mesh.applications`); the mesh provisioner puts one
  CiliumNetworkPolicy in front of each global service's backends in every member: ingress on the service's port
  from the applications that reach it, in any member (the policy names every member's cluster with the label
  `io.cilium.k8s.policy.cluster`), and from nothing else. Cilium drops what its policy denies without a word to
  the client (its connection times out) and counts the drop on the node that dropped it as "Policy denied"
  (`cilium-dbg metrics list`). Traffic is measured with probe Jobs that run as the application (its namespace and
  labels) or as a pod without its labels.

  Background:
    Given the lab file passes its intent checks

  @writes @probes
  Scenario Outline: <app> reaches the backends of the other member through "<app.remote>", and a pod without its labels is denied either way
    Given the mesh of the lab file is built
    Then every member has the access policies of the lab file's applications
    When 100 requests go from <app> in <pair.a> to "<app.remote>"
    Then every request was answered by <pair.b>
    When 100 requests go from <app> in <pair.b> to "<app.remote>"
    Then every request was answered by <pair.a>
    When 100 requests go from a pod without <app>'s labels in <pair.a> to "<app.remote>"
    Then every request failed, and <pair.b>'s Cilium agents count them as "Policy denied"
    When 100 requests go from a pod without <app>'s labels in <pair.b> to "<app.remote>"
    Then every request failed, and <pair.a>'s Cilium agents count them as "Policy denied"

    Examples:
      | pair                       | app                                                                                      |
      | the first two mesh members | the mesh's frontend application, its remote service backed by the first two members only |

  @writes @destructive @probes
  Scenario Outline: Failover keeps the policy: <app> follows the backends of "<app.local>" to the other member, a pod without its labels stays denied
    Given the mesh of the lab file is built
    When 100 requests go from <app> in <pair.a> to "<app.local>"
    Then every request was answered by <pair.a>
    When the "<app.local>" backends of <pair.a> are scaled to 0
    And 100 requests go from <app> in <pair.a> to "<app.local>"
    Then every request was answered by <pair.b>
    When 100 requests go from a pod without <app>'s labels in <pair.a> to "<app.local>"
    Then every request failed, and <pair.b>'s Cilium agents count them as "Policy denied"
    When the "<app.local>" backends of <pair.a> are scaled to <app.local a replicas>

    Examples:
      | pair                                 | app                             |
      | the first mesh member and the others | the mesh's frontend application |

  @writes @probes
  Scenario Outline: An access policy deleted by hand is found by the verification and put back by the next mesh run
    Given the mesh of the lab file is built
    When the access policy of "<app.remote>" is deleted by hand in <pair.b>
    Then the mesh verification finds the access policy of "<app.remote>" missing in <pair.b>
    When the mesh is provisioned again
    Then every member has the access policies of the lab file's applications
    When 100 requests go from a pod without <app>'s labels in <pair.a> to "<app.remote>"
    Then every request failed, and <pair.b>'s Cilium agents count them as "Policy denied"

    Examples:
      | pair                       | app                                                                                      |
      | the first two mesh members | the mesh's frontend application, its remote service backed by the first two members only |

  @writes @probes
  Scenario Outline: The owners' verification: cilium connectivity test across <pair> passes every test the lab can run
    Given the mesh of the lab file is built
    Then cilium connectivity test from <pair.a> with --multi-cluster <pair.b> passes every test it runs, its junit in the evidence

    Examples:
      | pair                       |
      | the first two mesh members |
