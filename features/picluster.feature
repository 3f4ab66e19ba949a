@picluster
Feature: The piCluster runs RKE2 on the Raspberry Pi nodes
  rancherfederal/rke2-ansible installs RKE2 on the Pi nodes. These are the checks of its own testinfra
  tests, run over SSH (testinfra's paramiko backend): the config file with its owner and mode, the
  token and server an agent joins with, the services running and enabled, the API port on servers and
  the kubelet answering. The owners plan the piCluster as the third ClusterMesh member, RKE2 with Cilium
  and cluster id 3.

  Scenario: Each RKE2 server has its config, runs rke2-server and serves the API
    Given the lab's hosts answer over SSH
    Then every RKE2 server of "piCluster" passes rke2-ansible's server checks

  Scenario: Each RKE2 agent has its config with token and server, and runs rke2-agent
    Given the lab's hosts answer over SSH
    Then every RKE2 agent of "piCluster" passes rke2-ansible's agent checks

  @kube_api
  Scenario: Every node of the piCluster is Ready through the Kubernetes API
    Given the lab's hosts answer over SSH
    Then every node of "piCluster" is Ready through the Kubernetes API

  @intent
  Scenario: The piCluster is planned as the third mesh member
    Given the lab file passes its intent checks
    Then the lab file plans "piCluster" with Cilium cluster id 3, unique among the mesh's clusters, its pod CIDR apart from theirs
