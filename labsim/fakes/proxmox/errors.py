"""Errors the fake answers with, and every message text in one place with where it comes from.

PVE puts the error message in the HTTP reason phrase (first line only) and the body is
`{"data":null}` plus `"errors"` (per parameter, on 400) and `"message"` (the whole text, ending in a
newline). Authentication failures (401 from the auth handler) have an empty body.

Sources (paths are in the proxmox/* git repositories):
  [http]   pve-http-server  src/PVE/APIServer/AnyEvent.pm (auth errors, reason phrase = first line),
           src/PVE/APIServer/Formatter/Standard.pm (json body: data, errors, message)
  [mgr]    pve-manager      PVE/HTTPServer.pm (auth_handler: "No ticket"; rest_handler: 501 text)
  [acl]    pve-access-control src/PVE/AccessControl.pm (ticket lifetime 2 h, verify_token `=` split),
           src/PVE/API2/AccessControl.pm ("authentication failure" on a bad password)
  [ticket] pve-common       src/PVE/Ticket.pm ("Permission denied - invalid csrf token")
  [schema] pve-common       src/PVE/JSONSchema.pm (check_type, check_prop, parse_property_string)
  [tools]  pve-common       src/PVE/Tools.pm (assert_if_modified, random_ether_addr)
  [qm]     qemu-server      PVE/API2/Qemu.pm, PVE/QemuServer.pm, PVE/QemuServer/Agent.pm
  [guest]  pve-guest-common PVE/AbstractConfig.pm (load_config, check_lock), pve-cluster check_vmid_unused
  [net]    pve-manager      PVE/API2/Network.pm;  pve-common src/PVE/Network.pm (bridge check at start)
  [tasks]  pve-manager      PVE/API2/Tasks.pm
  [cl]     pve-manager      PVE/API2/Cluster.pm (nextid)
  [lvm]    pve-storage      src/PVE/Storage/LVMPlugin.pm (alloc_image free-space check)
  [stor]   pve-storage      src/PVE/Storage.pm (storage_config)
  [obs]    observed in real PVE answers quoted in public issues and reports (for "Authentication
           failed!": Corsinvest/cv4pve-diag#24, 2026; older PVE versions said "invalid token value!" or
           "permission denied - invalid PVE ticket" instead)
  [unv]    not verified against a source: our best rendering of PVE's wording
"""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answer. `message` may span lines; the reason phrase is its first line."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None, *,
                 empty_body: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.empty_body = empty_body

    @property
    def reason(self) -> str:
        return self.message.split("\n", 1)[0]

    def body(self) -> dict[str, Any] | None:
        if self.empty_body:
            return None
        out: dict[str, Any] = {"data": None}
        if self.errors:
            out["errors"] = dict(self.errors)
        msg = self.message if self.message.endswith("\n") else self.message + "\n"
        out["message"] = msg
        return out


class ParamError(ApiError):
    """400 Parameter verification failed. (PVE raise_param_exc)"""

    def __init__(self, errors: dict[str, str]):
        super().__init__(400, PARAM_VERIFICATION_FAILED, errors)


def die(message: str, status: int = 500) -> ApiError:
    """A plain Perl `die` inside a handler: 500 with the message."""
    return ApiError(status, message)


# --- auth ------------------------------------------------------------------------------------------
NO_TICKET = "No ticket"                                              # [mgr]
AUTH_FAILED = "Authentication failed!"                               # [obs] bad ticket / bad token (PVE 8.x/9.x)
INVALID_CSRF = "Permission denied - invalid csrf token"              # [ticket]
LOGIN_FAILED = "authentication failure"                              # [acl] POST /access/ticket, bad password
TICKET_LIFETIME = 2 * 3600                                           # [acl] $ticket_lifetime
AUTH_GRACE = 5 * 60                                                  # [acl] $auth_graceperiod (clock skew)

# --- envelope / routing ----------------------------------------------------------------------------
PARAM_VERIFICATION_FAILED = "Parameter verification failed."         # [schema] validate()
NOT_IMPLEMENTED = "Method '{method} {path}' not implemented"         # [mgr] rest_handler
NO_SUCH_URI = "no such uri"                                          # [http] split_abs_uri failure
HOSTNAME_LOOKUP = ("hostname lookup '{node}' failed - failed to get address info for: {node}: "
                   "Name or service not known")                      # [unv] proxy to an unknown node

# --- schema (per-parameter texts) ------------------------------------------------------------------
MISSING = "property is missing and it is not optional"               # [schema]
NOT_IN_SCHEMA = ("property is not defined in schema and the schema does not allow "
                 "additional properties")                            # [schema]
TYPE_CHECK = "type check ('{type}') failed - got '{value}'"          # [schema]
MAXIMUM = "value must have a maximum value of {max}"                 # [schema]
MINIMUM = "value must have a minimum value of {min}"                 # [schema]
ENUM = "value '{value}' does not have a value in the enumeration '{values}'"   # [schema]
MAX_LENGTH = "value may only be {max} characters long"              # [schema]
PATTERN = "value does not match the regex pattern"                   # [schema]
INVALID_FORMAT = "invalid format - {detail}"                          # [schema] check_prop
FORMAT_ERROR = "format error"                                        # [schema] parse_property_string
INVALID_KEY = "invalid key in comma-separated list property: {key}"  # [schema]
DUPLICATE_KEY = "duplicate key in comma-separated list property: {key}"   # [schema]
NO_DEFAULT_KEY = "value without key, but schema does not define a default key"   # [schema]
DNS_NAME = "value does not look like a valid DNS name"               # [unv] pve_verify_dns_name
DUP_URI_PARAM = "duplicate parameter (already defined in URI) with conflicting values!"   # [mgr]

