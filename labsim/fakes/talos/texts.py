"""Every text the simulated Talos shows, as data, with where it comes from.

Sources (siderolabs/talos, shared/reference/domain.md section 2): cmd/talosctl (errors as talosctl prints
them: `error executing bootstrap: rpc error: code = AlreadyExists desc = ...`), the maintenance server
(internal/app/maintenance/server.go), machined's v1alpha1 server and config validation
(pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go), pkg/cluster/check (health checks and their
errors), pkg/minimal (memory and disk minimums). "(inferred)" marks texts not confirmed in a source.
"""
from __future__ import annotations

# --- gRPC answers of machined / the maintenance service: (code, message) ------------------------------------
BOOTSTRAP_ALREADY = ("AlreadyExists", "etcd data directory is not empty")
BOOTSTRAP_WORKER = ("FailedPrecondition", "bootstrap is only available on control plane nodes")
BOOTSTRAP_NOT_YET = ("FailedPrecondition", "bootstrap is not available yet")          # code (inferred)
BOOTSTRAP_NO_ETCD = ("FailedPrecondition", "etcd is not configured, bootstrap is not possible")  # code (inferred)
MAINTENANCE_ONLY_INSECURE = ("Unimplemented", "API is not implemented in maintenance mode")
CONFIG_INVALID = "configuration validation failed: {errors}"            # InvalidArgument
CONFIG_PARSE = "failed to parse config: {error}"                      # Unknown
MEMBERS_WORKER = "member list is only available on control plane nodes"
# storage server BlockDeviceWipe (internal/app/machined/internal/server/v1alpha1/storage): (code, message)
WIPE_NOT_FOUND = ("NotFound", 'blockdevice "{dev}" not found')
WIPE_CDROM = ("FailedPrecondition", 'blockdevice "{dev}" is a CD-ROM')
WIPE_IN_USE = ("FailedPrecondition", 'blockdevice "{dev}" is in use by volume "{volume}"')
# talosctl dialling a node that does not answer (grpc-go's transport error as talosctl prints it)
UNAVAILABLE = ('connection error: desc = "transport: Error while dialing: dial tcp {ip}:50000: '
               'connect: no route to host"')
# A configured node asked without a client certificate (--insecure), and a client whose talosconfig does not
# trust the node's CA: grpc-go's transport errors as talosctl prints them (inferred wording)
TLS_REQUIRED = 'connection error: desc = "error reading server preface: remote error: tls: certificate required"'
UNKNOWN_CA = ('connection error: desc = "transport: authentication handshake failed: tls: failed to verify '
              'certificate: x509: certificate signed by unknown authority"')

# --- how talosctl wraps server errors (cmd/talosctl/cmd/talos/*.go) --------------------------------------------
WRAP = {
    "apply-config": "error applying new configuration: {err}",
    "bootstrap": "error executing bootstrap: {err}",
    "kubeconfig": "error copying: {err}",                   # (inferred)
    "etcd members": "error getting members: {err}",         # etcd.go
    "etcd status": "error getting status: {err}",           # etcd.go
    "dmesg": "error getting dmesg: {err}",                  # dmesg.go
    "containers": "error getting container list: {err}",    # containers.go
    "stats": "error getting stats: {err}",                  # stats.go
    "memory": "error getting memory stats: {err}",          # memory.go
    "time": "error fetching time: {err}",                   # time.go
    "image list": "error listing images: {err}",            # image.go
    "netstat": "{err}",                                     # netstat.go returns the error as it is
    "health": "healthcheck error: {err}",
    "version": "error getting version: {err}",
    "service": "error listing services: {err}",             # (inferred)
    "reboot": "error executing reboot: {err}",               # (inferred)
    "reset": "error executing reset: {err}",                 # (inferred)
    "wipe": "error wiping devices: {err}",                   # (inferred)
}

# --- machine config validation (v1alpha1_validation.go and the maintenance service) -----------------------------
V_UNKNOWN_TYPE = 'unknown machine type "{type}"'
V_NO_ENDPOINT = "cluster controlplane endpoint is required"
V_BAD_ENDPOINT = "invalid controlplane endpoint: {error}"
V_CNI = 'cni name should be one of ["flannel", "custom", "none"]'
V_CNI_URLS = '"urls" field should be empty for "{name}" CNI'
V_NO_INSTALL_DISK = "either install disk or diskSelector should be defined"
V_INSTALL_DISK_MISSING = 'specified install disk does not exist: "{disk}"'
V_VIP_ON_WORKER = "virtual (shared) IP is not allowed on non-controlplane nodes"
V_VIP_IP = '[networking.os.device.vip] failed to parse "{ip}" as IP address'
V_CIDR = "invalid CIDR address: {cidr}"                                   # Go net.ParseCIDR's error
V_NO_MACHINE = "machine instructions are required"
V_NO_CLUSTER = "cluster instructions are required"
V_ETCD_ON_WORKER = "etcd config is only allowed on control plane machines"

