@cloud
Feature: A Talos cluster on cloud servers, reached only over the tailnet
  The lab's servers are created at their providers as the lab file says (Hetzner Cloud through its API, with the
  machine config as user data; servers the suite does not create are launched by their owner with theirs). Every
  node joins the tailnet with the tailscale extension; the Talos API is reached there and nowhere else; the
  cluster endpoint is a name in the lab's zone pointing at the control planes' tailnet addresses; Cilium replaces
  kube-proxy and reaches the API through KubePrism. A second run changes nothing anywhere.

  Background:
    Given the lab file passes its intent checks

  @writes @idempotence
  Scenario Outline: The cloud servers of <cluster> are created as the lab file says, and a second run changes nothing
    Given the cloud Talos cluster "<cluster>" is provisioned
    Then every cloud server of "<cluster>" runs as the lab file says, behind its firewalls
    When the cloud Talos cluster "<cluster>" is provisioned again
    Then nothing was created or changed at the providers, on the tailnet, in the zone or on the nodes of "<cluster>"

    Examples:
      | cluster                             |
      | each Talos cluster on cloud servers |

  @writes
  Scenario Outline: Every node of <cluster> joins the tailnet, and its Talos API answers there and only there
    Given the cloud Talos cluster "<cluster>" is provisioned
    Then every node of "<cluster>" is online on the tailnet with the lab file's tags, its control planes serving the lab file's routes
    And the Talos API of every node of "<cluster>" answers on its tailnet address and is refused on its public address

    Examples:
      | cluster                             |
      | each Talos cluster on cloud servers |

  @writes
  Scenario Outline: <cluster> comes up healthy over the tailnet
    Given the cloud Talos cluster "<cluster>" is provisioned
    Then the endpoint of "<cluster>" resolves to its control planes' tailnet addresses
    And every talosctl health check of the cloud cluster "<cluster>" passes over the tailnet
    And every node of "<cluster>" is Ready, with Cilium replacing kube-proxy through KubePrism on 7445

    Examples:
      | cluster                             |
      | each Talos cluster on cloud servers |
