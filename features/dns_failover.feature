@cloud @failover
Feature: The round-robin name holds one record per healthy worker, kept by the failover watcher
  Traefik answers HTTPS on every worker's public address; the round-robin name at Cloudflare holds one A record per
  worker. The failover watcher (labsim-dnswatch, deployed from its own manifests with the lab file's settings)
  probes each worker's ingress with the name as SNI and Host: a worker that fails N probes within the window, or
  whose Node is not Ready, loses its record; after M good probes it gets it back; the last record is never removed.
  Clients that honour the record's TTL stop failing once their cached answer expires.

  Background:
    Given the lab file passes its intent checks

  @writes
  Scenario Outline: <record> holds one A record per healthy worker, each owned by the watcher
    Given the cloud Talos cluster "<record.cluster>" is provisioned
    And Traefik and the failover watcher run on "<record.cluster>"
    Then "<record>" holds one A record per healthy worker of "<record.cluster>", each owned by the watcher

    Examples:
      | record                                |
      | the round-robin name of a cloud cluster |

  @destructive @writes
  Scenario Outline: A worker powered off in its cloud loses its record, and clients stop failing once their answers expire
    Given the cloud Talos cluster "<record.cluster>" is provisioned
    And Traefik and the failover watcher run on "<record.cluster>"
    And clients on the internet use "<record>"
    When the worker "<record.worker>" is powered off in its cloud
    Then "<record>" loses the record of "<record.worker>" within the watcher's detection time
    And the watcher wrote an Event on the Ingress of "<record>" and a log line saying why it removed "<record.worker>"
    And no client request to "<record>" fails once the record's TTL has passed since the removal

    Examples:
      | record                                |
      | the round-robin name of a cloud cluster |

  @destructive @writes
  Scenario Outline: The worker back on regains its record after M good probes
    Given the cloud Talos cluster "<record.cluster>" is provisioned
    And Traefik and the failover watcher run on "<record.cluster>"
    And the worker "<record.worker>" was powered off and lost its record
    When the worker "<record.worker>" is powered on again
    Then "<record>" regains the record of "<record.worker>" after <record.recover after> good probes, not sooner

    Examples:
      | record                                |
      | the round-robin name of a cloud cluster |

  @destructive @writes
  Scenario Outline: With every worker down the last record stays, and the watcher says why
    Given the cloud Talos cluster "<record.cluster>" is provisioned
    And Traefik and the failover watcher run on "<record.cluster>"
    When every worker of "<record.cluster>" is powered off in its cloud
    Then "<record>" keeps exactly one record
    And the watcher says that every worker is out and that it keeps the last record

    Examples:
      | record                                |
      | the round-robin name of a cloud cluster |
