@picluster
Feature: The RKE2 clusters on the lab's hosts run RKE2, and the planned mesh members fit the mesh
  rancherfederal/rke2-ansible installs RKE2 on hosts such as Raspberry Pi nodes (the Aggrik8s lab's piCluster).
  These are the checks of its own testinfra tests, run over SSH (testinfra's paramiko backend): the config file
  with its owner and mode, the token and server an agent joins with, the services running and enabled, the API
  port on servers and the kubelet answering. A cluster with Cilium that is not yet in `mesh.clusters` is planned
  to join it: its Cilium cluster id must be free and its pod CIDR apart from the members', and a hybrid mesh needs
  its kube-proxy replacement as the members have it and its Cilium within one minor version of theirs.

  Scenario Outline: Each RKE2 server of <cluster> has its config, runs rke2-server and serves the API
    Given the lab's hosts answer over SSH
    Then every RKE2 server of "<cluster>" passes rke2-ansible's server checks

    Examples:
      | cluster                                        |
      | each RKE2 cluster with SSH logins to its hosts |

  Scenario Outline: Each RKE2 agent of <cluster> has its config with token and server, and runs rke2-agent
    Given the lab's hosts answer over SSH
    Then every RKE2 agent of "<cluster>" passes rke2-ansible's agent checks

    Examples:
      | cluster                                        |
      | each RKE2 cluster with SSH logins to its hosts |

  @kube_api
  Scenario Outline: Every node of <cluster> is Ready through the Kubernetes API
    Given the lab's hosts answer over SSH
    Then every node of "<cluster>" is Ready through the Kubernetes API

    Examples:
      | cluster                                        |
      | each RKE2 cluster with SSH logins to its hosts |

  @intent
  Scenario Outline: <cluster> is planned as a mesh member
    Given the lab file passes its intent checks
    Then the lab file plans "<cluster>" with Cilium cluster id <cluster.id>, unique among the mesh's clusters, its pod CIDR apart from theirs, its kube-proxy replacement and Cilium version fit for a mesh with them

    Examples:
      | cluster                                          |
      | each cluster with Cilium planned to join the mesh |
