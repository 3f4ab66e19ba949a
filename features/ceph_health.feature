@ceph
Feature: Rook-Ceph on the workers is healthy, and says what is wrong in Ceph's own words when it is not
  Each Talos cluster runs Rook-Ceph from the rook-ceph and rook-ceph-cluster charts, installed with helm into
  the namespace rook-ceph, labelled for privileged pods as Talos requires. Three mons run one per node, two
  mgrs, and one OSD on each worker's extra blank disk; pools keep three copies on three hosts. The cluster
  must reach HEALTH_OK, and when a worker fails Ceph must report it with the checks, counts and timings an
  engineer knows from a real cluster: OSDs down after the heartbeat grace, undersized placement groups,
  nothing to backfill onto with three hosts, and a clean recovery when the worker returns.

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned
    And the VMs are provisioned

  @writes
  Scenario Outline: Rook-Ceph on <cluster> reaches HEALTH_OK with three mons and one OSD per worker
    Given the Talos cluster "<cluster>" is provisioned
    When Rook-Ceph is provisioned on "<cluster>"
    Then the CephCluster of "<cluster>" is Ready and Created with HEALTH_OK
    And Ceph on "<cluster>" has every mon in quorum, one OSD up and in per planned disk and every placement group active+clean

    Examples:
      | cluster    |
      | talos-east |
      | talos-west |

  @destructive @writes
  Scenario: A stopped worker degrades the cluster, stays degraded with nowhere to backfill, and recovers when it returns
    Given the Talos cluster "talos-east" is provisioned
    And Rook-Ceph is provisioned on "talos-east"
    When the worker VM "wrk-e-2" of "talos-east" is stopped
    Then within 45 seconds Ceph on "talos-east" reports OSD_DOWN, OSD_HOST_DOWN and PG_DEGRADED, and MON_DOWN as a mon ran on "wrk-e-2"
    And within 90 seconds Ceph on "talos-east" reports PG_DEGRADED with "pgs undersized"
    When the down-out interval of 10 minutes has passed
    Then the OSD of "wrk-e-2" on "talos-east" is down and out, and placement groups stay undersized and degraded
    When the worker VM "wrk-e-2" of "talos-east" is started
    Then Ceph on "talos-east" returns to HEALTH_OK within 15 minutes

  @destructive @writes
  Scenario: Losing the OSDs of two of three workers makes placement groups inactive
    Given the Talos cluster "talos-east" is provisioned
    And Rook-Ceph is provisioned on "talos-east"
    When an engineer scales the OSDs of "wrk-e-1" and "wrk-e-3" on "talos-east" to zero
    Then within 30 seconds Ceph on "talos-east" reports OSD_DOWN with "2 osds down"
    And within 3 minutes Ceph on "talos-east" reports PG_AVAILABILITY with "pgs inactive"

  @writes @sim_only
  Scenario: A worker whose extra disk is not blank gets no OSD, and health says so
    Given the Talos cluster "talos-east" is provisioned
    And the Ceph disk of "wrk-e-3" holds an old "xfs" filesystem
    When Rook-Ceph is installed on "talos-east"
    Then the OSD prepare log of "wrk-e-3" on "talos-east" says 'skipping device "vdb" because it contains a filesystem "xfs"'
    And within 15 minutes Ceph on "talos-east" reports TOO_FEW_OSDS with "OSD count 2 < osd_pool_default_size 3"
    And within 3 minutes Ceph on "talos-east" reports PG_DEGRADED with "pgs undersized"
    And verification of "talos-east" reports "osds-up-in" failing with "wrk-e-3: 0 of 1 planned OSDs exist"

  @destructive @writes @sim_only
  Scenario: A mon whose clock runs ahead is reported as clock skew
    Given the Talos cluster "talos-east" is provisioned
    And Rook-Ceph is provisioned on "talos-east"
    When the clock of "wrk-e-3" in "talos-east" runs 0.2 seconds ahead
    Then within 10 minutes Ceph on "talos-east" reports MON_CLOCK_SKEW naming the mon on "wrk-e-3"

  @destructive @writes @sim_only
  Scenario: Filling the block pool crosses the nearfull ratio, then the full ratio
    Given the Talos cluster "talos-east" is provisioned
    And Rook-Ceph is provisioned on "talos-east"
    When clients fill "ceph-blockpool" on "talos-east" until its OSDs are 87% used
    Then Ceph on "talos-east" reports OSD_NEARFULL with "nearfull osd(s)"
    And Ceph on "talos-east" reports POOL_NEARFULL with "pool 'ceph-blockpool' is nearfull"
    And the health of "talos-east" is HEALTH_WARN
    When clients fill "ceph-blockpool" on "talos-east" until its OSDs are 99% used
    Then Ceph on "talos-east" reports OSD_FULL with "full osd(s)"
    And the health of "talos-east" is HEALTH_ERR

  @destructive @writes @sim_only
  Scenario: A crashed OSD is reported until its crash is archived
    Given the Talos cluster "talos-east" is provisioned
    And Rook-Ceph is provisioned on "talos-east"
    When the OSD of "wrk-e-1" on "talos-east" crashes
    Then within 11 minutes Ceph on "talos-east" reports RECENT_CRASH with "1 daemons have recently crashed"
    When an engineer archives the crash reports of "talos-east"
    Then Ceph on "talos-east" returns to HEALTH_OK within 5 minutes
