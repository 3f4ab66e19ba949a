"""What Cilium, the cilium CLI, curl and Envoy print, as data (exact texts, with their sources).

Sources: cilium/cilium cilium-cli/clustermesh/clustermesh.go (validateInfoForConnect, extractAccessInformation,
generateEnableHelmValues, Status, outputConnectivityStatus, remoteClusterStatusToError); pkg/kvstore/etcd.go
(status snapshot); pkg/annotation (service annotations); domain.md 1.1-1.2 for the CA mismatch error of newer
CLIs (`--allow-mismatching-ca`). curl texts are curl 8's `-sS` error lines; Envoy's is its local reply.
"""
from __future__ import annotations

# --- cilium clustermesh connect (validateInfoForConnect and friends) ------------------------------------------
REMOTE_NOT_UNIQUE = "remote cluster has non-unique name ({name}) and/or ID ({id})"
LOCAL_DEFAULT = "local cluster has the default name (cluster name: {name}) and/or ID 0 (cluster ID: {id})"
REMOTE_NON_NUMERIC = "remote cluster has non-numeric cluster ID {id}. Only numeric values 1-255 are allowed"
REMOTE_ID_RANGE = "remote cluster has cluster ID {id} out of acceptable range (1-{max})"
MAX_MISMATCH = "remote and local clusters have different max connected clusters: {remote} != {local}"
SAME_NAME = "remote and local cluster have the same, non-unique name: {name}"
SAME_ID = "remote and local cluster have the same, non-unique ID: {id}"
CA_MISMATCH = ("Cilium CA certificates do not match between clusters {local} and {remote}. Use "
               "--allow-mismatching-ca to allow this by adding remote CAs to the CA bundle")
CA_MISMATCH_ALLOWED = "⚠️ Cilium CA certificates do not match between clusters. Remote cluster CA will be trusted in CA bundle"
CONNECT_FAILED = "Unable to connect cluster: {err}"     # the command's wrapper (cilium-cli cli/clustermesh.go)
NO_RELEASE_LOCAL = "❌ Unable to find Helm release for the target cluster"
NO_RELEASE_REMOTE = "❌ Unable to find Helm release for the remote cluster"
ACCESS_FAILED = '❌ Unable to retrieve access information of cluster "{cluster}": {err}'
EXTRACTING = "✨ Extracting access information of cluster {name}..."
SECRETS = "🔑 Extracting secrets from cluster {name}..."
SERVICE_IPS = "ℹ️  Found ClusterMesh service IPs: [{ips}]"
CONFIGURING = "ℹ️ Configuring Cilium in cluster {local} to connect to cluster {remote}"
CONNECTED = "✅ Connected cluster {local} <=> {remote}!"
DISCONNECTING = "ℹ️ Configuring Cilium in cluster {local} to disconnect from cluster {remote}"
DISCONNECTED = "✅ Disconnected clusters {local} <x> {remote}!"
NO_DESTINATION = ("no destination context specified, use --destination-context to specify which cluster to "
                  "disconnect from")
CA_BUNDLE = "ℹ️ Updating CA bundle on cluster {cluster}"
NODEPORT_DETECTED = "⚠️  Service type NodePort detected! Service may fail when nodes are removed from the cluster!"
NOT_CONFIGURED = ("⚠️  Cluster not configured for clustermesh, use '--set cluster.id' and '--set cluster.name' "
                  "with 'cilium install'.")
NO_SERVICE = 'unable to get clustermesh service "clustermesh-apiserver": {err}'
NO_NODEPORT = "nodeport is not set in service"
NO_SERVICE_IPS = "unable to derive service IPs automatically"
NO_CONFIGMAP = 'unable to retrieve ConfigMap "cilium-config": {err}'

# --- cilium clustermesh enable ----------------------------------------------------------------------------------
ENABLE_NODEPORT = "⚠️  Using service type NodePort may fail when nodes are removed from the cluster!"
ENABLE_BAD_TYPE = 'service type "{type}" is not valid'
ENABLE_AUTODETECT = "cannot auto-detect service type, please specify using '--service-type' option"

