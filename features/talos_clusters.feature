@talos
Feature: Each Talos cluster runs Kubernetes with Cilium as its CNI, healthy by talosctl's own checks
  The VMs of each cluster boot the Talos ISO into maintenance mode on their DHCP addresses. They get their
  machine configs (install disk, the cluster's pod and service subnets, no built-in CNI, kube-proxy as the lab
  file says, the shared VIP on the control planes), install and reboot; etcd is bootstrapped once, and Cilium is
  installed with helm with the values Talos needs. Then every `talosctl health` check passes, every node is
  Ready, and the cluster survives what a three-node control plane should survive.

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned

  @as_found
  Scenario Outline: <cluster> goes from maintenance mode to a healthy cluster with Cilium
    Given the VMs are provisioned
    And the Talos cluster "<cluster>" is provisioned
    Then every talosctl health check of "<cluster>" passes
    And every node of "<cluster>" is Ready with Cilium and CoreDNS running and kube-proxy as the lab file says
    And kubectl with the kubeconfig talosctl wrote lists every node of "<cluster>" Ready

    Examples:
      | cluster                                  |
      | each Talos cluster on Proxmox with Cilium |

  @as_found
  Scenario Outline: The VIP of <cluster> is held by exactly one control plane
    Given the VMs are provisioned
    And the Talos cluster "<cluster>" is provisioned
    Then the VIP of "<cluster>" is held by exactly one control plane

    Examples:
      | cluster                                            |
      | each Talos cluster on Proxmox with Cilium and a VIP |

  @as_found
  Scenario Outline: <cluster> runs the members, versions and machine configs the lab file plans
    Given the VMs are provisioned
    And the Talos cluster "<cluster>" is provisioned
    Then talosctl get members of "<cluster>" lists every machine of the lab file with its planned role and Talos version
    And a plan of "<cluster>" has nothing to do: every machine config, etcd and the Cilium release as the lab file plans

    Examples:
      | cluster                                   |
      | each Talos cluster on Proxmox with Cilium |

  @idempotence @writes
  Scenario Outline: A second run changes nothing on the cluster
    Given the VMs are provisioned
    And the Talos cluster "<cluster>" is provisioned
    When the Talos cluster "<cluster>" is provisioned again
    Then nothing was applied, bootstrapped or upgraded on "<cluster>"

    Examples:
      | cluster                                        |
      | the first Talos cluster on Proxmox with Cilium |

  @writes
  Scenario Outline: A second bootstrap is refused with Talos's own message
    Given the VMs are provisioned
    And the Talos cluster "<cluster>" is provisioned
    When an engineer runs talosctl bootstrap on the first control plane of "<cluster>" again
    Then talosctl refuses with "error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty"

    Examples:
      | cluster                                        |
      | the first Talos cluster on Proxmox with Cilium |

  @destructive @writes
  Scenario Outline: Losing one of three control planes keeps the API and moves the VIP, losing two loses both
    Given the VMs are provisioned
    And the Talos cluster "<cluster>" is provisioned
    When the control plane holding the VIP of "<cluster>" is powered off
    Then the Kubernetes API of "<cluster>" still answers
    And the VIP of "<cluster>" moves to another control plane within 90 seconds
    When another control plane of "<cluster>" is powered off
    Then the Kubernetes API of "<cluster>" no longer answers
    And no control plane of "<cluster>" holds the VIP

    Examples:
      | cluster                                                      |
      | the first Talos cluster with three control planes and a VIP |

  @destructive @writes
  Scenario Outline: A worker powered off goes NotReady and its pods are evicted after the default toleration
    Given the VMs are provisioned
    And the Talos cluster "<worker.cluster>" is provisioned
    And a Deployment "probe" with 3 replicas runs on the workers of "<worker.cluster>"
    When the worker "<worker>" is powered off
    Then the node "<worker>" of "<worker.cluster>" is NotReady within 90 seconds
    And the pods of "probe" on "<worker>" are evicted after the default toleration and run on other workers

    Examples:
      | worker                                              |
      | a worker of a Talos cluster with two or more workers |

  # sim_only: rebuilds a cluster's workers below Talos's minimums from a lab file copy, replacing the lab's own workers
  @destructive @writes @sim_only
  Scenario Outline: A machine below the Talos minimums is reported as talosctl health reports it
    Given a copy of the lab file where the workers of "<cluster>" have <memory> MiB of memory and a <disk> GiB system disk
    And the VMs are provisioned from that copy
    When the Talos cluster "<cluster>" is provisioned from that copy
    Then talosctl health of "<cluster>" fails at "<check>" with "<message>"

    Examples:
      | cluster                              | memory | disk | check                  | message                                                                |
      | the first Talos cluster with workers | 768    | 24   | all nodes memory sizes | does not meet memory requirements: expected at least 874 MiB, actual 744 MiB |
      | the first Talos cluster with workers | 8192   | 5    | all nodes disk sizes   | is too small, expected at least 4.6 GiB, actual 3.8 GiB                |

  # sim_only: rebuilds a cluster without a CNI and lets Talos reboot its nodes, replacing the lab's own cluster
  @destructive @writes @sim_only
  Scenario Outline: Without a CNI the nodes stay NotReady, talosctl health names the check it waits at, and Talos reboots them
    Given a copy of the lab file where "<cluster>" has no CNI
    And the VMs are provisioned from that copy
    When the Talos cluster "<cluster>" is provisioned from that copy
    Then the nodes of "<cluster>" stay NotReady for 120 seconds
    And talosctl health of "<cluster>" fails at "all nodes to finish boot sequence" with "nodes are not running: booting: ["
    And the nodes of "<cluster>" reboot once the 10 minutes the Talos guide gives for installing a CNI are over

    Examples:
      | cluster                                        |
      | the first Talos cluster on Proxmox with Cilium |

  @destructive @writes
  Scenario Outline: Cilium with SYS_MODULE in the agent's capabilities fails the way it does on Talos
    Given the VMs are provisioned
    When the Talos cluster "<cluster>" is provisioned with SYS_MODULE added to the Cilium agent's capabilities
    Then the Cilium agents of "<cluster>" fail with "unable to apply caps: operation not permitted"
    And the nodes of "<cluster>" stay NotReady for 120 seconds

    Examples:
      | cluster                                       |
      | the last Talos cluster on Proxmox with Cilium |
