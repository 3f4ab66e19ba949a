@cloud @backup
Feature: A namespace backed up to the lab's S3 bucket restores into a new namespace with the same objects
  The lab's object storage (its endpoint, bucket and credentials from the lab file) holds the backups, in Velero's
  layout, written and read back with boto3.

  Background:
    Given the lab file passes its intent checks

  @writes
  Scenario Outline: A backup of an app's namespace goes to the bucket and restores elsewhere with the same objects
    Given the cloud Talos cluster "<cluster>" is provisioned
    And an app's namespace holds its usual objects on "<cluster>"
    When that namespace is backed up to the lab's bucket
    Then the bucket holds every object of the namespace under the backup
    When the backup is restored into a new namespace
    Then the new namespace holds the same objects as the one backed up

    Examples:
      | cluster                                       |
      | the first Talos cluster on cloud servers with object storage |