# --- cilium clustermesh status ------------------------------------------------------------------------------------
EXTERNAL_KVSTORE = "✅ Cilium is configured with an external kvstore"
SERVICE_FOUND = '✅ Service "clustermesh-apiserver" of type "{type}" found'
ACCESS_AVAILABLE = "✅ Cluster access information is available:"
ACCESS_LINE = "  - {ip}:{port}"
DEPLOYMENT_READY = "✅ Deployment clustermesh-apiserver is ready"
WAIT_ACCESS = "⌛ Waiting ({wait}) for access information: {err}"
WAIT_DEPLOYMENT = "⌛ Waiting ({wait}) for deployment clustermesh-apiserver to become ready: {err}"
DEPLOYMENT_NOT_READY = "deployment clustermesh-apiserver is not ready: {err}"
KVSTOREMESH = "ℹ️  KVStoreMesh is {state}"
WAIT_CONNECTED = "⌛ Waiting ({wait}) for clusters to be connected: {err}"
NOT_READY_COUNT = "{count} {component} are not ready"
ALL_CONNECTED = "✅ All {total} {component} are connected to all clusters [min:{min} / avg:{avg:.1f} / max:{max}]"
SOME_NOT_CONNECTED = ("⚠️  {bad}/{total} {component} are not connected to all clusters "
                      "[min:{min} / avg:{avg:.1f} / max:{max}]")
CONNECTIONS = "🔌 Cluster Connections:"
CONNECTION_LINE = "  - {cluster}: {configured}/{total} configured, {connected}/{total} connected"
KVSTOREMESH_LINE = " - KVStoreMesh: {configured}/{total} configured, {connected}/{total} connected"
KVSTOREMESH_NA = " - KVStoreMesh: status not available"
NO_CLUSTER = "🔌 No cluster connected"
ERRORS = "❌ {count} Errors:"
ERROR_LINE = "  ❌ {pod} is not connected to cluster {cluster}: {err}"
HINT_TROUBLESHOOT = ("     💡 Run 'kubectl exec -it -n {ns} {pod} -c {container} -- {cmd} {cluster}' to investigate "
                     "the cause")
HINT_NAME = "     💡 Double check if the cluster name matches the one configured in the remote cluster"
HINT_KVSTOREMESH = "     💡 This is likely caused by KVStoreMesh not being connected to the given cluster"
AGENT_TROUBLESHOOT = "cilium-dbg troubleshoot clustermesh"
KVSTOREMESH_TROUBLESHOOT = "clustermesh-apiserver kvstoremesh-dbg troubleshoot"
DEADLINE = "context deadline exceeded"

# --- an agent's view of one remote cluster (remoteClusterStatusToError; pkg/kvstore/etcd.go) ------------------------
ETCD_UNREACHABLE = "not able to connect to any etcd endpoints"
ETCD_OK = "etcd: 1/1 connected, leases=0, lock leases=0, has-quorum=true: https://{host}:{port} - 3.5.21 (Leader)"
CONFIG_REQUIRED = "remote cluster configuration required but not found"
SYNC_IN_PROGRESS = "synchronization in progress for {what}"
UNKNOWN_STATUS = "unknown status"

# --- service annotations (pkg/annotation) -------------------------------------------------------------------------
GLOBAL = ("service.cilium.io/global", "io.cilium/global-service")
SHARED = ("service.cilium.io/shared", "io.cilium/shared-service")
AFFINITY = ("service.cilium.io/affinity", "io.cilium/service-affinity")
BAD_AFFINITY = 'unrecognized service affinity value: "{value}"'     # Go %q

# --- what a client sees ------------------------------------------------------------------------------------------------
CURL_RESOLVE = "curl: (6) Could not resolve host: {host}"
CURL_REFUSED = "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server"
CURL_TIMEOUT = "curl: (28) Connection timed out after {ms} milliseconds"
ENVOY_NO_UPSTREAM = "no healthy upstream"          # Envoy's local reply body, with status 503