# --- talosctl health (pkg/cluster/check) -----------------------------------------------------------------------
CHECKS = [  # (name, timeout seconds, poll interval seconds), in the order they run
    ("etcd to be healthy", 300, 5),
    ("etcd members to be consistent across nodes", 300, 5),
    ("etcd members to be control plane nodes", 300, 5),
    ("apid to be ready", 300, 5),
    ("all nodes memory sizes", 300, 5),
    ("all nodes disk sizes", 300, 5),
    ("no diagnostics", 60, 5),
    ("kubelet to be healthy", 300, 5),
    ("all nodes to finish boot sequence", 300, 5),
    ("all k8s nodes to report", 300, 30),
    ("all control plane static pods to be running", 300, 5),
    ("all control plane components to be ready", 300, 5),
    ("all k8s nodes to report ready", 600, 5),
    ("kube-proxy to report ready", 300, 5),
    ("coredns to report ready", 300, 5),
    ("all k8s nodes to report schedulable", 300, 5),
]
DISCOVERED = "discovered nodes: {nodes}"
LINE = "waiting for {check}: {state}"
PENDING, OK, SKIP = "...", "OK", "SKIP"
TIMEOUT = ("Unknown", "context deadline exceeded")   # the server stream ends with ctx.Err()
H_SERVICE_STATE = '{node}: service "{service}" not in expected state "Running": current state [{state}] {msg}'
H_SERVICE_UNHEALTHY = "{node}: service is not healthy: {service}"
H_NO_EVENTS = '{node}: no events recorded yet for service "{service}"'
H_NODE_DOWN = "{node}: " + UNAVAILABLE
H_ETCD_MEMBERS = "{node}: expected to have {want} members, got {got}"
H_ETCD_UNEXPECTED = "found unexpected etcd member {member}"
H_ETCD_NOT_CP = "etcd member ips {members} are not subset of control plane node ips {cps}"
H_APID = 'error getting version from node "{node}": {error}'
H_MEMORY = 'node "{node}" does not meet memory requirements: expected at least {min} MiB, actual {actual} MiB'
H_DISK = 'ephemeral partition "{location}" for node "{node}" is too small, expected at least {min}, actual {actual}'
H_BOOTING = "nodes are not running: {stages}"     # stages: "booting: [ip ...]"
H_K8S_MISSING = "can't find expected node with IPs {ips}"
H_K8S_UNEXPECTED = "unexpected nodes with IPs {ips}"
H_STATIC_PODS = "missing static pods on node {node}: {pods}"
H_COMPONENTS = "expected number of pods for {component} to be {want}, got {got}"    # (inferred wording)
H_NOT_READY = "some nodes are not ready: {nodes}"
H_PODS = "expected {want} ready pods, got {got}"
H_NO_PODS = 'no ready pods found for namespace "{ns}" and label selector "{selector}"'
H_NOT_SCHEDULABLE = "some nodes are not schedulable: {nodes}"

# --- minimums (pkg/minimal; domain.md 2.1) ----------------------------------------------------------------------
MIN_MEMORY_MIB = {"controlplane": 1698, "worker": 874}
MIN_DISK_BYTES = 6 * 1024 ** 3
DISK_ADJUSTMENT = 1400 * 1024 ** 2      # "adjust for system stuff" in AllNodesDiskSizes
SYSTEM_PARTITIONS_MIB = 1 + 100 + 1000 + 1 + 100   # BIOS, EFI, BOOT, META, STATE: what EPHEMERAL does not get


def multierror(errors: list[str]) -> str:
    """hashicorp/go-multierror's text, which Talos uses for every list of errors."""
    n = len(errors)
    head = "1 error occurred:" if n == 1 else f"{n} errors occurred:"
    return head + "".join(f"\n\t* {e}" for e in errors) + "\n\n"


def go_quote_list(items: list[str]) -> str:
    """Go's `%q` of a []string: ["a" "b"]."""
    return "[" + " ".join(f'"{i}"' for i in items) + "]"


def go_list(items: list[str]) -> str:
    """Go's `%v` of a []string: [a b]."""
    return "[" + " ".join(items) + "]"


def ibytes(n: int) -> str:
    """go-humanize IBytes: 4.6 GiB, 23 GiB."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    if n < 1024:
        return f"{n} B"
    value, i = float(n), 0
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return f"{value:.1f} {units[i]}" if value < 10 else f"{value:.0f} {units[i]}"
