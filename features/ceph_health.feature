@ceph
Feature: Rook-Ceph on the workers is healthy, and says what is wrong in Ceph's own words when it is not
  Each Talos cluster with a `ceph:` section runs Rook-Ceph from the rook-ceph and rook-ceph-cluster charts,
  installed with helm into its namespace, labelled for privileged pods as Talos requires. Its mons and mgrs run
  as the lab file counts them, one OSD on each planned Ceph disk; pools keep their copies on different hosts.
  The cluster must reach HEALTH_OK, and when a worker fails Ceph must report it with the checks, counts and
  timings an engineer knows from a real cluster: OSDs down after the heartbeat grace, undersized placement
  groups, nothing to backfill onto with three hosts, and a clean recovery when the worker returns.

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned
    And the VMs are provisioned

  @as_found
  Scenario Outline: Rook-Ceph on <cluster> reaches HEALTH_OK with its mons in quorum and one OSD per planned disk
    Given the Talos cluster "<cluster>" is provisioned
    When Rook-Ceph is provisioned on "<cluster>"
    Then the CephCluster of "<cluster>" is Ready and Created with HEALTH_OK
    And Ceph on "<cluster>" has every mon in quorum, one OSD up and in per planned disk and every placement group active+clean
    And a second plan of Rook-Ceph on "<cluster>" has nothing to do

    Examples:
      | cluster                     |
      | each cluster with Rook-Ceph |

  @as_found
  Scenario Outline: Rook-Ceph on <cluster> runs the mgrs and pools the lab file plans
    Given the Talos cluster "<cluster>" is provisioned
    And Rook-Ceph is provisioned on "<cluster>"
    Then Ceph on "<cluster>" has one active mgr and the standbys the lab file plans
    And Ceph on "<cluster>" has every pool the lab file plans

    Examples:
      | cluster                     |
      | each cluster with Rook-Ceph |

  @destructive @writes
  Scenario Outline: A stopped worker degrades the cluster, stays degraded with nowhere to backfill, and recovers when it returns
    Given the Talos cluster "<ceph>" is provisioned
    And Rook-Ceph is provisioned on "<ceph>"
    When the worker VM "<ceph.second worker>" of "<ceph>" is stopped
    Then within 45 seconds Ceph on "<ceph>" reports OSD_DOWN, OSD_HOST_DOWN and PG_DEGRADED, and MON_DOWN as a mon ran on "<ceph.second worker>"
    And within 90 seconds Ceph on "<ceph>" reports PG_DEGRADED with "pgs undersized"
    When the down-out interval of 10 minutes has passed
    Then the OSD of "<ceph.second worker>" on "<ceph>" is down and out, and placement groups stay undersized and degraded
    When the worker VM "<ceph.second worker>" of "<ceph>" is started
    Then Ceph on "<ceph>" returns to HEALTH_OK within 15 minutes

    Examples:
      | ceph                                             |
      | the first Rook-Ceph cluster with three OSD hosts |

  @destructive @writes
  Scenario Outline: Losing the OSDs of two of three workers makes placement groups inactive
    Given the Talos cluster "<ceph>" is provisioned
    And Rook-Ceph is provisioned on "<ceph>"
    When an engineer scales the OSDs of "<ceph.first worker>" and "<ceph.third worker>" on "<ceph>" to zero
    Then within 30 seconds Ceph on "<ceph>" reports OSD_DOWN with "2 osds down"
    And within 3 minutes Ceph on "<ceph>" reports PG_AVAILABILITY with "pgs inactive"

    Examples:
      | ceph                                             |
      | the first Rook-Ceph cluster with three OSD hosts |

  # sim_only: plants an old filesystem on a Ceph disk; Talos has no shell to run mkfs on a node, so against a real lab only an engineer can prepare that disk by hand
  @writes @sim_only
  Scenario Outline: A worker whose extra disk is not blank gets no OSD, and health says so
    Given the Talos cluster "<ceph>" is provisioned
    And the Ceph disk of "<ceph.third worker>" holds an old "xfs" filesystem
    When Rook-Ceph is installed on "<ceph>"
    Then the OSD prepare log of "<ceph.third worker>" on "<ceph>" says 'skipping device "<ceph.disk>" because it contains a filesystem "xfs"'
    And within 15 minutes Ceph on "<ceph>" reports TOO_FEW_OSDS with "OSD count 2 < osd_pool_default_size 3"
    And within 3 minutes Ceph on "<ceph>" reports PG_DEGRADED with "pgs undersized"
    And verification of "<ceph>" reports "osds-up-in" failing with "<ceph.third worker>: 0 of 1 planned OSDs exist"

    Examples:
      | ceph                                             |
      | the first Rook-Ceph cluster with three OSD hosts |

  # sim_only: runs one node's clock 0.2 s ahead; Talos keeps time with its own NTP client and offers no way to set a node's clock
  @destructive @writes @sim_only
  Scenario Outline: A mon whose clock runs ahead is reported as clock skew
    Given the Talos cluster "<ceph>" is provisioned
    And Rook-Ceph is provisioned on "<ceph>"
    When the clock of "<ceph.third worker>" in "<ceph>" runs 0.2 seconds ahead
    Then within 10 minutes Ceph on "<ceph>" reports MON_CLOCK_SKEW naming the mon on "<ceph.third worker>"

    Examples:
      | ceph                                             |
      | the first Rook-Ceph cluster with three OSD hosts |

  # sim_only: fills the pool until the OSDs are 99% full (HEALTH_ERR): in a real lab that stops every client's writes and needs a manual cleanup
  @destructive @writes @sim_only
  Scenario Outline: Filling the block pool crosses the nearfull ratio, then the full ratio
    Given the Talos cluster "<ceph>" is provisioned
    And Rook-Ceph is provisioned on "<ceph>"
    When clients fill "<ceph.pool>" on "<ceph>" until its OSDs are 87% used
    Then Ceph on "<ceph>" reports OSD_NEARFULL with "nearfull osd(s)"
    And Ceph on "<ceph>" reports POOL_NEARFULL with "pool '<ceph.pool>' is nearfull"
    And the health of "<ceph>" is HEALTH_WARN
    When clients fill "<ceph.pool>" on "<ceph>" until its OSDs are 99% used
    Then Ceph on "<ceph>" reports OSD_FULL with "full osd(s)"
    And the health of "<ceph>" is HEALTH_ERR

    Examples:
      | ceph                                             |
      | the first Rook-Ceph cluster with three OSD hosts |

  # sim_only: crashes an OSD daemon from outside it (the simulator's fault); Talos gives no shell to send it a signal
  @destructive @writes @sim_only
  Scenario Outline: A crashed OSD is reported until its crash is archived
    Given the Talos cluster "<ceph>" is provisioned
    And Rook-Ceph is provisioned on "<ceph>"
    When the OSD of "<ceph.first worker>" on "<ceph>" crashes
    Then within 11 minutes Ceph on "<ceph>" reports RECENT_CRASH with "1 daemons have recently crashed"
    When an engineer archives the crash reports of "<ceph>"
    Then Ceph on "<ceph>" returns to HEALTH_OK within 5 minutes

    Examples:
      | ceph                                             |
      | the first Rook-Ceph cluster with three OSD hosts |