# --- qemu ------------------------------------------------------------------------------------------
CONF_MISSING = "Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist"   # [guest]
CREATE_EXISTS = "unable to create VM {vmid} - VM {vmid} already exists on node '{node}'"    # [qm]+[guest]
CREATE_FAILED = "unable to create VM {vmid} - {err}"                 # [qm] create_vm $emsg
ALREADY_RUNNING = "VM {vmid} already running"                        # [qm] vm_start
NOT_RUNNING = "VM {vmid} not running"                                # [qm] reboot/reset/suspend/resume
DESTROY_RUNNING = "VM {vmid} is running - destroy failed"            # [qm] destroy_vm
LOCKED = "VM is locked ({lock})"                                     # [guest] check_lock
PROTECTED = "can't remove VM {vmid} - protection mode enabled"       # [guest] check_protection
DIGEST_MISMATCH = "checksum missmatch (file change by other user?)"   # [qm] update_vm_api (sic), PVE 8
ASSERT_MODIFIED = "detected modified configuration - file changed by other user? Try again."   # [tools] (CT, node)
NO_OPTIONS = "no options specified"                                  # [qm] update_vm_api
BALLOON_TOO_LARGE = "balloon value too large (must be smaller than assigned memory)"   # [qm]
DELETE_UNKNOWN = "unknown option '{opt}'"                            # [qm] update_vm_api
DELETE_AND_SET = "you can't use '-{opt}' and -delete {opt}' at the same time"   # [qm] (sic)
BOOT_DEVICE = "invalid bootorder: device '{dev}' does not exist'"    # [qm] (sic, stray quote)
NO_STORAGE_ID = "no storage ID specified (and no default storage)"   # [qm] check_storage_access
STORAGE_MISSING = "storage '{storage}' does not exist"               # [stor] PVE/Storage.pm storage_config
NO_VM_IMAGES = "storage '{storage}' does not support vm images"      # [qm] check_storage_access, errors key 'storage'
NOT_ENOUGH_SPACE = "not enough free space ({free} < {size})"         # [lvm] sizes in KiB; see storage.py
CPU_MODEL = "Built-in cputype '{cpu}' is not defined (missing 'custom-' prefix?)"   # [qm] QemuServer/CPUConfig.pm
CLONE_EXISTS = "unable to create VM {vmid}: config file already exists"   # [qm] clone (older wording)

# --- qemu tasks (log lines and exit texts) ---------------------------------------------------------
BRIDGE_MISSING = "bridge '{bridge}' does not exist"                  # [net] read_bridge_mtu, at start
NETDEV_FAILED = ("kvm: -netdev type=tap,id=net{idx},ifname=tap{vmid}i{idx},script=/var/lib/qemu-server/"
                 "pve-bridge,downscript=/var/lib/qemu-server/pve-bridgedown,vhost=on: network script "
                 "/var/lib/qemu-server/pve-bridge failed with status 512")   # [unv]
ISO_MISSING = ("kvm: -drive file={path},if=none,id=drive-{slot},media=cdrom,aio=io_uring: Could not open "
               "'{path}': No such file or directory")                # [unv]
START_FAILED = "start failed: QEMU exited with code 1"               # [obs] many public reports
SHUTDOWN_TIMEOUT = "VM quit/powerdown failed - got timeout"          # [obs] many public reports
SHUTDOWN_FORCE = "VM still running - terminating now with SIGTERM"   # [unv]
LV_CREATED = '  Logical volume "{name}" created.'                    # LVM2 lvcreate output
LV_REMOVED = '  Logical volume "{name}" successfully removed.'       # LVM2 lvremove output
TASK_OK = "TASK OK"                                                  # PVE::RESTEnvironment fork_worker
TASK_ERROR = "TASK ERROR: {err}"                                     # PVE::RESTEnvironment fork_worker

# --- guest agent -----------------------------------------------------------------------------------
AGENT_NOT_CONFIGURED = "No QEMU guest agent configured"              # [qm] Agent.pm agent_available
AGENT_VM_NOT_RUNNING = "VM {vmid} is not running"                    # [qm] Agent.pm agent_available
AGENT_NOT_RUNNING = "QEMU guest agent is not running"                # [qm] Agent.pm agent_available

# --- cluster / tasks / network ---------------------------------------------------------------------
NEXTID_TAKEN = "VM {vmid} already exists"                            # [cl] nextid
UPID_UNPARSABLE = "unable to parse worker upid"                      # [tasks]
NO_SUCH_TASK = "no such task"                                        # [tasks]
IFACE_EXISTS = "interface already exists"                            # [net] create_network
IFACE_MISSING = "interface does not exist"                           # [net] update/delete/read
GATEWAY_DUP = "Default gateway already exists on interface '{iface}'."   # [net] check_duplicate
